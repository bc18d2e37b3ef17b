//! The data behind the live status page (`GET /status` on the admin
//! listener; the page, its login and its JSON are in the admin router).
//!
//! - `history`: a bounded ring of snapshots of the registry, one every 5
//!   seconds over 15 minutes, taken by a background thread: rates, error
//!   ratios and percentiles per route and operation over 1, 5 and 15
//!   minutes, and the charts, come from it. Nothing on the request path.
//! - `recent`: the slowest and the failed recent requests, two small
//!   rings the HTTP layer offers requests to (one relaxed load per
//!   request).
//! - [`StatusPanel`]: controls an application puts on the page for its
//!   operators (the demo's fault injection).
//!
//! Settings are in [`StatusConfig`]. The status page adds no dependency,
//! so it is not behind a cargo feature; `REDLINE_STATUS_PAGE=false` turns
//! it off (no routes, no history thread, nothing offered to the rings).

mod config;
pub(crate) mod document;
pub(crate) mod history;
mod panel;
pub(crate) mod quantile;
pub(crate) mod recent;
pub(crate) mod summary;

pub use config::StatusConfig;
pub use panel::{PanelField, StatusPanel};
pub use summary::Summary;
