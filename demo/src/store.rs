//! The bot's conversation store: bounded in **bytes**, and each chat
//! readable only with its own token.
//!
//! **Budget.** Everything the store holds is counted against
//! [`MEMORY_BUDGET_BYTES`] (16 MiB), one chat against
//! [`CHAT_BUDGET_BYTES`] (256 KiB), and neither is ever exceeded after a
//! message is added. The count is what the store allocates, container
//! overhead included:
//!
//! - each message: its text's bytes plus [`MESSAGE_OVERHEAD_BYTES`] (the
//!   allocator's header and rounding of the text's allocation);
//! - each chat: its message queue's slots (its *capacity*, not its length:
//!   a queue grows by doubling) plus [`CHAT_OVERHEAD_BYTES`] (the queue
//!   allocation's header);
//! - the store: the chat map's and the eviction order's slots (their
//!   capacities; a map slot is counted with its control byte and the
//!   map's 7/8 load factor) plus a fixed 256 bytes.
//!
//! A chat over its budget (or over [`MAX_HISTORY`] messages) forgets its
//! oldest messages first; a store over its budget (or over
//! [`MAX_CONVERSATIONS`] chats) forgets its oldest chats first (by
//! creation; the chat being written to is never the one forgotten).
//! [`Bot::memory`](super::Bot::memory) reports the count.
//!
//! **Access.** A chat's first message creates it with a token: 128 random
//! bits from the thread's CSPRNG, given to the client once as 32 hex
//! digits. The store keeps only a one-way digest of it and compares
//! digests in constant time. (No SHA-2 crate is in the dependency tree; the
//! digest is the first 32 bytes of the ChaCha stream seeded with the
//! token: finding a token from its digest means predicting a CSPRNG's seed
//! from its output.) A forgotten chat's token is worthless: the chat id,
//! written to again, starts a new chat with a new token.

use std::collections::{HashMap, VecDeque};
use std::mem::size_of;

use rand::{RngCore, SeedableRng};
use subtle::ConstantTimeEq;

/// Bytes the conversation store may hold in all: 16 MiB (see the
/// accounting in [`Bot::memory`](super::Bot::memory)).
///
/// ```
/// # let t = redline::Telemetry::builder().build().unwrap();
/// # let bot = redline_demo::Bot::new(&t.operations());
/// use redline_demo::{MEMORY_BUDGET_BYTES, Message};
/// for chat_id in 0..300 {
///     for _ in 0..20 {
///         bot.handle(Message { chat_id, text: "x".repeat(4096) }).unwrap();
///     }
/// }
/// // 24 MiB of text was sent; the store kept what fits.
/// assert!(bot.memory().bytes <= MEMORY_BUDGET_BYTES);
/// ```
pub const MEMORY_BUDGET_BYTES: usize = 16 * 1024 * 1024;

/// Bytes one conversation may hold: 256 KiB. Its oldest messages are
/// forgotten first.
///
/// ```
/// # let t = redline::Telemetry::builder().build().unwrap();
/// # let bot = redline_demo::Bot::new(&t.operations());
/// use redline_demo::{CHAT_BUDGET_BYTES, MAX_HISTORY, Message};
/// let reply = bot.handle(Message { chat_id: 1, text: "é".repeat(4096) }).unwrap();
/// for _ in 0..MAX_HISTORY {
///     bot.handle(Message { chat_id: 1, text: "é".repeat(4096) }).unwrap(); // 8 KiB each
/// }
/// let kept = bot.conversation(1, reply.token.as_deref().unwrap()).unwrap();
/// assert!(kept.len() < MAX_HISTORY && kept.len() * 8192 < CHAT_BUDGET_BYTES);
/// ```
pub const CHAT_BUDGET_BYTES: usize = 256 * 1024;

/// Bytes counted for each kept message beside its text: the allocator's
/// header and rounding of the text's allocation (at most 31 bytes with
/// glibc's malloc).
///
/// ```
/// assert_eq!(redline_demo::MESSAGE_OVERHEAD_BYTES, 32);
/// ```
pub const MESSAGE_OVERHEAD_BYTES: usize = 32;

/// Bytes counted for each conversation beside its messages and its
/// queue's slots: the queue allocation's header and rounding.
///
/// ```
/// assert_eq!(redline_demo::CHAT_OVERHEAD_BYTES, 32);
/// ```
pub const CHAT_OVERHEAD_BYTES: usize = 32;

