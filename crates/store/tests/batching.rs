//! Group commit: requests packed into one transaction keep their own
//! outcomes, exactly as if appended one after another.

mod support;

use chat_store::postgres::AppendRequest;
use chat_store::{EventStore, ExpectedVersion, StoreError};
use support::{event, pg_store};

#[tokio::test]
async fn a_conflict_inside_a_batch_fails_only_its_own_request() {
    let (_db, s) = pg_store().await;
    s.append("chat-b", ExpectedVersion::Any, vec![event("E", 0)])
        .await
        .unwrap();
    let dup = event("Dup", 9);
    let results = s
        .append_many(vec![
            AppendRequest {
                stream: "chat-a".into(),
                expected: ExpectedVersion::NoStream,
                events: vec![event("E", 1)],
            },
            AppendRequest {
                stream: "chat-b".into(),
                expected: ExpectedVersion::NoStream,
                events: vec![event("E", 2)],
            },
            AppendRequest {
                stream: "chat-a".into(),
                expected: ExpectedVersion::Exact(1),
                events: vec![dup.clone()],
            },
            AppendRequest {
                stream: "chat-a".into(),
                expected: ExpectedVersion::Exact(1),
                events: vec![dup],
            },
            AppendRequest {
                stream: "bad stream".into(),
                expected: ExpectedVersion::Any,
                events: vec![event("E", 3)],
            },
        ])
        .await;
    assert_eq!(results[0].as_ref().unwrap().last_version, 1);
    assert!(
        matches!(
            results[1],
            Err(StoreError::WrongExpectedVersion { actual: 1, .. })
        ),
        "{:?}",
        results[1]
    );
    let third = results[2].as_ref().unwrap();
    assert_eq!((third.last_version, third.already_appended), (2, false));
    // The same ids again, later in the batch: the original result.
    let fourth = results[3].as_ref().unwrap();
    assert_eq!(
        (
            fourth.last_version,
            fourth.last_position,
            fourth.already_appended
        ),
        (2, third.last_position, true)
    );
    assert!(matches!(results[4], Err(StoreError::InvalidStream(_))));
    assert_eq!(s.head_position().await.unwrap(), 3);
}
