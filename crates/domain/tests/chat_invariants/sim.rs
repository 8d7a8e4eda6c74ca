//! The simulated shell: event log, facts from the subject "index", and the
//! step that turns a drawn operation into a command and checks the outcome.

use chat_domain::{
    Aggregate, Chat, ChatAction, ChatCommand, ChatEvent, DomainEvent, ForwardSource, MediaRef,
    MessageFacts, MessageKind, Policy, Role, SubscriberFacts, direct_chat_id, message_id,
};
use proptest::prelude::*;
use time::{Duration, OffsetDateTime, macros::datetime};
use uuid::Uuid;

use crate::ops::{ACTOR_PICKS, EMOJI, GROUP_ID, Op, user};

pub(crate) struct Sim {
    pub(crate) chat: Chat,
    pub(crate) log: Vec<ChatEvent>,
    /// Message ids in send order, with their client ids.
    pub(crate) sent: Vec<(Uuid, Uuid, String)>,
    pub(crate) now: OffsetDateTime,
    pub(crate) policy: Policy,
    pub(crate) next_client: u64,
}

impl Sim {
    pub(crate) fn new() -> Self {
        Sim {
            chat: Chat::default(),
            log: Vec::new(),
            sent: Vec::new(),
            now: datetime!(2024-05-01 12:00 UTC),
            policy: Policy {
                max_pins: 2,
                max_reactions_per_user: 2,
                max_group_members: 4,
                ..Policy::default()
            },
            next_client: 0,
        }
    }

    fn resolve(&self, pick: usize) -> Uuid {
        let members: Vec<Uuid> = if self.chat.is_channel() {
            // A channel's state keeps only those with a role.
            (0..crate::ops::USERS)
                .map(user)
                .filter(|u| self.subscribed(*u))
                .collect()
        } else {
            self.chat.members.keys().copied().collect()
        };
        if pick < ACTOR_PICKS - 1 && !members.is_empty() {
            members[pick % members.len()]
        } else {
            user(pick)
        }
    }

    fn chat_id(&self) -> Uuid {
        if self.chat.exists() {
            self.chat.id()
        } else {
            GROUP_ID
        }
    }

    fn facts(&self, actor: Uuid, id: Uuid) -> Option<MessageFacts> {
        let about: Vec<ChatEvent> = self
            .log
            .iter()
            .filter(|e| e.subject() == Some(id))
            .cloned()
            .collect();
        MessageFacts::fold(actor, &about)
    }

    fn pick(&self, actor: Uuid, i: usize) -> Option<MessageFacts> {
        let n = self.sent.len();
        (n > 0)
            .then(|| self.sent[i % n].0)
            .and_then(|id| self.facts(actor, id))
    }

