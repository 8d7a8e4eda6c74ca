//! The chat aggregate (stream `chat-{id}`): direct chats, groups and
//! channels, their membership and roles, and everything that happens to
//! messages.
//!
//! # Bounded state, exact checks
//!
//! The aggregate holds no per-message data, so loading it costs the same for
//! a chat with a million messages as for a new one. Message commands (edit,
//! delete, react, pin, reply, forward, resend detection) are still validated
//! exactly:
//!
//! * every message-scoped event names its message as its `subject`, and the
//!   store indexes subjects, so the command side loads all events about one
//!   message with one index probe and folds them into
//!   [`MessageFacts`](crate::message::MessageFacts) (with the actor's own
//!   reactions);
//! * the facts ride in with the command, and `decide` checks they belong to
//!   this chat and are visible to the actor (`seq > joined_seq`);
//! * the append is guarded by the chat stream's expected version, and every
//!   event about a message lives in that same stream, so facts that changed
//!   between load and append surface as a concurrency conflict and the command
//!   is re-decided on fresh facts. Dedup of resends works the same way: the
//!   message id is derived from `client_msg_id`, so a resend finds its facts.

mod command;
mod decide;
mod event;
mod evolve;
mod facts;
mod personal;
mod state;
mod subscriber;
pub mod system;
#[cfg(test)]
mod tests;

pub use command::{ChatAction, ChatCommand, Invitee};
pub use event::{
    ChatEvent, DIRECT_STATE_TYPES, JOIN_TYPES, LEAVE_TYPES, MARKER_TYPES, MEMBERSHIP_TYPES,
    MESSAGE_TYPES,
};
pub use state::{
    Chat, ChatKind, ChatState, ChatStatus, DirectPart, DirectStatus, GroupPart, Invite, Member,
    Role,
};
pub use subscriber::SubscriberFacts;

use crate::error::DomainError;
use crate::event::Aggregate;
use crate::policy::Policy;

impl Aggregate for Chat {
    type Event = ChatEvent;
    type Command = ChatCommand;
    const STREAM_PREFIX: &'static str = "chat";

    fn evolve(self, event: &ChatEvent) -> Self {
        self.apply(event)
    }

    fn decide(&self, cmd: &ChatCommand, policy: &Policy) -> Result<Vec<ChatEvent>, DomainError> {
        decide::decide(self, cmd, policy)
    }
}
