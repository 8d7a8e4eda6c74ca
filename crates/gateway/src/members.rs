//! Membership in memory, kept from the events themselves so that an add or a
//! removal takes effect at that event's exact position.
//!
//! Start-up reads the `chats` read model (members, direct-chat states) and
//! its checkpoint in one REPEATABLE READ transaction: a consistent snapshot
//! at position P, from which the node's tail goes on.

use std::collections::{HashMap, HashSet};

use sqlx::PgPool;
use uuid::Uuid;

use crate::route::{Change, DirectChange, Target, Visibility};

#[derive(Debug, Clone, Default)]
struct Direct {
    accepted: bool,
    blocked_by: Vec<Uuid>,
}

/// Who is in which chat now, and which chats each user was ever in.
#[derive(Debug, Default)]
pub struct Members {
    current: HashMap<Uuid, HashSet<Uuid>>,
    /// Every chat a user is or was in: the streams a resume must read.
    ever: HashMap<Uuid, HashSet<Uuid>>,
    direct: HashMap<Uuid, Direct>,
    /// Users whose last-seen is not visible to everyone.
    visibility: HashMap<Uuid, Visibility>,
    /// `(blocker, blocked)` user-level blocks: neither sees the other's
    /// presence or typing.
    blocks: HashSet<(Uuid, Uuid)>,
}

type Row = (Uuid, Uuid, bool);

