//! Property test: random command sequences against one chat stream, with the
//! invariants the rest of the system relies on checked after every step.
//!
//! The simulation plays the shell's part: it keeps the event log, folds
//! `MessageFacts` from it by subject (as the store's subject index would) and
//! computes visibility for forwards, so the commands carry honest facts.

mod ops;
mod sim;

use std::collections::BTreeSet;

use chat_domain::{Chat, ChatEvent, ChatKind, DomainEvent, Policy, Role, replay};
use proptest::prelude::*;
use proptest::strategy::{Strategy, ValueTree};
use uuid::Uuid;

use crate::ops::{creation, op};
use crate::sim::Sim;

pub(crate) fn check(prev: &Chat, chat: &Chat, policy: &Policy) -> Result<(), TestCaseError> {
    prop_assert!(chat.pinned.len() <= policy.max_pins);
    for (id, m) in &chat.members {
        prop_assert!(m.read_up_to <= chat.last_seq(), "marker past last seq");
        prop_assert!(m.delivered() <= chat.last_seq(), "delivery past last seq");
        if let Some(before) = prev.member(*id) {
            prop_assert!(m.read_up_to >= before.read_up_to, "marker moved back");
            prop_assert!(m.delivered() >= before.delivered(), "delivery moved back");
        }
    }
    // A user banned by this step is not a member after it.
    for user in chat.banned.keys() {
        if !prev.banned.contains_key(user) {
            prop_assert!(
                !chat.is_participant(*user),
                "banned {user} is still a member"
            );
        }
    }
    prop_assert!(chat.admins().iter().all(|a| chat.is_participant(*a)));
    match chat.kind() {
        Some(ChatKind::Group) => {
            prop_assert!(chat.members.len() <= policy.max_group_members);
            if chat.is_closed() {
                prop_assert!(chat.members.is_empty());
            } else {
                let owner = chat.owner().unwrap_or_default();
                prop_assert!(chat.is_admin(owner), "owner {owner} is not a member admin");
                prop_assert!(!chat.admins().is_empty());
            }
        }
        Some(ChatKind::Channel) => {
            // Only those with a role are kept; everyone is counted.
            let owner = chat.owner().unwrap_or_default();
            prop_assert!(chat.is_admin(owner), "owner {owner} is not an admin");
            prop_assert!(chat.members.values().all(|m| m.role != Role::Member));
            prop_assert!(chat.subscribers >= chat.members.len() as u64);
        }
        Some(ChatKind::Direct) => {
            let d = chat
                .direct
                .as_ref()
                .map(|d| BTreeSet::from([d.requester, d.recipient]));
            let members: BTreeSet<Uuid> = chat.members.keys().copied().collect();
            prop_assert_eq!(
                Some(members),
                d,
                "direct chat members are not its two users"
            );
            prop_assert!(chat.admins().is_empty());
        }
        None => prop_assert!(chat.members.is_empty() && chat.last_seq() == 0),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_command_sequences_keep_the_chat_invariants(
        first in creation(),
        ops in prop::collection::vec(op(), 0..60),
    ) {
        let mut sim = Sim::new();
        for op in std::iter::once(&first).chain(&ops) {
            sim.step(op)?;
        }
        let seqs: Vec<u64> = sim.log.iter().filter_map(|e| match e {
            ChatEvent::MessageSent { seq, .. } => Some(*seq),
            _ => None,
        }).collect();
        prop_assert_eq!(seqs, (1..=sim.sent.len() as u64).collect::<Vec<_>>());
        prop_assert_eq!(replay::<Chat>(&sim.log), sim.chat.clone());
        for event in &sim.log {
            let json = serde_json::to_string(event).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let back: ChatEvent = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&back, event);
        }
    }
}

/// The sequences drawn above actually reach the newer commands' events:
/// without this, a weighting that never gets there would pass vacuously.
#[test]
fn the_drawn_sequences_reach_bans_roles_ownership_delivery_and_channels() {
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    // A fixed seed: what this checks is the weighting, not luck.
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(Config::with_cases(1), rng);
    let strategy = (creation(), prop::collection::vec(op(), 0..60));
    let mut seen = BTreeSet::new();
    for _ in 0..1024 {
        let (first, ops) = strategy
            .new_tree(&mut runner)
            .expect("a sequence")
            .current();
        let mut sim = Sim::new();
        for op in std::iter::once(&first).chain(&ops) {
            if sim.step(op).is_err() {
                break;
            }
        }
        seen.extend(sim.log.iter().map(|e| e.event_type()));
    }
    for wanted in [
        "MemberBanned",
        "MemberUnbanned",
        "MemberRoleChanged",
        "OwnershipTransferred",
        "DeliveryMarkerMoved",
        "ChannelCreated",
        "ChannelSubscribed",
        "ChannelUnsubscribed",
    ] {
        assert!(seen.contains(wanted), "no drawn sequence reached {wanted}");
    }
}
