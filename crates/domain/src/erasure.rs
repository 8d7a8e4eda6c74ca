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
//! Which fields are personal is decided next to each event type, by its
//! aggregate (`chat::personal`, `user::personal`); this module holds what
//! they share, and depends on nothing else in the crate.
//!
//! Two kinds of keys, both named by an id the events already carry:
//! * a message's key (its id), owned by its sender: its text, caption,
//!   poll and place name, and every edit's text. Deleting the message for
//!   everyone destroys it, and nothing else;
//! * a user's key (their id): their name, profile, status text, upload
//!   file names and the reason given for banning them. Deleting the account
//!   destroys it together with every key the user owns.

use uuid::Uuid;

/// How a deleted account is shown wherever its name was.
pub const DELETED_USER: &str = "Deleted user";

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

/// The key that seals an event's personal data, and whose it is (an
/// account's erasure destroys every key its user owns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealKey {
    pub key: Uuid,
    pub owner: Uuid,
}

impl SealKey {
    /// A message's key: its id, owned by its sender.
    pub fn message(message_id: Uuid, sender: Uuid) -> SealKey {
        SealKey {
            key: message_id,
            owner: sender,
        }
    }

    /// A user's own key: their id.
    pub fn user(user_id: Uuid) -> SealKey {
        SealKey {
            key: user_id,
            owner: user_id,
        }
    }
}

/// Keys an event destroys, in the same transaction that appends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shred {
    /// One key: a message deleted for everyone.
    Key(Uuid),
    /// Every key a user owns: their account was deleted.
    OwnedBy(Uuid),
}
