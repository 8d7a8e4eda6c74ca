//! The domain's visibility rule ([`chat_domain::visibility`]) applied to
//! routed events, the same way for the live router and the resume replay:
//! each keeps its own facts (the live membership, or a replay's membership
//! as of the event it is at) behind [`Facts`], and both ask [`shows`].

use chat_domain::visibility::{self, Shown, Window};
use serde_json::Value;
use uuid::Uuid;

use crate::route::About;

/// What the rule needs to know about a viewer at one point of the log.
pub trait Facts {
    /// `user`'s window of `chat` while they are a member of it.
    fn window(&self, user: Uuid, chat: Uuid) -> Option<Window>;
    /// Whether `user` hid the message at `seq` of `chat` for themselves.
    fn hidden(&self, user: Uuid, chat: Uuid, seq: u64) -> bool;
    /// Whether `user` shares read receipts.
    fn shares_receipts(&self, user: Uuid) -> bool;
    /// Whether `chat` is a channel.
    fn is_channel(&self, chat: Uuid) -> bool;
}

/// Whether `user`, who receives `chat`'s events at this point (a member, or
/// the one an event adds or removes), is shown one that is `about` this.
pub fn shows(facts: &impl Facts, user: Uuid, chat: Uuid, about: About) -> bool {
    match about {
        About::Chat => true,
        About::Message(seq) => facts.window(user, chat).is_some_and(|window| {
            let hidden = facts.hidden(user, chat, seq);
            visibility::message(&window, seq, hidden, false) != Shown::Not
        }),
        About::SecretBallot { seq, voter } => {
            visibility::ballot(user, voter, true) && shows(facts, user, chat, About::Message(seq))
        }
        About::Marker(reader) | About::Subscription(reader) if facts.is_channel(chat) => {
            visibility::about_a_subscriber(user, reader)
        }
        About::Subscription(subscriber) => visibility::about_a_subscriber(user, subscriber),
        About::Marker(reader) => visibility::read_marker(
            user,
            reader,
            facts.shares_receipts(user),
            facts.shares_receipts(reader),
        ),
    }
}

/// A `MessageSent` payload as a tombstone, for a message deleted for
/// everyone since: who sent it and when, never its text or media.
pub fn tombstone(payload: &mut Value) {
    if let Some(o) = payload.as_object_mut() {
        o.insert("text".into(), Value::Null);
        o.insert("media".into(), Value::Null);
        for field in ["poll", "location", "mentions"] {
            o.remove(field);
        }
        o.insert("deleted".into(), Value::Bool(true));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashSet;

    struct One {
        window: Option<Window>,
        hidden: HashSet<u64>,
        silent: HashSet<Uuid>,
    }

    impl Facts for One {
        fn window(&self, _: Uuid, _: Uuid) -> Option<Window> {
            self.window
        }
        fn hidden(&self, _: Uuid, _: Uuid, seq: u64) -> bool {
            self.hidden.contains(&seq)
        }
        fn shares_receipts(&self, user: Uuid) -> bool {
            !self.silent.contains(&user)
        }
        fn is_channel(&self, _: Uuid) -> bool {
            false
        }
    }

    #[test]
    fn messages_outside_the_window_or_hidden_and_silent_markers_are_not_shown() {
        let (u, chat, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut f = One {
            window: Some(Window::joined(3)),
            hidden: HashSet::from([5]),
            silent: HashSet::new(),
        };
        assert!(!shows(&f, u, chat, About::Message(3)), "before the join");
        assert!(shows(&f, u, chat, About::Message(4)));
        assert!(!shows(&f, u, chat, About::Message(5)), "hidden");
        assert!(shows(&f, u, chat, About::Marker(other)));
        f.silent.insert(other);
        assert!(!shows(&f, u, chat, About::Marker(other)));
        assert!(shows(&f, other, chat, About::Marker(other)), "their own");
        f.window = None;
        assert!(!shows(&f, u, chat, About::Message(9)));
        assert!(shows(&f, u, chat, About::Chat));
    }

    #[test]
    fn a_tombstone_keeps_who_and_when_but_not_what() {
        let mut p = json!({"type": "MessageSent", "seq": 1, "text": "secret",
                           "media": {"media_id": "x"}, "sender_id": "s"});
        tombstone(&mut p);
        assert_eq!(p["text"], Value::Null);
        assert_eq!(p["media"], Value::Null);
        assert_eq!(p["deleted"], true);
        assert_eq!(p["sender_id"], "s");
    }
}
