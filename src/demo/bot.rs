//! The demo's message-bot domain: the command executor, the conversation
//! engine, the media handler, the batch processor and the group manager,
//! each timed with the operation timer.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::metrics::{Operation, OperationTimer};

/// Most conversations kept; the oldest is forgotten past that.
///
/// ```
/// # let t = redline::Telemetry::builder().build().unwrap();
/// # let bot = redline::demo::Bot::new(&t.operations());
/// use redline::demo::Message;
/// use redline::demo::MAX_CONVERSATIONS;
/// for chat_id in 0..=MAX_CONVERSATIONS as u64 {
///     bot.handle(Message { chat_id, text: "hi".into() }).unwrap();
/// }
/// assert_eq!(bot.conversation(0), None, "the oldest was forgotten");
/// assert!(bot.conversation(1).is_some());
/// ```
pub const MAX_CONVERSATIONS: usize = 10_000;
/// Most messages kept per conversation.
///
/// ```
/// # let t = redline::Telemetry::builder().build().unwrap();
/// # let bot = redline::demo::Bot::new(&t.operations());
/// use redline::demo::Message;
/// use redline::demo::MAX_HISTORY;
/// for i in 0..=MAX_HISTORY {
///     bot.handle(Message { chat_id: 1, text: format!("m{i}") }).unwrap();
/// }
/// let history = bot.conversation(1).unwrap();
/// assert_eq!((history.len(), history[0].as_str()), (MAX_HISTORY, "m1"));
/// ```
pub const MAX_HISTORY: usize = 50;
/// Longest message text, in characters.
///
/// ```
/// # let t = redline::Telemetry::builder().build().unwrap();
/// # let bot = redline::demo::Bot::new(&t.operations());
/// use redline::demo::{BotError, MAX_TEXT_CHARS, Message};
/// let longest = "é".repeat(MAX_TEXT_CHARS); // characters, not bytes
/// assert!(bot.handle(Message { chat_id: 1, text: longest }).is_ok());
/// let too_long = "x".repeat(MAX_TEXT_CHARS + 1);
/// assert_eq!(bot.handle(Message { chat_id: 1, text: too_long }), Err(BotError::TextLength));
/// ```
pub const MAX_TEXT_CHARS: usize = 4096;
/// Most messages in one batch.
///
/// ```
/// # let t = redline::Telemetry::builder().build().unwrap();
/// # let bot = redline::demo::Bot::new(&t.operations());
/// use redline::demo::{BotError, MAX_BATCH, Message};
/// let message = Message { chat_id: 1, text: "hi".into() };
/// assert!(bot.batch(vec![message.clone(); MAX_BATCH]).is_ok());
/// assert_eq!(bot.batch(vec![message; MAX_BATCH + 1]), Err(BotError::BatchSize));
/// ```
pub const MAX_BATCH: usize = 100;
/// Groups that exist: ids 1 to this.
///
/// ```
/// # let t = redline::Telemetry::builder().build().unwrap();
/// # let bot = redline::demo::Bot::new(&t.operations());
/// use redline::demo::{BotError, GROUP_COUNT};
/// assert!(bot.group_members(GROUP_COUNT).is_ok());
/// assert_eq!(bot.group_members(GROUP_COUNT + 1), Err(BotError::NoSuchGroup(GROUP_COUNT + 1)));
/// ```
pub const GROUP_COUNT: u64 = 1000;

/// An incoming chat message.
///
/// ```
/// use redline::demo::Message;
/// let m: Message = serde_json::from_str(r#"{"chat_id": 7, "text": "/help"}"#).unwrap();
/// assert_eq!(m, Message { chat_id: 7, text: "/help".into() });
/// // Unknown fields are refused.
/// assert!(serde_json::from_str::<Message>(r#"{"chat_id": 7, "text": "hi", "x": 1}"#).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// The conversation it belongs to.
    pub chat_id: u64,
    /// Its text; `/command args` runs a command.
    pub text: String,
}

/// What the bot answers.
///
/// ```
/// # let t = redline::Telemetry::builder().build().unwrap();
/// # let bot = redline::demo::Bot::new(&t.operations());
/// use redline::demo::Message;
/// let reply = bot.handle(Message { chat_id: 3, text: "hello".into() }).unwrap();
/// assert_eq!(reply.chat_id, 3);
/// assert_eq!(reply.handled_by, "conversation");
/// assert_eq!(reply.reply, "you said 5 characters; 1 messages so far");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// The conversation.
    pub chat_id: u64,
    /// The answer text.
    pub reply: String,
    /// `command` or `conversation`.
    pub handled_by: &'static str,
}

