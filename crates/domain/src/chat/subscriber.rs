//! A channel subscriber's record, folded from the events about them.
//!
//! A channel keeps only its admins and moderators in the state; anyone else
//! subscribed is a count there. Each command by or about a subscriber
//! carries their record, folded by the caller from the chat stream's events
//! whose `subject` is the user (one probe of the store's subject index), and
//! `decide` judges on the state with those records put in
//! ([`SubscriberFacts::view`]). Every such event is appended against the
//! chat's expected version, so a record that changed between load and
//! append surfaces as a conflict and is folded again.

use uuid::Uuid;

use super::{Chat, ChatEvent, Member, Role};

/// One user's standing in a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberFacts {
    pub user_id: Uuid,
    /// Their record while subscribed.
    pub member: Option<Member>,
}

impl SubscriberFacts {
    /// Fold the events about `user_id` (oldest first).
    pub fn fold(user_id: Uuid, events: &[ChatEvent]) -> SubscriberFacts {
        let mut member: Option<Member> = None;
        for event in events {
            match event {
                ChatEvent::ChannelCreated { owner_id, at, .. } if *owner_id == user_id => {
                    member = Some(Member::new(Role::Admin, 0, *at, 0));
                }
                ChatEvent::ChannelSubscribed {
                    user_id: u,
                    last_seq,
                    at,
                    ..
                } if *u == user_id => {
                    member = Some(Member::new(Role::Member, 0, *at, *last_seq));
                }
                ChatEvent::ChannelUnsubscribed { user_id: u, .. }
                | ChatEvent::MemberRemoved { user_id: u, .. }
                    if *u == user_id =>
                {
                    member = None;
                }
                ChatEvent::MemberRoleChanged {
                    user_id: u, role, ..
                } if *u == user_id => {
                    if let Some(m) = member.as_mut() {
                        m.role = *role;
                    }
                }
                ChatEvent::ReadMarkerMoved {
                    user_id: u,
                    up_to_seq,
                    ..
                } if *u == user_id => {
                    if let Some(m) = member.as_mut() {
                        m.read_up_to = m.read_up_to.max(*up_to_seq);
                    }
                }
                ChatEvent::DeliveryMarkerMoved {
                    user_id: u,
                    up_to_seq,
                    ..
                } if *u == user_id => {
                    if let Some(m) = member.as_mut() {
                        m.delivered_up_to = m.delivered_up_to.max(*up_to_seq);
                    }
                }
                _ => {}
            }
        }
        SubscriberFacts { user_id, member }
    }

    /// The channel as `decide` judges it: its state with these subscribers'
    /// records in `members`. Someone with a role is in the state already;
    /// their role is the state's, their markers the newer of both.
    pub fn view(chat: &Chat, facts: &[SubscriberFacts]) -> Chat {
        let mut view = chat.clone();
        for f in facts {
            let Some(member) = &f.member else {
                continue;
            };
            view.members
                .entry(f.user_id)
                .and_modify(|m| {
                    m.read_up_to = m.read_up_to.max(member.read_up_to);
                    m.delivered_up_to = m.delivered_up_to.max(member.delivered_up_to);
                })
                .or_insert_with(|| member.clone());
        }
        view
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    #[test]
    fn a_subscription_reads_from_its_start_and_ends_with_a_leave_or_removal() {
        let (chat_id, ana, ben) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let at = OffsetDateTime::UNIX_EPOCH;
        let subscribed = ChatEvent::ChannelSubscribed {
            chat_id,
            user_id: ana,
            last_seq: 7,
            at,
            invite: None,
        };
        let read = ChatEvent::ReadMarkerMoved {
            chat_id,
            user_id: ana,
            up_to_seq: 9,
            at,
        };
        let f = SubscriberFacts::fold(ana, &[subscribed.clone(), read.clone()]);
        let m = f.member.clone().unwrap();
        assert_eq!((m.joined_seq, m.read_up_to, m.role), (0, 9, Role::Member));
        let removed = ChatEvent::MemberRemoved {
            chat_id,
            user_id: ana,
            by: ben,
            at,
        };
        assert_eq!(
            SubscriberFacts::fold(ana, &[subscribed, read, removed]).member,
            None
        );
        assert_eq!(SubscriberFacts::fold(ben, &[]).member, None);
    }
}
