//! # chat-media
//!
//! Owns media: streamed uploads into an object store (a local directory by
//! default, S3-compatible with the `s3` feature), MIME sniffing from the
//! bytes, downloads for chat participants and through short-lived signed
//! URLs (with ranges), and the cleanup of uploads nobody needs any more.
//! See `docs/media.md`.
//!
//! It sits on top of the command side: an upload is recorded by running
//! `UploadMedia` through the same pipeline as every command
//! (`chat_command_api::pipeline`), so the `MediaUploaded` event on the
//! uploader's stream is the source of truth for "this media exists and is
//! theirs" (SendMessage reads it through the store's subject index, so
//! projection lag cannot fool it); the `rm_media` read model answers
//! download authorization and drives the cleanup. The blobs are this
//! crate's alone.

mod answer;
mod cleanup;
pub mod config;
mod download;
mod manage;
mod receive;
pub mod sniff;
mod storage;
mod upload;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use chat_command_api::CommandState;
use chat_command_api::pipeline::store_error;
use chat_common::ApiError;
use chat_common::auth::Verifier;
use chat_common::media_url::MediaUrlSigner;
use chat_common::openapi::{bearer_conventions, for_each_operation};
use chat_common::read_models::CheckpointWatch;
use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::SecurityRequirement;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub use answer::{UploadAnswer, UploadResult, UploadResults};
pub use cleanup::{CleanupReport, run_cleanup, spawn_cleanup};
pub use config::{MediaArgs, MediaConfig, MediaLimits};
pub use storage::{MediaBackend, S3Config};

/// What the media routes and the cleanup share: the command side (its
/// pipeline, store and pool) and the media's own parts. Cheap to clone.
#[derive(Clone)]
pub struct MediaApp {
    pub commands: CommandState,
    pub media: MediaService,
    /// The process's read-model watch (a download's check reads chats and
    /// media): a recipient learns of a message (and its media URL) the
    /// moment it commits, before the projector wrote those rows.
    read_models: CheckpointWatch,
}

impl FromRef<MediaApp> for Arc<Verifier> {
    fn from_ref(s: &MediaApp) -> Self {
        s.commands.verifier.clone()
    }
}

impl FromRef<MediaApp> for CommandState {
    fn from_ref(s: &MediaApp) -> Self {
        s.commands.clone()
    }
}

impl MediaApp {
    /// Open the object store of `config` next to the running command side;
    /// `read_models` is the process's one watch of the read models.
    pub fn start(
        commands: CommandState,
        config: MediaConfig,
        read_models: CheckpointWatch,
    ) -> Result<MediaApp, String> {
        Ok(MediaApp {
            commands,
            media: MediaService::start(config)?,
            read_models,
        })
    }

    /// Wait (up to `timeout`) until the read models this crate reads have
    /// reached the store's head as of now. `Ok(false)`: they already had,
    /// so a fresh read would find nothing new; `Ok(true)`: they were behind
    /// and have caught up; `Err(Lagging)`: not in time.
    pub(crate) async fn caught_up(&self, timeout: Duration) -> Result<bool, Lagging> {
        let head = self
            .commands
            .store
            .head_position()
            .await
            .map_err(|e| Lagging::Failed(store_error(e)))?;
        if self.read_models.position() >= head {
            return Ok(false);
        }
        self.read_models
            .wait_for(head, timeout)
            .await
            .map(|()| true)
            .map_err(|t| Lagging::Behind(t.reached))
    }
}

/// Why the read models could not be brought to the head.
#[derive(Debug)]
pub(crate) enum Lagging {
    /// Still at this position when the wait ended.
    Behind(u64),
    /// The store could not be read.
    Failed(ApiError),
}

/// The media side's running parts. Cheap to clone.
#[derive(Clone)]
pub struct MediaService {
    pub objects: Arc<dyn ObjectStore>,
    pub config: Arc<MediaConfig>,
}

impl MediaService {
    pub fn start(config: MediaConfig) -> Result<MediaService, String> {
        let objects = storage::open(&config.backend)?;
        Ok(MediaService {
            objects,
            config: Arc::new(config),
        })
    }

    pub fn signer(&self) -> &MediaUrlSigner {
        &self.config.signer
    }

    /// A signed URL for `media_id`, valid from now.
    pub fn url(&self, media_id: Uuid) -> String {
        self.signer()
            .url(media_id, time::OffsetDateTime::now_utc().unix_timestamp())
    }
}

/// Where a media item's blob lives in the object store.
pub fn object_path(media_id: Uuid) -> ObjectPath {
    ObjectPath::from(media_id.simple().to_string())
}

/// Multipart overhead allowed on top of the largest upload (boundaries, part
/// headers, the `kind` field).
const MULTIPART_SLACK: u64 = 64 * 1024;

/// The media routes, with a body limit of their own (the JSON limit of the
/// command routes does not apply; uploads are streamed, never buffered).
pub fn router_with_openapi(state: MediaApp) -> (Router, OpenApi) {
    let limits = state.media.config.limits;
    let max = usize::try_from(limits.largest() + MULTIPART_SLACK).unwrap_or(usize::MAX);
    documented_routes()
        .layer(DefaultBodyLimit::max(max))
        .with_state(state)
        .split_for_parts()
}

/// The media routes with their conventions in their document.
pub fn documented_routes() -> OpenApiRouter<MediaApp> {
    let mut r = OpenApiRouter::new()
        .routes(routes!(upload::upload))
        .routes(routes!(download::download, manage::delete));
    media_conventions(r.get_openapi_mut());
    r
}

/// What the media routes share: bearer auth (downloads also take a signed
/// URL instead), and the problems of tokens, ids and the store. Uploads
/// stream their bodies past the idempotency layer, so they take no
/// `Idempotency-Key`: a retried upload is a new media item, and the
/// unattached one is cleaned up after a day.
pub fn media_conventions(doc: &mut OpenApi) {
    for_each_operation(doc, |path, op| {
        bearer_conventions(path, op);
        if op.operation_id.as_deref() == Some("download_media")
            && let Some(security) = op.security.as_mut()
        {
            // A signed URL (`exp`, `sig`) needs no token.
            security.push(SecurityRequirement::default());
        }
    });
}