/// Why the bot refused a message.
///
/// ```
/// # let t = redline::Telemetry::builder().build().unwrap();
/// # let bot = redline::demo::Bot::new(&t.operations());
/// use redline::demo::{BotError, Message};
/// let err = bot.handle(Message { chat_id: 1, text: "/frobnicate".into() }).unwrap_err();
/// assert_eq!(err, BotError::UnknownCommand("frobnicate".into()));
/// assert_eq!(err.to_string(), "unknown command /frobnicate; try /help");
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
    /// No such command.
    #[error("unknown command /{0}; try /help")]
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
    /// No such group.
    #[error("group {0} does not exist")]
    NoSuchGroup(u64),
}

/// Result of the media handler.
///
/// ```
/// # let t = redline::Telemetry::builder().build().unwrap();
/// # let bot = redline::demo::Bot::new(&t.operations());
/// let info: redline::demo::MediaInfo = bot.media(b"%PDF-1.7").unwrap();
/// assert_eq!(info.bytes, 8);
/// assert_eq!(info.kind, "application/pdf");
/// assert_eq!(info.checksum.len(), 16);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaInfo {
    /// Bytes received.
    pub bytes: usize,
    /// Detected type from the magic bytes.
    pub kind: &'static str,
    /// FNV-1a checksum, hex.
    pub checksum: String,
}

/// Result of the batch processor.
///
/// ```
/// # let t = redline::Telemetry::builder().build().unwrap();
/// # let bot = redline::demo::Bot::new(&t.operations());
/// use redline::demo::Message;
/// let report = bot.batch(vec![
///     Message { chat_id: 1, text: "hi".into() },
///     Message { chat_id: 1, text: "/nope".into() },
/// ]).unwrap();
/// assert_eq!(report.processed, 1);
/// assert_eq!(report.failed, ["message 1: unknown command /nope; try /help"]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchReport {
    /// Messages answered.
    pub processed: usize,
    /// Messages refused, with the reason.
    pub failed: Vec<String>,
}

/// The bot: state plus one pre-resolved operation handle per component.
///
/// ```
/// use redline::demo::{Bot, Message};
/// let t = redline::Telemetry::builder().build().unwrap();
/// let bot = Bot::new(&t.operations());
/// bot.handle(Message { chat_id: 1, text: "/start".into() }).unwrap();
/// let metrics = t.render_metrics();
/// assert!(metrics.contains(r#"redline_operation_duration_seconds_count{operation="command_executor",outcome="success"} 1"#));
/// ```
pub struct Bot {
    conversations: Mutex<Conversations>,
    command_executor: Operation,
    conversation_engine: Operation,
    media_handler: Operation,
    batch_processor: Operation,
    group_manager: Operation,
}

#[derive(Default)]
struct Conversations {
    by_chat: HashMap<u64, VecDeque<String>>,
    order: VecDeque<u64>,
}

impl Bot {
    /// A bot whose components are timed with `ops`.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// let bot = redline::demo::Bot::new(&t.operations());
    /// let reply = bot.handle(redline::demo::Message { chat_id: 1, text: "/echo hi".into() }).unwrap();
    /// assert_eq!(reply.reply, "hi");
    /// ```
    pub fn new(ops: &OperationTimer) -> Self {
        Self {
            conversations: Mutex::new(Conversations::default()),
            command_executor: ops.operation("command_executor"),
            conversation_engine: ops.operation("conversation_engine"),
            media_handler: ops.operation("media_handler"),
            batch_processor: ops.operation("batch_processor"),
            group_manager: ops.operation("group_manager"),
        }
    }

