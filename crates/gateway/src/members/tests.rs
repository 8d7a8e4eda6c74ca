//! Membership and the visibility rule at each event, from the events alone.

use super::*;
use crate::route::About;

fn chat(chat_id: Uuid, change: Change) -> Target {
    Target::Chat {
        chat_id,
        change,
        about: About::Chat,
    }
}

#[test]
fn adds_and_removals_take_effect_at_their_event() {
    let (c, a, b) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let mut m = Members::default();
    assert_eq!(m.apply(&chat(c, Change::Join(vec![a], 0))), vec![a]);
    let mut to = m.apply(&chat(c, Change::Join(vec![b], 0)));
    to.sort();
    let mut both = vec![a, b];
    both.sort();
    assert_eq!(to, both);
    let mut to = m.apply(&chat(c, Change::Leave(b)));
    to.sort();
    assert_eq!(to, both, "the removed member gets their removal");
    assert_eq!(m.apply(&chat(c, Change::None)), vec![a]);
    assert_eq!(m.chats_ever(b), vec![c]);
}

#[test]
fn contacts_only_visibility_hides_presence_from_group_members() {
    let (g, d, a, b, x) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let mut m = Members::default();
    m.apply(&chat(g, Change::Join(vec![a, b, x], 0)));
    m.apply(&chat(d, Change::Join(vec![a, b], 0)));
    m.apply(&chat(d, Change::Direct(DirectChange::Accepted)));
    assert_eq!(m.viewers(a).len(), 2);
    m.apply(&Target::User {
        user_id: a,
        change: UserChange::Settings {
            last_seen: Visibility::Contacts,
            receipts: true,
        },
    });
    assert_eq!(m.viewers(a), HashSet::from([b]));
    m.apply(&chat(d, Change::Direct(DirectChange::Blocked(b))));
    assert!(m.viewers(a).is_empty());
}

#[test]
fn a_user_level_block_hides_presence_both_ways_until_lifted() {
    let (g, a, b, c) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let mut m = Members::default();
    m.apply(&chat(g, Change::Join(vec![a, b, c], 0)));
    let block = |on| Target::User {
        user_id: b,
        change: UserChange::Block(a, on),
    };
    m.apply(&block(true));
    assert_eq!(m.viewers(a), HashSet::from([c]));
    assert_eq!(m.viewers(b), HashSet::from([c]));
    assert!(m.blocked_between(a, b));
    m.apply(&block(false));
    assert_eq!(m.viewers(a), HashSet::from([b, c]));
}

#[test]
fn message_events_reach_members_whose_window_shows_the_message() {
    let (g, a, b, c) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let mut m = Members::default();
    let on = |change, about| Target::Chat {
        chat_id: g,
        change,
        about,
    };
    m.apply(&on(Change::Join(vec![a, b], 0), About::Chat));
    m.apply(&on(Change::Join(vec![c], 2), About::Chat));
    let edit_of = |seq| on(Change::None, About::Message(seq));
    let mut to = m.apply(&edit_of(2));
    to.sort();
    let mut ab = vec![a, b];
    ab.sort();
    assert_eq!(to, ab, "c joined after message 2");
    assert_eq!(m.apply(&edit_of(3)).len(), 3);
    m.apply(&Target::User {
        user_id: b,
        change: UserChange::Hidden { chat: g, seq: 3 },
    });
    m.apply(&Target::User {
        user_id: a,
        change: UserChange::Cleared { chat: g, up_to: 3 },
    });
    assert_eq!(m.apply(&edit_of(3)), vec![c], "b hid it and a cleared it");
    m.apply(&Target::User {
        user_id: a,
        change: UserChange::Settings {
            last_seen: Visibility::Everyone,
            receipts: false,
        },
    });
    let mut to = m.apply(&on(Change::None, About::Marker(b)));
    to.sort();
    let mut bc = vec![b, c];
    bc.sort();
    assert_eq!(to, bc, "a shares no receipts, so sees nobody's");
    assert_eq!(m.apply(&on(Change::None, About::Marker(a))), vec![a]);
}

#[test]
fn a_former_member_gets_edits_of_their_window_but_no_new_messages() {
    let (g, a, b, c) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let mut m = Members::default();
    let on = |change, about| Target::Chat {
        chat_id: g,
        change,
        about,
    };
    m.apply(&on(Change::Join(vec![a, b, c], 0), About::Chat));
    m.apply(&on(Change::None, About::Message(1)));
    m.apply(&on(Change::Leave(c), About::Chat));
    let mut to = m.apply(&on(Change::None, About::Message(1)));
    to.sort();
    let mut abc = vec![a, b, c];
    abc.sort();
    assert_eq!(to, abc, "an edit of message 1 reaches c, who saw it");
    let mut to = m.apply(&on(Change::None, About::Message(2)));
    to.sort();
    let mut ab = vec![a, b];
    ab.sort();
    assert_eq!(to, ab, "message 2 came after c left");
    m.apply(&on(Change::Join(vec![c], 2), About::Chat));
    assert_eq!(
        m.apply(&on(Change::None, About::Message(1))).len(),
        2,
        "back in, c's window starts after 2"
    );
}
