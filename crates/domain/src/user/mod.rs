//! The user aggregate (stream `user-{id}`): profile, settings, blocks and
//! per-user chat preferences (mute, archive, clear, delete-for-me).
//!
//! Per-user preferences live here rather than in the chat stream so that a
//! busy group is not contended by members muting or archiving it.

mod command;
mod decide;
mod event;
mod evolve;
mod media;
mod personal;
mod state;
pub mod status;
#[cfg(test)]
mod tests;

pub use command::{UserAction, UserCommand};
pub use event::{MediaDeleteReason, UserEvent};
pub use media::MediaState;
pub use state::{
    AcceptRequestsFrom, ChatPrefs, LastSeenVisibility, Muted, PushPreview, Settings, User,
    UserState,
};

use crate::error::DomainError;
use crate::event::Aggregate;
use crate::policy::Policy;

impl Aggregate for User {
    type Event = UserEvent;
    type Command = UserCommand;
    const STREAM_PREFIX: &'static str = "user";

    fn evolve(self, event: &UserEvent) -> Self {
        self.apply(event)
    }

    fn decide(&self, cmd: &UserCommand, policy: &Policy) -> Result<Vec<UserEvent>, DomainError> {
        decide::decide(self, cmd, policy)
    }
}
