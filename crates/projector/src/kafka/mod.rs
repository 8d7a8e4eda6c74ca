//! The Kafka publisher: every stored event, in log order, to one topic.
//!
//! It is a projection whose "read model" is a Kafka topic:
//!
//! * **key** = the stream id (`chat-<id>` / `user-<id>`), so all events of a
//!   chat land on one partition in their stream order;
//! * **value** = the JSON envelope (see [`record`]), optionally with message
//!   bodies redacted; **headers** = type, schema version, event id, position,
//!   stream, version, content type;
//! * **idempotent producer** (`enable.idempotence`, `acks=all`): librdkafka's
//!   own retries neither duplicate nor reorder within a partition;
//! * **checkpoint after ack**: batches are handed to the producer without
//!   waiting (up to `max_in_flight` events un-acked), and the checkpoint (in
//!   Postgres, `kafka_publisher.checkpoints`) moves behind the delivery
//!   reports, batch by batch, in order. A crash or a failed delivery
//!   re-sends from the checkpoint: at-least-once, at most `max_in_flight`
//!   duplicates, never a gap. Consumers dedupe on `event_id`;
//! * a broker that is down makes deliveries time out; the publisher backs
//!   off and re-sends the same batch, so it waits rather than skips;
//! * one publisher per topic at a time (a lease, as for the projections);
//!   others stand by;
//! * the topic is created if missing, with a configurable partition count.

mod publish;
pub mod record;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_store::EventStore;
use rdkafka::ClientConfig;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureProducer;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::error::{ProjectorError, Result};
use crate::runner::leader::{self, Ended, Leader, Pauses};
use crate::runner::status::{ProjectionStatus, ProjectorHandle, Slot};
pub use record::{Record, Redaction};

/// Name of the publisher in `/readyz` and `/metrics`.
pub const PUBLISHER_NAME: &str = "kafka";
const SCHEMA: &str = "kafka_publisher";

/// Settings of the publisher.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// `host:port[,host:port…]`
    pub brokers: String,
    pub topic: String,
    /// Partitions of the topic when the publisher creates it.
    pub partitions: i32,
    pub replication: i32,
    pub redaction: Redaction,
    /// Most events per batch (one checkpoint move per batch).
    pub batch_size: usize,
    /// Most events sent and not yet acknowledged. A crash re-sends at most
    /// this many.
    pub max_in_flight: usize,
    /// How long librdkafka keeps retrying one record before reporting it
    /// failed (the publisher then re-sends from its checkpoint).
    pub message_timeout: Duration,
    pub client_id: String,
    pub lease_retry: Duration,
    pub lease_check: Duration,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl KafkaConfig {
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            topic: "chat.events.v1".to_owned(),
            partitions: 6,
            replication: 1,
            redaction: Redaction::None,
            batch_size: 5_000,
            max_in_flight: 20_000,
            message_timeout: Duration::from_secs(30),
            client_id: "chat-publisher".to_owned(),
            lease_retry: Duration::from_secs(1),
            lease_check: Duration::from_secs(2),
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
        }
    }

    fn producer(&self) -> std::result::Result<FutureProducer, KafkaError> {
        ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set(
                "message.timeout.ms",
                self.message_timeout.as_millis().to_string(),
            )
            .create()
    }

    fn admin(&self) -> std::result::Result<AdminClient<DefaultClientContext>, KafkaError> {
        ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id)
            .create()
    }
}

/// A batch handed to the producer and not yet acknowledged.
/// Why the publisher stopped a term.
#[derive(Debug, thiserror::Error)]
enum PublishError {
    #[error(transparent)]
    Projector(#[from] ProjectorError),
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("kafka delivery of position {position} failed: {error}")]
    Delivery { position: u64, error: String },
}

impl From<sqlx::Error> for PublishError {
    fn from(e: sqlx::Error) -> Self {
        PublishError::Projector(e.into())
    }
}

impl From<chat_store::StoreError> for PublishError {
    fn from(e: chat_store::StoreError) -> Self {
        PublishError::Projector(e.into())
    }
}

/// Start the publisher task. It stops between batches once `shutdown` turns
/// `true`. The handle reports its position and lag like a projection's.
pub fn spawn_publisher(
    pool: PgPool,
    store: Arc<dyn EventStore>,
    config: KafkaConfig,
    shutdown: watch::Receiver<bool>,
) -> ProjectorHandle {
    let slot: Slot = Arc::new(Mutex::new(ProjectionStatus::new(PUBLISHER_NAME, SCHEMA)));
    let publisher = Publisher {
        pool,
        store,
        config,
        slot: slot.clone(),
        shutdown,
    };
    ProjectorHandle::new(vec![slot], vec![tokio::spawn(leader::run(publisher))])
}

/// The committed position of `topic` (0 when nothing was published).
pub async fn published_position(pool: &PgPool, topic: &str) -> Result<u64> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT position FROM kafka_publisher.checkpoints WHERE topic = $1")
            .bind(topic)
            .fetch_optional(pool)
            .await?;
    Ok(row.map_or(0, |(p,)| u64::try_from(p).unwrap_or(0)))
}

struct Publisher {
    pool: PgPool,
    store: Arc<dyn EventStore>,
    config: KafkaConfig,
    slot: Slot,
    shutdown: watch::Receiver<bool>,
}

impl Leader for Publisher {
    type Error = PublishError;

    fn label(&self) -> String {
        format!("kafka_topic={}", self.config.topic)
    }

    fn slot(&self) -> &Slot {
        &self.slot
    }

    fn shutdown(&mut self) -> &mut watch::Receiver<bool> {
        &mut self.shutdown
    }

    fn pauses(&self) -> Pauses {
        Pauses {
            lease_retry: self.config.lease_retry,
            min_backoff: self.config.min_backoff,
            max_backoff: self.config.max_backoff,
        }
    }

    async fn lead(&mut self) -> std::result::Result<Ended, PublishError> {
        self.term().await
    }

    async fn refresh(&self) {
        self.refresh_from_db().await;
    }
}
