//! The operations the property test draws, and how they are drawn.

use proptest::prelude::*;
use uuid::Uuid;

pub(crate) const USERS: usize = 5;
pub(crate) const GROUP_ID: Uuid = Uuid::from_u128(0x6700);
pub(crate) const EMOJI: [&str; 4] = ["👍", "🎉", "🔥", "😂"];

pub(crate) fn user(i: usize) -> Uuid {
    Uuid::from_u128(1 + (i % USERS) as u128)
}

/// Actors are drawn from `0..ACTOR_PICKS`: mostly current members (so
/// sequences get somewhere), sometimes anyone (so outsiders are tried too).
pub(crate) const ACTOR_PICKS: usize = 10;

#[derive(Debug, Clone)]
pub(crate) enum Op {
    StartDirect {
        a: usize,
        b: usize,
        accepts: bool,
        blocked: bool,
    },
    Answer {
        u: usize,
        accept: bool,
    },
    BlockChat {
        u: usize,
        block: bool,
    },
    CreateGroup {
        u: usize,
        members: Vec<usize>,
    },
    UpdateInfo {
        u: usize,
        title: u8,
    },
    Add {
        u: usize,
        targets: Vec<usize>,
    },
    Remove {
        u: usize,
        t: usize,
    },
    SetAdmin {
        u: usize,
        t: usize,
        admin: bool,
    },
    Leave {
        u: usize,
    },
    /// 0 member, 1 moderator, 2 admin.
    SetRole {
        u: usize,
        t: usize,
        role: u8,
    },
    Transfer {
        u: usize,
        t: usize,
    },
    Ban {
        u: usize,
        t: usize,
        ban: bool,
        timed: bool,
    },
    Delivered {
        u: usize,
        back: u64,
    },
    Send {
        u: usize,
        media: bool,
        reply: Option<usize>,
        forward: Option<usize>,
        resend: bool,
        peer_blocked: bool,
    },
    Edit {
        u: usize,
        msg: usize,
    },
    Delete {
        u: usize,
        msg: usize,
    },
    React {
        u: usize,
        msg: usize,
        emoji: usize,
        add: bool,
    },
    Pin {
        u: usize,
        msg: usize,
        pin: bool,
    },
    Read {
        u: usize,
        back: u64,
    },
    Tick {
        minutes: i64,
    },
    CreateChannel {
        u: usize,
        public: bool,
    },
    Subscribe {
        u: usize,
    },
}

pub(crate) fn op() -> impl Strategy<Value = Op> {
    let u = 0..ACTOR_PICKS;
    let msg = any::<usize>();
    prop_oneof![
        2 => (0..2usize, 0..USERS, prop::bool::weighted(0.9), prop::bool::weighted(0.1))
            .prop_map(|(a, b, accepts, blocked)| Op::StartDirect { a, b, accepts, blocked }),
        2 => (u.clone(), prop::bool::weighted(0.8)).prop_map(|(u, accept)| Op::Answer { u, accept }),
        1 => (u.clone(), any::<bool>()).prop_map(|(u, block)| Op::BlockChat { u, block }),
        2 => (u.clone(), prop::collection::vec(0..USERS, 0..5))
            .prop_map(|(u, members)| Op::CreateGroup { u, members }),
        1 => (u.clone(), 0..3u8).prop_map(|(u, title)| Op::UpdateInfo { u, title }),
        2 => (u.clone(), prop::collection::vec(0..USERS, 0..3))
            .prop_map(|(u, targets)| Op::Add { u, targets }),
        1 => (u.clone(), u.clone()).prop_map(|(u, t)| Op::Remove { u, t }),
        2 => (u.clone(), u.clone(), any::<bool>()).prop_map(|(u, t, admin)| Op::SetAdmin { u, t, admin }),
        1 => u.clone().prop_map(|u| Op::Leave { u }),
        2 => (u.clone(), u.clone(), 0..3u8).prop_map(|(u, t, role)| Op::SetRole { u, t, role }),
        1 => (u.clone(), u.clone()).prop_map(|(u, t)| Op::Transfer { u, t }),
        2 => (u.clone(), u.clone(), prop::bool::weighted(0.7), any::<bool>())
            .prop_map(|(u, t, ban, timed)| Op::Ban { u, t, ban, timed }),
        2 => (u.clone(), 0..4u64).prop_map(|(u, back)| Op::Delivered { u, back }),
        8 => (u.clone(), prop::bool::weighted(0.2), prop::option::weighted(0.3, msg),
              prop::option::weighted(0.1, msg), prop::bool::weighted(0.15), prop::bool::weighted(0.05))
            .prop_map(|(u, media, reply, forward, resend, peer_blocked)| Op::Send { u, media, reply, forward, resend, peer_blocked }),
        2 => (u.clone(), msg).prop_map(|(u, msg)| Op::Edit { u, msg }),
        2 => (u.clone(), msg).prop_map(|(u, msg)| Op::Delete { u, msg }),
        3 => (u.clone(), msg, 0..EMOJI.len(), prop::bool::weighted(0.7))
            .prop_map(|(u, msg, emoji, add)| Op::React { u, msg, emoji, add }),
        2 => (u.clone(), msg, prop::bool::weighted(0.7)).prop_map(|(u, msg, pin)| Op::Pin { u, msg, pin }),
        3 => (u.clone(), 0..4u64).prop_map(|(u, back)| Op::Read { u, back }),
        1 => (0..20i64).prop_map(|minutes| Op::Tick { minutes }),
        1 => (u.clone(), any::<bool>()).prop_map(|(u, public)| Op::CreateChannel { u, public }),
        3 => (0..USERS).prop_map(|u| Op::Subscribe { u }),
    ]
}

/// Most sequences start by creating the chat, so the rest has something to act on.
pub(crate) fn creation() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::StartDirect { a: 0, b: 1, accepts: true, blocked: false }),
        2 => Just(Op::CreateGroup { u: ACTOR_PICKS - 1, members: vec![1, 2] }),
        1 => Just(Op::CreateChannel { u: ACTOR_PICKS - 1, public: true }),
        1 => op(),
    ]
}
