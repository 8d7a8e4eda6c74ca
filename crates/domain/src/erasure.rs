//! What of an event is personal data, and which key erasure destroys to
//! make it unreadable (crypto-shredding, `docs/decisions/0018-erasure.md`).
//!
//! The log is append-only and hash-chained, so nothing in it is ever
//! rewritten. Instead the store keeps, for each event that carries personal
//! data, the event with that data blanked ([`DomainEvent::redacted`]) plus
//! the original fields sealed under a key kept outside the log. Destroying
//! the key leaves exactly the blanked event, which every reader (the
//! projections after a rebuild, the command side, the Kafka stream) already
//! knows how to read: a blank is a value of the field's own type.
//!
//! Two kinds of keys, both named by an id the events already carry:
//! * a message's key (its id), owned by its sender: its text, caption,
//!   poll and place name, and every edit's text. Deleting the message for
//!   everyone destroys it, and nothing else;
//! * a user's key (their id): their name, profile, status text, upload
//!   file names and the reason given for banning them. Deleting the account
//!   destroys it together with every key the user owns.

use uuid::Uuid;

use crate::chat::ChatEvent;
use crate::event::DomainEvent;
use crate::user::UserEvent;

/// How a deleted account is shown wherever its name was.
pub const DELETED_USER: &str = "Deleted user";

/// The key that seals an event's personal data, and whose it is (an
/// account's erasure destroys every key its user owns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealKey {
    pub key: Uuid,
    pub owner: Uuid,
}

/// Keys an event destroys, in the same transaction that appends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shred {
    /// One key: a message deleted for everyone.
    Key(Uuid),
    /// Every key a user owns: their account was deleted.
    OwnedBy(Uuid),
}

/// The event types that may carry personal data ([`DomainEvent::redacted`]
/// answers `None` for every other): readers that must not see it decode
/// only these.
pub const SEALED_TYPES: [&str; 7] = [
    "MessageSent",
    "MessageEdited",
    "MemberBanned",
    "UserRegistered",
    "ProfileUpdated",
    "StatusChanged",
    "MediaUploaded",
];

fn message_key(message_id: Uuid, sender: Uuid) -> SealKey {
    SealKey {
        key: message_id,
        owner: sender,
    }
}

fn user_key(user_id: Uuid) -> SealKey {
    SealKey {
        key: user_id,
        owner: user_id,
    }
}

/// A chat event without its personal data.
pub(crate) fn redact_chat(event: &ChatEvent) -> Option<(SealKey, ChatEvent)> {
    let mut blank = event.clone();
    let key = match &mut blank {
        ChatEvent::MessageSent {
            message_id,
            sender_id,
            text,
            poll,
            location,
            ..
        } => {
            *text = None;
            if let Some(poll) = poll {
                poll.question.clear();
                poll.options.iter_mut().for_each(|o| o.text.clear());
            }
            if let Some(location) = location {
                location.name = None;
            }
            message_key(*message_id, *sender_id)
        }
        ChatEvent::MessageEdited {
            message_id,
            editor_id,
            text,
            ..
        } => {
            text.clear();
            message_key(*message_id, *editor_id)
        }
        ChatEvent::MemberBanned {
            user_id, reason, ..
        } => {
            *reason = None;
            user_key(*user_id)
        }
        _ => return None,
    };
    (blank != *event).then_some((key, blank))
}

/// A user event without its personal data.
pub(crate) fn redact_user(event: &UserEvent) -> Option<(SealKey, UserEvent)> {
    let mut blank = event.clone();
    match &mut blank {
        UserEvent::UserRegistered {
            username,
            display_name,
            ..
        } => {
            username.clear();
            display_name.clear();
        }
        UserEvent::ProfileUpdated {
            display_name,
            avatar_url,
            bio,
            ..
        } => {
            display_name.clear();
            *avatar_url = None;
            *bio = None;
        }
        UserEvent::StatusChanged { text, .. } => *text = None,
        UserEvent::MediaUploaded { file_name, .. } => *file_name = None,
        _ => return None,
    }
    (blank != *event).then_some((user_key(event.user_id()), blank))
}

pub(crate) fn chat_shreds(event: &ChatEvent) -> Vec<Shred> {
    match event {
        ChatEvent::MessageDeleted { message_id, .. } => vec![Shred::Key(*message_id)],
        _ => Vec::new(),
    }
}

pub(crate) fn user_shreds(event: &UserEvent) -> Vec<Shred> {
    match event {
        UserEvent::UserErased { user_id, .. } => vec![Shred::OwnedBy(*user_id)],
        _ => Vec::new(),
    }
}

/// `event` as it may be shown to someone who must not see sealed data
/// (the Kafka stream): the redacted form when it has one.
pub fn public<E: DomainEvent + Clone>(event: &E) -> E {
    event
        .redacted()
        .map_or_else(|| event.clone(), |(_, blank)| blank)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::MessageKind;
    use time::OffsetDateTime;

    fn sent(text: Option<&str>) -> ChatEvent {
        ChatEvent::MessageSent {
            chat_id: Uuid::nil(),
            message_id: Uuid::from_u128(7),
            client_msg_id: "c1".into(),
            seq: 1,
            sender_id: Uuid::from_u128(9),
            kind: MessageKind::Text,
            text: text.map(str::to_owned),
            media: None,
            reply_to: None,
            forward_of: None,
            mentions: Vec::new(),
            poll: None,
            location: None,
            at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_message_text_is_sealed_under_the_message_key_owned_by_its_sender() {
        let (key, blank) = sent(Some("secret")).redacted().expect("has text");
        assert_eq!(key, message_key(Uuid::from_u128(7), Uuid::from_u128(9)));
        assert_eq!(blank, sent(None));
        assert_eq!(
            sent(None).redacted(),
            None,
            "nothing personal, nothing sealed"
        );
    }

    #[test]
    fn a_registration_is_sealed_under_the_user_key_and_erasure_shreds_all_they_own() {
        let user_id = Uuid::from_u128(3);
        let at = OffsetDateTime::UNIX_EPOCH;
        let registered = UserEvent::UserRegistered {
            user_id,
            username: "alice".into(),
            display_name: "Alice".into(),
            at,
        };
        let (key, blank) = registered.redacted().expect("has a name");
        assert_eq!(key, user_key(user_id));
        assert!(!format!("{blank:?}").contains("lice"));
        assert_eq!(
            UserEvent::UserErased { user_id, at }.shreds(),
            vec![Shred::OwnedBy(user_id)]
        );
    }
}
