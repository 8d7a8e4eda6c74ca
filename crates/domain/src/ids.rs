//! Deterministic ids and stream names.
//!
//! Direct chat ids and message ids are UUIDv5 values derived from their natural
//! keys. That makes "create or get the chat between A and B" a plain stream
//! load (no lookup table, no race that could create two chats for one pair) and
//! makes a resent message (same `client_msg_id`) land on the same id, so the
//! command side can detect the resend with one subject-index probe.

use uuid::Uuid;

/// Namespace for direct chat ids. Never change it: existing chats would move.
pub const DIRECT_CHAT_NAMESPACE: Uuid = Uuid::from_u128(0x5d1b_9c3e_7a2f_4e61_9b0d_2c8a_41f3_e7d5);

/// Namespace for message ids. Never change it: resends would stop deduplicating.
pub const MESSAGE_NAMESPACE: Uuid = Uuid::from_u128(0x8e4a_0f6b_3d5c_4b92_a1e7_6c0d_9f2b_58a4);

/// The id of the direct chat between `a` and `b`; symmetric in its arguments.
pub fn direct_chat_id(a: Uuid, b: Uuid) -> Uuid {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut name = [0u8; 32];
    name[..16].copy_from_slice(lo.as_bytes());
    name[16..].copy_from_slice(hi.as_bytes());
    Uuid::new_v5(&DIRECT_CHAT_NAMESPACE, &name)
}

/// The id of the message `sender_id` sends into `chat_id` with `client_msg_id`.
///
/// The two fixed-width ids come first, so no two different triples share a name.
pub fn message_id(chat_id: Uuid, sender_id: Uuid, client_msg_id: &str) -> Uuid {
    let mut name = Vec::with_capacity(32 + client_msg_id.len());
    name.extend_from_slice(chat_id.as_bytes());
    name.extend_from_slice(sender_id.as_bytes());
    name.extend_from_slice(client_msg_id.as_bytes());
    Uuid::new_v5(&MESSAGE_NAMESPACE, &name)
}

/// The two families of streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StreamKind {
    Chat,
    User,
}

impl StreamKind {
    /// The stream-name prefix, also the category the store can filter on.
    pub const fn prefix(self) -> &'static str {
        match self {
            StreamKind::Chat => "chat",
            StreamKind::User => "user",
        }
    }

    /// The stream name of `id` in this family.
    pub fn stream(self, id: Uuid) -> String {
        format!("{}-{}", self.prefix(), id.hyphenated())
    }
}

/// `chat-{uuid}`.
pub fn chat_stream(id: Uuid) -> String {
    StreamKind::Chat.stream(id)
}

/// `user-{uuid}`.
pub fn user_stream(id: Uuid) -> String {
    StreamKind::User.stream(id)
}

/// Parse a stream name produced by [`chat_stream`] or [`user_stream`].
///
/// Only the canonical lowercase hyphenated form is accepted, so one id can
/// never be reached under two different stream names.
pub fn parse_stream(stream: &str) -> Option<(StreamKind, Uuid)> {
    let (kind, rest) = if let Some(rest) = stream.strip_prefix("chat-") {
        (StreamKind::Chat, rest)
    } else if let Some(rest) = stream.strip_prefix("user-") {
        (StreamKind::User, rest)
    } else {
        return None;
    };
    if rest.len() != 36 {
        return None;
    }
    let id = Uuid::try_parse(rest).ok()?;
    (id.hyphenated().to_string() == rest).then_some((kind, id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn direct_chat_ids_are_symmetric_and_distinct_per_pair() {
        assert_eq!(direct_chat_id(id(1), id(2)), direct_chat_id(id(2), id(1)));
        assert_ne!(direct_chat_id(id(1), id(2)), direct_chat_id(id(1), id(3)));
        assert_eq!(direct_chat_id(id(1), id(2)).get_version_num(), 5);
    }

    #[test]
    fn message_ids_depend_on_chat_sender_and_client_id() {
        let m = message_id(id(1), id(2), "abc");
        assert_eq!(m, message_id(id(1), id(2), "abc"));
        assert_ne!(m, message_id(id(1), id(3), "abc"));
        assert_ne!(m, message_id(id(9), id(2), "abc"));
        assert_ne!(m, message_id(id(1), id(2), "abd"));
    }

    #[test]
    fn stream_names_round_trip() {
        let u = Uuid::from_u128(0xabcdef);
        assert_eq!(chat_stream(u), format!("chat-{u}"));
        assert_eq!(parse_stream(&chat_stream(u)), Some((StreamKind::Chat, u)));
        assert_eq!(parse_stream(&user_stream(u)), Some((StreamKind::User, u)));
    }

    #[test]
    fn malformed_stream_names_are_rejected() {
        let u = Uuid::from_u128(0xabcdef);
        for bad in [
            "chat-".to_string(),
            "room-00000000-0000-0000-0000-000000abcdef".to_string(),
            format!("chat-{}", u.simple()),
            format!("chat-{}", u.hyphenated().to_string().to_uppercase()),
            format!("user-{{{u}}}"),
        ] {
            assert_eq!(parse_stream(&bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn direct_chat_id_is_symmetric_for_any_pair(a: u128, b: u128) {
            prop_assert_eq!(direct_chat_id(id(a), id(b)), direct_chat_id(id(b), id(a)));
        }
    }
}
