//! Fault injection for the demo: an error rate and an added latency that can
//! change at run time (`PUT /faults` on the admin listener).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, Disclosure};

/// Largest injectable latency: a minute.
///
/// ```
/// use redline_demo::{FaultError, Faults, MAX_LATENCY_MS};
/// assert!(Faults::new(0.0, MAX_LATENCY_MS).is_ok());
/// let err = Faults::new(0.0, MAX_LATENCY_MS + 1).err();
/// assert_eq!(err, Some(FaultError::Latency(MAX_LATENCY_MS + 1)));
/// ```
pub const MAX_LATENCY_MS: u64 = 60_000;

/// The current faults, shared by the middleware and the admin endpoint.
///
/// ```
/// let faults = redline_demo::Faults::new(0.0, 0).unwrap();
/// faults.set(redline_demo::FaultSettings { error_rate: Some(0.5), latency_ms: None }).unwrap();
/// assert_eq!(faults.get().error_rate, Some(0.5));
/// ```
#[derive(Clone, Default)]
pub struct Faults {
    // Error rate in millionths, so it fits an atomic.
    error_ppm: Arc<AtomicU32>,
    latency_ms: Arc<AtomicU64>,
}

/// The JSON of `GET`/`PUT /faults`; absent fields are left unchanged.
///
/// ```
/// use redline_demo::{FaultSettings, Faults};
/// let settings: FaultSettings = serde_json::from_str(r#"{"latency_ms": 250}"#).unwrap();
/// assert_eq!(settings, FaultSettings { error_rate: None, latency_ms: Some(250) });
/// let faults = Faults::new(0.1, 0).unwrap();
/// faults.set(settings).unwrap();
/// assert_eq!(faults.get(), FaultSettings { error_rate: Some(0.1), latency_ms: Some(250) });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSettings {
    /// Fraction of requests answered `500`, from 0 to 1.
    pub error_rate: Option<f64>,
    /// Latency added to every request, in milliseconds (at most 60000).
    pub latency_ms: Option<u64>,
}

/// A fault setting out of range.
///
/// ```
/// use redline_demo::{FaultError, FaultSettings, Faults};
/// let faults = Faults::default();
/// let err = faults.set(FaultSettings { error_rate: Some(2.0), latency_ms: None }).unwrap_err();
/// assert_eq!(err, FaultError::ErrorRate(2.0));
/// assert_eq!(err.to_string(), "error_rate must be a number from 0 to 1, got 2");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultError {
    /// The error rate is not within 0..=1.
    #[error("error_rate must be a number from 0 to 1, got {0}")]
    ErrorRate(f64),
    /// The latency exceeds [`MAX_LATENCY_MS`].
    #[error("latency_ms must be from 0 to 60000, got {0}")]
    Latency(u64),
}

impl Faults {
    /// Faults with the given starting values.
    ///
    /// ```
    /// assert!(redline_demo::Faults::new(1.5, 0).is_err());
    /// ```
    pub fn new(error_rate: f64, latency_ms: u64) -> Result<Self, FaultError> {
        let faults = Self::default();
        faults.set(FaultSettings {
            error_rate: Some(error_rate),
            latency_ms: Some(latency_ms),
        })?;
        Ok(faults)
    }

    /// Changes the given settings (all or nothing).
    ///
    /// ```
    /// let f = redline_demo::Faults::default();
    /// assert!(f.set(redline_demo::FaultSettings { error_rate: Some(f64::NAN), latency_ms: Some(5) }).is_err());
    /// assert_eq!(f.get().latency_ms, Some(0), "nothing changed");
    /// ```
    pub fn set(&self, settings: FaultSettings) -> Result<(), FaultError> {
        if let Some(rate) = settings.error_rate
            && !(0.0..=1.0).contains(&rate)
        {
            return Err(FaultError::ErrorRate(rate));
        }
        if let Some(ms) = settings.latency_ms
            && ms > MAX_LATENCY_MS
        {
            return Err(FaultError::Latency(ms));
        }
        if let Some(rate) = settings.error_rate {
            self.error_ppm
                .store((rate * 1_000_000.0).round() as u32, Ordering::Relaxed);
        }
        if let Some(ms) = settings.latency_ms {
            self.latency_ms.store(ms, Ordering::Relaxed);
        }
        Ok(())
    }

    /// The current settings.
    ///
    /// ```
    /// let f = redline_demo::Faults::new(0.25, 10).unwrap();
    /// assert_eq!(f.get().latency_ms, Some(10));
    /// ```
    pub fn get(&self) -> FaultSettings {
        FaultSettings {
            error_rate: Some(f64::from(self.error_ppm.load(Ordering::Relaxed)) / 1_000_000.0),
            latency_ms: Some(self.latency_ms.load(Ordering::Relaxed)),
        }
    }

    /// The admin routes `GET /faults` and `PUT /faults`; refusals answer
    /// with fixed messages, or the details under `disclosure`.
    pub(crate) fn router(&self, disclosure: Disclosure) -> axum::Router {
        axum::Router::new()
            .route("/faults", axum::routing::get(get_faults).put(put_faults))
            .with_state((self.clone(), disclosure))
    }
}

