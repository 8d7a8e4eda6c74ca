//! # chat-command-api
//!
//! Owns the write side's HTTP surface: authentication (register, login,
//! refresh with rotation, JWT issue and verify, external issuers), every
//! command route of the API contract, the load → decide → append loop with
//! bounded retries on conflict, the aggregate cache, durable idempotency and
//! rate limits.
//!
//! How a command runs: the route authenticates the caller ([`pipeline::CommandContext`]),
//! [`pipeline::execute`] loads the aggregate (cache → snapshot → store), the
//! route's builder loads the facts the command needs (other users' settings,
//! one message's history through the store's subject index), the pure domain
//! decides, and the events are appended at the exact version the decision
//! saw. A conflict re-loads and re-decides; `If-Match` turns it into a 409.
//! The answer carries the global `position` for read-your-writes.
//!
//! Modules:
//! * [`auth`]: credentials, refresh tokens and access tokens (its own tables);
//! * [`idempotency`]: durable `Idempotency-Key` answers;
//! * [`ratelimit`]: token buckets in Redis or in process;
//! * [`pipeline`]: load → decide → append, the aggregate cache;
//! * [`routes`]: the command routes, one module per resource;
//! * [`openapi`]: the OpenAPI document, built from the same handler lists.

pub mod answers;
pub mod config;
pub mod facts;
pub mod http;
pub mod idempotency;
pub mod openapi;
pub mod pipeline;
pub mod ratelimit;
pub mod routes;
pub mod state;

pub use http::{router, router_with_openapi};
pub use state::{CommandConfig, CommandState};

/// The command side's own tables (credentials, refresh tokens, idempotency).
/// Other crates migrate the same database, so unknown versions are ignored.
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut m = sqlx::migrate!("./migrations");
    m.set_ignore_missing(true);
    m
}
