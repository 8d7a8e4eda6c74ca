//! Membership in memory, kept from the events themselves so that an add or a
//! removal takes effect at that event's exact position.
//!
//! Start-up reads the read models it needs (members and their join points,
//! direct-chat states, clears, hides, settings, blocks) and their
//! checkpoints in one REPEATABLE READ transaction, and the node's tail goes
//! on from the oldest checkpoint. A projection that is ahead of it sees some
//! of its events again, which changes nothing: every change here is "the
//! newest event about this key wins" (or a set union, or a maximum).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chat_domain::visibility::Window;
use sqlx::PgPool;
use uuid::Uuid;

use crate::route::{About, Change, DirectChange, Target, UserChange, Visibility, parse_visibility};
use crate::view::{self, Facts};

#[derive(Debug, Clone, Default)]
struct Direct {
    accepted: bool,
    blocked_by: Vec<Uuid>,
}

/// Who is in which chat now, and which chats each user was ever in.
#[derive(Debug, Default)]
pub struct Members {
    /// Each chat's current members, with the seq they joined at.
    current: HashMap<Uuid, HashMap<Uuid, u64>>,
    /// Each chat's former members: `(joined_seq, left_seq)` of the window
    /// they keep (edits and deletions of its messages still reach them).
    former: HashMap<Uuid, HashMap<Uuid, (u64, u64)>>,
    /// Each chat's newest message seq, the `left_seq` of whoever leaves now.
    last_seq: HashMap<Uuid, u64>,
    /// Every chat a user is or was in: the streams a resume must read.
    ever: HashMap<Uuid, HashSet<Uuid>>,
    direct: HashMap<Uuid, Direct>,
    /// Users whose last-seen is not visible to everyone.
    visibility: HashMap<Uuid, Visibility>,
    /// `(blocker, blocked)` user-level blocks: neither sees the other's
    /// presence or typing.
    blocks: HashSet<(Uuid, Uuid)>,
    /// `(user, chat)`: where they last cleared the chat.
    cleared: HashMap<(Uuid, Uuid), u64>,
    /// `(user, chat)`: the seqs of the messages they hid for themselves.
    hidden: HashMap<(Uuid, Uuid), HashSet<u64>>,
    /// The channels: what is about one subscriber reaches only them, and
    /// subscribers are not each other's presence viewers.
    channels: Arc<HashSet<Uuid>>,
    /// Users who do not share read receipts.
    /// Shared with subscribing replays: settings change rarely, subscribes
    /// often, so a change copies the set and a subscribe only counts a
    /// reference.
    silent: Arc<HashSet<Uuid>>,
}

type Row = (Uuid, Uuid, Option<i64>, i64);

