//! Applying chat events to the state.
//!
//! `evolve` records facts; it never validates. Events that do not fit the
//! current state (which `decide` never produces) leave it unchanged rather
//! than panic, so a replay can always finish.

use time::OffsetDateTime;
use uuid::Uuid;

use super::event::ChatEvent;
use super::state::{Chat, ChatKind, DirectPart, DirectStatus, GroupPart, Member, Role};

impl Chat {
    pub(super) fn apply(mut self, event: &ChatEvent) -> Self {
        match event {
            ChatEvent::DirectChatRequested {
                chat_id,
                requester_id,
                recipient_id,
                at,
            } => self.direct_requested(*chat_id, *requester_id, *recipient_id, *at),
            ChatEvent::ChatRequestAccepted { .. } => self.set_direct_status(DirectStatus::Accepted),
            ChatEvent::ChatRequestRejected { .. } => self.set_direct_status(DirectStatus::Rejected),
            ChatEvent::DirectChatBlocked { by, .. } => {
                if let Some(d) = self.direct.as_mut() {
                    d.blocked_by.insert(*by);
                }
            }
            ChatEvent::DirectChatUnblocked { by, .. } => {
                if let Some(d) = self.direct.as_mut() {
                    d.blocked_by.remove(by);
                }
            }
            ChatEvent::GroupCreated {
                chat_id,
                owner_id,
                title,
                description,
                member_ids,
                at,
            } => {
                if self.kind.is_none() {
                    self.id = *chat_id;
                    self.kind = Some(ChatKind::Group);
                    self.group = Some(GroupPart::new(title, description, *owner_id, false));
                    for user in member_ids {
                        let role = if user == owner_id {
                            Role::Admin
                        } else {
                            Role::Member
                        };
                        self.join(*user, role, 0, *at);
                    }
                }
            }
            ChatEvent::ChannelCreated {
                chat_id,
                owner_id,
                title,
                description,
                public,
                at,
            } => {
                if self.kind.is_none() {
                    self.id = *chat_id;
                    self.kind = Some(ChatKind::Channel);
                    self.group = Some(GroupPart::new(title, description, *owner_id, *public));
                    self.join(*owner_id, Role::Admin, 0, *at);
                    self.subscribers = 1;
                }
            }
            ChatEvent::ChannelSubscribed { invite, .. } => {
                self.subscribers = self.subscribers.saturating_add(1);
                self.count_use(invite.as_deref());
            }
            ChatEvent::ChannelUnsubscribed { user_id, .. } => self.unsubscribe(*user_id),
            ChatEvent::GroupInfoUpdated {
                title,
                description,
                avatar_url,
                ..
            } => {
                if let Some(g) = self.group.as_mut() {
                    g.title = title.clone();
                    g.description = description.clone();
                    g.avatar_url = avatar_url.clone();
                }
            }
            ChatEvent::MembersAdded {
                user_ids,
                joined_seq,
                at,
                invite,
                ..
            } => {
                for user in user_ids {
                    self.join(*user, Role::Member, *joined_seq, *at);
                }
                self.count_use(invite.as_deref());
            }
            ChatEvent::InviteCreated {
                code_hash,
                max_uses,
                expires_at,
                ..
            } => {
                self.invites.insert(
                    code_hash.clone(),
                    super::state::Invite {
                        max_uses: *max_uses,
                        uses: 0,
                        expires_at: *expires_at,
                    },
                );
            }
            ChatEvent::InviteRevoked { code_hash, .. } => {
                self.invites.remove(code_hash);
            }
            ChatEvent::MemberRemoved { user_id, .. } | ChatEvent::MemberLeft { user_id, .. } => {
                if self.is_channel() {
                    self.unsubscribe(*user_id);
                } else {
                    self.members.remove(user_id);
                }
            }
            ChatEvent::AdminPromoted { user_id, at, .. } => {
                self.set_role(*user_id, Role::Admin, *at)
            }
            ChatEvent::MemberRoleChanged {
                user_id, role, at, ..
            } => self.set_role(*user_id, *role, *at),
            ChatEvent::MemberBanned { user_id, until, .. } => {
                self.banned.insert(*user_id, *until);
            }
            ChatEvent::MemberUnbanned { user_id, .. } => {
                self.banned.remove(user_id);
            }
            ChatEvent::AdminDemoted { user_id, at, .. } => {
                self.set_role(*user_id, Role::Member, *at)
            }
            ChatEvent::OwnershipTransferred { new_owner_id, .. } => {
                if let Some(g) = self.group.as_mut() {
                    g.owner = *new_owner_id;
                }
            }
            ChatEvent::GroupClosed { .. } => {
                if let Some(g) = self.group.as_mut() {
                    g.closed = true;
                }
            }
            ChatEvent::MessageSent { seq, sender_id, .. } => {
                self.last_seq = self.last_seq.max(*seq);
                // Sending implies having read everything up to one's own message.
                if let Some(m) = self.members.get_mut(sender_id) {
                    m.read_up_to = m.read_up_to.max(*seq);
                }
            }
            ChatEvent::MessagePinned {
                message_id, seq, ..
            } => {
                self.pinned.insert(*message_id, *seq);
            }
            ChatEvent::MessageUnpinned { message_id, .. } => {
                self.pinned.remove(message_id);
            }
            ChatEvent::ReadMarkerMoved {
                user_id, up_to_seq, ..
            } => {
                if let Some(m) = self.members.get_mut(user_id) {
                    m.read_up_to = m.read_up_to.max(*up_to_seq);
                }
            }
            ChatEvent::DeliveryMarkerMoved {
                user_id, up_to_seq, ..
            } => {
                if let Some(m) = self.members.get_mut(user_id) {
                    m.delivered_up_to = m.delivered_up_to.max(*up_to_seq);
                }
            }
            ChatEvent::MessageEdited { .. }
            | ChatEvent::PollVoted { .. }
            | ChatEvent::PollClosed { .. }
            | ChatEvent::MessageDeleted { .. }
            | ChatEvent::ReactionAdded { .. }
            | ChatEvent::ReactionRemoved { .. } => {}
        }
        self
    }

