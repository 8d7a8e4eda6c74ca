//! A client's view of its chats, kept from socket event frames alone, the
//! way api.md tells clients to keep one, with every frame checked against
//! what the user may see. The differential test compares it with the
//! query API.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};
use uuid::Uuid;

/// One message as a client shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub id: String,
    pub text: Option<String>,
    pub deleted: bool,
    pub pinned: bool,
    /// emoji → who reacted with it.
    pub reactions: BTreeMap<String, BTreeSet<String>>,
}

impl Msg {
    /// The fields the history query answers, to compare.
    pub fn summary(&self) -> Value {
        let counts: BTreeMap<&String, usize> = self
            .reactions
            .iter()
            .filter(|(_, who)| !who.is_empty())
            .map(|(e, who)| (e, who.len()))
            .collect();
        json!({"id": self.id, "text": self.text, "deleted": self.deleted,
               "pinned": self.pinned, "reactions": counts})
    }
}

/// Whether a read marker frame is one the user may receive: `(reader,
/// position)`.
pub type MarkerRule<'a> = &'a dyn Fn(Uuid, u64) -> bool;

/// One user's chats, from the frames their socket delivered.
pub struct View {
    me: String,
    pub chats: HashMap<String, BTreeMap<u64, Msg>>,
    /// Per chat, the positions of the frames that history shows as system
    /// entries (the entry id is the event's position), with the seq of the
    /// message a pin entry is about.
    pub entries: HashMap<String, BTreeMap<u64, Option<u64>>>,
    /// Chats this user left: what happens to messages they saw still
    /// reaches them, but history's entries end with their leaving.
    left: BTreeSet<String>,
    pub violations: Vec<String>,
}

impl View {
    pub fn new(me: Uuid) -> View {
        View {
            me: me.to_string(),
            chats: HashMap::new(),
            entries: HashMap::new(),
            left: BTreeSet::new(),
            violations: Vec::new(),
        }
    }

