//! The Kafka publisher against a real Kafka-protocol broker on loopback
//! (tansu, started by `scripts/services`; `KAFKA_BROKERS_TEST` overrides the
//! address). Each test publishes to a topic of its own, read back with an
//! rdkafka consumer.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{TestApp, test_config};
use chat_projector::kafka::{self, KafkaConfig, Redaction};
use chat_store::postgres::{PgEventStore, PgStoreConfig};
use chat_store::{EventStore, ExpectedVersion, NewEvent, RecordedEvent, Upcasters};
use chat_testkit::TestDb;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::{Value, json};
use tokio::sync::watch;
use uuid::Uuid;

pub(crate) fn brokers() -> String {
    std::env::var("KAFKA_BROKERS_TEST").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

pub(crate) fn config(brokers: &str) -> KafkaConfig {
    let mut c = KafkaConfig::new(brokers);
    c.topic = format!("chat.events.test-{}", Uuid::new_v4().simple());
    c.partitions = 3;
    c.min_backoff = Duration::from_millis(100);
    c.max_backoff = Duration::from_millis(500);
    c
}

/// One consumed record.
#[derive(Debug, Clone)]
pub(crate) struct Consumed {
    partition: i32,
    key: String,
    headers: HashMap<String, String>,
    pub(crate) value: Value,
}

impl Consumed {
    fn event_id(&self) -> String {
        self.value["event_id"]
            .as_str()
            .expect("an event id")
            .to_owned()
    }
}

/// Read `topic` from the beginning of every partition until `want` distinct
/// event ids arrived (then a little longer, to catch extra duplicates).
pub(crate) async fn consume(brokers: &str, topic: &str, want: usize) -> Vec<Consumed> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("test-{}", Uuid::new_v4().simple()))
        .set("enable.auto.commit", "false")
        .create()
        .expect("a consumer");
    let meta = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("topic metadata");
    let partitions = meta.topics()[0].partitions().len() as i32;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("a partition");
    }
    consumer.assign(&tpl).expect("assigned");
    let (mut out, mut ids) = (Vec::new(), HashSet::new());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut settle: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if settle.is_some_and(|s| now > s) {
            break;
        }
        assert!(
            now < deadline,
            "only {} of {want} events arrived",
            ids.len()
        );
        let Ok(msg) = tokio::time::timeout(Duration::from_millis(500), consumer.recv()).await
        else {
            continue;
        };
        let msg = msg.expect("a record");
        let headers = msg
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        let v = String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned();
                        (h.key.to_owned(), v)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let c = Consumed {
            partition: msg.partition(),
            key: String::from_utf8_lossy(msg.key().expect("a key")).into_owned(),
            headers,
            value: serde_json::from_slice(msg.payload().expect("a value")).expect("JSON"),
        };
        ids.insert(c.event_id());
        out.push(c);
        if ids.len() >= want && settle.is_none() {
            settle = Some(Instant::now() + Duration::from_millis(700));
        }
    }
    out
}

