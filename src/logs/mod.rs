//! Logging (being written).

pub mod rotation;
