//! One term as the publisher: batches handed to the producer without
//! waiting, delivery reports awaited in order, the checkpoint moved behind
//! them, and the topic created if missing.

use std::sync::Arc;
use std::time::Duration;

use chat_store::RecordedEvent;
use futures::StreamExt;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tracing::{info, warn};

use crate::error::{ProjectorError, Result};
use crate::runner::leader::Ended;
use crate::runner::lease::Lease;
use crate::runner::status::lock;

use super::{PublishError, Publisher, Record, SCHEMA, published_position};

/// A batch handed to the producer and not yet acknowledged.
struct InFlight {
    last_position: u64,
    last_at: OffsetDateTime,
    events: usize,
    acks: Vec<(u64, DeliveryFuture)>,
    /// Its share of the in-flight window, given back once acked.
    _permit: OwnedSemaphorePermit,
}

impl Publisher {
    pub(super) async fn term(&mut self) -> std::result::Result<Ended, PublishError> {
        let key = format!("{SCHEMA}/{}", self.config.topic);
        let Some(mut lease) = Lease::try_acquire(&self.pool, &key).await? else {
            return Ok(Ended::NotLeader);
        };
        let result = self.publish_while_leading(&mut lease).await;
        lease.release().await;
        result
    }

    /// One term as the publisher: a sender hands batches to the producer
    /// without waiting, and an acker awaits their delivery reports in order
    /// and moves the checkpoint behind them. At most `max_in_flight` events
    /// are sent and not yet acknowledged: that bounds both memory and what
    /// a crash can duplicate.
    async fn publish_while_leading(
        &mut self,
        lease: &mut Lease,
    ) -> std::result::Result<Ended, PublishError> {
        let topic = self.config.topic.clone();
        self.ensure_topic().await?;
        let producer = self.config.producer()?;
        let position = self.checkpoint().await?;
        {
            let mut st = lock(&self.slot);
            st.leader = true;
            st.position = position;
        }
        info!(%topic, position, "took the kafka publisher lease; publishing");
        let window = self.config.max_in_flight.max(self.config.batch_size).max(1);
        let permits = Arc::new(Semaphore::new(window));
        let (tx, rx) = mpsc::unbounded_channel::<InFlight>();
        let this = &*self;
        let sender = this.send_batches(&producer, position, lease, permits, tx);
        let acker = this.ack_batches(position, rx);
        // Whichever ends first ends the term: the sender on shutdown or a
        // store failure, the acker on a failed delivery. Un-acked records
        // are re-sent by the next term, from the checkpoint.
        tokio::select! {
            r = sender => r,
            r = acker => r.map(|()| Ended::Shutdown),
        }
    }