pub(crate) async fn wait_published(pool: &sqlx::PgPool, topic: &str, head: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let at = kafka::published_position(pool, topic)
            .await
            .expect("checkpoint");
        if at >= head {
            return;
        }
        assert!(Instant::now() < deadline, "published up to {at} of {head}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn all_events(store: &dyn EventStore) -> Vec<RecordedEvent> {
    store.read_all(0, 1_000_000).await.expect("the log")
}

/// Every stored event arrived, and within each stream (= key) the first
/// arrival of each event is in version order, all on one partition.
fn check_complete_and_ordered(stored: &[RecordedEvent], consumed: &[Consumed]) {
    let mut first: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut seen = HashSet::new();
    let mut partition_of: HashMap<String, i32> = HashMap::new();
    for c in consumed {
        let p = *partition_of.entry(c.key.clone()).or_insert(c.partition);
        assert_eq!(p, c.partition, "stream {} spans partitions", c.key);
        if seen.insert(c.event_id()) {
            let v = c.value["version"].as_u64().expect("a version");
            first.entry(c.key.clone()).or_default().push(v);
        }
    }
    for e in stored {
        assert!(
            seen.contains(&e.event_id.to_string()),
            "event {} at {} never arrived",
            e.event_type,
            e.position
        );
    }
    assert_eq!(seen.len(), stored.len(), "nothing that was not stored");
    for (stream, versions) in first {
        let expected: Vec<u64> = (1..=versions.len() as u64).collect();
        assert_eq!(versions, expected, "order of {stream}");
    }
}

#[tokio::test]
async fn every_event_of_a_scripted_history_reaches_the_topic_in_stream_order() {
    let db = TestDb::create().await;
    let mut cfg = test_config(&db);
    let kafka_cfg = config(&brokers());
    let topic = kafka_cfg.topic.clone();
    cfg.kafka = Some(kafka_cfg);
    let app = TestApp::spawn_with(db, cfg).await;
    let u = app.users(3).await;
    let chat = app.group(&u[0], &[&u[1], &u[2]], "analysts").await;
    let direct = app.accepted_direct(&u[1], &u[2]).await;
    for i in 0..20 {
        app.send(chat, &u[i % 3], &format!("g{i}"), &format!("hello {i}"))
            .await;
        app.send(direct, &u[1 + i % 2], &format!("d{i}"), "psst")
            .await;
    }
    let pool = app.db().pool(2).await;
    let store = PgEventStore::new(pool.clone(), Upcasters::new(), PgStoreConfig::default());
    let stored = all_events(&store).await;
    let head = stored.last().expect("events").position;
    wait_published(&pool, &topic, head).await;

    let consumed = consume(&brokers(), &topic, stored.len()).await;
    check_complete_and_ordered(&stored, &consumed);
    let partitions: HashSet<i32> = consumed.iter().map(|c| c.partition).collect();
    assert!(partitions.iter().all(|p| (0..3).contains(p)));

    // The value is the audit envelope; key and headers describe it.
    let by_id: HashMap<String, &Consumed> = consumed.iter().map(|c| (c.event_id(), c)).collect();
    for e in &stored {
        let c = by_id[&e.event_id.to_string()];
        assert_eq!(c.key, e.stream);
        assert_eq!(c.value, serde_json::to_value(e).expect("JSON"));
        assert_eq!(c.headers["event_type"], e.event_type);
        assert_eq!(c.headers["event_id"], e.event_id.to_string());
        assert_eq!(c.headers["position"], e.position.to_string());
        assert_eq!(c.headers["schema_version"], e.schema_version.to_string());
        assert_eq!(c.headers["content-type"], "application/json");
    }
    let sent = consumed
        .iter()
        .find(|c| c.value["type"] == "MessageSent")
        .expect("a message");
    // Personal data is never on the topic (an erasure could not take it
    // back): the record is the event as the log keeps it once erased.
    assert!(
        sent.value["payload"]["text"].is_null(),
        "no bodies: {}",
        sent.value
    );
    assert_eq!(sent.value["payload"]["kind"], "text");
    assert!(
        consumed
            .iter()
            .all(|c| !c.value.to_string().contains("hello 1")),
        "no text anywhere on the topic"
    );

    // /readyz reports the publisher like a projection.
    let ready = app.readyz().await;
    let kafka = ready["projections"]
        .as_array()
        .expect("projections")
        .iter()
        .find(|p| p["name"] == "kafka")
        .expect("the publisher is reported");
    assert_eq!(kafka["position"], head);
}

/// Append `n` events spread over `streams` streams, straight to the store.
async fn append_events(store: &PgEventStore, streams: usize, n: usize) {
    let names: Vec<String> = (0..streams)
        .map(|_| format!("chat-{}", Uuid::new_v4()))
        .collect();
    for chunk in 0..n / 100 {
        let stream = &names[chunk % streams];
        let version = store
            .stream_head(stream)
            .await
            .expect("head")
            .map_or(0, |h| h.version);
        let events = (0..100)
            .map(|i| {
                NewEvent::new(
                    "ReadMarkerMoved",
                    json!({"type": "ReadMarkerMoved", "n": chunk * 100 + i}),
                    time::OffsetDateTime::now_utc(),
                )
            })
            .collect();
        store
            .append(stream, ExpectedVersion::Exact(version), events)
            .await
            .expect("appended");
    }
}

/// A fresh database holding `n` events over `streams` streams.
async fn logged(
    streams: usize,
    n: usize,
) -> (TestDb, sqlx::PgPool, Arc<PgEventStore>, Vec<RecordedEvent>) {
    let db = TestDb::create().await;
    let pool = db.pool(6).await;
    chat::app::migrate(&pool).await.expect("migrated");
    let store = Arc::new(PgEventStore::new(
        pool.clone(),
        Upcasters::new(),
        PgStoreConfig::default(),
    ));
    append_events(&store, streams, n).await;
    let stored = all_events(store.as_ref()).await;
    (db, pool, store, stored)
}

#[tokio::test]
async fn a_publisher_stopped_mid_stream_resumes_losing_nothing_and_duplicating_at_most_a_batch() {
    let (_db, pool, store, stored) = logged(7, 10_000).await;
    let head = stored.last().expect("events").position;

    let mut cfg = config(&brokers());
    cfg.batch_size = 250;
    cfg.max_in_flight = 250;
    let topic = cfg.topic.clone();
    let (stop, stopping) = watch::channel(false);
    let first = kafka::spawn_publisher(pool.clone(), store.clone(), cfg.clone(), stopping);
    // Stop it once it is well under way, wherever it is in its batch.
    let deadline = Instant::now() + Duration::from_secs(60);
    while kafka::published_position(&pool, &topic).await.expect("pos") < 2_000 {
        assert!(
            Instant::now() < deadline,
            "the first publisher made no progress"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.send(true).expect("stopping");
    first.join().await;
    let stopped_at = kafka::published_position(&pool, &topic).await.expect("pos");
    assert!(
        stopped_at < head,
        "stopped mid-stream ({stopped_at} of {head})"
    );

    let (_stop2, stopping2) = watch::channel(false);
    let _second = kafka::spawn_publisher(pool.clone(), store.clone(), cfg, stopping2);
    wait_published(&pool, &topic, head).await;

    let consumed = consume(&brokers(), &topic, stored.len()).await;
    check_complete_and_ordered(&stored, &consumed);
    let duplicates = consumed.len() - stored.len();
    assert!(
        duplicates <= 250,
        "{duplicates} duplicates: more than the un-acked window"
    );
}

/// The tansu binary the test scripts installed.
fn tansu_bin() -> String {
    std::env::var("TANSU_BIN").unwrap_or_else(|_| {
        let home = std::env::var("CARGO_HOME")
            .unwrap_or_else(|_| format!("{}/.cargo", std::env::var("HOME").unwrap_or_default()));
        format!("{home}/bin/tansu")
    })
}

#[tokio::test]
async fn a_broker_that_is_down_makes_the_publisher_wait_and_retry_not_skip() {
    let (_db, pool, store, stored) = logged(3, 600).await;
    let head = stored.last().expect("events").position;

    // A port nobody listens on yet.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("an address")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut cfg = config(&addr);
    cfg.message_timeout = Duration::from_secs(2);
    let topic = cfg.topic.clone();
    let (_stop, stopping) = watch::channel(false);
    let publisher = kafka::spawn_publisher(pool.clone(), store.clone(), cfg, stopping);

    // Wait until the failure is reported (a 2 s delivery/admin timeout, then
    // retries), checking all along that nothing counts as published.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut failures_seen = 0;
    while failures_seen < 2 {
        assert_eq!(
            kafka::published_position(&pool, &topic).await.expect("pos"),
            0,
            "nothing counts as published while the broker is down"
        );
        if publisher.status()[0].last_error.is_some() {
            failures_seen += 1;
        }
        assert!(Instant::now() < deadline, "the failure was never reported");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let broker = std::process::Command::new(tansu_bin())
        .args([
            "broker",
            "--listener-url",
            &format!("tcp://{addr}"),
            "--advertised-listener-url",
            &format!("tcp://{addr}"),
            "--storage-engine",
            "memory://tansu/",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("tansu starts (installed by scripts/services)");
    let _broker = KillOnDrop(broker);
    wait_published(&pool, &topic, head).await;
    let consumed = consume(&addr, &topic, stored.len()).await;
    check_complete_and_ordered(&stored, &consumed);
}

/// A child process that dies with the test, pass or fail.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn redaction_replaces_message_text_with_its_length_and_a_salted_hash() {
    let db = TestDb::create().await;
    let mut cfg = test_config(&db);
    let mut kafka_cfg = config(&brokers());
    kafka_cfg.redaction = Redaction::Bodies {
        salt: "pepper".to_owned(),
    };
    let topic = kafka_cfg.topic.clone();
    cfg.kafka = Some(kafka_cfg);
    let app = TestApp::spawn_with(db, cfg).await;
    let u = app.users(2).await;
    let chat = app.accepted_direct(&u[0], &u[1]).await;
    app.send(chat, &u[0], "m1", "the secret plan").await;
    let pool = app.db().pool(2).await;
    let store = PgEventStore::new(pool.clone(), Upcasters::new(), PgStoreConfig::default());
    let stored = all_events(&store).await;
    wait_published(&pool, &topic, stored.last().expect("events").position).await;

    let consumed = consume(&brokers(), &topic, stored.len()).await;
    let sent = consumed
        .iter()
        .find(|c| c.value["type"] == "MessageSent")
        .expect("the message");
    assert_eq!(sent.value["redacted"], true);
    assert_eq!(sent.value["payload"]["text"], Value::Null);
    assert_eq!(sent.value["payload"]["text_redacted"]["length"], 15);
    let raw: Vec<String> = consumed.iter().map(|c| c.value.to_string()).collect();
    assert!(
        raw.iter().all(|v| !v.contains("secret plan")),
        "the body appears nowhere on the topic"
    );
    let profile = consumed
        .iter()
        .find(|c| c.value["type"] == "UserRegistered")
        .expect("a registration");
    assert!(
        profile.value.get("redacted").is_none(),
        "only bodies are hashed"
    );
    assert_eq!(
        profile.value["payload"]["username"], "",
        "names are left out"
    );
}
