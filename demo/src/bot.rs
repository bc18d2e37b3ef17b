//! The demo's message-bot domain: the command executor, the conversation
//! engine, the media handler, the batch processor and the group manager,
//! each timed with the operation timer.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use super::media::{MediaCache, MediaInfo, analyze};
use super::refusal::BotError;
use super::store::{MEMORY_BUDGET_BYTES, MemoryUsage, Store};
use redline::metrics::{Operation, OperationTimer};

/// Most messages in one batch.
///
/// ```
/// # let t = redline::Telemetry::builder().build().unwrap();
/// # let bot = redline_demo::Bot::new(&t.operations());
/// use redline_demo::{BotError, MAX_BATCH, Message};
/// let message = Message { chat_id: 1, text: "hi".into() };
/// assert!(bot.batch(vec![message.clone(); MAX_BATCH]).is_ok());
/// assert_eq!(bot.batch(vec![message; MAX_BATCH + 1]), Err(BotError::BatchSize));
/// ```
pub const MAX_BATCH: usize = 100;
/// Groups that exist: ids 1 to this.
///
/// ```
/// # let t = redline::Telemetry::builder().build().unwrap();
/// # let bot = redline_demo::Bot::new(&t.operations());
/// use redline_demo::{BotError, GROUP_COUNT};
/// assert!(bot.group_members(GROUP_COUNT).is_ok());
/// assert_eq!(bot.group_members(GROUP_COUNT + 1), Err(BotError::NoSuchGroup(GROUP_COUNT + 1)));
/// ```
pub const GROUP_COUNT: u64 = 1000;

/// An incoming chat message.
///
/// ```
/// use redline_demo::Message;
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
/// # let bot = redline_demo::Bot::new(&t.operations());
/// use redline_demo::Message;
/// let reply = bot.handle(Message { chat_id: 3, text: "hello".into() }).unwrap();
/// assert_eq!(reply.chat_id, 3);
/// assert_eq!(reply.handled_by, "conversation");
/// assert_eq!(reply.reply, "you said 5 characters; 1 messages so far");
/// // The chat's first message created it: its token, given only now.
/// let token = reply.token.unwrap();
/// let json = serde_json::to_string(&bot.handle(Message { chat_id: 3, text: "again".into() }).unwrap()).unwrap();
/// assert!(!json.contains("token"), "{json}");
/// assert_eq!(bot.conversation(3, &token).unwrap(), ["hello", "again"]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// The conversation.
    pub chat_id: u64,
    /// The answer text.
    pub reply: String,
    /// `command` or `conversation`.
    pub handled_by: &'static str,
    /// The chat's token (32 hex digits), only in the answer to the message
    /// that created the chat: `GET /conversations/{id}` needs it as
    /// `Authorization: Bearer <token>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// Result of the batch processor.
///
/// ```
/// # let t = redline::Telemetry::builder().build().unwrap();
/// # let bot = redline_demo::Bot::new(&t.operations());
/// use redline_demo::Message;
/// let report = bot.batch(vec![
///     Message { chat_id: 1, text: "hi".into() },
///     Message { chat_id: 1, text: "/nope".into() },
/// ]).unwrap();
/// assert_eq!(report.processed, 1);
/// assert_eq!(report.failed, ["message 1: unknown command; try /help"]);
/// assert_eq!(report.tokens.len(), 1, "chat 1 was created: its token");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchReport {
    /// Messages answered.
    pub processed: usize,
    /// Messages refused, with the reason (never the input).
    pub failed: Vec<String>,
    /// The tokens of the chats the batch created, by chat id (see
    /// [`Reply::token`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tokens: BTreeMap<u64, String>,
}

/// The bot: state plus one pre-resolved operation handle per component.
///
/// ```
/// use redline_demo::{Bot, Message};
/// let t = redline::Telemetry::builder().build().unwrap();
/// let bot = Bot::new(&t.operations());
/// bot.handle(Message { chat_id: 1, text: "/start".into() }).unwrap();
/// let metrics = t.render_metrics();
/// assert!(metrics.contains(r#"redline_operation_duration_seconds_count{operation="command_executor",outcome="success"} 1"#));
/// ```
pub struct Bot {
    conversations: Mutex<Store>,
    media_cache: Option<MediaCache>,
    command_executor: Operation,
    conversation_engine: Operation,
    media_handler: Operation,
    batch_processor: Operation,
    group_manager: Operation,
}