impl Members {
    /// The read model's membership and the position it reflects.
    pub async fn snapshot(pool: &PgPool) -> Result<(Members, u64), sqlx::Error> {
        let mut tx = pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
        let (position,): (i64,) = sqlx::query_as(
            "SELECT least((SELECT position FROM rm_chats.checkpoint), \
                          (SELECT position FROM rm_users.checkpoint), \
                          (SELECT position FROM rm_messages.checkpoint))",
        )
        .fetch_one(&mut *tx)
        .await?;
        let rows: Vec<Row> =
            sqlx::query_as("SELECT chat_id, user_id, left_seq, joined_seq FROM rm_chats.members")
                .fetch_all(&mut *tx)
                .await?;
        let last_seq: Vec<(Uuid, i64)> =
            sqlx::query_as("SELECT chat_id, last_seq FROM rm_chats.chats WHERE last_seq > 0")
                .fetch_all(&mut *tx)
                .await?;
        let direct: Vec<(Uuid, Option<String>, Vec<Uuid>)> = sqlx::query_as(
            "SELECT chat_id, request_status, blocked_by FROM rm_chats.chats WHERE kind = 'direct'",
        )
        .fetch_all(&mut *tx)
        .await?;
        let hidden_last_seen: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT user_id, last_seen_visible_to FROM rm_users.users \
             WHERE last_seen_visible_to <> 'everyone'",
        )
        .fetch_all(&mut *tx)
        .await?;
        let blocks: Vec<(Uuid, Uuid)> =
            sqlx::query_as("SELECT user_id, blocked_user_id FROM rm_users.blocks")
                .fetch_all(&mut *tx)
                .await?;
        let cleared: Vec<(Uuid, Uuid, i64)> = sqlx::query_as(
            "SELECT user_id, chat_id, cleared_up_to_seq FROM rm_chats.user_chats \
             WHERE cleared_up_to_seq > 0",
        )
        .fetch_all(&mut *tx)
        .await?;
        let hidden: Vec<(Uuid, Uuid, i64)> =
            sqlx::query_as("SELECT user_id, chat_id, seq FROM rm_messages.hidden")
                .fetch_all(&mut *tx)
                .await?;
        let silent: Vec<(Uuid,)> =
            sqlx::query_as("SELECT user_id FROM rm_users.users WHERE NOT read_receipts")
                .fetch_all(&mut *tx)
                .await?;
        let channels: Vec<(Uuid,)> =
            sqlx::query_as("SELECT chat_id FROM rm_chats.chats WHERE kind = 'channel'")
                .fetch_all(&mut *tx)
                .await?;
        let visibility: Vec<(Uuid, String)> = hidden_last_seen;
        tx.commit().await?;
        let mut m = Members::default();
        for (chat, user, left, joined) in rows {
            m.ever.entry(user).or_default().insert(chat);
            match left {
                None => {
                    m.current.entry(chat).or_default().insert(user, seq(joined));
                }
                Some(left) => {
                    let window = (seq(joined), seq(left));
                    m.former.entry(chat).or_default().insert(user, window);
                }
            }
        }
        m.last_seq
            .extend(last_seq.into_iter().map(|(c, s)| (c, seq(s))));
        for (user, chat, up_to) in cleared {
            m.cleared.insert((user, chat), seq(up_to));
        }
        for (user, chat, at) in hidden {
            m.hidden.entry((user, chat)).or_default().insert(seq(at));
        }
        m.silent = Arc::new(silent.into_iter().map(|(u,)| u).collect());
        m.channels = Arc::new(channels.into_iter().map(|(c,)| c).collect());
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
        for (user, v) in visibility {
            m.visibility.insert(user, parse_visibility(&v));
        }
        m.blocks.extend(blocks);
        Ok((m, u64::try_from(position).unwrap_or(0)))
    }

    /// Apply one event and answer the users it goes to: those it concerns
    /// (as of this event) whom the visibility rule shows it.
    pub fn apply(&mut self, target: &Target) -> Vec<Uuid> {
        match target {
            Target::Nobody => Vec::new(),
            Target::User { user_id, change } => {
                self.apply_user(*user_id, *change);
                vec![*user_id]
            }
            Target::Chat {
                chat_id,
                change,
                about,
            } => {
                // What is about one subscriber of a channel can only be
                // theirs: asking the rule of them alone spares a walk over
                // every subscriber.
                let one = match about {
                    About::Marker(u) | About::Subscription(u) if self.is_channel(*chat_id) => {
                        Some(*u)
                    }
                    _ => None,
                };
                let mut audience: Vec<Uuid> = match one {
                    Some(u) => self
                        .is_member(*chat_id, u)
                        .then_some(u)
                        .into_iter()
                        .collect(),
                    None => self.members(*chat_id).collect(),
                };
                audience.retain(|u| view::shows(self, *u, *chat_id, *about));
                if let About::Message(at) = about {
                    let last = self.last_seq.entry(*chat_id).or_default();
                    // A new message lies past every former member's window:
                    // only events about older ones may concern them.
                    let new_message = *at > *last;
                    *last = (*last).max(*at);
                    audience.extend(
                        self.former
                            .get(chat_id)
                            .filter(|_| !new_message)
                            .into_iter()
                            .flat_map(HashMap::keys)
                            .filter(|u| view::shows(self, **u, *chat_id, *about)),
                    );
                }
                self.change(*chat_id, change, &mut audience);
                audience
            }
        }
    }

    fn change(&mut self, chat: Uuid, change: &Change, audience: &mut Vec<Uuid>) {
        let members = self.current.entry(chat).or_default();
        match change {
            Change::Join(users, joined_seq) => {
                // Two people joining a chat that never had anyone is a
                // direct request: groups start with at least three.
                if users.len() == 2 && members.is_empty() && !self.former.contains_key(&chat) {
                    self.direct.entry(chat).or_default();
                }
                for u in users {
                    if members.insert(*u, *joined_seq).is_none() {
                        audience.push(*u);
                    }
                    self.ever.entry(*u).or_default().insert(chat);
                    if let Some(f) = self.former.get_mut(&chat) {
                        f.remove(u);
                    }
                }
            }
            Change::Leave(u) => {
                if let Some(joined) = members.remove(u) {
                    let left = self.last_seq.get(&chat).copied().unwrap_or(0);
                    self.former
                        .entry(chat)
                        .or_default()
                        .insert(*u, (joined, left));
                }
            }
            Change::Channel(owner) => {
                if !self.channels.contains(&chat) {
                    Arc::make_mut(&mut self.channels).insert(chat);
                }
                if members.insert(*owner, 0).is_none() {
                    audience.push(*owner);
                }
                self.ever.entry(*owner).or_default().insert(chat);
            }
            Change::Direct(d) => {
                let state = self.direct.entry(chat).or_default();
                match d {
                    DirectChange::Accepted => state.accepted = true,
                    DirectChange::Rejected(_) => state.accepted = false,
                    DirectChange::Blocked(by) => state.blocked_by.push(*by),
                    DirectChange::Unblocked(by) => state.blocked_by.retain(|b| b != by),
                }
            }
            Change::None => {}
        }
    }

    fn apply_user(&mut self, user: Uuid, change: UserChange) {
        match change {
            UserChange::None => {}
            UserChange::Settings {
                last_seen,
                receipts,
            } => {
                self.visibility.insert(user, last_seen);
                if receipts == self.silent.contains(&user) {
                    let silent = Arc::make_mut(&mut self.silent);
                    if receipts {
                        silent.remove(&user);
                    } else {
                        silent.insert(user);
                    }
                }
            }
            UserChange::Block(other, true) => {
                self.blocks.insert((user, other));
            }
            UserChange::Block(other, false) => {
                self.blocks.remove(&(user, other));
            }
            UserChange::Cleared { chat, up_to } => {
                let at = self.cleared.entry((user, chat)).or_default();
                *at = (*at).max(up_to);
            }
            UserChange::Hidden { chat, seq } => {
                self.hidden.entry((user, chat)).or_default().insert(seq);
            }
        }
    }

    /// What a subscribing user's replay needs from the live facts: their
    /// clears and hides, and who does not share read receipts.
    pub fn private_facts(&self, user: Uuid) -> Private {
        let chats = self.ever.get(&user);
        let of = |chat: &Uuid| (user, *chat);
        Private {
            cleared: chats
                .into_iter()
                .flatten()
                .filter_map(|c| self.cleared.get(&of(c)).map(|s| (*c, *s)))
                .collect(),
            hidden: chats
                .into_iter()
                .flatten()
                .filter_map(|c| self.hidden.get(&of(c)).map(|s| (*c, s.clone())))
                .collect(),
            silent: self.silent.clone(),
            channels: self.channels.clone(),
            former: chats
                .into_iter()
                .flatten()
                .filter_map(|c| self.former_window(user, *c).map(|w| (*c, w)))
                .collect(),
        }
    }

    fn former_window(&self, user: Uuid, chat: Uuid) -> Option<Window> {
        let (joined_seq, left) = *self.former.get(&chat)?.get(&user)?;
        Some(Window {
            joined_seq,
            cleared_seq: self.cleared.get(&(user, chat)).copied().unwrap_or(0),
            left_seq: Some(left),
        })
    }

    pub fn is_channel(&self, chat: Uuid) -> bool {
        self.channels.contains(&chat)
    }

    pub fn is_member(&self, chat: Uuid, user: Uuid) -> bool {
        self.current
            .get(&chat)
            .is_some_and(|m| m.contains_key(&user))
    }

    /// The other participant of direct chat `chat`, seen from `user` (`None`
    /// for a group, or a chat they are not in).
    pub fn direct_peer(&self, chat: Uuid, user: Uuid) -> Option<Uuid> {
        if !self.direct.contains_key(&chat) {
            return None;
        }
        let members = self.current.get(&chat)?;
        if !members.contains_key(&user) {
            return None;
        }
        members.keys().copied().find(|u| *u != user)
    }

    /// Whether either of the two blocked the other.
    pub fn blocked_between(&self, a: Uuid, b: Uuid) -> bool {
        self.blocks.contains(&(a, b)) || self.blocks.contains(&(b, a))
    }

    pub fn members(&self, chat: Uuid) -> impl Iterator<Item = Uuid> + '_ {
        self.current
            .get(&chat)
            .into_iter()
            .flat_map(|m| m.keys().copied())
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
            // A channel's subscribers do not see each other.
            if !self.is_member(*chat, user) || self.is_channel(*chat) {
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

/// A user's clears, hides, and everyone's receipt settings, as of their
/// subscription: what their replay applies along with its own membership.
#[derive(Debug, Clone, Default)]
pub struct Private {
    pub cleared: HashMap<Uuid, u64>,
    pub hidden: HashMap<Uuid, HashSet<u64>>,
    pub silent: Arc<HashSet<Uuid>>,
    /// The windows of the chats they left (and are not back in).
    pub former: HashMap<Uuid, Window>,
    /// Every channel (shared, like `silent`).
    pub channels: Arc<HashSet<Uuid>>,
}

impl Facts for Members {
    fn window(&self, user: Uuid, chat: Uuid) -> Option<Window> {
        let Some(joined_seq) = self.current.get(&chat).and_then(|m| m.get(&user)) else {
            return self.former_window(user, chat);
        };
        Some(Window {
            joined_seq: *joined_seq,
            cleared_seq: self.cleared.get(&(user, chat)).copied().unwrap_or(0),
            left_seq: None,
        })
    }

    fn hidden(&self, user: Uuid, chat: Uuid, seq: u64) -> bool {
        self.hidden
            .get(&(user, chat))
            .is_some_and(|s| s.contains(&seq))
    }

    fn shares_receipts(&self, user: Uuid) -> bool {
        !self.silent.contains(&user)
    }

    fn is_channel(&self, chat: Uuid) -> bool {
        Members::is_channel(self, chat)
    }
}

fn seq(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests;
