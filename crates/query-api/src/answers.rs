//! What the queries answer, as types: each handler returns `Json` of these,
//! and the OpenAPI document is generated from the same types, so the two
//! cannot drift.
//!
//! The rows are still built in SQL (`jsonb_build_object`, one round trip
//! per query) and read straight into their type (`sqlx::types::Json<T>`,
//! no intermediate `Value`). The types refuse unknown fields, so a column
//! added to the SQL but not here fails every test that reads it (a 500,
//! see `routes::db`) instead of reaching clients undocumented. Timestamps
//! stay the strings Postgres wrote (RFC 3339), byte for byte.

use chat_common::openapi::{
    AcceptRequestsFrom, ChatKind, ChatStatus, LastSeenVisibility, MessageKind, SystemAction,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// One page of a list, newest or best first as the route says.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// A list answered whole (no pages).
#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T: ToSchema> {
    pub items: Vec<T>,
}

/// `GET /v1/me`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Me {
    pub user_id: Uuid,
    pub username: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub bio: Option<String>,
    #[schema(format = DateTime)]
    pub last_seen_at: Option<String>,
    pub settings: Settings,
    /// Unread messages over the chats that are not archived (muted ones
    /// included: muting silences, it does not read).
    pub total_unread: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub read_receipts: bool,
    #[schema(value_type = LastSeenVisibility)]
    pub last_seen_visible_to: String,
    #[schema(value_type = AcceptRequestsFrom)]
    pub accept_requests_from: String,
    /// How much of a message push notifications show: `full` (sender and
    /// text), `sender_only` or `nothing`.
    pub push_preview: String,
}

/// One chat of `GET /v1/chats`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatListItem {
    pub chat_id: Uuid,
    #[schema(value_type = ChatKind)]
    pub kind: String,
    /// A group's title, or the other person's display name.
    pub title: Option<String>,
    /// The other person of a direct chat.
    pub peer_id: Option<Uuid>,
    #[schema(value_type = ChatStatus)]
    pub status: String,
    /// `owner`, `admin` or `member`.
    pub role: Option<String>,
    /// `null` once the caller left.
    pub members_count: Option<i64>,
    /// The newest message the caller can see.
    pub last_message: Option<LastMessage>,
    pub unread_count: i64,
    /// Unread messages that mention the caller (muted chats included).
    pub mention_count: i64,
    #[schema(format = DateTime)]
    pub muted_until: Option<String>,
    pub muted: bool,
    pub archived: bool,
    pub left: bool,
    #[schema(format = DateTime)]
    pub last_activity_at: String,
}

/// The preview of a chat's newest message.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LastMessage {
    pub message_id: Uuid,
    pub seq: i64,
    pub sender_id: Uuid,
    #[schema(value_type = MessageKind)]
    pub kind: String,
    /// At most 100 characters of the text, a media label, or
    /// `Message deleted`.
    pub preview: String,
    #[schema(format = DateTime)]
    pub sent_at: String,
    #[schema(format = DateTime)]
    pub edited_at: Option<String>,
    pub deleted: bool,
}

/// `GET /v1/chats/{chat_id}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatDetail {
    pub chat_id: Uuid,
    #[schema(value_type = ChatKind)]
    pub kind: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    #[schema(value_type = ChatStatus)]
    pub status: String,
    pub owner_id: Option<Uuid>,
    /// Direct chats: who asked, and who was asked.
    pub requester_id: Option<Uuid>,
    pub recipient_id: Option<Uuid>,
    /// `null` once the caller left, like `message_count`.
    pub members_count: Option<i64>,
    pub message_count: Option<i64>,
    /// The newest seq the caller can see (where they left, if they did).
    pub last_seq: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Current members; empty once the caller left.
    pub members: Vec<Member>,
    /// Pinned messages the caller can see, in seq order.
    pub pinned: Vec<PinnedMessage>,
    /// The caller's own membership.
    pub me: Option<MyMembership>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub user_id: Uuid,
    /// `owner`, `admin`, `moderator` or `member`.
    pub role: String,
    #[schema(format = DateTime)]
    pub joined_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PinnedMessage {
    pub message_id: Uuid,
    pub seq: i64,
    pub sender_id: Uuid,
    #[schema(value_type = MessageKind)]
    pub kind: String,
    pub text: Option<String>,
    #[schema(format = DateTime)]
    pub sent_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MyMembership {
    pub role: String,
    pub read_up_to: i64,
    pub left: bool,
}

/// One message of `GET /v1/chats/{chat_id}/messages`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Message {
    pub message_id: Uuid,
    pub seq: i64,
    pub sender_id: Uuid,
    #[schema(value_type = MessageKind)]
    pub kind: String,
    /// The text or caption; `null` once deleted.
    pub text: Option<String>,
    /// `null` once deleted.
    pub media: Option<Media>,
    pub reply_to: Option<ReplyTo>,
    pub forward_of: Option<ForwardOf>,
    /// The members the message mentions; empty once deleted.
    pub mentions: Vec<Uuid>,
    /// A `poll` message's poll with its results; `null` otherwise.
    pub poll: Option<PollAnswer>,
    /// A `location` message's point; `null` otherwise.
    pub location: Option<LocationAnswer>,
    /// Emoji → how many, and whether the caller is one of them.
    pub reactions: std::collections::BTreeMap<String, Reaction>,
    #[schema(format = DateTime)]
    pub edited_at: Option<String>,
    /// A tombstone: the message was deleted for everyone.
    pub deleted: bool,
    pub pinned: bool,
    #[schema(format = DateTime)]
    pub sent_at: String,
}

