//! Connecting, creating the database and migrating the event-store schema.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use tracing::info;

/// The event store's migrations. Other crates run their own migrators against
/// the same database, so each ignores versions it does not know.
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut m = sqlx::migrate!("./migrations");
    m.set_ignore_missing(true);
    m
}

/// Create the event-store tables (idempotent).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    migrator().run(pool).await
}

/// Create the database named in `url` if it does not exist yet, connecting to
/// the server's `postgres` database to do so.
pub async fn ensure_database(url: &str) -> Result<(), sqlx::Error> {
    let opts = PgConnectOptions::from_str(url)?;
    let Some(name) = opts.get_database().map(str::to_owned) else {
        return Ok(());
    };
    let mut admin = opts.clone().database("postgres").connect().await?;
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut admin)
        .await?;
    if exists.is_none() {
        let ident = format!("\"{}\"", name.replace('"', "\"\""));
        match sqlx::query(&format!("CREATE DATABASE {ident}"))
            .execute(&mut admin)
            .await
        {
            Ok(_) => info!(database = %name, "created database"),
            // Another process created it between our check and our create.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => return Err(e),
        }
    }
    admin.close().await?;
    Ok(())
}

/// Session settings every connection of ours gets.
///
/// `plan_cache_mode = force_custom_plan`: sqlx prepares every statement, and
/// after five runs Postgres may switch a prepared statement to a generic
/// plan, costed once and kept. Our tables start empty and grow by millions
/// of rows, so a generic plan chosen while a table was small (a sequential
/// scan for `event_id = ANY($2)`, say) stays in use long after it became a
/// full scan per call: appends into a 200k-event log took 3 s each before
/// this. Planning every execution costs tens of microseconds; a stale plan
/// can cost seconds.
///
/// `standard_conforming_strings = on` (Postgres' default, stated so a server
/// configured otherwise cannot change it): the appender writes values as
/// literals, where then only a quote is special (`postgres::script`).
pub fn tuned(opts: PgConnectOptions) -> PgConnectOptions {
    opts.options(TUNED)
}

const TUNED: [(&str, &str); 2] = [
    ("plan_cache_mode", "force_custom_plan"),
    ("standard_conforming_strings", "on"),
];

/// Pooled connections are not pinged before each use (`test_before_acquire`
/// would add a round trip to every acquire, three or more per command): a
/// connection that broke while idle fails its next statement, is dropped by
/// the pool, and that one request answers 503 and may be retried.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    let opts = tuned(PgConnectOptions::from_str(url)?);
    PgPoolOptions::new()
        .max_connections(max_connections)
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(opts)
        .await
}

/// A pool for request paths that only read (the query API): its own
/// connections, so a user's slow queries cannot take the ones commands
/// need, and a `statement_timeout`, so no query runs longer than that.
pub async fn connect_reads(
    url: &str,
    max_connections: u32,
    statement_timeout: Duration,
) -> Result<PgPool, sqlx::Error> {
    let timeout = format!("{}ms", statement_timeout.as_millis().max(1));
    let opts = PgConnectOptions::from_str(url)?
        .options(TUNED)
        .options([("statement_timeout", timeout.as_str())]);
    PgPoolOptions::new()
        .max_connections(max_connections)
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(opts)
        .await
}
