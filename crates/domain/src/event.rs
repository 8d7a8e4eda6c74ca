//! The two traits every stream type implements, and replay.
//!
//! The store and the services are generic over [`Aggregate`], so loading,
//! deciding, appending and caching work the same for chats and users.

use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::erasure::{SealKey, Shred};
use crate::error::DomainError;
use crate::policy::Policy;

/// What the store needs to know about an event to write its envelope.
pub trait DomainEvent {
    /// The `type` field: the variant name, e.g. `"MessageSent"`.
    fn event_type(&self) -> &'static str;
    /// The payload's schema version; older versions are upcast on read.
    fn schema_version(&self) -> u16;
    /// The message this event is about, if any. The store indexes it so the
    /// command side can load every event about one message with one probe,
    /// which is what lets the chat aggregate hold no per-message state.
    fn subject(&self) -> Option<Uuid>;
    /// Whether this event brings its subject into being (a message's
    /// `MessageSent`): a stream holds at most one such event per subject, and
    /// the store refuses a second one, which is what makes a resend of the
    /// same client message id append nothing.
    fn creates_subject(&self) -> bool {
        false
    }
    /// The event with its personal data blanked, and the key that seals the
    /// original ([`crate::erasure`]); `None` when it carries none.
    fn redacted(&self) -> Option<(SealKey, Self)>
    where
        Self: Sized,
    {
        None
    }
    /// The keys this event destroys when it is appended.
    fn shreds(&self) -> Vec<Shred> {
        Vec::new()
    }
}

/// An event-sourced aggregate: state folded from its stream by `evolve`,
/// and `decide` turning a command into new events.
pub trait Aggregate: Default + Clone + Send + Sync + 'static {
    type Event: DomainEvent + Serialize + DeserializeOwned + Clone + Send + Sync + 'static;
    type Command;
    /// Stream name prefix: `"chat"` or `"user"`.
    const STREAM_PREFIX: &'static str;

    /// Apply one fact. Never fails, never panics; irrelevant events are ignored.
    fn evolve(self, event: &Self::Event) -> Self;

    /// Decide what happens. An empty `Vec` means "already so": an idempotent no-op.
    fn decide(&self, cmd: &Self::Command, policy: &Policy)
    -> Result<Vec<Self::Event>, DomainError>;
}

/// Fold events, oldest first, into a fresh aggregate.
pub fn replay<'a, A: Aggregate>(events: impl IntoIterator<Item = &'a A::Event>) -> A {
    events.into_iter().fold(A::default(), A::evolve)
}
