//! Reading a principals file: TOML in, checked [`Principal`]s out, or an
//! error naming the principal at fault and what to change. Values are never
//! echoed (a misplaced token must not end in a log), only key names.

use std::path::Path;

use super::{Principal, Role};
use crate::admin::AdminToken;
use crate::parse::ConfigError;

/// The keys a `[[principal]]` table may hold.
const KEYS: [&str; 5] = ["name", "role", "token_sha256", "token_file", "expires"];

/// Reads and checks the file at `path`; errors name `variable`.
pub(super) fn load(variable: &str, path: &Path) -> Result<Vec<Principal>, ConfigError> {
    let fail = |principal: Option<String>, reason: String| ConfigError::AdminPrincipals {
        variable: variable.to_owned(),
        path: path.to_owned(),
        principal,
        reason,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(None, format!("a readable UTF-8 file ({e})")))?;
    parse(&text, path.parent().unwrap_or(Path::new(""))).map_err(|(p, reason)| fail(p, reason))
}

/// A fault: the principal (`"name"`, or `#N` before its name is known) and
/// what is wrong.
type Fault = (Option<String>, String);

/// Parses a file's text; relative `token_file` paths are under `dir`.
pub(super) fn parse(text: &str, dir: &Path) -> Result<Vec<Principal>, Fault> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        // The message only: the error's own rendering quotes the line,
        // which could hold a secret.
        let line = e
            .span()
            .map(|s| text.get(..s.start).unwrap_or("").lines().count().max(1));
        let at = line.map_or_else(String::new, |l| format!(" at line {l}"));
        (None, format!("valid TOML{at}: {}", e.message().trim()))
    })?;
    if let Some(key) = table.keys().find(|k| *k != "principal") {
        return Err((
            None,
            format!("only [[principal]] tables, not the key {key:?}"),
        ));
    }
    let entries = match table.get("principal") {
        None => return Ok(Vec::new()),
        Some(toml::Value::Array(entries)) => entries,
        Some(_) => return Err((None, "`principal` as [[principal]] tables".to_owned())),
    };
    let mut principals: Vec<Principal> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let number = format!("#{}", i + 1);
        let toml::Value::Table(entry) = entry else {
            return Err((Some(number), "a [[principal]] table".to_owned()));
        };
        let p = principal(entry, dir).map_err(|(name, reason)| (name.or(Some(number)), reason))?;
        if let Some(q) = principals.iter().find(|q| q.name == p.name) {
            return Err((
                Some(format!("{:?}", q.name)),
                "a name used once: it is given twice".to_owned(),
            ));
        }
        if let Some(q) = principals.iter().find(|q| q.token == p.token) {
            return Err((
                Some(format!("{:?}", p.name)),
                format!("a token of its own: it has the token of {:?}", q.name),
            ));
        }
        principals.push(p);
    }
    Ok(principals)
}

/// One `[[principal]]` table.
fn principal(entry: &toml::Table, dir: &Path) -> Result<Principal, Fault> {
    let name = match entry.get("name") {
        Some(toml::Value::String(name)) if valid_name(name) => name.clone(),
        Some(_) => {
            return Err((
                None,
                "a `name` of 1 to 64 letters, digits, `.`, `_`, `-` or `@`".to_owned(),
            ));
        }
        None => return Err((None, "a `name`".to_owned())),
    };
    let fault = |reason: String| (Some(format!("{name:?}")), reason);
    if let Some(key) = entry.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(fault(format!(
            "only the keys {}; {key:?} is not one",
            KEYS.join(", ")
        )));
    }
    let role = match entry.get("role") {
        Some(toml::Value::String(role)) => Role::from_name(role).ok_or_else(|| {
            fault(format!(
                "a `role` of viewer or operator, not {:?}",
                role.chars().take(32).collect::<String>()
            ))
        })?,
        Some(_) => return Err(fault("a `role` string: viewer or operator".to_owned())),
        None => return Err(fault("a `role`: viewer or operator".to_owned())),
    };
    let token = match (entry.get("token_sha256"), entry.get("token_file")) {
        (Some(hex), None) => hex
            .as_str()
            .and_then(AdminToken::from_sha256_hex)
            .ok_or_else(|| {
                fault(
                    "a `token_sha256` of 64 hexadecimal characters (`printf %s \"$TOKEN\" | sha256sum`)"
                        .to_owned(),
                )
            })?,
        (None, Some(file)) => {
            let file = file
                .as_str()
                .ok_or_else(|| fault("a `token_file` path string".to_owned()))?;
            token_from_file(&dir.join(file)).map_err(fault)?
        }
        _ => {
            return Err(fault(
                "exactly one of `token_sha256` and `token_file`".to_owned(),
            ));
        }
    };
    let expires = match entry.get("expires") {
        None => None,
        Some(toml::Value::Datetime(at)) => Some(expiry(&at.to_string()).map_err(fault)?),
        Some(toml::Value::String(at)) => Some(expiry(at).map_err(fault)?),
        Some(_) => return Err(fault(EXPIRES.to_owned())),
    };
    let p = Principal::new(name, role, token);
    Ok(match expires {
        Some(at) => p.expiring_at(at),
        None => p,
    })
}

