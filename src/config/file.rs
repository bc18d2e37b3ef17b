//! `REDLINE_CONFIG_FILE`: settings from a TOML file (the `config-file`
//! feature), each key checked against the declared settings; without the
//! feature, the variable is refused.

use std::path::Path;

use crate::parse::ConfigError;
#[cfg(feature = "config-file")]
use crate::settings;

/// Without the `config-file` feature: `REDLINE_CONFIG_FILE` is refused
/// with a message saying so, rather than ignored.
#[cfg(not(feature = "config-file"))]
pub(super) struct FileValues;

#[cfg(not(feature = "config-file"))]
impl FileValues {
    pub(super) fn load(path: &Path) -> Result<Self, ConfigError> {
        Err(ConfigError::File {
            path: path.to_owned(),
            reason: "REDLINE_CONFIG_FILE is set, but this build of redline has no `config-file` feature: enable it, or unset the variable".into(),
        })
    }

    pub(super) fn get(&self, _key: &str) -> Option<(String, String)> {
        None
    }
}

/// The scalar values of a TOML configuration file, as strings, so the same
/// parsers (and error messages) serve both sources.
#[cfg(feature = "config-file")]
pub(super) struct FileValues {
    path: std::path::PathBuf,
    table: toml::Table,
}

#[cfg(feature = "config-file")]
impl FileValues {
    pub(super) fn load(path: &Path) -> Result<Self, ConfigError> {
        let file_error = |reason: String| ConfigError::File {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| file_error(e.to_string()))?;
        if let Some(unknown) = table
            .keys()
            .find(|k| !settings::file_keys().any(|known| known == k.as_str()))
        {
            let known: Vec<&str> = settings::file_keys().collect();
            return Err(file_error(format!(
                "unknown key `{unknown}`; known keys: {}",
                known.join(", ")
            )));
        }
        Ok(Self {
            path: path.to_owned(),
            table,
        })
    }

    pub(super) fn get(&self, key: &str) -> Option<(String, String)> {
        let value = self.table.get(key)?;
        let text = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Array(items) => items
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            toml::Value::Table(t) => t
                .iter()
                .map(|(k, v)| match v {
                    toml::Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        Some((format!("{}: {key}", self.path.display()), text))
    }
}
