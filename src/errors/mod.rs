//! Error tracking (being written).
