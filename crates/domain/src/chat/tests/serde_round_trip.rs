use std::collections::BTreeSet;

use super::*;
use crate::message::{ForwardRef, MediaRef, ReplyRef};

/// One instance of every chat event, with every optional field filled.
fn every_chat_event() -> Vec<ChatEvent> {
    let (c, m, at) = (GROUP, Uuid::from_u128(42), T0);
    let media = MediaRef {
        media_id: Uuid::from_u128(7),
        owner_id: ALICE,
        kind: MessageKind::Voice,
        mime: "audio/ogg".into(),
        size: 99,
        width: None,
        height: None,
        duration_ms: Some(1500),
        sha256: "00".repeat(32),
    };
    vec![
        requested(),
        accepted(),
        ChatEvent::ChatRequestRejected {
            chat_id: dm(),
            requester_id: ALICE,
            recipient_id: BOB,
            at,
        },
        ChatEvent::DirectChatBlocked {
            chat_id: dm(),
            by: BOB,
            at,
        },
        ChatEvent::DirectChatUnblocked {
            chat_id: dm(),
            by: BOB,
            at,
        },
        group_created(),
        ChatEvent::GroupInfoUpdated {
            chat_id: c,
            by: ALICE,
            title: "t".into(),
            description: Some("d".into()),
            avatar_url: Some("https://a.example/x".into()),
            at,
        },
        ChatEvent::MembersAdded {
            chat_id: c,
            user_ids: vec![DAVE, EVE],
            by: ALICE,
            joined_seq: 3,
            at,
            invite: None,
        },
        ChatEvent::MemberRemoved {
            chat_id: c,
            user_id: DAVE,
            by: ALICE,
            at,
        },
        ChatEvent::MemberLeft {
            chat_id: c,
            user_id: EVE,
            at,
        },
        ChatEvent::AdminPromoted {
            chat_id: c,
            user_id: BOB,
            by: None,
            at,
        },
        ChatEvent::AdminDemoted {
            chat_id: c,
            user_id: BOB,
            by: ALICE,
            at,
        },
        ChatEvent::MemberRoleChanged {
            chat_id: c,
            user_id: BOB,
            role: crate::chat::Role::Moderator,
            by: ALICE,
            at,
        },
        ChatEvent::MemberBanned {
            chat_id: c,
            user_id: CAROL,
            by: ALICE,
            until: Some(at),
            reason: Some("spam".into()),
            at,
        },
        ChatEvent::MemberUnbanned {
            chat_id: c,
            user_id: CAROL,
            by: ALICE,
            at,
        },
        ChatEvent::InviteCreated {
            chat_id: c,
            code_hash: "ab".repeat(32),
            by: ALICE,
            max_uses: Some(10),
            expires_at: None,
            at,
        },
        ChatEvent::InviteRevoked {
            chat_id: c,
            code_hash: "ab".repeat(32),
            by: ALICE,
            at,
        },
        ChatEvent::OwnershipTransferred {
            chat_id: c,
            previous_owner_id: ALICE,
            new_owner_id: BOB,
            at,
        },
        ChatEvent::GroupClosed { chat_id: c, at },
        ChatEvent::MessageSent {
            chat_id: c,
            message_id: m,
            client_msg_id: "c-1".into(),
            seq: 4,
            sender_id: ALICE,
            kind: MessageKind::Voice,
            text: Some("caption ✓".into()),
            media: Some(media),
            reply_to: Some(ReplyRef {
                message_id: Uuid::from_u128(41),
                seq: 3,
                sender_id: BOB,
            }),
            forward_of: Some(ForwardRef {
                chat_id: dm(),
                message_id: Uuid::from_u128(40),
                original_sender_id: CAROL,
                original_sent_at: datetime!(2023-12-31 23:59:59.123456 +02:00),
            }),
            at,
            mentions: Vec::new(),
            poll: None,
            location: None,
        },
        ChatEvent::MessageEdited {
            chat_id: c,
            message_id: m,
            seq: 4,
            editor_id: ALICE,
            text: "e".into(),
            at,
        },
        ChatEvent::MessageDeleted {
            chat_id: c,
            message_id: m,
            seq: 4,
            by: ALICE,
            sender_id: ALICE,
            at,
        },
        ChatEvent::ReactionAdded {
            chat_id: c,
            message_id: m,
            seq: 4,
            user_id: BOB,
            emoji: "👍".into(),
            at,
        },
        ChatEvent::ReactionRemoved {
            chat_id: c,
            message_id: m,
            seq: 4,
            user_id: BOB,
            emoji: "👍".into(),
            at,
        },
        ChatEvent::MessagePinned {
            chat_id: c,
            message_id: m,
            seq: 4,
            by: ALICE,
            at,
        },
        ChatEvent::MessageUnpinned {
            chat_id: c,
            message_id: m,
            seq: 4,
            by: ALICE,
            at,
        },
        ChatEvent::ReadMarkerMoved {
            chat_id: c,
            user_id: BOB,
            up_to_seq: 4,
            at,
        },
        ChatEvent::DeliveryMarkerMoved {
            chat_id: c,
            user_id: BOB,
            up_to_seq: 5,
            at,
        },
        ChatEvent::PollVoted {
            chat_id: c,
            message_id: m,
            seq: 6,
            user_id: BOB,
            option_ids: vec![1],
            anonymous: true,
            at,
        },
        ChatEvent::PollClosed {
            chat_id: c,
            message_id: m,
            seq: 6,
            by: ALICE,
            at,
        },
        ChatEvent::ChannelCreated {
            chat_id: c,
            owner_id: ALICE,
            title: "news".into(),
            description: Some("d".into()),
            public: true,
            at,
        },
        ChatEvent::ChannelSubscribed {
            chat_id: c,
            user_id: EVE,
            last_seq: 4,
            at,
            invite: Some("ab".repeat(32)),
        },
        ChatEvent::ChannelUnsubscribed {
            chat_id: c,
            user_id: EVE,
            at,
        },
    ]
}