/// Most conversations kept; the oldest is forgotten past that (the byte
/// budget usually forgets them earlier).
///
/// ```
/// # let t = redline::Telemetry::builder().build().unwrap();
/// # let bot = redline_demo::Bot::new(&t.operations());
/// use redline_demo::{MAX_CONVERSATIONS, Message};
/// let first = bot.handle(Message { chat_id: 0, text: "hi".into() }).unwrap();
/// for chat_id in 1..=MAX_CONVERSATIONS as u64 {
///     bot.handle(Message { chat_id, text: "hi".into() }).unwrap();
/// }
/// let token = first.token.unwrap();
/// assert_eq!(bot.conversation(0, &token), None, "the oldest was forgotten");
/// assert_eq!(bot.memory().conversations, MAX_CONVERSATIONS);
/// ```
pub const MAX_CONVERSATIONS: usize = 10_000;

/// Most messages kept per conversation.
///
/// ```
/// # let t = redline::Telemetry::builder().build().unwrap();
/// # let bot = redline_demo::Bot::new(&t.operations());
/// use redline_demo::{MAX_HISTORY, Message};
/// let token = bot.handle(Message { chat_id: 1, text: "m0".into() }).unwrap().token.unwrap();
/// for i in 1..=MAX_HISTORY {
///     bot.handle(Message { chat_id: 1, text: format!("m{i}") }).unwrap();
/// }
/// let history = bot.conversation(1, &token).unwrap();
/// assert_eq!((history.len(), history[0].as_str()), (MAX_HISTORY, "m1"));
/// ```
pub const MAX_HISTORY: usize = 50;

/// What the conversation store holds.
///
/// ```
/// # let t = redline::Telemetry::builder().build().unwrap();
/// # let bot = redline_demo::Bot::new(&t.operations());
/// use redline_demo::{MEMORY_BUDGET_BYTES, MESSAGE_OVERHEAD_BYTES, Message};
/// bot.handle(Message { chat_id: 1, text: "hello".into() }).unwrap();
/// let usage = bot.memory();
/// assert_eq!((usage.conversations, usage.messages), (1, 1));
/// assert!(usage.bytes > 5 + MESSAGE_OVERHEAD_BYTES && usage.bytes <= MEMORY_BUDGET_BYTES);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemoryUsage {
    /// Bytes counted against [`MEMORY_BUDGET_BYTES`].
    pub bytes: usize,
    /// Conversations kept.
    pub conversations: usize,
    /// Messages kept, in all conversations.
    pub messages: usize,
}

/// A token's length in hex digits.
const TOKEN_HEX: usize = 32;
/// Domain separation for the digest's seed.
const DIGEST_TAG: &[u8; 16] = b"redline-demo-tok";

type Digest = [u8; 32];

/// One slot of the message queue.
const QUEUE_SLOT: usize = size_of::<Box<str>>();
/// One slot of the chat map, per unit of its capacity: the entry and its
/// control byte, over the map's 7/8 load factor, rounded up.
const MAP_SLOT: usize = (size_of::<(u64, Chat)>() + 1) * 8 / 7 + 1;
/// The store's fixed part: the map's trailing control group and both
/// containers' allocation headers.
const STORE_OVERHEAD: usize = 256;

struct Chat {
    history: VecDeque<Box<str>>,
    digest: Digest,
    /// Text bytes plus [`MESSAGE_OVERHEAD_BYTES`] for each message.
    message_bytes: usize,
}

impl Chat {
    fn bytes(&self) -> usize {
        CHAT_OVERHEAD_BYTES + self.history.capacity() * QUEUE_SLOT + self.message_bytes
    }

    fn pop_oldest(&mut self) {
        if let Some(text) = self.history.pop_front() {
            self.message_bytes -= text.len() + MESSAGE_OVERHEAD_BYTES;
        }
    }
}

/// What adding a message did.
pub(crate) struct Added {
    /// Messages now kept in the chat.
    pub(crate) messages: usize,
    /// The chat's token, when this message created the chat.
    pub(crate) token: Option<String>,
}

/// The conversations, bounded in bytes (see the module docs).
#[derive(Default)]
pub(crate) struct Store {
    chats: HashMap<u64, Chat>,
    /// Chat ids, oldest first.
    order: VecDeque<u64>,
    /// Sum of the chats' [`Chat::bytes`].
    chat_bytes: usize,
    messages: usize,
}

