use super::*;

fn mute(until: Option<OffsetDateTime>, is_participant: bool) -> UserCommand {
    by(
        ME,
        UserAction::MuteChat {
            chat_id: CHAT,
            until,
            is_participant,
        },
    )
}

#[test]
fn muting_a_chat_until_a_future_time_or_forever() {
    let until = T0 + Duration::hours(8);
    let state = me([])
        .when(mute(Some(until), true))
        .then([UserEvent::ChatMuted {
            user_id: ME,
            chat_id: CHAT,
            until: Some(until),
            at: T0,
        }]);
    assert!(state.is_muted(CHAT, T0) && !state.is_muted(CHAT, until));
    me([]).when(mute(None, true)).events();
}

#[test]
fn muting_until_the_past_is_invalid() {
    me([])
        .when(mute(Some(T0), true))
        .then_error(Invalid, "mute_until_in_past");
}

#[test]
fn muting_the_same_way_twice_decides_nothing() {
    let muted = UserEvent::ChatMuted {
        user_id: ME,
        chat_id: CHAT,
        until: None,
        at: T0,
    };
    me([muted]).when(mute(None, true)).then_nothing();
}

#[test]
fn chat_preferences_need_a_chat_the_user_is_in() {
    me([])
        .when(mute(None, false))
        .then_error(NotFound, "chat_not_found");
    me([])
        .when(by(
            ME,
            UserAction::ArchiveChat {
                chat_id: CHAT,
                is_participant: false,
            },
        ))
        .then_error(NotFound, "chat_not_found");
}

#[test]
fn unmuting_only_unmutes_an_active_mute() {
    let unmute = || {
        by(
            ME,
            UserAction::UnmuteChat {
                chat_id: CHAT,
                is_participant: true,
            },
        )
    };
    me([]).when(unmute()).then_nothing();
    let expired = UserEvent::ChatMuted {
        user_id: ME,
        chat_id: CHAT,
        until: Some(T0 - Duration::minutes(1)),
        at: T0 - Duration::hours(1),
    };
    me([expired]).when(unmute()).then_nothing();
    let muted = UserEvent::ChatMuted {
        user_id: ME,
        chat_id: CHAT,
        until: None,
        at: T0,
    };
    me([muted]).when(unmute()).then([UserEvent::ChatUnmuted {
        user_id: ME,
        chat_id: CHAT,
        at: T0,
    }]);
}

#[test]
fn archiving_and_unarchiving_are_idempotent() {
    let archive = || {
        by(
            ME,
            UserAction::ArchiveChat {
                chat_id: CHAT,
                is_participant: true,
            },
        )
    };
    let unarchive = || {
        by(
            ME,
            UserAction::UnarchiveChat {
                chat_id: CHAT,
                is_participant: true,
            },
        )
    };
    let archived = UserEvent::ChatArchived {
        user_id: ME,
        chat_id: CHAT,
        at: T0,
    };
    me([]).when(archive()).then([archived.clone()]);
    me([archived.clone()]).when(archive()).then_nothing();
    me([]).when(unarchive()).then_nothing();
    me([archived])
        .when(unarchive())
        .then([UserEvent::ChatUnarchived {
            user_id: ME,
            chat_id: CHAT,
            at: T0,
        }]);
}

#[test]
fn clearing_a_chat_hides_its_history_up_to_now() {
    let clear = |up_to_seq| {
        by(
            ME,
            UserAction::ClearChat {
                chat_id: CHAT,
                up_to_seq,
                is_participant: true,
            },
        )
    };
    let cleared = UserEvent::ChatCleared {
        user_id: ME,
        chat_id: CHAT,
        up_to_seq: 7,
        at: T0,
    };
    let state = me([]).when(clear(7)).then([cleared.clone()]);
    assert_eq!(state.prefs(CHAT).map(|p| p.cleared_up_to_seq), Some(7));
    me([cleared.clone()]).when(clear(7)).then_nothing();
    me([cleared]).when(clear(9)).events();
    me([]).when(clear(0)).events();
}

#[test]
fn hiding_a_message_for_me() {
    me([])
        .when(hide(message(3), true, false))
        .then([UserEvent::MessageHiddenForMe {
            user_id: ME,
            chat_id: CHAT,
            message_id: message(3).message_id,
            seq: 3,
            at: T0,
        }]);
}

#[test]
fn hiding_a_hidden_or_cleared_message_decides_nothing() {
    me([]).when(hide(message(3), true, true)).then_nothing();
    let cleared = UserEvent::ChatCleared {
        user_id: ME,
        chat_id: CHAT,
        up_to_seq: 5,
        at: T0,
    };
    me([cleared])
        .when(hide(message(3), true, false))
        .then_nothing();
}

#[test]
fn hiding_a_message_you_cannot_see_is_not_found() {
    me([])
        .when(hide(message(3), false, false))
        .then_error(NotFound, "message_not_found");
    let mut elsewhere = message(3);
    elsewhere.chat_id = OTHER;
    me([])
        .when(hide(elsewhere, true, false))
        .then_error(NotFound, "message_not_found");
}
