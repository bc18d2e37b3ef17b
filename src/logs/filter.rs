//! The log filter's audit floor: a filter can lower noise, never silence
//! the `redline::security` events (OWASP-named security and audit events:
//! failures at WARN, lifecycle and audit records such as `sys_startup` and
//! `authz_admin` at INFO). Every filter redline installs, at start
//! (`REDLINE_LOG`) or at run time (`PUT /logs/level`), gets
//! `redline::security=info` appended unless it names that target itself;
//! a filter that would hide them (`redline::security=off`,
//! `redline::security=warn`), or that names no level at all (`wran`, a
//! typo read as a target name, which would silence everything else), is
//! refused with a message.

use super::LogError;

/// The directive every installed filter ends with.
pub(crate) const AUDIT_FLOOR: &str = "redline::security=info";
const AUDIT_TARGET: &str = "redline::security";
const LEVELS: [&str; 11] = [
    "off", "error", "warn", "info", "debug", "trace", "0", "1", "2", "3", "4",
];

/// `directives` as installed: checked, with the audit floor appended.
///
/// ```text
/// assert_eq!(with_audit_floor("info").unwrap(), "info,redline::security=info");
/// ```
pub(crate) fn with_audit_floor(directives: &str) -> Result<String, LogError> {
    let directives = directives.trim();
    let mut names_level = false;
    let mut names_audit = false;
    for directive in split(directives) {
        let directive = directive.trim();
        if directive.is_empty() {
            continue;
        }
        // `target[span{field=value}]=level`: the level after the last `=`
        // outside brackets; a bare word is a level or a target.
        let (selector, level) = match level_split(directive) {
            Some((selector, level)) => (selector, Some(level.trim())),
            None if is_level(directive) => ("", Some(directive)),
            None => (directive, None),
        };
        names_level |= level.is_some();
        let target = selector.split('[').next().unwrap_or("").trim();
        // A prefix (`redline=error`) is overridden by the floor, which is
        // more specific; only the target itself can hide the events.
        let is_audit = target == AUDIT_TARGET;
        names_audit |= is_audit;
        if is_audit
            && let Some(level) = level
            && hides_info(level)
        {
            return Err(LogError::HidesAudit(format!(
                "a level below info for {AUDIT_TARGET} would silence the security and audit events (written at INFO and WARN); a filter may lower noise but not hide them"
            )));
        }
    }
    if !names_level {
        return Err(LogError::NoLevel(
            "the filter names no level (a bare word is read as a target name, which would silence every other target); name one, e.g. `info` or `warn,my_crate=debug`".into(),
        ));
    }
    Ok(if names_audit {
        directives.to_owned()
    } else {
        format!("{directives},{AUDIT_FLOOR}")
    })
}

/// The filter to install for `directives`, and its text as installed: the
/// checks and the audit floor of [`with_audit_floor`], then parsed. What
/// every installed filter goes through, at start and at run time.
pub(crate) fn installable(
    directives: &str,
) -> Result<(tracing_subscriber::EnvFilter, String), LogError> {
    let directives = with_audit_floor(directives)?;
    let filter = tracing_subscriber::EnvFilter::try_new(&directives)
        .map_err(|e| LogError::Filter(e.to_string()))?;
    Ok((filter, directives))
}

/// Commas outside `[...]` and `{...}` separate directives.
fn split(directives: &str) -> impl Iterator<Item = &str> {
    let mut depth = 0i32;
    let mut start = 0;
    let mut out = Vec::new();
    for (i, c) in directives.char_indices() {
        match c {
            '[' | '{' => depth += 1,
            ']' | '}' => depth -= 1,
            ',' if depth <= 0 => {
                out.push(&directives[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&directives[start..]);
    out.into_iter()
}

/// `(selector, level)` at the last `=` outside brackets.
fn level_split(directive: &str) -> Option<(&str, &str)> {
    let mut depth = 0i32;
    let mut at = None;
    for (i, c) in directive.char_indices() {
        match c {
            '[' | '{' => depth += 1,
            ']' | '}' => depth -= 1,
            '=' if depth <= 0 => at = Some(i),
            _ => {}
        }
    }
    at.map(|i| (&directive[..i], &directive[i + 1..]))
}

fn is_level(word: &str) -> bool {
    LEVELS.iter().any(|l| l.eq_ignore_ascii_case(word.trim())) || word.trim() == "5"
}

/// Whether `level` leaves WARN events out.
fn hides_info(level: &str) -> bool {
    ["off", "error", "warn", "0", "1", "2"]
        .iter()
        .any(|l| l.eq_ignore_ascii_case(level))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_is_appended_unless_named() {
        assert_eq!(
            with_audit_floor("info").unwrap(),
            "info,redline::security=info"
        );
        assert_eq!(
            with_audit_floor(" off ").unwrap(),
            "off,redline::security=info"
        );
        assert_eq!(
            with_audit_floor("error,redline=error").unwrap(),
            "error,redline=error,redline::security=info",
            "a more specific directive wins in EnvFilter"
        );
        assert_eq!(
            with_audit_floor("warn,redline::security=debug").unwrap(),
            "warn,redline::security=debug"
        );
        assert_eq!(
            with_audit_floor("info,my[span{a=1,b=2}]=debug").unwrap(),
            "info,my[span{a=1,b=2}]=debug,redline::security=info"
        );
        assert_eq!(
            with_audit_floor("info,redline::securityx=off").unwrap(),
            "info,redline::securityx=off,redline::security=info"
        );
    }

    #[test]
    fn filters_that_hide_audit_events_or_name_no_level_are_refused() {
        for hides in [
            "info,redline::security=off",
            "redline::security=error",
            "redline::security=warn",
            "info,redline::security[x]=OFF",
        ] {
            assert!(
                matches!(with_audit_floor(hides), Err(LogError::HidesAudit(_))),
                "{hides}"
            );
        }
        for no_level in ["wran", "redline::demo", "", " , "] {
            assert!(
                matches!(with_audit_floor(no_level), Err(LogError::NoLevel(_))),
                "{no_level}"
            );
        }
    }

    /// The floor works: with `off`, security events are still written.
    #[test]
    fn security_events_pass_an_off_filter() {
        use tracing_subscriber::layer::SubscriberExt;
        let filter =
            tracing_subscriber::EnvFilter::try_new(with_audit_floor("off").unwrap()).unwrap();
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = seen.clone();
        let layer = tracing_subscriber::fmt::layer().with_writer(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            std::io::sink()
        });
        let subscriber = tracing_subscriber::registry().with(filter).with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "redline::security", "refusal");
            tracing::info!(target: "redline::security", "audit record");
            tracing::error!(target: "redline::demo", "silenced");
            tracing::debug!(target: "redline::security", "below the floor");
        });
        assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 2);
    }
}