    fn direct_requested(
        &mut self,
        chat_id: Uuid,
        requester: Uuid,
        recipient: Uuid,
        at: OffsetDateTime,
    ) {
        match (self.kind, self.direct.as_mut()) {
            (None, _) => {
                self.id = chat_id;
                self.kind = Some(ChatKind::Direct);
                self.direct = Some(DirectPart {
                    requester,
                    recipient,
                    status: DirectStatus::Pending,
                    blocked_by: Default::default(),
                });
                self.join(requester, Role::Member, 0, at);
                self.join(recipient, Role::Member, 0, at);
            }
            // A rejected request started again, possibly from the other side.
            (Some(ChatKind::Direct), Some(d)) => {
                d.requester = requester;
                d.recipient = recipient;
                d.status = DirectStatus::Pending;
            }
            _ => {}
        }
    }

    fn set_direct_status(&mut self, status: DirectStatus) {
        if let Some(d) = self.direct.as_mut() {
            d.status = status;
        }
    }

    fn count_use(&mut self, invite: Option<&str>) {
        if let Some(i) = invite.and_then(|h| self.invites.get_mut(h)) {
            i.uses = i.uses.saturating_add(1);
        }
    }

    fn unsubscribe(&mut self, user: Uuid) {
        self.members.remove(&user);
        self.subscribers = self.subscribers.saturating_sub(1);
    }

    fn set_role(&mut self, user: Uuid, role: Role, at: OffsetDateTime) {
        if self.is_channel() {
            // A channel keeps only those with a role; a plain subscriber's
            // record is in the events about them.
            if role == Role::Member {
                self.members.remove(&user);
            } else if !self.members.contains_key(&user) {
                self.join(user, role, 0, at);
            }
        }
        if let Some(m) = self.members.get_mut(&user) {
            m.role = role;
        }
    }

    fn join(&mut self, user: Uuid, role: Role, joined_seq: u64, at: OffsetDateTime) {
        if self.members.contains_key(&user) {
            return;
        }
        let member = Member {
            join_order: self.next_join_order,
            ..Member::new(role, joined_seq, at, joined_seq)
        };
        self.next_join_order = self.next_join_order.saturating_add(1);
        self.members.insert(user, member);
    }
}