impl Bot {
    /// A bot whose components are timed with `ops`.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// let bot = redline_demo::Bot::new(&t.operations());
    /// let reply = bot.handle(redline_demo::Message { chat_id: 1, text: "/echo hi".into() }).unwrap();
    /// assert_eq!(reply.reply, "hi");
    /// ```
    pub fn new(ops: &OperationTimer) -> Self {
        Self {
            conversations: Mutex::new(Store::default()),
            media_cache: None,
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
    /// # let bot = redline_demo::Bot::new(&t.operations());
    /// use redline_demo::Message;
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
                token: None,
            })
        } else {
            let (reply, token) = self
                .conversation_engine
                .time(|| Ok::<_, BotError>(self.converse(message.chat_id, &message.text)))?;
            Ok(Reply {
                chat_id: message.chat_id,
                reply,
                handled_by: "conversation",
                token,
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
                let usage = c.usage();
                format!(
                    "{} conversations in {} of {MEMORY_BUDGET_BYTES} bytes, {} messages in this one",
                    usage.conversations,
                    usage.bytes,
                    c.len(chat_id)
                )
            }
        }
    }

    fn converse(&self, chat_id: u64, text: &str) -> (String, Option<String>) {
        let added = self
            .conversations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add(chat_id, text);
        let reply = format!(
            "you said {} characters; {} messages so far",
            text.chars().count(),
            added.messages
        );
        (reply, added.token)
    }

    /// The messages kept for a conversation, oldest first, for the holder
    /// of its token ([`Reply::token`]). An unknown conversation and a
    /// wrong token both give `None`.
    ///
    /// ```
    /// # let t = redline::Telemetry::builder().build().unwrap();
    /// # let bot = redline_demo::Bot::new(&t.operations());
    /// use redline_demo::Message;
    /// let token = bot.handle(Message { chat_id: 5, text: "hello".into() }).unwrap().token.unwrap();
    /// assert_eq!(bot.conversation(5, &token), Some(vec!["hello".to_string()]));
    /// assert_eq!(bot.conversation(5, "0123456789abcdef0123456789abcdef"), None, "wrong token");
    /// assert_eq!(bot.conversation(6, &token), None, "no such conversation");
    /// ```
    pub fn conversation(&self, chat_id: u64, token: &str) -> Option<Vec<String>> {
        self.conversations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .read(chat_id, token)
    }

    /// What the conversation store holds, in bytes (counted against
    /// [`MEMORY_BUDGET_BYTES`]; see the budget's accounting in
    /// [`MemoryUsage`]), conversations and messages.
    ///
    /// ```
    /// # let t = redline::Telemetry::builder().build().unwrap();
    /// # let bot = redline_demo::Bot::new(&t.operations());
    /// use redline_demo::{MEMORY_BUDGET_BYTES, Message};
    /// for chat_id in 0..100 {
    ///     for _ in 0..50 {
    ///         bot.handle(Message { chat_id, text: "x".repeat(4096) }).unwrap();
    ///     }
    /// }
    /// let usage = bot.memory();
    /// assert!(usage.bytes <= MEMORY_BUDGET_BYTES);
    /// assert!(usage.messages < 100 * 50, "20 MiB sent, {} messages kept", usage.messages);
    /// ```
    pub fn memory(&self) -> MemoryUsage {
        self.conversations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .usage()
    }

    /// Inspects an uploaded media body.
    ///
    /// ```
    /// # let t = redline::Telemetry::builder().build().unwrap();
    /// # let bot = redline_demo::Bot::new(&t.operations());
    /// use redline_demo::BotError;
    /// let png = bot.media(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A]).unwrap();
    /// assert_eq!((png.bytes, png.kind), (6, "image/png"));
    /// assert_eq!(bot.media(&[]), Err(BotError::EmptyMedia));
    /// ```
    pub fn media(&self, body: &[u8]) -> Result<MediaInfo, BotError> {
        self.media_handler.time(|| {
            if body.is_empty() {
                return Err(BotError::EmptyMedia);
            }
            Ok(match &self.media_cache {
                Some(cache) => cache.get_or_load(body, || analyze(body)),
                None => analyze(body),
            })
        })
    }

    /// The bot with a cache of media analyses (see [`MediaCache`]).
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// let cache = redline_demo::MediaCache::new(t.caches().cache("media_info"));
    /// let bot = redline_demo::Bot::new(&t.operations()).with_media_cache(cache);
    /// assert_eq!(bot.media(b"GIF89a").unwrap(), bot.media(b"GIF89a").unwrap());
    /// assert!(t.render_metrics().contains(r#"cache="media_info",result="hit"} 1"#));
    /// ```
    pub fn with_media_cache(mut self, cache: MediaCache) -> Self {
        self.media_cache = Some(cache);
        self
    }

    /// Answers a batch of messages, reporting the ones refused.
    ///
    /// ```
    /// # let t = redline::Telemetry::builder().build().unwrap();
    /// # let bot = redline_demo::Bot::new(&t.operations());
    /// use redline_demo::{BotError, Message};
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
                tokens: BTreeMap::new(),
            };
            for (i, m) in messages.into_iter().enumerate() {
                match self.handle(m) {
                    Ok(reply) => {
                        report.processed += 1;
                        if let Some(token) = reply.token {
                            report.tokens.insert(reply.chat_id, token);
                        }
                    }
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
    /// # let bot = redline_demo::Bot::new(&t.operations());
    /// use redline_demo::BotError;
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
    use crate::refusal::MAX_TEXT_CHARS;

    fn bot() -> Bot {
        let t = redline::Telemetry::builder().build().unwrap();
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
        let hello = b.handle(m("hello")).unwrap();
        assert_eq!(hello.handled_by, "conversation");
        let token = hello.token.unwrap();
        assert_eq!(
            b.conversation(7, &token).unwrap(),
            vec!["hello".to_string()]
        );
        assert_eq!(b.handle(m("")), Err(BotError::TextLength));
        assert_eq!(
            b.handle(m(&"x".repeat(MAX_TEXT_CHARS + 1))),
            Err(BotError::TextLength)
        );
    }

    #[test]
    fn conversation_memory_is_bounded() {
        use crate::{MAX_CONVERSATIONS, MAX_HISTORY};
        let b = bot();
        let mut tokens = Vec::new();
        for chat in 0..(MAX_CONVERSATIONS as u64 + 10) {
            let reply = b
                .handle(Message {
                    chat_id: chat,
                    text: "hi".into(),
                })
                .unwrap();
            tokens.push(reply.token.unwrap());
        }
        assert!(b.conversation(0, &tokens[0]).is_none(), "oldest evicted");
        for _ in 0..(MAX_HISTORY + 5) {
            b.handle(Message {
                chat_id: 20,
                text: "again".into(),
            })
            .unwrap();
        }
        assert_eq!(b.conversation(20, &tokens[20]).unwrap().len(), MAX_HISTORY);
        assert_eq!(b.memory().conversations, MAX_CONVERSATIONS);
        assert!(b.memory().bytes <= crate::MEMORY_BUDGET_BYTES);
    }

    #[test]
    fn messages_never_quote_the_input() {
        let secret = "john@example.com";
        for e in [
            BotError::UnknownCommand(secret.into()),
            BotError::NoSuchGroup(424242),
        ] {
            assert!(!e.to_string().contains(secret) && !e.to_string().contains("424242"));
            assert!(e.detail().contains(secret) || e.detail().contains("424242"));
        }
        let b = bot();
        let report = b
            .batch(vec![Message {
                chat_id: 1,
                text: format!("/{}", "x".repeat(20)),
            }])
            .unwrap();
        assert_eq!(report.failed, ["message 0: unknown command; try /help"]);
        let stats = b
            .handle(Message {
                chat_id: 1,
                text: "/stats".into(),
            })
            .unwrap();
        assert!(
            stats.reply.starts_with("0 conversations in "),
            "{}",
            stats.reply
        );
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