impl Store {
    /// Keeps `text` in chat `chat_id`, creating the chat (and its token)
    /// if needed, then forgets what no longer fits.
    pub(crate) fn add(&mut self, chat_id: u64, text: &str) -> Added {
        let mut token = None;
        if !self.chats.contains_key(&chat_id) && self.chats.len() >= MAX_CONVERSATIONS {
            self.evict_oldest(chat_id);
        }
        let chat = self.chats.entry(chat_id).or_insert_with(|| {
            let (hex, digest) = new_token();
            token = Some(hex);
            Chat {
                history: VecDeque::new(),
                digest,
                message_bytes: 0,
            }
        });
        if token.is_some() {
            self.order.push_back(chat_id);
            self.chat_bytes += chat.bytes();
        }
        let before = chat.bytes();
        chat.history.push_back(text.into());
        chat.message_bytes += text.len() + MESSAGE_OVERHEAD_BYTES;
        self.messages += 1;
        // The chat's own bounds: its oldest messages go first (the new one
        // always fits: 4,096 characters are at most 16 KiB).
        let mut dropped = 0;
        while chat.history.len() > 1
            && (chat.history.len() > MAX_HISTORY || chat.bytes() > CHAT_BUDGET_BYTES)
        {
            chat.pop_oldest();
            dropped += 1;
        }
        let messages = chat.history.len();
        self.messages -= dropped;
        self.chat_bytes = self.chat_bytes - before + chat.bytes();
        // The store's bound: the oldest other chats go first. The chat
        // written to fits alone (256 KiB of 16 MiB), so this ends.
        while self.bytes() > MEMORY_BUDGET_BYTES {
            if !self.evict_oldest(chat_id) {
                break;
            }
        }
        Added { messages, token }
    }

    /// Forgets the oldest chat other than `keep`; false if there is none.
    fn evict_oldest(&mut self, keep: u64) -> bool {
        for _ in 0..self.order.len() {
            let Some(id) = self.order.pop_front() else {
                return false;
            };
            if id == keep {
                // In use: it goes to the back, as if just created.
                self.order.push_back(id);
                continue;
            }
            if let Some(chat) = self.chats.remove(&id) {
                self.chat_bytes -= chat.bytes();
                self.messages -= chat.history.len();
                return true;
            }
        }
        false
    }

    /// The chat's messages, oldest first, if `token` is its token. An
    /// unknown chat and a wrong token are alike (`None`), and take about
    /// the same time: the digest is computed before the lookup.
    pub(crate) fn read(&self, chat_id: u64, token: &str) -> Option<Vec<String>> {
        let digest = digest(&parse_token(token)?);
        let chat = self.chats.get(&chat_id)?;
        if bool::from(chat.digest.ct_eq(&digest)) {
            Some(chat.history.iter().map(|m| m.to_string()).collect())
        } else {
            None
        }
    }

    /// Messages kept in one chat (0 if unknown).
    pub(crate) fn len(&self, chat_id: u64) -> usize {
        self.chats.get(&chat_id).map_or(0, |c| c.history.len())
    }

    /// Bytes counted against [`MEMORY_BUDGET_BYTES`].
    pub(crate) fn bytes(&self) -> usize {
        STORE_OVERHEAD
            + self.chats.capacity() * MAP_SLOT
            + self.order.capacity() * size_of::<u64>()
            + self.chat_bytes
    }

    pub(crate) fn usage(&self) -> MemoryUsage {
        MemoryUsage {
            bytes: self.bytes(),
            conversations: self.chats.len(),
            messages: self.messages,
        }
    }
}

/// A new token, as hex, and its digest.
fn new_token() -> (String, Digest) {
    let token: [u8; 16] = rand::random();
    let mut hex = String::with_capacity(TOKEN_HEX);
    for b in token {
        hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    (hex, digest(&token))
}

/// 32 hex digits (either case) as 16 bytes.
fn parse_token(text: &str) -> Option<[u8; 16]> {
    let digits = text.as_bytes();
    if digits.len() != TOKEN_HEX {
        return None;
    }
    let mut token = [0u8; 16];
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        let hi = char::from(pair[0]).to_digit(16)?;
        let lo = char::from(pair[1]).to_digit(16)?;
        token[i] = (hi * 16 + lo) as u8;
    }
    Some(token)
}

