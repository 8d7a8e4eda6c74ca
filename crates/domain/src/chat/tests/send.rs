use super::*;
use crate::error::ErrorKind::{Conflict, Forbidden, Invalid, NotFound};
use crate::message::{ForwardSource, MediaRef};
use crate::policy::Policy;

/// A send with everything optional left out; tests adjust fields.
pub(super) struct Send {
    pub(super) chat_id: Uuid,
    pub(super) client: String,
    pub(super) kind: MessageKind,
    pub(super) text: Option<String>,
    pub(super) media: Option<MediaRef>,
    pub(super) reply_to: Option<MessageFacts>,
    pub(super) forward_of: Option<ForwardSource>,
    pub(super) existing: Option<MessageFacts>,
    pub(super) blocked_by_peer: bool,
    pub(super) mentions: Vec<Uuid>,
    pub(super) named: Vec<Uuid>,
    pub(super) poll: Option<crate::poll::PollSpec>,
    pub(super) location: Option<crate::poll::Location>,
}

pub(super) fn text(chat_id: Uuid, client: &str, body: &str) -> Send {
    Send {
        chat_id,
        client: client.into(),
        kind: MessageKind::Text,
        text: Some(body.into()),
        media: None,
        reply_to: None,
        forward_of: None,
        existing: None,
        blocked_by_peer: false,
        mentions: Vec::new(),
        named: Vec::new(),
        poll: None,
        location: None,
    }
}

impl Send {
    pub(super) fn by(self, actor: Uuid) -> ChatCommand {
        by(
            actor,
            ChatAction::SendMessage {
                message_id: ids::message_id(self.chat_id, actor, &self.client),
                client_msg_id: self.client,
                kind: self.kind,
                text: self.text,
                media: self.media,
                reply_to: self.reply_to,
                forward_of: self.forward_of,
                existing: self.existing,
                blocked_by_peer: self.blocked_by_peer,
                mentions: self.mentions,
                named: self.named,
                poll: self.poll,
                location: self.location,
            },
        )
    }
}

fn image(owner: Uuid) -> MediaRef {
    MediaRef {
        media_id: Uuid::from_u128(77),
        owner_id: owner,
        kind: MessageKind::Image,
        mime: "image/png".into(),
        size: 1234,
        width: Some(10),
        height: Some(20),
        duration_ms: None,
        sha256: "ab".repeat(32),
    }
}

pub(super) fn group_with_messages() -> Vec<ChatEvent> {
    vec![group_created(), sent(GROUP, 1, BOB), sent(GROUP, 2, CAROL)]
}

#[test]
fn sending_a_text_message_takes_the_next_seq_and_marks_it_read_for_the_sender() {
    let state = chat(group_with_messages())
        .when(text(GROUP, "c3", "msg-3").by(ALICE))
        .then([sent(GROUP, 3, ALICE)]);
    assert_eq!(state.last_seq(), 3);
    assert_eq!(state.read_marker(ALICE), Some(3));
    assert_eq!(state.read_marker(BOB), Some(1));
}

#[test]
fn a_message_id_not_derived_from_the_client_id_is_invalid() {
    let mut cmd = text(GROUP, "c1", "hi").by(ALICE);
    if let ChatAction::SendMessage { message_id, .. } = &mut cmd.action {
        *message_id = Uuid::from_u128(9);
    }
    chat([group_created()])
        .when(cmd)
        .then_error(Invalid, "message_id_mismatch");
}

#[test]
fn an_empty_or_overlong_client_msg_id_is_invalid() {
    for client in [String::new(), "x".repeat(65)] {
        chat([group_created()])
            .when(text(GROUP, &client, "hi").by(ALICE))
            .then_error(Invalid, "invalid_client_msg_id");
    }
}

#[test]
fn resending_the_same_client_message_decides_nothing() {
    let first = sent(GROUP, 1, ALICE);
    let mut resend = text(GROUP, "c1", "msg-1");
    resend.existing = Some(facts(&first));
    chat([group_created(), first])
        .when(resend.by(ALICE))
        .then_nothing();
}

