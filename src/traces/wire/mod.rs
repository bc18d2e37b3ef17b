//! The OTLP trace wire format, written directly: protobuf fields
//! ([`proto`]) and span bodies ([`span`]), and the request that carries
//! them ([`request`]).

pub(crate) mod proto;
pub(crate) mod request;
pub(crate) mod span;
