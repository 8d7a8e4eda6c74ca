//! Mapping tests that need no server (and one that needs none to fail).

use super::*;

#[test]
fn extras_round_trip_and_tolerate_missing_fields() {
    let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
    let extras = Extras {
        schema_version: 3,
        subject: Some(Uuid::now_v7()),
        occurred_at: Some(at),
        metadata: Metadata {
            actor: Some(Uuid::now_v7()),
            command_id: Some("c".into()),
            ..Metadata::default()
        },
    };
    let json = serde_json::to_vec(&extras).unwrap();
    let back: Extras = serde_json::from_slice(&json).unwrap();
    assert_eq!(back.schema_version, 3);
    assert_eq!(back.subject, extras.subject);
    assert_eq!(back.occurred_at, Some(at), "nanoseconds survive");
    assert_eq!(back.metadata, extras.metadata);
    let bare: Extras = serde_json::from_slice(br#"{"schema_version":1}"#).unwrap();
    assert_eq!((bare.subject, bare.occurred_at), (None, None));
}

#[test]
fn positions_and_versions_map_onto_kurrent_terms() {
    assert_eq!(all_position(0), StreamPosition::Start);
    assert_eq!(
        all_position(42),
        StreamPosition::Position(Position {
            commit: 42,
            prepare: 42
        })
    );
    assert_eq!(version_of(CurrentRevision::NoStream), 0);
    assert_eq!(version_of(CurrentRevision::Current(0)), 1);
}

#[tokio::test]
async fn a_bad_url_is_refused_and_an_unreachable_server_is_a_transient_error() {
    let err =
        KurrentEventStore::new("not a url", Upcasters::new(), Default::default()).unwrap_err();
    assert!(matches!(err, StoreError::Remote(_)), "{err:?}");
    // Nothing listens on port 1: the probe fails, as a transient error.
    let err = KurrentEventStore::connect(
        "kurrentdb://admin:changeit@127.0.0.1:1?tls=false&maxDiscoverAttempts=1&discoveryInterval=10&gossipTimeout=500",
        Upcasters::new(),
    )
    .await
    .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}