impl Members {
    /// The read model's membership and the position it reflects.
    pub async fn snapshot(pool: &PgPool) -> Result<(Members, u64), sqlx::Error> {
        let mut tx = pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
        let (position,): (i64,) = sqlx::query_as("SELECT position FROM rm_chats.checkpoint")
            .fetch_one(&mut *tx)
            .await?;
        let rows: Vec<Row> =
            sqlx::query_as("SELECT chat_id, user_id, left_seq IS NULL FROM rm_chats.members")
                .fetch_all(&mut *tx)
                .await?;
        let direct: Vec<(Uuid, Option<String>, Vec<Uuid>)> = sqlx::query_as(
            "SELECT chat_id, request_status, blocked_by FROM rm_chats.chats WHERE kind = 'direct'",
        )
        .fetch_all(&mut *tx)
        .await?;
        let hidden: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT user_id, last_seen_visible_to FROM rm_users.users \
             WHERE last_seen_visible_to <> 'everyone'",
        )
        .fetch_all(&mut *tx)
        .await?;
        let blocks: Vec<(Uuid, Uuid)> =
            sqlx::query_as("SELECT user_id, blocked_user_id FROM rm_users.blocks")
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        let mut m = Members::default();
        for (chat, user, current) in rows {
            m.ever.entry(user).or_default().insert(chat);
            if current {
                m.current.entry(chat).or_default().insert(user);
            }
        }
        for (chat, status, blocked_by) in direct {
            let accepted = status.as_deref() == Some("accepted");
            m.direct.insert(
                chat,
                Direct {
                    accepted,
                    blocked_by,
                },
            );
        }
        for (user, v) in hidden {
            m.visibility.insert(user, Visibility::parse(&v));
        }
        m.blocks.extend(blocks);
        Ok((m, u64::try_from(position).unwrap_or(0)))
    }

    /// Apply one event and answer the users it goes to.
    pub fn apply(&mut self, target: &Target) -> Vec<Uuid> {
        match target {
            Target::Nobody => Vec::new(),
            Target::User {
                user_id,
                visibility,
                block,
            } => {
                if let Some(v) = visibility {
                    self.visibility.insert(*user_id, *v);
                }
                match block {
                    Some((other, true)) => {
                        self.blocks.insert((*user_id, *other));
                    }
                    Some((other, false)) => {
                        self.blocks.remove(&(*user_id, *other));
                    }
                    None => {}
                }
                vec![*user_id]
            }
            Target::Chat { chat_id, change } => {
                let members = self.current.entry(*chat_id).or_default();
                let mut audience: Vec<Uuid> = members.iter().copied().collect();
                match change {
                    Change::Join(users) => {
                        for u in users {
                            if members.insert(*u) {
                                audience.push(*u);
                            }
                            self.ever.entry(*u).or_default().insert(*chat_id);
                        }
                    }
                    Change::Leave(u) => {
                        members.remove(u);
                    }
                    Change::Direct(d) => {
                        let state = self.direct.entry(*chat_id).or_default();
                        match d {
                            DirectChange::Accepted => state.accepted = true,
                            DirectChange::Rejected(_) => state.accepted = false,
                            DirectChange::Blocked(by) => state.blocked_by.push(*by),
                            DirectChange::Unblocked(by) => state.blocked_by.retain(|b| b != by),
                        }
                    }
                    Change::None => {}
                }
                audience
            }
        }
    }

    pub fn is_member(&self, chat: Uuid, user: Uuid) -> bool {
        self.current.get(&chat).is_some_and(|m| m.contains(&user))
    }

    /// Whether either of the two blocked the other.
    pub fn blocked_between(&self, a: Uuid, b: Uuid) -> bool {
        self.blocks.contains(&(a, b)) || self.blocks.contains(&(b, a))
    }

    pub fn members(&self, chat: Uuid) -> impl Iterator<Item = Uuid> + '_ {
        self.current.get(&chat).into_iter().flatten().copied()
    }

    /// Every chat `user` is or was in.
    pub fn chats_ever(&self, user: Uuid) -> Vec<Uuid> {
        self.ever
            .get(&user)
            .map(|c| c.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Who may see `user`'s presence: co-members of their current chats,
    /// narrowed by their `last_seen_visible_to` (contacts = an accepted,
    /// unblocked direct chat).
    pub fn viewers(&self, user: Uuid) -> HashSet<Uuid> {
        let visibility = self.visibility.get(&user).copied().unwrap_or_default();
        let mut out = HashSet::new();
        if visibility == Visibility::Nobody {
            return out;
        }
        for chat in self.ever.get(&user).into_iter().flatten() {
            if !self.is_member(*chat, user) {
                continue;
            }
            let contact = self
                .direct
                .get(chat)
                .is_some_and(|d| d.accepted && d.blocked_by.is_empty());
            if visibility == Visibility::Contacts && !contact {
                continue;
            }
            out.extend(
                self.members(*chat)
                    .filter(|m| *m != user && !self.blocked_between(user, *m)),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(chat_id: Uuid, change: Change) -> Target {
        Target::Chat { chat_id, change }
    }

    #[test]
    fn adds_and_removals_take_effect_at_their_event() {
        let (c, a, b) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut m = Members::default();
        assert_eq!(m.apply(&chat(c, Change::Join(vec![a]))), vec![a]);
        let mut to = m.apply(&chat(c, Change::Join(vec![b])));
        to.sort();
        let mut both = vec![a, b];
        both.sort();
        assert_eq!(to, both);
        let mut to = m.apply(&chat(c, Change::Leave(b)));
        to.sort();
        assert_eq!(to, both, "the removed member gets their removal");
        assert_eq!(m.apply(&chat(c, Change::None)), vec![a]);
        assert_eq!(m.chats_ever(b), vec![c]);
    }

    #[test]
    fn contacts_only_visibility_hides_presence_from_group_members() {
        let (g, d, a, b, x) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let mut m = Members::default();
        m.apply(&chat(g, Change::Join(vec![a, b, x])));
        m.apply(&chat(d, Change::Join(vec![a, b])));
        m.apply(&chat(d, Change::Direct(DirectChange::Accepted)));
        assert_eq!(m.viewers(a).len(), 2);
        m.apply(&Target::User {
            user_id: a,
            visibility: Some(Visibility::Contacts),
            block: None,
        });
        assert_eq!(m.viewers(a), HashSet::from([b]));
        m.apply(&chat(d, Change::Direct(DirectChange::Blocked(b))));
        assert!(m.viewers(a).is_empty());
    }
}

#[cfg(test)]
mod block_tests {
    use super::*;

    #[test]
    fn a_user_level_block_hides_presence_both_ways_until_lifted() {
        let (g, a, b, c) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let mut m = Members::default();
        m.apply(&Target::Chat {
            chat_id: g,
            change: Change::Join(vec![a, b, c]),
        });
        let block = |on| Target::User {
            user_id: b,
            visibility: None,
            block: Some((a, on)),
        };
        m.apply(&block(true));
        assert_eq!(m.viewers(a), HashSet::from([c]));
        assert_eq!(m.viewers(b), HashSet::from([c]));
        assert!(m.blocked_between(a, b));
        m.apply(&block(false));
        assert_eq!(m.viewers(a), HashSet::from([b, c]));
    }
}
