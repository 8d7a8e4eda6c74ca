//! Every integration test of the `chat` binary crate, as one test binary:
//! on two cores linking dominates, and one binary links once instead of
//! two dozen times. Each module is what used to be its own file under
//! `tests/`; the shared helpers are `support` (a test app over a fresh
//! database), `gateway_client` (a real WebSocket client) and
//! `differential` (a client's view kept from socket frames).

mod differential;
mod gateway_client;
mod support;

mod audit_api;
mod audit_cli;
mod channels;
mod cmd_auth_limits;
mod cmd_bad_input;
mod cmd_concurrency;
mod cmd_direct;
mod cmd_groups;
mod cmd_messages;
mod cmd_prefs;
mod cmd_snapshots;
mod cmd_users;
mod docs_errors;
mod edits;
mod email;
mod erasure;
mod export;
mod gateway_backpressure;
mod gateway_bad_frames;
mod gateway_keepalive;
mod gateway_live;
mod gateway_privacy;
mod gateway_resume;
mod gateway_signals;
mod invites;
mod kafka;
mod media;
mod media_manage;
mod mentions;
mod mfa;
mod moderation;
mod openapi;
mod ops;
mod polls;
mod presence;
mod push;
mod queries;
mod receipts;
mod serve;
mod sessions;
mod system_entries;