    async fn send_batches(
        &self,
        producer: &FutureProducer,
        position: u64,
        lease: &mut Lease,
        permits: Arc<Semaphore>,
        tx: mpsc::UnboundedSender<InFlight>,
    ) -> std::result::Result<Ended, PublishError> {
        let mut shutdown = self.shutdown.clone();
        let mut events = self
            .store
            .subscribe(position)
            .ready_chunks(self.config.batch_size.max(1));
        let mut lease_check = tokio::time::interval(self.config.lease_check);
        lease_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let chunk = tokio::select! {
                biased;
                stop = shutdown.changed() => {
                    if stop.is_err() || *shutdown.borrow() {
                        return Ok(Ended::Shutdown);
                    }
                    continue;
                }
                _ = lease_check.tick() => {
                    lease.check().await?;
                    continue;
                }
                chunk = events.next() => chunk,
            };
            let Some(chunk) = chunk else {
                return Err(chat_store::StoreError::ShuttingDown.into());
            };
            let batch = chunk.into_iter().collect::<Result<Vec<_>, _>>()?;
            let Some(last) = batch.last() else { continue };
            let n = u32::try_from(batch.len()).unwrap_or(u32::MAX);
            let permit = tokio::select! {
                biased;
                _ = shutdown.changed() => return Ok(Ended::Shutdown),
                p = permits.clone().acquire_many_owned(n) => p.map_err(|_| {
                    PublishError::Delivery { position: last.position, error: "publisher closing".to_owned() }
                })?,
            };
            let acks = self.enqueue(producer, &batch).await?;
            let sent = InFlight {
                last_position: last.position,
                last_at: last.occurred_at,
                events: batch.len(),
                acks,
                _permit: permit,
            };
            if tx.send(sent).is_err() {
                // The acker ended (its error wins the select).
                return Ok(Ended::Shutdown);
            }
        }
    }

    async fn ack_batches(
        &self,
        mut position: u64,
        mut rx: mpsc::UnboundedReceiver<InFlight>,
    ) -> std::result::Result<(), PublishError> {
        while let Some(batch) = rx.recv().await {
            for (pos, delivery) in batch.acks {
                check_delivery(pos, delivery.await)?;
            }
            self.advance(position, batch.last_position, batch.last_at)
                .await?;
            position = batch.last_position;
            let mut st = lock(&self.slot);
            st.position = position;
            st.last_event_at = Some(batch.last_at);
            st.batches += 1;
            st.events += batch.events as u64;
            st.last_error = None;
        }
        Ok(())
    }

    /// Hand every event of `batch` to the producer, in order; returns the
    /// delivery reports to await.
    async fn enqueue(
        &self,
        producer: &FutureProducer,
        batch: &[RecordedEvent],
    ) -> std::result::Result<Vec<(u64, DeliveryFuture)>, PublishError> {
        let mut acks = Vec::with_capacity(batch.len());
        for event in batch {
            let record = Record::build(event, &self.config.redaction).map_err(|e| {
                PublishError::Delivery {
                    position: event.position,
                    error: format!("encoding: {e}"),
                }
            })?;
            let headers = record.kafka_headers();
            let mut fr = FutureRecord::to(&self.config.topic)
                .key(&record.key)
                .payload(&record.value)
                .headers(headers);
            loop {
                match producer.send_result(fr) {
                    Ok(delivery) => {
                        acks.push((event.position, delivery));
                        break;
                    }
                    // librdkafka's local queue is full (the in-flight window
                    // is larger than it): let it drain, keep the order.
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        fr = back;
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                    Err((e, _)) => {
                        return Err(PublishError::Delivery {
                            position: event.position,
                            error: e.to_string(),
                        });
                    }
                }
            }
        }
        Ok(acks)
    }

    async fn ensure_topic(&self) -> std::result::Result<(), PublishError> {
        let admin = self.config.admin()?;
        let topic = NewTopic::new(
            &self.config.topic,
            self.config.partitions,
            TopicReplication::Fixed(self.config.replication),
        );
        let opts = AdminOptions::new().request_timeout(Some(self.config.message_timeout));
        for result in admin.create_topics([&topic], &opts).await? {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(PublishError::Kafka(KafkaError::AdminOp(code)))
                        .inspect_err(|_| warn!(topic = %name, ?code, "creating the topic failed"));
                }
            }
        }
        Ok(())
    }

    async fn checkpoint(&self) -> std::result::Result<u64, PublishError> {
        sqlx::query(
            "INSERT INTO kafka_publisher.checkpoints (topic) VALUES ($1) ON CONFLICT DO NOTHING",
        )
        .bind(&self.config.topic)
        .execute(&self.pool)
        .await?;
        Ok(published_position(&self.pool, &self.config.topic).await?)
    }

    /// Move the checkpoint from `from` to `to`; fails if someone else moved it.
    async fn advance(
        &self,
        from: u64,
        to: u64,
        at: OffsetDateTime,
    ) -> std::result::Result<(), PublishError> {
        let moved = sqlx::query(
            "UPDATE kafka_publisher.checkpoints \
             SET position = $3, last_event_at = $4, updated_at = now() \
             WHERE topic = $1 AND position = $2",
        )
        .bind(&self.config.topic)
        .bind(from as i64)
        .bind(to as i64)
        .bind(at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if moved == 1 {
            return Ok(());
        }
        let found = published_position(&self.pool, &self.config.topic).await?;
        Err(ProjectorError::CheckpointMoved {
            schema: format!("{SCHEMA}/{}", self.config.topic),
            expected: from,
            found,
        }
        .into())
    }

    pub(super) async fn refresh_from_db(&self) {
        if let Ok(p) = published_position(&self.pool, &self.config.topic).await {
            lock(&self.slot).position = p;
        }
    }
}

fn check_delivery(
    position: u64,
    report: std::result::Result<
        rdkafka::producer::future_producer::OwnedDeliveryResult,
        futures::channel::oneshot::Canceled,
    >,
) -> std::result::Result<(), PublishError> {
    match report {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((e, _))) => Err(PublishError::Delivery {
            position,
            error: e.to_string(),
        }),
        Err(_) => Err(PublishError::Delivery {
            position,
            error: "the producer dropped the delivery report".to_owned(),
        }),
    }
}
