//! One lease per projection: a session advisory lock held on a dedicated
//! connection for as long as the runner applies events. Whoever holds it
//! applies; the others stand by and retry. The lock dies with the session,
//! so a crashed leader frees it; a runner whose lease connection fails stops
//! applying (and the checkpoint check in each batch catches any overlap).

use sqlx::{Connection, PgConnection, PgPool};

use crate::error::{ProjectorError, Result};

/// Advisory-lock class (first key) of projection leases; the second key is
/// `hashtext(schema)`. Two-key locks never collide with the store's one-key
/// append lock.
pub const LEASE_CLASS: i32 = 0x6368_7072; // "chpr"

pub(crate) struct Lease {
    conn: PgConnection,
    schema: String,
}

impl Lease {
    /// Take the lease of `schema` if nobody holds it.
    pub(crate) async fn try_acquire(pool: &PgPool, schema: &str) -> Result<Option<Lease>> {
        let mut conn = PgConnection::connect_with(&pool.connect_options()).await?;
        let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1, hashtext($2))")
            .bind(LEASE_CLASS)
            .bind(schema)
            .fetch_one(&mut conn)
            .await?;
        if got {
            // The leader applies its batches on this connection. Read models
            // are derived data: a commit lost in a crash loses its checkpoint
            // move with it, and the batch is applied again. So commits here
            // need not wait for the disk.
            sqlx::query("SET synchronous_commit = off")
                .execute(&mut conn)
                .await?;
            Ok(Some(Lease {
                conn,
                schema: schema.to_owned(),
            }))
        } else {
            let _ = conn.close().await;
            Ok(None)
        }
    }

    /// The lease's own connection, on which the leader applies its batches:
    /// if it breaks, the lock went with it and so does the batch.
    pub(crate) fn conn(&mut self) -> &mut PgConnection {
        &mut self.conn
    }

    /// Fails when the lease connection is gone (the lock went with it).
    pub(crate) async fn check(&mut self) -> Result<()> {
        self.conn
            .ping()
            .await
            .map_err(|_| ProjectorError::LeaseLost(self.schema.clone()))
    }

    /// Give the lease back promptly (dropping it also does, when the server
    /// notices the closed connection).
    pub(crate) async fn release(mut self) {
        let _ = sqlx::query("SELECT pg_advisory_unlock($1, hashtext($2))")
            .bind(LEASE_CLASS)
            .bind(&self.schema)
            .execute(&mut self.conn)
            .await;
        let _ = self.conn.close().await;
    }
}