/// One item of a chat's history: a message, or a system entry between
/// messages. Entries come in the same order as everything happened.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum HistoryItem {
    Message(Box<Message>),
    System(SystemItem),
}

/// Who did what to whom (`kind: system`): joins, leaves, removals, bans,
/// role and ownership changes, renames, pins. It follows the message at
/// `seq` (0: before the first) and is never unread.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemItem {
    /// Always `system`.
    #[schema(pattern = "^system$")]
    pub kind: String,
    /// Unique in the chat, increasing in history order.
    pub entry_id: i64,
    /// The seq of the message this entry follows.
    pub seq: i64,
    #[schema(value_type = SystemAction)]
    pub action: String,
    /// Who did it; `null` when the chat did (an automatic promotion).
    pub actor_id: Option<Uuid>,
    /// Whom it was done to.
    pub user_ids: Vec<Uuid>,
    /// The title set by a creation, rename or info change.
    pub title: Option<String>,
    /// The role set by a role change.
    #[schema(value_type = Option<String>, pattern = "^(admin|moderator|member)$")]
    pub role: Option<String>,
    /// The message pinned or unpinned.
    pub message_id: Option<Uuid>,
    #[schema(format = DateTime)]
    pub at: String,
}

/// A poll as a member sees it: its options, results and their own ballot.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PollAnswer {
    pub question: String,
    pub options: Vec<PollOptionAnswer>,
    pub multiple: bool,
    pub anonymous: bool,
    pub closed: bool,
    /// Members with a ballot.
    pub total_voters: i64,
    /// The caller's ballot (option ids); empty if they have not voted.
    pub my_vote: Vec<u32>,
    /// One entry per option, in option order.
    pub results: Vec<PollResult>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PollOptionAnswer {
    pub id: u32,
    pub text: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PollResult {
    pub option_id: u32,
    pub votes: i64,
    /// Who chose it, first voters first; `null` in an anonymous poll.
    pub voters: Option<Vec<Uuid>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationAnswer {
    pub lat: f64,
    pub lon: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One of the caller's uploads, in `GET /v1/media`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    pub media_id: Uuid,
    #[schema(value_type = MessageKind)]
    pub kind: String,
    pub mime: String,
    pub size: u64,
    pub sha256: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
    /// The sanitized name the client gave the file.
    pub file_name: Option<String>,
    #[schema(format = DateTime)]
    pub uploaded_at: String,
    /// A short-lived signed download URL (no bearer token needed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A message's media, as uploaded.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Media {
    pub media_id: Uuid,
    pub owner_id: Uuid,
    #[schema(value_type = MessageKind)]
    pub kind: String,
    pub mime: String,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
    pub sha256: String,
    /// A short-lived signed download URL (no bearer token needed); none
    /// once removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Its owner deleted the upload: the message keeps its place, the
    /// media is gone.
    #[serde(default)]
    pub removed: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyTo {
    pub message_id: Uuid,
    pub seq: i64,
    pub sender_id: Uuid,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardOf {
    pub chat_id: Uuid,
    pub message_id: Uuid,
    pub original_sender_id: Uuid,
    #[schema(format = DateTime)]
    pub original_sent_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reaction {
    pub count: i64,
    pub mine: bool,
}

/// A standing ban, in `GET …/bans`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Ban {
    pub user_id: Uuid,
    pub banned_by: Uuid,
    /// When it ends; `null`: until lifted.
    #[schema(format = DateTime)]
    pub until: Option<String>,
    pub reason: Option<String>,
    #[schema(format = DateTime)]
    pub banned_at: String,
}

/// One version of a message, in `…/edits`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Version {
    /// 1 for the text as sent, then one more per edit.
    pub version: u32,
    pub text: String,
    /// When this version was written by an edit; `null` for the first.
    #[schema(format = DateTime)]
    pub edited_at: Option<String>,
}

/// One member a message reached, in `…/receipts`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Receipt {
    pub user_id: Uuid,
    /// When their delivery marker passed the message; reading implies
    /// delivery, so a read without an earlier ack counts from the read.
    #[schema(format = DateTime)]
    pub delivered_at: Option<String>,
    /// When their read marker passed it; `null` while delivered but unread.
    #[schema(format = DateTime)]
    pub read_at: Option<String>,
}

/// One hit of `GET /v1/search/messages`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchHit {
    pub chat_id: Uuid,
    pub message_id: Uuid,
    pub seq: i64,
    pub sender_id: Uuid,
    #[schema(value_type = MessageKind)]
    pub kind: String,
    pub text: Option<String>,
    #[schema(format = DateTime)]
    pub sent_at: String,
    pub rank: f64,
    /// Up to two fragments of the text, matches in `<mark>`, everything
    /// else HTML-escaped.
    pub highlight: Option<String>,
}

/// One public channel of `GET /v1/chats/search`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelSummary {
    pub chat_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    /// How many are subscribed, its admins included.
    pub subscribers: i64,
    /// Whether the caller is one of them.
    pub subscribed: bool,
}

/// One user of `GET /v1/users`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserSummary {
    pub user_id: Uuid,
    pub username: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
}

/// `GET /v1/users/{user_id}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub user_id: Uuid,
    pub username: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub bio: Option<String>,
    /// Only as their privacy setting allows, and never across a block.
    #[schema(format = DateTime)]
    pub last_seen_at: Option<String>,
    /// The account was deleted: shown as "Deleted user", with no username.
    #[serde(default)]
    pub deleted: bool,
}