/// The faults on the status page's operator panel: the same settings as
/// `PUT /faults`, changed from the browser.
///
/// ```
/// use redline::status::StatusPanel;
/// let faults = redline_demo::Faults::default();
/// let panel = redline_demo::FaultsPanel(faults.clone());
/// panel.apply("error_rate", 0.2).unwrap();
/// assert_eq!(faults.get().error_rate, Some(0.2));
/// assert!(panel.apply("latency_ms", 0.5).is_err());
/// assert_eq!(panel.fields().len(), 2);
/// ```
pub struct FaultsPanel(pub Faults);

impl redline::status::StatusPanel for FaultsPanel {
    fn title(&self) -> String {
        "Fault injection".into()
    }

    fn fields(&self) -> Vec<redline::status::PanelField> {
        use redline::status::PanelField;
        let now = self.0.get();
        vec![
            PanelField::new(
                "error_rate",
                "Error rate",
                0.0,
                1.0,
                0.01,
                now.error_rate.unwrap_or(0.0),
            )
            .unit("ratio"),
            PanelField::new(
                "latency_ms",
                "Added latency",
                0.0,
                MAX_LATENCY_MS as f64,
                10.0,
                now.latency_ms.unwrap_or(0) as f64,
            )
            .unit("ms"),
        ]
    }

    fn apply(&self, name: &str, value: f64) -> Result<(), String> {
        let settings = match name {
            "error_rate" => FaultSettings {
                error_rate: Some(value),
                latency_ms: None,
            },
            "latency_ms" if value >= 0.0 && value.fract() == 0.0 => FaultSettings {
                error_rate: None,
                latency_ms: Some(value as u64),
            },
            "latency_ms" => return Err("latency_ms must be a whole number from 0 to 60000".into()),
            _ => return Err("no such field".into()),
        };
        self.0.set(settings).map_err(|e| match e {
            FaultError::ErrorRate(_) => "error_rate must be a number from 0 to 1".to_owned(),
            FaultError::Latency(_) => {
                "latency_ms must be a whole number from 0 to 60000".to_owned()
            }
        })
    }
}

/// A request chosen to fail: `POST /messages` fails in its handler, which
/// knows the chat (the user the error reaches) and fails as a real store
/// would, with a cause and its source chain.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FaultDue;

/// The failure a chosen request reports: the conversation store could not
/// be reached, because the connection was refused (the chain the error
/// tracker keeps, masked: the store's URL carries a password, as real ones
/// do).
#[derive(Debug, thiserror::Error)]
#[error("the conversation store is unavailable")]
pub(crate) struct StoreUnavailable(#[source] pub(crate) std::io::Error);

impl StoreUnavailable {
    pub(crate) fn injected() -> Self {
        Self(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connect to redis://demo:injected-fault-pw@10.0.0.5:6379 refused",
        ))
    }
}

/// The `500` of a chosen request, with its cause for the error tracker.
pub(crate) fn injected_response(user: Option<u64>) -> Response {
    let mut response = ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "injected_fault",
        "fault injected by the demo",
    )
    .into_response();
    let extensions = response.extensions_mut();
    extensions.insert(redline::errors::ErrorCause::from_error(
        &StoreUnavailable::injected(),
    ));
    if let Some(chat) = user {
        extensions.insert(redline::errors::UserKey::new(&chat));
    }
    response
}

/// Middleware: adds the configured latency, then fails the configured share
/// of requests with a `500` (`POST /messages` in its handler, see
/// [`FaultDue`]).
pub(crate) async fn inject(
    State(faults): State<Faults>,
    mut request: Request,
    next: Next,
) -> Response {
    let latency = faults.latency_ms.load(Ordering::Relaxed);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let ppm = faults.error_ppm.load(Ordering::Relaxed);
    if ppm > 0 && rand::random_range(0..1_000_000) < ppm {
        if request.uri().path() == "/messages" {
            request.extensions_mut().insert(FaultDue);
        } else {
            return injected_response(None);
        }
    }
    next.run(request).await
}

async fn get_faults(State((faults, _)): State<(Faults, Disclosure)>) -> Json<FaultSettings> {
    Json(faults.get())
}

/// Changes the faults. A refusal never echoes the values sent (in
/// production mode): a body that does not parse is `invalid_json` or
/// `invalid_body`, a value out of range `invalid_fault`, each with a fixed
/// message.
async fn put_faults(
    State((faults, disclosure)): State<(Faults, Disclosure)>,
    body: Result<Json<FaultSettings>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<FaultSettings>, ApiError> {
    let Json(settings) = body.map_err(|r| ApiError::from_json_rejection(r, &disclosure))?;
    faults.set(settings).map_err(|e| {
        disclosure.refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fault",
            "error_rate must be a number from 0 to 1, latency_ms a whole number from 0 to 60000",
            e,
        )
    })?;
    Ok(Json(faults.get()))
}
