//! The demo service.
