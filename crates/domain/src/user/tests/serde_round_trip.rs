use super::*;

#[test]
fn every_user_event_round_trips_through_json_with_its_type_name() {
    let (u, c, at) = (ME, CHAT, T0);
    let events = vec![
        registered(),
        UserEvent::ProfileUpdated {
            user_id: u,
            display_name: "A".into(),
            avatar_url: Some("https://x".into()),
            bio: Some("b".into()),
            at,
        },
        UserEvent::SettingsChanged {
            user_id: u,
            read_receipts: false,
            last_seen_visible_to: LastSeenVisibility::Nobody,
            accept_requests_from: AcceptRequestsFrom::Nobody,
            push_preview: crate::user::PushPreview::Nothing,
            at,
        },
        UserEvent::UserBlocked {
            user_id: u,
            blocked_user_id: OTHER,
            at,
        },
        UserEvent::UserUnblocked {
            user_id: u,
            blocked_user_id: OTHER,
            at,
        },
        UserEvent::ChatMuted {
            user_id: u,
            chat_id: c,
            until: Some(at + Duration::days(1)),
            at,
        },
        UserEvent::ChatUnmuted {
            user_id: u,
            chat_id: c,
            at,
        },
        UserEvent::ChatArchived {
            user_id: u,
            chat_id: c,
            at,
        },
        UserEvent::ChatUnarchived {
            user_id: u,
            chat_id: c,
            at,
        },
        UserEvent::ChatCleared {
            user_id: u,
            chat_id: c,
            up_to_seq: 3,
            at,
        },
        UserEvent::MessageHiddenForMe {
            user_id: u,
            chat_id: c,
            message_id: OTHER,
            seq: 2,
            at,
        },
    ];
    let types: BTreeSet<_> = events.iter().map(|e| e.event_type()).collect();
    assert_eq!(types.len(), 11);
    for event in &events {
        let json = serde_json::to_value(event).unwrap_or_default();
        assert_eq!(json["type"], event.event_type());
        let back: UserEvent =
            serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{json}: {e}"));
        assert_eq!(&back, event);
        let hidden = event.event_type() == "MessageHiddenForMe";
        assert_eq!(event.subject() == Some(OTHER), hidden);
        assert_eq!(event.user_id(), ME);
    }
    let settings = serde_json::to_value(&events[2]).unwrap_or_default();
    assert_eq!(settings["last_seen_visible_to"], "nobody");
    let state = crate::event::replay::<User>(&events);
    let json = serde_json::to_string(&state).unwrap_or_default();
    assert_eq!(serde_json::from_str::<User>(&json).ok(), Some(state));
}