    /// Answers one message: commands through the command executor, other
    /// text through the conversation engine.
    ///
    /// ```
    /// # let t = redline::Telemetry::builder().build().unwrap();
    /// # let bot = redline::demo::Bot::new(&t.operations());
    /// use redline::demo::Message;
    /// let command = bot.handle(Message { chat_id: 1, text: "/echo hi".into() }).unwrap();
    /// assert_eq!((command.reply.as_str(), command.handled_by), ("hi", "command"));
    /// let chat = bot.handle(Message { chat_id: 1, text: "hello".into() }).unwrap();
    /// assert_eq!(chat.handled_by, "conversation");
    /// ```
    pub fn handle(&self, message: Message) -> Result<Reply, BotError> {
        super::command::validate_text(&message.text)?;
        if message.text.starts_with('/') {
            let reply = self.command_executor.time(|| {
                match super::command::parse_command(&message.text)? {
                    Some(command) => Ok(self.execute(message.chat_id, command)),
                    None => Err(BotError::InvalidCommandName),
                }
            })?;
            Ok(Reply {
                chat_id: message.chat_id,
                reply,
                handled_by: "command",
            })
        } else {
            let reply = self
                .conversation_engine
                .time(|| Ok::<_, BotError>(self.converse(message.chat_id, &message.text)))?;
            Ok(Reply {
                chat_id: message.chat_id,
                reply,
                handled_by: "conversation",
            })
        }
    }

    fn execute(&self, chat_id: u64, command: super::command::Command) -> String {
        use super::command::Command;
        match command {
            Command::Start => "welcome! send /help for commands".into(),
            Command::Help => "commands: /start /help /echo TEXT /roll [SIDES] /stats".into(),
            Command::Echo(text) => text,
            Command::Roll(sides) => format!("rolled {} of {sides}", rand::random_range(1..=sides)),
            Command::Stats => {
                let c = self
                    .conversations
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let mine = c.by_chat.get(&chat_id).map_or(0, VecDeque::len);
                format!(
                    "{} conversations, {mine} messages in this one",
                    c.by_chat.len()
                )
            }
        }
    }

    fn converse(&self, chat_id: u64, text: &str) -> String {
        let mut c = self
            .conversations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !c.by_chat.contains_key(&chat_id) {
            if c.by_chat.len() >= MAX_CONVERSATIONS
                && let Some(oldest) = c.order.pop_front()
            {
                c.by_chat.remove(&oldest);
            }
            c.order.push_back(chat_id);
        }
        let history = c.by_chat.entry(chat_id).or_default();
        if history.len() >= MAX_HISTORY {
            history.pop_front();
        }
        history.push_back(text.to_owned());
        let n = history.len();
        format!(
            "you said {} characters; {n} messages so far",
            text.chars().count()
        )
    }

    /// The messages kept for a conversation, oldest first.
    ///
    /// ```
    /// # let t = redline::Telemetry::builder().build().unwrap();
    /// # let bot = redline::demo::Bot::new(&t.operations());
    /// use redline::demo::Message;
    /// assert_eq!(bot.conversation(5), None);
    /// bot.handle(Message { chat_id: 5, text: "hello".into() }).unwrap();
    /// assert_eq!(bot.conversation(5), Some(vec!["hello".to_string()]));
    /// ```
    pub fn conversation(&self, chat_id: u64) -> Option<Vec<String>> {
        let c = self
            .conversations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        c.by_chat.get(&chat_id).map(|h| h.iter().cloned().collect())
    }

    /// Inspects an uploaded media body.
    ///
    /// ```
    /// # let t = redline::Telemetry::builder().build().unwrap();
    /// # let bot = redline::demo::Bot::new(&t.operations());
    /// use redline::demo::BotError;
    /// let png = bot.media(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A]).unwrap();
    /// assert_eq!((png.bytes, png.kind), (6, "image/png"));
    /// assert_eq!(bot.media(&[]), Err(BotError::EmptyMedia));
    /// ```
    pub fn media(&self, body: &[u8]) -> Result<MediaInfo, BotError> {
        self.media_handler.time(|| {
            if body.is_empty() {
                return Err(BotError::EmptyMedia);
            }
            let kind = match body {
                [0x89, b'P', b'N', b'G', ..] => "image/png",
                [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
                [b'G', b'I', b'F', b'8', ..] => "image/gif",
                [b'%', b'P', b'D', b'F', ..] => "application/pdf",
                _ => "application/octet-stream",
            };
            let checksum = body.iter().fold(0xcbf29ce484222325u64, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
            });
            Ok(MediaInfo {
                bytes: body.len(),
                kind,
                checksum: format!("{checksum:016x}"),
            })
        })
    }

