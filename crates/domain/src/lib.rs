//! The pure chat domain: commands, events, aggregate state and the
//! `decide`/`evolve` pair for the two kinds of streams (`chat-{id}` and
//! `user-{id}`).
//!
//! Nothing here does I/O, reads the clock or makes ids: everything from the
//! outside world (the time, fresh ids, the other user's settings, facts about
//! a message loaded from the store) arrives inside the command. That keeps
//! every rule testable as "given these events, when this command, then these
//! events or this error", and keeps replays deterministic.

pub mod chat;
pub mod erasure;
pub mod error;
pub mod event;
pub mod ids;
pub mod mentions;
pub mod message;
pub mod policy;
pub mod poll;
pub mod push;
pub mod user;
pub mod visibility;

mod rules;
#[cfg(test)]
mod testing;

pub use chat::{
    Chat, ChatAction, ChatCommand, ChatEvent, ChatKind, ChatState, ChatStatus, DIRECT_STATE_TYPES,
    DirectPart, DirectStatus, GroupPart, Invite, Invitee, JOIN_TYPES, LEAVE_TYPES, MARKER_TYPES,
    MEMBERSHIP_TYPES, MESSAGE_TYPES, Member, Role, SubscriberFacts,
};
pub use error::{ALL_CODES, DomainError, ErrorKind};
pub use event::{Aggregate, DomainEvent, replay};
pub use ids::{StreamKind, chat_stream, direct_chat_id, message_id, parse_stream, user_stream};
pub use message::{ForwardRef, ForwardSource, MediaRef, MessageFacts, MessageKind, ReplyRef};
pub use policy::Policy;
pub use user::{
    AcceptRequestsFrom, ChatPrefs, LastSeenVisibility, MediaDeleteReason, MediaState, Muted,
    Settings, User, UserAction, UserCommand, UserEvent, UserState,
};