    fn action(&mut self, actor: Uuid, op: &Op) -> Option<ChatAction> {
        Some(match op {
            Op::StartDirect {
                a,
                b,
                accepts,
                blocked,
            } => {
                let (me, them) = (user(*a), user(*b));
                debug_assert_eq!(me, actor);
                return Some(ChatAction::StartDirect {
                    chat_id: direct_chat_id(me, them),
                    recipient: them,
                    recipient_blocked_requester: *blocked,
                    requester_blocked_recipient: false,
                    recipient_accepts_requests: *accepts,
                });
            }
            Op::Answer { accept: true, .. } => ChatAction::AcceptRequest,
            Op::Answer { accept: false, .. } => ChatAction::RejectRequest,
            Op::BlockChat { block: true, .. } => ChatAction::BlockChat,
            Op::BlockChat { block: false, .. } => ChatAction::UnblockChat,
            Op::CreateGroup { members, .. } => ChatAction::CreateGroup {
                chat_id: GROUP_ID,
                title: "g".into(),
                description: None,
                member_ids: members.iter().map(|i| user(*i)).collect(),
                invitees: Vec::new(),
            },
            Op::UpdateInfo { title, .. } => ChatAction::UpdateGroupInfo {
                title: Some(format!("title {title}")),
                description: None,
                avatar_url: None,
            },
            Op::Add { targets, .. } => ChatAction::AddMembers {
                user_ids: targets.iter().map(|i| user(*i)).collect(),
                invitees: Vec::new(),
            },
            Op::Remove { t, .. } => ChatAction::RemoveMember { user_id: user(*t) },
            Op::SetAdmin { t, admin: true, .. } => ChatAction::PromoteAdmin { user_id: user(*t) },
            Op::SetAdmin {
                t, admin: false, ..
            } => ChatAction::DemoteAdmin { user_id: user(*t) },
            Op::Leave { .. } => ChatAction::Leave,
            Op::SetRole { t, role, .. } => ChatAction::SetRole {
                user_id: user(*t),
                role: [Role::Member, Role::Moderator, Role::Admin][usize::from(*role) % 3],
            },
            Op::Transfer { t, .. } => ChatAction::TransferOwnership { user_id: user(*t) },
            Op::Ban {
                t,
                ban: true,
                timed,
                ..
            } => ChatAction::Ban {
                user_id: user(*t),
                until: timed.then(|| self.now + Duration::minutes(30)),
                reason: None,
            },
            // Someone banned, when anyone is, so unbans do something.
            Op::Ban { t, ban: false, .. } => {
                let banned: Vec<Uuid> = self.chat.banned.keys().copied().collect();
                let user_id = match banned.len() {
                    0 => user(*t),
                    n => banned[*t % n],
                };
                ChatAction::Unban { user_id }
            }
            Op::Delivered { back, .. } => ChatAction::MarkDelivered {
                up_to_seq: (self.chat.last_seq() + 1).saturating_sub(*back),
            },
            Op::Send {
                media,
                reply,
                forward,
                resend,
                peer_blocked,
                ..
            } => {
                let own_previous = self.sent.iter().rev().find(|(_, s, _)| *s == actor);
                let client = match own_previous {
                    Some((_, _, c)) if *resend => c.clone(),
                    _ => {
                        self.next_client += 1;
                        format!("m{}", self.next_client)
                    }
                };
                let id = message_id(self.chat_id(), actor, &client);
                let forward_of = forward
                    .and_then(|i| self.pick(actor, i))
                    .map(|m| ForwardSource {
                        visible_to_sender: self.chat.can_see(actor, m.seq),
                        message: m,
                    });
                let (kind, text, media) = match (*media, forward_of.is_some()) {
                    (_, true) => (MessageKind::Text, None, None),
                    (true, false) => (MessageKind::Image, None, Some(image(actor))),
                    (false, false) => (MessageKind::Text, Some(format!("hello {client}")), None),
                };
                ChatAction::SendMessage {
                    message_id: id,
                    client_msg_id: client,
                    kind,
                    text,
                    media,
                    reply_to: reply.and_then(|i| self.pick(actor, i)),
                    forward_of,
                    existing: self.facts(actor, id),
                    blocked_by_peer: *peer_blocked,
                    mentions: Vec::new(),
                    named: Vec::new(),
                    poll: None,
                    location: None,
                }
            }
            Op::Edit { msg, .. } => ChatAction::EditMessage {
                message: self.pick(actor, *msg)?,
                text: format!("edit {}", self.now),
                blocked_by_peer: false,
            },
            Op::Delete { msg, .. } => ChatAction::DeleteForEveryone {
                message: self.pick(actor, *msg)?,
            },
            Op::React {
                msg,
                emoji,
                add: true,
                ..
            } => ChatAction::AddReaction {
                message: self.pick(actor, *msg)?,
                emoji: EMOJI[*emoji].into(),
                blocked_by_peer: false,
            },
            Op::React {
                msg,
                emoji,
                add: false,
                ..
            } => ChatAction::RemoveReaction {
                message: self.pick(actor, *msg)?,
                emoji: EMOJI[*emoji].into(),
            },
            Op::Pin { msg, pin: true, .. } => ChatAction::PinMessage {
                message: self.pick(actor, *msg)?,
                blocked_by_peer: false,
            },
            Op::Pin {
                msg, pin: false, ..
            } => ChatAction::UnpinMessage {
                message_id: self.pick(actor, *msg)?.message_id,
            },
            Op::Read { back, .. } => ChatAction::MarkRead {
                up_to_seq: (self.chat.last_seq() + 1).saturating_sub(*back),
            },
            Op::Tick { .. } => return None,
            Op::CreateChannel { public, .. } => ChatAction::CreateChannel {
                chat_id: GROUP_ID,
                title: "c".into(),
                description: None,
                public: *public,
            },
            Op::Subscribe { .. } => ChatAction::Subscribe,
        })
    }

