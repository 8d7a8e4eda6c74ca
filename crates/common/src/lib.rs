//! # chat-common: plumbing shared by every service
//!
//! Owns what would otherwise be copied into each service: configuration
//! pieces ([`config`]), telemetry setup ([`telemetry`]), the problem+json error
//! type every route answers with ([`problem`]), the access-token claims
//! ([`auth`]), the OpenAPI plumbing every document shares ([`openapi`]),
//! the read-model contract ([`read_models`]), secrets sealed at rest under
//! the master key ([`sealing`]) and the one shutdown signal ([`shutdown`]).
//! No business logic.

pub mod auth;
pub mod config;
pub mod http;
pub mod json;
pub mod media_url;
pub mod openapi;
pub mod problem;
pub mod read_models;
pub mod sealing;
pub mod shutdown;
pub mod telemetry;

pub use json::{ApiJson, ApiOptionalJson, ApiPath, ApiQuery};
pub use problem::ApiError;
pub use shutdown::shutdown_signal;
