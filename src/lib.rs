//! # chat: the binary's library
//!
//! Wires the crates into runnable services. `chat serve` runs everything in
//! one process on one port; the per-service subcommands arrive with their
//! services. Kept as a library so tests build the real app on port 0.

pub mod app;
pub mod audit_cli;
pub mod cli;
pub mod config;
pub mod memory;
pub mod ops;
pub mod serve;
pub mod state;

pub use app::{App, AppConfig};