    pub(crate) fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        self.now += Duration::seconds(7);
        let actor = match op {
            // The requester is named by the op: the chat id derives from it.
            Op::StartDirect { a, .. } => user(*a),
            Op::Tick { minutes } => {
                self.now += Duration::minutes(*minutes);
                return Ok(());
            }
            Op::Answer { u, .. }
            | Op::BlockChat { u, .. }
            | Op::CreateGroup { u, .. }
            | Op::UpdateInfo { u, .. }
            | Op::Add { u, .. }
            | Op::Remove { u, .. }
            | Op::SetAdmin { u, .. }
            | Op::Leave { u }
            | Op::SetRole { u, .. }
            | Op::Transfer { u, .. }
            | Op::Ban { u, .. }
            | Op::Delivered { u, .. }
            | Op::Send { u, .. }
            | Op::Edit { u, .. }
            | Op::Delete { u, .. }
            | Op::React { u, .. }
            | Op::Pin { u, .. }
            | Op::Read { u, .. }
            | Op::CreateChannel { u, .. } => self.resolve(*u),
            // Anyone: subscribing is what outsiders do.
            Op::Subscribe { u } => user(*u),
        };
        let Some(action) = self.action(actor, op) else {
            return Ok(());
        };
        let is_resend = matches!(
            &action,
            ChatAction::SendMessage {
                existing: Some(_),
                ..
            }
        );
        let mut cmd = ChatCommand::new(actor, self.now, action);
        if self.chat.is_channel() {
            // As the command side does: the records of whom it concerns,
            // folded from the events about them.
            cmd.subscribers = ChatCommand::concerned(actor, &cmd.action)
                .into_iter()
                .map(|u| SubscriberFacts::fold(u, &self.subject_events(u)))
                .collect();
        }
        let prev = self.chat.clone();
        let result = prev.decide(&cmd, &self.policy);
        if prev.is_closed() {
            prop_assert!(result.is_err(), "closed group accepted {cmd:?}");
        }
        let Ok(events) = result else { return Ok(()) };
        if is_resend {
            prop_assert!(events.is_empty(), "a resend appended {events:?}");
        }
        for event in &events {
            if let ChatEvent::MessageSent {
                seq,
                message_id,
                sender_id,
                client_msg_id,
                ..
            } = event
            {
                prop_assert_eq!(*seq, self.chat.last_seq() + 1, "seq gap");
                prop_assert!(
                    self.sent.iter().all(|(id, _, _)| id != message_id),
                    "duplicate id"
                );
                self.sent
                    .push((*message_id, *sender_id, client_msg_id.clone()));
            }
            self.chat = self.chat.clone().evolve(event);
            prop_assert_eq!(event.chat_id(), self.chat.id());
            self.log.push(event.clone());
        }
        if self.chat.is_channel() {
            // The state's count is the records': everyone subscribed.
            let subscribed = (0..crate::ops::USERS)
                .map(user)
                .filter(|u| self.subscribed(*u))
                .count();
            prop_assert_eq!(self.chat.subscribers, subscribed as u64, "subscriber count");
        }
        crate::check(&prev, &self.chat, &self.policy)
    }

    /// Whether `user` is subscribed to the channel: kept with a role, or by
    /// their own record.
    fn subscribed(&self, user: Uuid) -> bool {
        self.chat.members.contains_key(&user)
            || SubscriberFacts::fold(user, &self.subject_events(user))
                .member
                .is_some()
    }

    /// The events about `user` (their subject), as the store's index finds
    /// them.
    fn subject_events(&self, user: Uuid) -> Vec<ChatEvent> {
        self.log
            .iter()
            .filter(|e| e.subject() == Some(user))
            .cloned()
            .collect()
    }
}

pub(crate) fn image(owner: Uuid) -> MediaRef {
    MediaRef {
        media_id: Uuid::from_u128(9),
        owner_id: owner,
        kind: MessageKind::Image,
        mime: "image/png".into(),
        size: 1,
        width: None,
        height: None,
        duration_ms: None,
        sha256: String::new(),
    }
}
