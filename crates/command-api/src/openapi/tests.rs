//! The document's conventions: codes, problems and schemas where they belong.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;

use chat_common::openapi::{code_info, codes_of, for_each_operation, problem_responses};
use serde_json::Value;

use super::*;
use crate::http::document;

fn json(doc: &OpenApi) -> Value {
    serde_json::to_value(doc).expect("the document serializes")
}

fn enum_values(doc: &Value, name: &str) -> Vec<String> {
    doc["components"]["schemas"][name]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{name} is an enum schema"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

/// Every documented value parses as the domain type, and every domain
/// value is documented (the `match`es break the build when one is added).
fn same_values<T: DeserializeOwned + serde::Serialize>(doc: &Value, name: &str, all: &[T]) {
    let documented = enum_values(doc, name);
    for v in &documented {
        serde_json::from_value::<T>(Value::from(v.as_str()))
            .unwrap_or_else(|e| panic!("{name} `{v}` is not a domain value: {e}"));
    }
    let domain: Vec<String> = all
        .iter()
        .map(|v| serde_json::to_value(v).expect("serializes"))
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect();
    assert_eq!(
        documented.iter().collect::<BTreeSet<_>>(),
        domain.iter().collect::<BTreeSet<_>>(),
        "{name}"
    );
}

#[test]
fn documented_enums_match_the_domain_enums() {
    use chat_domain::MessageKind as M;
    use chat_domain::{AcceptRequestsFrom as A, ChatStatus as C, LastSeenVisibility as L};
    let doc = json(&document());
    let kinds = [
        M::Text,
        M::Image,
        M::Video,
        M::Audio,
        M::Voice,
        M::File,
        M::Poll,
        M::Location,
    ];
    let _exhaustive = |k: M| match k {
        M::Text | M::Image | M::Video | M::Audio | M::Voice | M::File | M::Poll | M::Location => (),
    };
    same_values(&doc, "MessageKind", &kinds);
    let statuses = [C::Pending, C::Active, C::Rejected, C::Blocked, C::Closed];
    let _exhaustive = |s: C| match s {
        C::Pending | C::Active | C::Rejected | C::Blocked | C::Closed => (),
    };
    same_values(&doc, "ChatStatus", &statuses);
    let _exhaustive = |v: L| match v {
        L::Everyone | L::Contacts | L::Nobody => (),
    };
    same_values(
        &doc,
        "LastSeenVisibility",
        &[L::Everyone, L::Contacts, L::Nobody],
    );
    let _exhaustive = |v: A| match v {
        A::Everyone | A::Nobody => (),
    };
    same_values(&doc, "AcceptRequestsFrom", &[A::Everyone, A::Nobody]);
}

#[test]
fn every_listed_code_is_a_documented_code_with_its_response() {
    let mut doc = document();
    let mut ops = 0;
    for_each_operation(&mut doc, |path, op| {
        ops += 1;
        let codes = codes_of(op);
        assert!(!codes.is_empty(), "{path} lists no codes");
        for code in codes {
            let (status, _) =
                code_info(&code).unwrap_or_else(|| panic!("{path}: unknown code {code}"));
            assert!(
                op.responses.responses.contains_key(&status.to_string()),
                "{path}: no {status} response for {code}"
            );
        }
    });
    assert!(ops >= 30, "only {ops} operations");
}

#[test]
fn commands_need_a_bearer_token_and_auth_routes_do_not() {
    let mut doc = document();
    for_each_operation(&mut doc, |path, op| {
        let bearer = op.security.as_ref().is_some_and(|s| !s.is_empty());
        assert_eq!(bearer, !path.starts_with("/v1/auth/"), "{path}");
    });
}

#[test]
fn problem_responses_are_idempotent() {
    let once = document();
    let mut twice = once.clone();
    problem_responses(&mut twice);
    assert_eq!(json(&once), json(&twice));
}
