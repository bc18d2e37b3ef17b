//! The grammar of the bot's messages and commands, checked before anything
//! runs:
//!
//! ```text
//! message  = 1 to 4096 characters, no control characters but tab and
//!            newline, no bidirectional overrides or line separators
//! command  = "/" name [ " " args ]
//! name     = a lowercase ASCII letter, then up to 31 of [a-z0-9_]
//! args     = the rest, trimmed; each command says what it takes
//! ```
//!
//! | command | arguments |
//! |---|---|
//! | `/start`, `/help`, `/stats` | none |
//! | `/echo TEXT` | 1 to 1024 characters |
//! | `/roll [SIDES]` | a number from 2 to 1000 (default 6) |

use super::refusal::{BotError, MAX_TEXT_CHARS};

/// Longest command name.
pub const MAX_COMMAND_NAME: usize = 32;
/// Longest `/echo` text, in characters.
pub const MAX_ECHO_CHARS: usize = 1024;

/// A parsed command.
///
/// ```
/// use redline_demo::{Command, parse_command};
/// assert_eq!(parse_command("/roll 20"), Ok(Some(Command::Roll(20))));
/// assert_eq!(parse_command("hello"), Ok(None), "not a command");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/start`
    Start,
    /// `/help`
    Help,
    /// `/stats`
    Stats,
    /// `/echo TEXT`
    Echo(String),
    /// `/roll [SIDES]`
    Roll(u32),
}

/// Checks a message's text: length and characters (see the module docs).
///
/// ```
/// use redline_demo::{BotError, validate_text};
/// assert_eq!(validate_text("hi\tthere\n"), Ok(()));
/// assert_eq!(validate_text(""), Err(BotError::TextLength));
/// assert_eq!(validate_text("a\u{1b}[2J"), Err(BotError::ControlCharacter));
/// assert_eq!(validate_text("abc\u{202e}fed"), Err(BotError::ControlCharacter));
/// ```
pub fn validate_text(text: &str) -> Result<(), BotError> {
    let mut chars = 0;
    for c in text.chars() {
        chars += 1;
        if chars > MAX_TEXT_CHARS {
            return Err(BotError::TextLength);
        }
        let allowed_control = c == '\n' || c == '\t';
        // needs_escape covers control characters, line separators and
        // bidirectional overrides.
        if !allowed_control && redline::redact::needs_escape(c) {
            return Err(BotError::ControlCharacter);
        }
    }
    if chars == 0 {
        return Err(BotError::TextLength);
    }
    Ok(())
}

/// Parses a command: `Ok(None)` when the text is not one (does not start
/// with `/`), an error when it breaks the grammar.
///
/// ```
/// use redline_demo::{BotError, Command, parse_command};
/// assert_eq!(parse_command("/echo  hi "), Ok(Some(Command::Echo("hi".into()))));
/// assert_eq!(parse_command("/start now"), Err(BotError::InvalidArguments("/start takes no arguments")));
/// assert_eq!(parse_command("/Start"), Err(BotError::InvalidCommandName));
/// assert_eq!(parse_command("/frobnicate"), Err(BotError::UnknownCommand("frobnicate".into())));
/// ```
pub fn parse_command(text: &str) -> Result<Option<Command>, BotError> {
    let Some(rest) = text.strip_prefix('/') else {
        return Ok(None);
    };
    let (name, args) = match rest.find([' ', '\t', '\n']) {
        Some(i) => (&rest[..i], rest[i..].trim()),
        None => (rest, ""),
    };
    let valid_name = name.len() <= MAX_COMMAND_NAME
        && name.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid_name {
        return Err(BotError::InvalidCommandName);
    }
    let no_args = |command: Command, message: &'static str| {
        if args.is_empty() {
            Ok(Some(command))
        } else {
            Err(BotError::InvalidArguments(message))
        }
    };
    match name {
        "start" => no_args(Command::Start, "/start takes no arguments"),
        "help" => no_args(Command::Help, "/help takes no arguments"),
        "stats" => no_args(Command::Stats, "/stats takes no arguments"),
        "echo" => {
            let chars = args.chars().count();
            if chars == 0 {
                Err(BotError::InvalidArguments("/echo needs text"))
            } else if chars > MAX_ECHO_CHARS {
                Err(BotError::InvalidArguments(
                    "/echo takes at most 1024 characters",
                ))
            } else {
                Ok(Some(Command::Echo(args.to_owned())))
            }
        }
        "roll" if args.is_empty() => Ok(Some(Command::Roll(6))),
        "roll" => args
            .parse::<u32>()
            .ok()
            .filter(|s| (2..=1000).contains(s) && args.bytes().all(|b| b.is_ascii_digit()))
            .map(|s| Some(Command::Roll(s)))
            .ok_or(BotError::InvalidArguments(
                "/roll takes a number of sides from 2 to 1000",
            )),
        other => Err(BotError::UnknownCommand(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        let ok = [
            ("/start", Command::Start),
            ("/help", Command::Help),
            ("/stats", Command::Stats),
            ("/roll", Command::Roll(6)),
            ("/roll 1000", Command::Roll(1000)),
            ("/roll\t2", Command::Roll(2)),
            ("/echo a b  c", Command::Echo("a b  c".into())),
        ];
        for (text, command) in ok {
            assert_eq!(parse_command(text), Ok(Some(command)), "{text}");
        }
        let refused = [
            ("/", BotError::InvalidCommandName),
            ("/ start", BotError::InvalidCommandName),
            ("/st-art", BotError::InvalidCommandName),
            ("/1start", BotError::InvalidCommandName),
            ("/ä", BotError::InvalidCommandName),
            (
                &*format!("/{}", "a".repeat(33)),
                BotError::InvalidCommandName,
            ),
            (
                "/roll 1",
                BotError::InvalidArguments("/roll takes a number of sides from 2 to 1000"),
            ),
            (
                "/roll +6",
                BotError::InvalidArguments("/roll takes a number of sides from 2 to 1000"),
            ),
            (
                "/roll 99999999999",
                BotError::InvalidArguments("/roll takes a number of sides from 2 to 1000"),
            ),
            ("/echo", BotError::InvalidArguments("/echo needs text")),
            (
                "/stats x",
                BotError::InvalidArguments("/stats takes no arguments"),
            ),
            ("/nope", BotError::UnknownCommand("nope".into())),
        ];
        for (text, error) in refused {
            assert_eq!(parse_command(text), Err(error), "{text}");
        }
        let long = format!("/echo {}", "x".repeat(MAX_ECHO_CHARS + 1));
        assert!(parse_command(&long).is_err());
        assert_eq!(parse_command("plain text"), Ok(None));
    }
}
