//! Votes on polls and closing them. The poll's options, state and the
//! voter's current ballot ride in the message's facts
//! ([`crate::poll::PollFacts`]), folded from its events like any other.

use super::{Ctx, Decision, message_deleted};
use crate::chat::event::ChatEvent;
use crate::error::DomainError;
use crate::message::MessageFacts;
use crate::poll::PollFacts;

fn poll_of<'m>(ctx: &Ctx<'_>, message: &'m MessageFacts) -> Result<&'m PollFacts, DomainError> {
    ctx.participant()?;
    ctx.visible(message)?;
    if message.deleted {
        return Err(message_deleted());
    }
    message
        .poll
        .as_ref()
        .ok_or_else(|| DomainError::invalid("not_a_poll", None, "the message is not a poll"))
}

/// The actor's whole ballot replaces their earlier one; the same ballot
/// again decides nothing, an empty one retracts.
pub(super) fn vote(ctx: &Ctx<'_>, message: &MessageFacts, option_ids: &[u32]) -> Decision {
    let poll = poll_of(ctx, message)?;
    if poll.closed {
        return Err(DomainError::conflict("poll_closed", "the poll is closed"));
    }
    let ballot = poll.ballot(option_ids)?;
    if ballot == poll.ballot_of_actor {
        return Ok(Vec::new());
    }
    Ok(vec![ChatEvent::PollVoted {
        chat_id: ctx.chat_id(),
        message_id: message.message_id,
        seq: message.seq,
        user_id: ctx.actor,
        option_ids: ballot,
        anonymous: poll.anonymous,
        at: ctx.at,
    }])
}

/// Only the author closes a poll; closing a closed one decides nothing.
pub(super) fn close(ctx: &Ctx<'_>, message: &MessageFacts) -> Decision {
    let poll = poll_of(ctx, message)?;
    if message.sender_id != ctx.actor {
        return Err(DomainError::forbidden(
            "not_the_author",
            "only the author may close a poll",
        ));
    }
    if poll.closed {
        return Ok(Vec::new());
    }
    Ok(vec![ChatEvent::PollClosed {
        chat_id: ctx.chat_id(),
        message_id: message.message_id,
        seq: message.seq,
        by: ctx.actor,
        at: ctx.at,
    }])
}