#[test]
fn every_chat_event_round_trips_through_json_with_its_type_name() {
    let events = every_chat_event();
    let types: BTreeSet<_> = events.iter().map(|e| e.event_type()).collect();
    assert_eq!(types.len(), 33, "one instance per variant");
    for event in events {
        let json = serde_json::to_value(&event).unwrap_or_default();
        assert_eq!(json["type"], event.event_type());
        assert_eq!(event.schema_version(), 1);
        let back: ChatEvent =
            serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{json}: {e}"));
        assert_eq!(back, event);
    }
}

#[test]
fn message_and_member_events_name_their_message_or_member_as_subject() {
    const MEMBER_SCOPED: [&str; 6] = [
        "ChannelSubscribed",
        "ChannelUnsubscribed",
        "MemberRemoved",
        "MemberRoleChanged",
        "ReadMarkerMoved",
        "DeliveryMarkerMoved",
    ];
    for event in every_chat_event() {
        let t = event.event_type();
        let message_scoped =
            t.starts_with("Message") || t.starts_with("Reaction") || t.starts_with("Poll");
        let json = serde_json::to_value(&event).unwrap_or_default();
        let expected = if t == "ChannelCreated" {
            json["owner_id"].as_str().and_then(|u| u.parse().ok())
        } else if MEMBER_SCOPED.contains(&t) {
            json["user_id"].as_str().and_then(|u| u.parse().ok())
        } else if message_scoped {
            json["message_id"].as_str().and_then(|u| u.parse().ok())
        } else {
            None
        };
        assert_eq!(event.subject(), expected, "{event:?}");
    }
}

#[test]
fn timestamps_are_rfc3339_and_kinds_snake_case() {
    let json = serde_json::to_value(every_chat_event().remove(19)).unwrap_or_default();
    assert_eq!(json["at"], "2024-05-01T12:00:00Z");
    assert_eq!(json["kind"], "voice");
    assert_eq!(
        json["forward_of"]["original_sent_at"],
        "2023-12-31T23:59:59.123456+02:00"
    );
}

#[test]
fn chat_state_round_trips_for_snapshots() {
    let state = crate::event::replay::<Chat>(&every_chat_event()[5..10]);
    let json = serde_json::to_string(&state).unwrap_or_default();
    let back: Chat = serde_json::from_str(&json).unwrap_or_default();
    assert_eq!(back, state);
    assert!(back.exists());
}

#[test]
fn the_exported_type_lists_name_real_events_and_messages_carry_a_seq() {
    use crate::chat::{DIRECT_STATE_TYPES, MEMBERSHIP_TYPES, MESSAGE_TYPES};
    let events = every_chat_event();
    let types: BTreeSet<_> = events.iter().map(|e| e.event_type()).collect();
    for t in MEMBERSHIP_TYPES
        .iter()
        .chain(&DIRECT_STATE_TYPES)
        .chain(&MESSAGE_TYPES)
    {
        assert!(types.contains(t), "{t} is no chat event");
    }
    for event in events {
        let json = serde_json::to_value(&event).unwrap_or_default();
        let listed = MESSAGE_TYPES.contains(&event.event_type());
        assert_eq!(listed, json["seq"].is_u64(), "{json}");
    }
}
