//! Why the bot refuses a message, and the longest text it takes: shared by
//! the bot and the command grammar, which would otherwise import each other.

/// Longest message text, in characters.
///
/// ```
/// # let t = redline::Telemetry::builder().build().unwrap();
/// # let bot = redline_demo::Bot::new(&t.operations());
/// use redline_demo::{BotError, MAX_TEXT_CHARS, Message};
/// let longest = "é".repeat(MAX_TEXT_CHARS); // characters, not bytes
/// assert!(bot.handle(Message { chat_id: 1, text: longest }).is_ok());
/// let too_long = "x".repeat(MAX_TEXT_CHARS + 1);
/// assert_eq!(bot.handle(Message { chat_id: 1, text: too_long }), Err(BotError::TextLength));
/// ```
pub const MAX_TEXT_CHARS: usize = 4096;

/// Why the bot refused a message. The message (`Display`) is fixed per
/// variant and never quotes the client's input; [`BotError::detail`] has
/// the input, for development mode.
///
/// ```
/// # let t = redline::Telemetry::builder().build().unwrap();
/// # let bot = redline_demo::Bot::new(&t.operations());
/// use redline_demo::{BotError, Message};
/// let err = bot.handle(Message { chat_id: 1, text: "/frobnicate".into() }).unwrap_err();
/// assert_eq!(err, BotError::UnknownCommand("frobnicate".into()));
/// assert_eq!(err.to_string(), "unknown command; try /help");
/// assert_eq!(err.detail(), "unknown command /frobnicate; try /help");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BotError {
    /// The text is empty or too long.
    #[error("text must have 1 to 4096 characters")]
    TextLength,
    /// The text holds a control character (other than tab and newline),
    /// a line separator or a bidirectional override.
    #[error(
        "text must not contain control characters (tab and newline excepted), line separators or bidirectional overrides"
    )]
    ControlCharacter,
    /// A command name outside the grammar.
    #[error("a command is / then a lowercase letter and up to 31 of a-z, 0-9 and _")]
    InvalidCommandName,
    /// No such command (the name sent).
    #[error("unknown command; try /help")]
    UnknownCommand(String),
    /// The command's arguments are wrong.
    #[error("{0}")]
    InvalidArguments(&'static str),
    /// The batch is empty or too large.
    #[error("a batch holds 1 to 100 messages")]
    BatchSize,
    /// The media body is empty.
    #[error("media body is empty")]
    EmptyMedia,
    /// No such group (the id sent).
    #[error("no such group; groups are 1 to 1000")]
    NoSuchGroup(u64),
}

impl BotError {
    /// The message with the client's input in it, for development mode
    /// (mask it before showing it); the same as `Display` for the
    /// variants without input.
    ///
    /// ```
    /// use redline_demo::BotError;
    /// assert_eq!(BotError::NoSuchGroup(0).detail(), "group 0 does not exist");
    /// assert_eq!(BotError::TextLength.detail(), BotError::TextLength.to_string());
    /// ```
    pub fn detail(&self) -> String {
        match self {
            BotError::UnknownCommand(name) => format!("unknown command /{name}; try /help"),
            BotError::NoSuchGroup(id) => format!("group {id} does not exist"),
            other => other.to_string(),
        }
    }
}
