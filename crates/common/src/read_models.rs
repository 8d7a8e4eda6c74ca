//! The read models' contract, shared by the projector that writes them and
//! every part that reads them (queries, the gateway's snapshot, the media
//! cleanup): their names and schemas, the channel the projector announces
//! committed batches on, and the one way to wait until they reached a
//! position ([`CheckpointWatch`]).
//!
//! Each schema has a one-row `checkpoint` table (`position`), moved in the
//! same transaction as the data. After each batch the projector sends
//! `NOTIFY chat_projections, '<name>:<position>'`.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{Notify, watch};

/// A read model: the projection's name (in notifications and status) and
/// the Postgres schema it owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadModel {
    pub name: &'static str,
    pub schema: &'static str,
}

pub const USERS: ReadModel = ReadModel {
    name: "users",
    schema: "rm_users",
};
pub const CHATS: ReadModel = ReadModel {
    name: "chats",
    schema: "rm_chats",
};
pub const MESSAGES: ReadModel = ReadModel {
    name: "messages",
    schema: "rm_messages",
};
pub const MEDIA: ReadModel = ReadModel {
    name: "media",
    schema: "rm_media",
};

/// The messages a member has not read, as SQL to follow a `SELECT` list:
/// `FROM … WHERE …` over `rm_messages.messages x`, for a `rm_chats.members`
/// row `m` and its `rm_chats.user_chats` row `uc`. Unread is after their
/// read marker, inside their visible range, not their own, not deleted, not
/// hidden. One definition for the chat list's counts and the Socket.IO
/// `unread_message` counts.
#[macro_export]
macro_rules! unread_messages {
    () => {
        "FROM rm_messages.messages x \
          WHERE x.chat_id = m.chat_id \
            AND x.seq > greatest(m.read_up_to, m.joined_seq, coalesce(uc.cleared_up_to_seq, 0)) \
            AND x.seq <= coalesce(m.left_seq, \
                    (SELECT c.last_seq FROM rm_chats.chats c WHERE c.chat_id = m.chat_id)) \
            AND x.sender_id <> m.user_id AND x.deleted_at IS NULL \
            AND NOT EXISTS (SELECT 1 FROM rm_messages.hidden h \
                             WHERE h.user_id = m.user_id AND h.message_id = x.message_id)"
    };
}

/// The number of messages a member (`m`, `uc`) has not read, capped at
/// 9,999: [`unread_messages`] counted, by arithmetic rather than a scan. A
/// chat's seqs are gapless, so the window (lo, hi] holds `hi - lo`
/// messages; less the member's own, the deleted ones and the ones they hid
/// (each counted once), each an index range (`messages_by_sender`,
/// `messages_deleted`, `hidden_by_chat`). A burst's badges cost what is
/// excluded, not each recipient's backlog.
#[macro_export]
macro_rules! unread_count {
    () => {
        "(SELECT least(9999, greatest(0, w.hi - w.lo \
            - (SELECT count(*) FROM rm_messages.messages x \
                WHERE x.chat_id = m.chat_id AND x.sender_id = m.user_id \
                  AND x.seq > w.lo AND x.seq <= w.hi) \
            - (SELECT count(*) FROM rm_messages.messages x \
                WHERE x.chat_id = m.chat_id AND x.deleted_at IS NOT NULL \
                  AND x.seq > w.lo AND x.seq <= w.hi AND x.sender_id <> m.user_id) \
            - (SELECT count(*) FROM rm_messages.hidden h \
                JOIN rm_messages.messages x ON x.message_id = h.message_id \
                WHERE h.user_id = m.user_id AND h.chat_id = m.chat_id \
                  AND h.seq > w.lo AND h.seq <= w.hi \
                  AND x.sender_id <> m.user_id AND x.deleted_at IS NULL))) \
          FROM (SELECT greatest(m.read_up_to, m.joined_seq, coalesce(uc.cleared_up_to_seq, 0)) AS lo, \
                       coalesce(m.left_seq, (SELECT c2.last_seq FROM rm_chats.chats c2 \
                                              WHERE c2.chat_id = m.chat_id)) AS hi) w)"
    };
}

/// Whether the chat list shows chat `c` to its member (`m`, `uc`): a chat
/// cleared with nothing newer is hidden.
#[macro_export]
macro_rules! listed {
    () => {
        "NOT (uc.hidden AND coalesce(m.left_seq, c.last_seq) <= uc.cleared_up_to_seq)"
    };
}

/// User `u`'s total unread count over the chats their list shows and they
/// have not archived: `GET /v1/me`'s `total_unread` and the push badge.
#[macro_export]
macro_rules! total_unread {
    () => {
        concat!(
            "(SELECT coalesce(sum(",
            $crate::unread_count!(),
            "), 0)::bigint FROM rm_chats.user_chats uc \
               JOIN rm_chats.members m ON m.chat_id = uc.chat_id AND m.user_id = uc.user_id \
               JOIN rm_chats.chats c ON c.chat_id = uc.chat_id \
              WHERE uc.user_id = u.user_id AND NOT uc.archived AND ",
            $crate::listed!(),
            ")"
        )
    };
}

/// The read models the query API answers from.
pub const QUERIED: [ReadModel; 4] = [USERS, CHATS, MESSAGES, MEDIA];