    /// Apply one `event` frame.
    pub fn apply(&mut self, frame: &Value, marker_ok: MarkerRule<'_>) {
        let position = frame["position"].as_u64().unwrap_or(0);
        let e = &frame["event"];
        let kind = e["type"].as_str().unwrap_or("");
        let chat = e["chat_id"].as_str().unwrap_or("").to_owned();
        let seq = e["seq"].as_u64().unwrap_or(0);
        let has = |ids: &Value, me: &str| {
            ids.as_array()
                .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(me)))
        };
        let pinned_seq = kind.contains("Pinned").then_some(seq);
        let about_me = has(&e["user_ids"], &self.me) || e["user_id"].as_str() == Some(&self.me);
        self.entry(kind, &chat, position, about_me, pinned_seq);
        match kind {
            "GroupCreated" if has(&e["member_ids"], &self.me) => {
                self.chats.insert(chat, BTreeMap::new());
            }
            "DirectChatRequested" => {
                self.chats.entry(chat).or_default();
            }
            // A (re)join: the view starts at the join point.
            "MembersAdded" if has(&e["user_ids"], &self.me) => {
                let joined = e["joined_seq"].as_u64().unwrap_or(0);
                self.chats
                    .entry(chat)
                    .or_default()
                    .retain(|s, _| *s > joined);
            }
            "ChatCleared" => {
                let up_to = e["up_to_seq"].as_u64().unwrap_or(0);
                self.chats
                    .entry(chat)
                    .or_default()
                    .retain(|s, _| *s > up_to);
            }
            "MessageHiddenForMe" => {
                self.chats.entry(chat.clone()).or_default().remove(&seq);
                self.entries
                    .entry(chat)
                    .or_default()
                    .retain(|_, pinned| *pinned != Some(seq));
            }
            "MessageSent" => {
                let deleted = e["deleted"].as_bool().unwrap_or(false);
                self.chats.entry(chat).or_default().insert(
                    seq,
                    Msg {
                        id: e["message_id"].as_str().unwrap_or("").to_owned(),
                        text: e["text"].as_str().map(str::to_owned),
                        deleted,
                        pinned: false,
                        reactions: BTreeMap::new(),
                    },
                );
            }
            "MessageEdited" | "MessageDeleted" | "ReactionAdded" | "ReactionRemoved"
            | "MessagePinned" | "MessageUnpinned" => {
                let Some(m) = self.chats.get_mut(&chat).and_then(|c| c.get_mut(&seq)) else {
                    self.violations.push(format!(
                        "{position}: {kind} of message {seq} in {chat}, which this user does not see"
                    ));
                    return;
                };
                apply_to(m, kind, e);
            }
            "ReadMarkerMoved" | "DeliveryMarkerMoved" => {
                let reader = e["user_id"].as_str().and_then(|s| s.parse().ok());
                if let Some(reader) = reader
                    && !marker_ok(reader, position)
                {
                    self.violations.push(format!(
                        "{position}: {kind} of {reader}, hidden from this user"
                    ));
                }
            }
            _ => {}
        }
    }

    /// Keep the entry this frame shows in history: a (re)join starts the
    /// member's entries afresh with their own join; a clear drops the
    /// entries before it; hiding a message hides its pins' entries.
    fn entry(
        &mut self,
        kind: &str,
        chat: &str,
        position: u64,
        about_me: bool,
        pinned_seq: Option<u64>,
    ) {
        const SHOWN: [&str; 12] = [
            "GroupCreated",
            "MembersAdded",
            "MemberLeft",
            "MemberRemoved",
            "MemberBanned",
            "AdminPromoted",
            "AdminDemoted",
            "MemberRoleChanged",
            "OwnershipTransferred",
            "GroupInfoUpdated",
            "MessagePinned",
            "MessageUnpinned",
        ];
        let entries = self.entries.entry(chat.to_owned()).or_default();
        if kind == "MembersAdded" && about_me {
            entries.clear();
            self.left.remove(chat);
        }
        if self.left.contains(chat) {
            return;
        }
        if matches!(kind, "MemberLeft" | "MemberRemoved") && about_me {
            self.left.insert(chat.to_owned());
        }
        if kind == "ChatCleared" {
            entries.retain(|p, _| *p > position);
        }
        if SHOWN.contains(&kind) {
            entries.insert(position, pinned_seq);
        }
    }

    /// The chat's system entries' ids as the history query answers them.
    pub fn entry_ids(&self, chat: &str) -> BTreeSet<u64> {
        self.entries
            .get(chat)
            .map(|e| e.keys().copied().collect())
            .unwrap_or_default()
    }

    /// The chat's messages as the history query answers them.
    pub fn summary(&self, chat: &str) -> BTreeMap<u64, Value> {
        self.chats
            .get(chat)
            .map(|c| c.iter().map(|(s, m)| (*s, m.summary())).collect())
            .unwrap_or_default()
    }
}

fn apply_to(m: &mut Msg, kind: &str, e: &Value) {
    let emoji = e["emoji"].as_str().unwrap_or("").to_owned();
    let who = e["user_id"].as_str().unwrap_or("").to_owned();
    match kind {
        "MessageEdited" => m.text = e["text"].as_str().map(str::to_owned),
        "MessageDeleted" => {
            m.deleted = true;
            m.text = None;
        }
        "ReactionAdded" => {
            m.reactions.entry(emoji).or_default().insert(who);
        }
        "ReactionRemoved" => {
            m.reactions.entry(emoji).or_default().remove(&who);
        }
        "MessagePinned" => m.pinned = true,
        "MessageUnpinned" => m.pinned = false,
        _ => {}
    }
}

/// A history answer's messages as the view summarizes them (its system
/// entries: [`history_entries`]).
pub fn history_summary(items: &[Value]) -> BTreeMap<u64, Value> {
    items
        .iter()
        .filter(|i| i["kind"] != "system")
        .map(|i| {
            let counts: BTreeMap<String, u64> = i["reactions"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(e, r)| (e.clone(), r["count"].as_u64().unwrap_or(0)))
                        .collect()
                })
                .unwrap_or_default();
            let summary = json!({"id": i["message_id"], "text": i["text"],
                "deleted": i["deleted"], "pinned": i["pinned"], "reactions": counts});
            (i["seq"].as_u64().unwrap_or(0), summary)
        })
        .collect()
}

/// A small deterministic generator (SplitMix64): a failing seed replays
/// the same scenario.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len())])
    }
}

/// A history answer's system entry ids.
pub fn history_entries(items: &[Value]) -> BTreeSet<u64> {
    items
        .iter()
        .filter(|i| i["kind"] == "system")
        .filter_map(|i| i["entry_id"].as_u64())
        .collect()
}
