//! Folding the events about one message into its [`MessageFacts`]: chat
//! events in, the facts a message command carries out. It lives with the
//! chat's events so that the message value types (`crate::message`) need
//! nothing of the chat.

use std::collections::BTreeSet;

use uuid::Uuid;

use super::ChatEvent;
use crate::event::DomainEvent;
use crate::message::MessageFacts;

impl MessageFacts {
    /// Fold the events about one message (oldest first) as seen by `actor`.
    ///
    /// The first `MessageSent` fixes the message; events about other messages
    /// and anything before it are ignored. `None` without a `MessageSent`.
    pub fn fold(actor: Uuid, events: &[ChatEvent]) -> Option<MessageFacts> {
        let mut facts: Option<MessageFacts> = None;
        for event in events {
            match (&mut facts, event) {
                (None, ChatEvent::MessageSent { .. }) => facts = Self::from_sent(event),
                (Some(f), e) if e.subject() == Some(f.message_id) => f.apply(actor, e),
                _ => {}
            }
        }
        facts
    }

    fn from_sent(event: &ChatEvent) -> Option<MessageFacts> {
        match event {
            ChatEvent::MessageSent {
                chat_id,
                message_id,
                seq,
                sender_id,
                kind,
                text,
                media,
                poll,
                at,
                ..
            } => Some(MessageFacts {
                message_id: *message_id,
                chat_id: *chat_id,
                seq: *seq,
                sender_id: *sender_id,
                kind: *kind,
                text: text.clone(),
                media: media.clone(),
                sent_at: *at,
                deleted: false,
                edited_at: None,
                pinned: false,
                reactions_of_actor: BTreeSet::new(),
                poll: poll.as_ref().map(|p| p.facts()),
            }),
            _ => None,
        }
    }

    fn apply(&mut self, actor: Uuid, event: &ChatEvent) {
        match event {
            ChatEvent::MessageEdited { text, at, .. } => {
                self.text = Some(text.clone());
                self.edited_at = Some(*at);
            }
            ChatEvent::MessageDeleted { .. } => {
                self.deleted = true;
                self.text = None;
                self.media = None;
            }
            ChatEvent::ReactionAdded { user_id, emoji, .. } if *user_id == actor => {
                self.reactions_of_actor.insert(emoji.clone());
            }
            ChatEvent::ReactionRemoved { user_id, emoji, .. } if *user_id == actor => {
                self.reactions_of_actor.remove(emoji);
            }
            ChatEvent::PollVoted {
                user_id,
                option_ids,
                ..
            } if *user_id == actor => {
                if let Some(p) = self.poll.as_mut() {
                    p.ballot_of_actor = option_ids.clone();
                }
            }
            ChatEvent::PollClosed { .. } => {
                if let Some(p) = self.poll.as_mut() {
                    p.closed = true;
                }
            }
            ChatEvent::MessagePinned { .. } => self.pinned = true,
            ChatEvent::MessageUnpinned { .. } => self.pinned = false,
            _ => {}
        }
    }
}