/// The channel the projector notifies committed batches on.
pub const NOTIFY_CHANNEL: &str = "chat_projections";

/// How often a watch re-reads the checkpoints without being woken: a lost
/// notification costs at most this.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// The wait ended before every read model reached the position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("read models reached position {reached}, not {wanted}, in time")]
pub struct TimedOut {
    pub wanted: u64,
    pub reached: u64,
}

/// The lowest checkpoint of a set of read models, kept by one task from the
/// projector's notifications (no query per notification: the payload
/// carries the position) and a poll; waiters only watch it. The task ends
/// when the last clone is dropped.
#[derive(Clone)]
pub struct CheckpointWatch {
    rx: watch::Receiver<u64>,
    kick: Arc<Notify>,
}

impl std::fmt::Debug for CheckpointWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointWatch")
            .field("position", &*self.rx.borrow())
            .finish()
    }
}

impl CheckpointWatch {
    pub fn spawn(pool: PgPool, models: &[ReadModel]) -> Self {
        Self::spawn_with(pool, models, POLL_INTERVAL)
    }

    pub fn spawn_with(pool: PgPool, models: &[ReadModel], poll: Duration) -> Self {
        let (tx, rx) = watch::channel(0u64);
        let kick = Arc::new(Notify::new());
        let models: Vec<ReadModel> = models.iter().copied().filter(plain).collect();
        tokio::spawn(watch_task(pool, models, poll, tx, kick.clone()));
        Self { rx, kick }
    }

    /// The lowest checkpoint last seen.
    pub fn position(&self) -> u64 {
        *self.rx.borrow()
    }

    /// Return once every watched checkpoint is at least `min_position`, or
    /// `TimedOut` after `timeout`.
    pub async fn wait_for(&self, min_position: u64, timeout: Duration) -> Result<(), TimedOut> {
        let mut rx = self.rx.clone();
        if *rx.borrow_and_update() >= min_position {
            return Ok(());
        }
        // The last reading may be older than the write being waited for.
        self.kick.notify_one();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|p| *p >= min_position)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            _ => Err(TimedOut {
                wanted: min_position,
                reached: *self.rx.borrow(),
            }),
        }
    }
}

/// Schema names are interpolated into SQL: only plain identifiers pass.
fn plain(m: &ReadModel) -> bool {
    let s = m.schema;
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

async fn read_all(pool: &PgPool, models: &[ReadModel]) -> Result<Vec<u64>, sqlx::Error> {
    let mut out = Vec::with_capacity(models.len());
    if models.is_empty() {
        return Ok(out);
    }
    let cols: Vec<String> = models
        .iter()
        .map(|m| {
            format!(
                "(SELECT coalesce(max(position), 0) FROM {}.checkpoint)",
                m.schema
            )
        })
        .collect();
    let row = sqlx::query(&format!("SELECT {}", cols.join(", ")))
        .fetch_one(pool)
        .await?;
    for i in 0..models.len() {
        let p: i64 = sqlx::Row::try_get(&row, i)?;
        out.push(u64::try_from(p).unwrap_or(0));
    }
    Ok(out)
}

async fn watch_task(
    pool: PgPool,
    models: Vec<ReadModel>,
    poll: Duration,
    tx: watch::Sender<u64>,
    kick: Arc<Notify>,
) {
    let mut at = vec![0u64; models.len()];
    let publish = |at: &[u64]| {
        let lowest = at.iter().copied().min().unwrap_or(0);
        tx.send_if_modified(|v| {
            let newer = lowest > *v;
            if newer {
                *v = lowest;
            }
            newer
        });
    };
    let mut listener: Option<PgListener> = None;
    let mut reread = true;
    loop {
        if listener.is_none() {
            listener = listen(&pool).await;
        }
        if reread {
            match read_all(&pool, &models).await {
                Ok(read) => {
                    for (a, r) in at.iter_mut().zip(read) {
                        *a = (*a).max(r);
                    }
                    publish(&at);
                }
                Err(e) => tracing::debug!(error = %e, "reading read-model checkpoints failed"),
            }
        }
        let notified = async {
            match listener.as_mut() {
                Some(l) => l
                    .try_recv()
                    .await
                    .map(|n| n.map(|n| n.payload().to_owned())),
                None => std::future::pending().await,
            }
        };
        reread = true;
        tokio::select! {
            n = notified => match n {
                Ok(Some(payload)) => {
                    // '<name>:<position>': no read needed.
                    if let Some((name, p)) = payload.split_once(':')
                        && let (Some(i), Ok(p)) =
                            (models.iter().position(|m| m.name == name), p.parse::<u64>())
                    {
                        at[i] = at[i].max(p);
                        publish(&at);
                    }
                    reread = false;
                }
                // The LISTEN connection dropped: listen again, and re-read.
                _ => listener = None,
            },
            _ = kick.notified() => {}
            _ = tokio::time::sleep(poll) => {}
            _ = tx.closed() => return,
        }
    }
}

async fn listen(pool: &PgPool) -> Option<PgListener> {
    let mut l = PgListener::connect_with(pool).await.ok()?;
    l.listen(NOTIFY_CHANNEL).await.ok()?;
    Some(l)
}
