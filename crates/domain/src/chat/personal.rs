//! What of a chat event is personal data (`crate::erasure`): a message's
//! words (text, caption, poll, place name, every edit) under the
//! message's key, and the reason given for a ban under the banned user's.

use super::ChatEvent;
use crate::erasure::{SEALED_TYPES, SealKey, Shred};
use crate::event::DomainEvent;

/// A chat event without its personal data.
pub(super) fn redacted(event: &ChatEvent) -> Option<(SealKey, ChatEvent)> {
    // Most events carry nothing personal: no copy made for them (this
    // runs for every event the command side encodes).
    if !SEALED_TYPES.contains(&event.event_type()) {
        return None;
    }
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
            SealKey::message(*message_id, *sender_id)
        }
        ChatEvent::MessageEdited {
            message_id,
            editor_id,
            text,
            ..
        } => {
            text.clear();
            SealKey::message(*message_id, *editor_id)
        }
        ChatEvent::MemberBanned {
            user_id, reason, ..
        } => {
            *reason = None;
            SealKey::user(*user_id)
        }
        _ => return None,
    };
    (blank != *event).then_some((key, blank))
}

pub(super) fn shreds(event: &ChatEvent) -> Vec<Shred> {
    match event {
        ChatEvent::MessageDeleted { message_id, .. } => vec![Shred::Key(*message_id)],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::DomainEvent;
    use crate::message::MessageKind;
    use time::OffsetDateTime;
    use uuid::Uuid;

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
        assert_eq!(
            key,
            SealKey::message(Uuid::from_u128(7), Uuid::from_u128(9))
        );
        assert_eq!(blank, sent(None));
        assert_eq!(
            sent(None).redacted(),
            None,
            "nothing personal, nothing sealed"
        );
    }
}