#[test]
fn outsiders_cannot_send() {
    chat([group_created()])
        .when(text(GROUP, "c1", "hi").by(DAVE))
        .then_error(NotFound, "chat_not_found");
}

#[test]
fn the_requester_may_write_while_the_request_is_pending() {
    chat([requested()])
        .when(text(dm(), "c1", "msg-1").by(ALICE))
        .then([sent(dm(), 1, ALICE)]);
}

#[test]
fn the_recipient_must_accept_before_writing() {
    chat([requested()])
        .when(text(dm(), "c1", "hi").by(BOB))
        .then_error(Conflict, "chat_request_pending");
}

#[test]
fn nobody_writes_into_a_rejected_chat() {
    let rejected = ChatEvent::ChatRequestRejected {
        chat_id: dm(),
        requester_id: ALICE,
        recipient_id: BOB,
        at: T0,
    };
    chat([requested(), rejected])
        .when(text(dm(), "c1", "hi").by(ALICE))
        .then_error(Conflict, "chat_request_rejected");
}

#[test]
fn blocks_stop_messages_in_direct_chats() {
    let blocked_by = |user| ChatEvent::DirectChatBlocked {
        chat_id: dm(),
        by: user,
        at: T0,
    };
    chat([requested(), accepted(), blocked_by(BOB)])
        .when(text(dm(), "c1", "hi").by(ALICE))
        .then_error(Forbidden, "blocked");
    chat([requested(), accepted(), blocked_by(ALICE)])
        .when(text(dm(), "c1", "hi").by(ALICE))
        .then_error(Forbidden, "you_blocked_chat");
    let mut user_level = text(dm(), "c1", "hi");
    user_level.blocked_by_peer = true;
    chat([requested(), accepted()])
        .when(user_level.by(ALICE))
        .then_error(Forbidden, "blocked");
}

#[test]
fn text_messages_need_non_blank_text_within_the_limit_and_no_media() {
    let mut none = text(GROUP, "c1", "");
    none.text = None;
    chat([group_created()])
        .when(none.by(ALICE))
        .then_error(Invalid, "text_required");
    chat([group_created()])
        .when(text(GROUP, "c1", " \n ").by(ALICE))
        .then_error(Invalid, "text_required");
    chat([group_created()])
        .with_policy(Policy {
            max_text_chars: 4,
            ..Policy::default()
        })
        .when(text(GROUP, "c1", "hello").by(ALICE))
        .then_error(Invalid, "text_too_long");
    let mut with_media = text(GROUP, "c1", "hi");
    with_media.media = Some(image(ALICE));
    chat([group_created()])
        .when(with_media.by(ALICE))
        .then_error(Invalid, "media_mismatch");
}

#[test]
fn media_messages_carry_the_senders_own_media_and_an_optional_caption() {
    let mut photo = text(GROUP, "c1", "  ");
    photo.kind = MessageKind::Image;
    photo.media = Some(image(ALICE));
    let events = chat([group_created()]).when(photo.by(ALICE)).events();
    assert!(matches!(
        events.as_slice(),
        [ChatEvent::MessageSent {
            kind: MessageKind::Image,
            text: None,
            media: Some(_),
            seq: 1,
            ..
        }]
    ));
}

#[test]
fn media_of_someone_else_or_another_kind_is_refused() {
    for (kind, media) in [
        (MessageKind::Image, Some(image(BOB))),
        (MessageKind::Video, Some(image(ALICE))),
    ] {
        let mut m = text(GROUP, "c1", "caption");
        m.kind = kind;
        m.media = media;
        chat([group_created()])
            .when(m.by(ALICE))
            .then_error(Invalid, "media_mismatch");
    }
    let mut missing = text(GROUP, "c1", "caption");
    missing.kind = MessageKind::File;
    chat([group_created()])
        .when(missing.by(ALICE))
        .then_error(Invalid, "media_required");
}
