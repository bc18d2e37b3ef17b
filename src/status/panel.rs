//! Controls an application shows its operators on the status page.

/// One numeric control of a [`StatusPanel`].
///
/// ```
/// let f = redline::status::PanelField::new("error_rate", "Error rate", 0.0, 1.0, 0.01, 0.05).unit("ratio");
/// assert_eq!((f.name.as_str(), f.value, f.unit.as_str()), ("error_rate", 0.05, "ratio"));
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PanelField {
    /// The name sent back to [`StatusPanel::apply`].
    pub name: String,
    /// What the page shows.
    pub label: String,
    /// The unit shown next to the value (`ms`, `ratio`…).
    pub unit: String,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// The step of the page's input.
    pub step: f64,
    /// The current value.
    pub value: f64,
}

impl PanelField {
    /// A field without a unit.
    ///
    /// ```
    /// let f = redline::status::PanelField::new("latency_ms", "Added latency", 0.0, 60000.0, 10.0, 0.0);
    /// assert_eq!(f.unit, "");
    /// ```
    pub fn new(
        name: impl Into<String>,
        label: impl Into<String>,
        min: f64,
        max: f64,
        step: f64,
        value: f64,
    ) -> Self {
        Self {
            name: name.into(),
            label: label.into(),
            unit: String::new(),
            min,
            max,
            step,
            value,
        }
    }

    /// The same field with a unit.
    ///
    /// ```
    /// let f = redline::status::PanelField::new("x", "X", 0.0, 1.0, 0.1, 0.0).unit("ms");
    /// assert_eq!(f.unit, "ms");
    /// ```
    pub fn unit(mut self, unit: impl Into<String>) -> Self {
        self.unit = unit.into();
        self
    }
}

/// Controls an application puts on its status page for operators: a
/// title, numeric fields, and what changing one does. The page shows them
/// to principals with the `operator` role; each change goes through the
/// session and CSRF checks and is audited (`authz_admin`) like every
/// admin change. Register one with
/// [`TelemetryBuilder::status_panel`](crate::TelemetryBuilder::status_panel).
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use redline::status::{PanelField, StatusPanel};
///
/// struct Workers(AtomicU64);
///
/// impl StatusPanel for Workers {
///     fn title(&self) -> String { "Workers".into() }
///     fn fields(&self) -> Vec<PanelField> {
///         vec![PanelField::new("workers", "Worker threads", 1.0, 64.0, 1.0, self.0.load(Ordering::Relaxed) as f64)]
///     }
///     fn apply(&self, name: &str, value: f64) -> Result<(), String> {
///         match name {
///             "workers" if (1.0..=64.0).contains(&value) && value.fract() == 0.0 => {
///                 self.0.store(value as u64, Ordering::Relaxed);
///                 Ok(())
///             }
///             "workers" => Err("workers must be a whole number from 1 to 64".into()),
///             _ => Err("no such field".into()),
///         }
///     }
/// }
///
/// let panel = Workers(AtomicU64::new(4));
/// assert!(panel.apply("workers", 8.0).is_ok());
/// assert!(panel.apply("workers", 0.5).is_err());
/// assert_eq!(panel.fields()[0].value, 8.0);
/// ```
pub trait StatusPanel: Send + Sync + 'static {
    /// The panel's title.
    fn title(&self) -> String;
    /// The fields with their current values.
    fn fields(&self) -> Vec<PanelField>;
    /// Sets field `name` to `value`. The error is shown to the operator:
    /// say what is accepted, without repeating the value sent.
    fn apply(&self, name: &str, value: f64) -> Result<(), String>;
}
