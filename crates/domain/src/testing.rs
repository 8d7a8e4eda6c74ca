//! A tiny given/when/then harness for aggregate tests.
//!
//! `given::<Chat>(events).when(command).then(events)` keeps each rule's test
//! a three-line story, and `then` also evolves the produced events so tests
//! can check the resulting state.

use std::fmt::Debug;

use crate::error::{DomainError, ErrorKind};
use crate::event::Aggregate;
use crate::policy::Policy;

pub(crate) struct Given<A> {
    state: A,
    policy: Policy,
}

pub(crate) fn given<A: Aggregate>(events: impl IntoIterator<Item = A::Event>) -> Given<A> {
    let state = events.into_iter().fold(A::default(), |s, e| s.evolve(&e));
    Given {
        state,
        policy: Policy::default(),
    }
}

impl<A: Aggregate> Given<A> {
    pub(crate) fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    pub(crate) fn state(&self) -> &A {
        &self.state
    }

    pub(crate) fn when(self, cmd: A::Command) -> Then<A> {
        let result = self.state.decide(&cmd, &self.policy);
        Then {
            state: self.state,
            result,
        }
    }
}

pub(crate) struct Then<A: Aggregate> {
    state: A,
    result: Result<Vec<A::Event>, DomainError>,
}

impl<A: Aggregate> Then<A>
where
    A::Event: PartialEq + Debug,
{
    /// Assert exactly these events; return the state after applying them.
    #[track_caller]
    pub(crate) fn then(self, expected: impl IntoIterator<Item = A::Event>) -> A {
        let expected: Vec<_> = expected.into_iter().collect();
        match self.result {
            Ok(events) => {
                assert_eq!(events, expected);
                events.iter().fold(self.state, |s, e| s.evolve(e))
            }
            Err(e) => panic!("expected events {expected:?}, got error {e:?}"),
        }
    }

    /// Assert an idempotent no-op.
    #[track_caller]
    pub(crate) fn then_nothing(self) {
        match self.result {
            Ok(events) => assert!(events.is_empty(), "expected no events, got {events:?}"),
            Err(e) => panic!("expected no events, got error {e:?}"),
        }
    }

    /// Assert a refusal with this kind and code.
    #[track_caller]
    pub(crate) fn then_error(self, kind: ErrorKind, code: &str) {
        match self.result {
            Ok(events) => panic!("expected error {code}, got events {events:?}"),
            Err(e) => {
                assert_eq!((e.kind, e.code), (kind, code), "unexpected error {e:?}");
            }
        }
    }

    /// The produced events, for tests that only check part of them.
    #[track_caller]
    pub(crate) fn events(self) -> Vec<A::Event> {
        match self.result {
            Ok(events) => events,
            Err(e) => panic!("expected events, got error {e:?}"),
        }
    }
}