    /// Answers a batch of messages, reporting the ones refused.
    ///
    /// ```
    /// # let t = redline::Telemetry::builder().build().unwrap();
    /// # let bot = redline::demo::Bot::new(&t.operations());
    /// use redline::demo::{BotError, Message};
    /// let messages = vec![
    ///     Message { chat_id: 2, text: "/echo a".into() },
    ///     Message { chat_id: 2, text: "".into() },
    /// ];
    /// let report = bot.batch(messages).unwrap();
    /// assert_eq!((report.processed, report.failed.len()), (1, 1));
    /// assert_eq!(bot.batch(Vec::new()), Err(BotError::BatchSize));
    /// ```
    pub fn batch(&self, messages: Vec<Message>) -> Result<BatchReport, BotError> {
        self.batch_processor.time(|| {
            if messages.is_empty() || messages.len() > MAX_BATCH {
                return Err(BotError::BatchSize);
            }
            let mut report = BatchReport {
                processed: 0,
                failed: Vec::new(),
            };
            for (i, m) in messages.into_iter().enumerate() {
                match self.handle(m) {
                    Ok(_) => report.processed += 1,
                    Err(e) => report.failed.push(format!("message {i}: {e}")),
                }
            }
            Ok(report)
        })
    }

    /// The members of a group.
    ///
    /// ```
    /// # let t = redline::Telemetry::builder().build().unwrap();
    /// # let bot = redline::demo::Bot::new(&t.operations());
    /// use redline::demo::BotError;
    /// assert_eq!(bot.group_members(1).unwrap(), ["user10", "user11", "user12"]);
    /// assert_eq!(bot.group_members(0), Err(BotError::NoSuchGroup(0)));
    /// ```
    pub fn group_members(&self, group_id: u64) -> Result<Vec<String>, BotError> {
        self.group_manager.time(|| {
            if group_id == 0 || group_id > GROUP_COUNT {
                return Err(BotError::NoSuchGroup(group_id));
            }
            let size = (group_id % 7 + 2) as usize;
            Ok((0..size)
                .map(|i| format!("user{}", group_id * 10 + i as u64))
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bot() -> Bot {
        let t = crate::Telemetry::builder().build().unwrap();
        Bot::new(&t.operations())
    }

    #[test]
    fn commands_and_conversation() {
        let b = bot();
        let m = |text: &str| Message {
            chat_id: 7,
            text: text.into(),
        };
        assert_eq!(b.handle(m("/echo a b")).unwrap().reply, "a b");
        assert!(matches!(b.handle(m("/nope")), Err(BotError::UnknownCommand(n)) if n == "nope"));
        assert!(matches!(
            b.handle(m("/roll 1")),
            Err(BotError::InvalidArguments(_))
        ));
        assert!(b.handle(m("/roll 20")).unwrap().reply.ends_with("of 20"));
        assert_eq!(b.handle(m("hello")).unwrap().handled_by, "conversation");
        assert_eq!(b.conversation(7).unwrap(), vec!["hello".to_string()]);
        assert_eq!(b.handle(m("")), Err(BotError::TextLength));
        assert_eq!(
            b.handle(m(&"x".repeat(MAX_TEXT_CHARS + 1))),
            Err(BotError::TextLength)
        );
    }

    #[test]
    fn conversation_memory_is_bounded() {
        let b = bot();
        for chat in 0..(MAX_CONVERSATIONS as u64 + 10) {
            b.handle(Message {
                chat_id: chat,
                text: "hi".into(),
            })
            .unwrap();
        }
        assert!(b.conversation(0).is_none(), "oldest conversation evicted");
        for _ in 0..(MAX_HISTORY + 5) {
            b.handle(Message {
                chat_id: 1,
                text: "again".into(),
            })
            .unwrap();
        }
        assert_eq!(b.conversation(1).unwrap().len(), MAX_HISTORY);
    }

    #[test]
    fn media_batch_groups() {
        let b = bot();
        assert_eq!(b.media(b"\x89PNG....").unwrap().kind, "image/png");
        assert_eq!(b.media(b""), Err(BotError::EmptyMedia));
        let report = b
            .batch(vec![
                Message {
                    chat_id: 1,
                    text: "a".into(),
                },
                Message {
                    chat_id: 1,
                    text: "/bogus".into(),
                },
            ])
            .unwrap();
        assert_eq!(report.processed, 1);
        assert_eq!(report.failed.len(), 1);
        assert_eq!(b.batch(vec![]), Err(BotError::BatchSize));
        assert_eq!(b.group_members(3).unwrap().len(), 5);
        assert_eq!(b.group_members(0), Err(BotError::NoSuchGroup(0)));
    }
}