const EXPIRES: &str = "an `expires` date-time with its offset, such as 2027-01-01T00:00:00Z";

fn expiry(text: &str) -> Result<std::time::SystemTime, String> {
    crate::timefmt::parse_rfc3339(text).ok_or_else(|| EXPIRES.to_owned())
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b))
}

/// The token a `token_file` holds, hashed: 16 or more visible ASCII
/// characters, surrounding white space ignored.
fn token_from_file(path: &Path) -> Result<AdminToken, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("a readable `token_file` ({}: {e})", path.display()))?;
    let token = text.trim();
    if token.len() < 16 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "a `token_file` holding at least 16 visible ASCII characters ({} does not; generate one with `openssl rand -hex 32`)",
            path.display()
        ));
    }
    Ok(AdminToken::new(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "4a3057fd3371720d01f5d351fecab0d7948fd22e15a5c2c2b92b0b2696d3eeca";

    fn entry(name: &str, body: &str) -> String {
        format!("[[principal]]\nname = \"{name}\"\n{body}\n")
    }

    fn error(text: &str) -> Fault {
        parse(text, Path::new("/nonexistent")).unwrap_err()
    }

    #[test]
    fn a_complete_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ops"), "ops-token-0123456789\n").unwrap();
        let text = format!(
            "{}{}{}",
            entry(
                "ci-bot",
                &format!(
                    "role = \"viewer\"\ntoken_sha256 = \"{HEX}\"\nexpires = 2027-01-01T00:00:00Z"
                )
            ),
            entry("ops", "role = \"operator\"\ntoken_file = \"ops\""),
            entry(
                "temp",
                &format!(
                    "role = \"viewer\"\ntoken_sha256 = \"{}\"\nexpires = \"2027-01-01T01:00:00+01:00\"",
                    HEX.to_uppercase().replace('A', "b")
                )
            ),
        );
        let all = parse(&text, dir.path()).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].role(), Role::Viewer);
        assert!(all[0].token().verify("s3cret-s3cret-s3cret"));
        assert_eq!(all[0].expires(), all[2].expires());
        assert!(all[1].token().verify("ops-token-0123456789"));
        assert_eq!(all[1].role(), Role::Operator);
        assert_eq!(all[1].expires(), None);
        assert_eq!(parse("", dir.path()).unwrap(), Vec::new());
    }

    #[test]
    fn each_mistake_names_the_principal_and_never_a_value() {
        let hex = format!("token_sha256 = \"{HEX}\"");
        let cases: Vec<(String, Option<&str>, &str)> = vec![
            ("principal = [".into(), None, "valid TOML at line 1"),
            (
                "[principal]\nname = \"a\"".into(),
                None,
                "[[principal]] tables",
            ),
            ("token = \"s3cret\"".into(), None, "not the key \"token\""),
            (
                entry(
                    "a",
                    &format!("role = \"viewer\"\n{hex}\ntoken = \"leaked-secret\""),
                ),
                Some("\"a\""),
                "\"token\" is not one",
            ),
            (
                entry("a", &format!("role = \"admin\"\n{hex}")),
                Some("\"a\""),
                "viewer or operator, not \"admin\"",
            ),
            (entry("a", &hex), Some("\"a\""), "a `role`"),
            (
                format!("[[principal]]\nrole = \"viewer\"\n{hex}\n"),
                Some("#1"),
                "a `name`",
            ),
            (
                entry("a b", &format!("role = \"viewer\"\n{hex}")),
                Some("#1"),
                "letters, digits",
            ),
            (
                format!(
                    "{}{}",
                    entry("a", &format!("role = \"viewer\"\n{hex}")),
                    entry(
                        "a",
                        &format!("role = \"viewer\"\ntoken_sha256 = \"{}\"", "0".repeat(64))
                    )
                ),
                Some("\"a\""),
                "given twice",
            ),
            (
                format!(
                    "{}{}",
                    entry("a", &format!("role = \"viewer\"\n{hex}")),
                    entry("b", &format!("role = \"operator\"\n{hex}"))
                ),
                Some("\"b\""),
                "the token of \"a\"",
            ),
            (
                entry("a", "role = \"viewer\""),
                Some("\"a\""),
                "exactly one of",
            ),
            (
                entry(
                    "a",
                    &format!("role = \"viewer\"\n{hex}\ntoken_file = \"t\""),
                ),
                Some("\"a\""),
                "exactly one of",
            ),
            (
                entry("a", "role = \"viewer\"\ntoken_sha256 = \"s3cret-not-hex\""),
                Some("\"a\""),
                "64 hexadecimal",
            ),
            (
                entry(
                    "a",
                    &format!("role = \"viewer\"\ntoken_sha256 = \"{}\"", &HEX[1..]),
                ),
                Some("\"a\""),
                "64 hexadecimal",
            ),
            (
                entry("a", "role = \"viewer\"\ntoken_file = \"missing\""),
                Some("\"a\""),
                "a readable `token_file`",
            ),
            (
                entry(
                    "a",
                    &format!("role = \"viewer\"\n{hex}\nexpires = 2027-01-01T00:00:00"),
                ),
                Some("\"a\""),
                "with its offset",
            ),
            (
                entry(
                    "a",
                    &format!("role = \"viewer\"\n{hex}\nexpires = \"soon\""),
                ),
                Some("\"a\""),
                "with its offset",
            ),
            (
                entry("a", &format!("role = \"viewer\"\n{hex}\nexpires = 2027")),
                Some("\"a\""),
                "with its offset",
            ),
        ];
        for (text, principal, reason) in cases {
            let (p, r) = error(&text);
            assert_eq!(p.as_deref(), principal, "{text}: {r}");
            assert!(r.contains(reason), "{text}: {r}");
            assert!(!r.contains("s3cret") && !r.contains("leaked"), "{r}");
        }
    }

    #[test]
    fn a_short_token_file_is_refused_without_showing_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("short"), "s3cret\n").unwrap();
        std::fs::write(dir.path().join("spaces"), "s3cret s3cret s3cret\n").unwrap();
        for file in ["short", "spaces"] {
            let text = entry("a", &format!("role = \"viewer\"\ntoken_file = \"{file}\""));
            let (p, r) = parse(&text, dir.path()).unwrap_err();
            assert_eq!(p.as_deref(), Some("\"a\""));
            assert!(r.contains("at least 16 visible ASCII"), "{r}");
            assert!(!r.contains("s3cret"), "{r}");
        }
    }

    #[test]
    fn load_names_the_variable_and_the_file() {
        let err = load(
            "REDLINE_ADMIN_PRINCIPALS_FILE",
            Path::new("/nonexistent/p.toml"),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("invalid REDLINE_ADMIN_PRINCIPALS_FILE=\"/nonexistent/p.toml\""),
            "{text}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, entry("ci", "role = \"root\"")).unwrap();
        let err = load("REDLINE_ADMIN_PRINCIPALS_FILE", &path).unwrap_err();
        assert!(
            matches!(err, ConfigError::AdminPrincipals { principal: Some(ref p), .. } if p == "\"ci\""),
            "{err}"
        );
    }
}