/// A one-way digest of a token: the first 32 bytes of the ChaCha stream
/// seeded with it (see the module docs).
fn digest(token: &[u8; 16]) -> Digest {
    let mut seed = [0u8; 32];
    seed[..16].copy_from_slice(token);
    seed[16..].copy_from_slice(DIGEST_TAG);
    let mut out = [0u8; 32];
    rand::rngs::StdRng::from_seed(seed).fill_bytes(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The accounting recomputed from scratch, from the containers.
    fn recount(s: &Store) -> usize {
        let chats: usize = s
            .chats
            .values()
            .map(|c| {
                CHAT_OVERHEAD_BYTES
                    + c.history.capacity() * QUEUE_SLOT
                    + c.history
                        .iter()
                        .map(|m| m.len() + MESSAGE_OVERHEAD_BYTES)
                        .sum::<usize>()
            })
            .sum();
        STORE_OVERHEAD + s.chats.capacity() * MAP_SLOT + s.order.capacity() * 8 + chats
    }

    #[test]
    fn the_byte_count_is_exact_and_within_budget() {
        let mut s = Store::default();
        let mut sent = 0usize;
        // 20,000 messages of 1 B to 16 KiB over 400 chats: 50 MiB of text.
        for n in 0..20_000u64 {
            let chat = n.wrapping_mul(2654435761) % 400;
            let text = if n % 3 == 0 {
                "é".repeat(1 + (n as usize * 7) % 4096)
            } else {
                "x".repeat(1 + (n as usize * 13) % 4096)
            };
            sent += text.len();
            s.add(chat, &text);
            let bytes = s.bytes();
            assert!(bytes <= MEMORY_BUDGET_BYTES, "{bytes} after message {n}");
            if n % 500 == 0 {
                assert_eq!(bytes, recount(&s), "after message {n}");
            }
            let per_chat = s.chats.get(&chat).map(Chat::bytes).unwrap_or_default();
            assert!(per_chat <= CHAT_BUDGET_BYTES, "chat {chat}: {per_chat}");
        }
        assert_eq!(s.bytes(), recount(&s));
        assert!(
            sent > 2 * MEMORY_BUDGET_BYTES,
            "the drive overflowed the budget"
        );
        // Near the budget, not far below it: eviction frees what it must.
        assert!(s.bytes() > MEMORY_BUDGET_BYTES - 2 * CHAT_BUDGET_BYTES);
        let messages: usize = s.chats.values().map(|c| c.history.len()).sum();
        assert_eq!(s.usage().messages, messages);
        assert_eq!(s.usage().conversations, s.order.len());
    }

    #[test]
    fn the_oldest_go_first() {
        let mut s = Store::default();
        let first = s.add(1, "a").token.unwrap();
        for i in 0..MAX_HISTORY + 3 {
            s.add(1, &format!("m{i}"));
        }
        let kept = s.read(1, &first).unwrap();
        assert_eq!(kept.len(), MAX_HISTORY);
        assert_eq!(kept[0], "m3");
        // Fill the store to near its budget, forgetting nothing.
        let two = s.add(2, "b").token.unwrap();
        let big = "y".repeat(16 * 1024);
        for n in 0..2_000 {
            if s.bytes() > MEMORY_BUDGET_BYTES - 128 * 1024 {
                break;
            }
            s.add(3 + n / 15, &big);
        }
        assert!(s.read(1, &first).is_some() && s.read(2, &two).is_some());
        // Chat 1, the oldest, is written to when the store overflows:
        // chat 2, the next oldest, goes instead.
        for _ in 0..10 {
            s.add(1, &big);
        }
        assert!(s.read(1, &first).is_some(), "the chat written to stays");
        assert_eq!(s.read(2, &two), None, "the oldest other chat went");
        // Chat 2 was small: chat 3 went too, but no more.
        assert!(!s.chats.contains_key(&3) && s.chats.contains_key(&4));
    }

    #[test]
    fn a_chat_is_read_only_with_its_token() {
        let mut s = Store::default();
        let added = s.add(7, "secret plans");
        let token = added.token.unwrap();
        assert_eq!((added.messages, token.len()), (1, 32));
        assert!(s.add(7, "more").token.is_none(), "issued once");
        assert_eq!(s.read(7, &token).unwrap(), ["secret plans", "more"]);
        assert_eq!(s.read(7, &token.to_uppercase()).unwrap().len(), 2);
        let other = s.add(8, "x").token.unwrap();
        assert_ne!(other, token);
        for wrong in [
            other.as_str(),
            "",
            "0",
            &"0".repeat(32),
            &"g".repeat(32),
            "é",
        ] {
            assert_eq!(s.read(7, wrong), None, "{wrong:?}");
        }
        assert_eq!(s.read(9, &token), None, "unknown chat");
        assert_eq!(parse_token(&"ab".repeat(16)), Some([0xab; 16]));
        assert_eq!(parse_token(&"ab".repeat(17)), None);
        // Multi-byte characters whose byte length is 32.
        assert_eq!(parse_token(&"é".repeat(16)), None);
    }
}
