//! Media: streamed uploads into an object store (a local directory by
//! default, S3-compatible with the `s3` feature), downloads for chat
//! participants and through short-lived signed URLs, and the cleanup of
//! uploads nobody needs any more. See `docs/media.md`.
//!
//! The `MediaUploaded` event on the uploader's stream is the source of truth
//! for "this media exists and is theirs" (SendMessage reads it through the
//! store's subject index, so projection lag cannot fool it); the `rm_media`
//! read model answers download authorization and drives the cleanup.

mod cleanup;
mod download;
pub mod sniff;
mod storage;
mod upload;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRef};
use chat_common::media_url::MediaUrlSigner;
use chat_domain::MessageKind;
use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub use cleanup::{CleanupReport, run_cleanup, spawn_cleanup};
pub use storage::{MediaBackend, S3Config};

use crate::CommandState;

/// Per-kind size limits, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaLimits {
    pub image: u64,
    pub video: u64,
    /// Audio and voice messages.
    pub audio: u64,
    pub file: u64,
}

impl Default for MediaLimits {
    fn default() -> Self {
        const MIB: u64 = 1024 * 1024;
        Self {
            image: 16 * MIB,
            video: 100 * MIB,
            audio: 25 * MIB,
            file: 100 * MIB,
        }
    }
}

impl MediaLimits {
    pub fn for_kind(&self, kind: MessageKind) -> u64 {
        match kind {
            MessageKind::Image => self.image,
            MessageKind::Video => self.video,
            MessageKind::Audio | MessageKind::Voice => self.audio,
            MessageKind::File | MessageKind::Text => self.file,
        }
    }

    /// The largest upload of any kind.
    pub fn largest(&self) -> u64 {
        self.image.max(self.video).max(self.audio).max(self.file)
    }
}

/// Everything the media routes and the cleanup job need to start.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    pub backend: MediaBackend,
    pub limits: MediaLimits,
    /// Signs download URLs (its key comes from `MEDIA_URL_SECRET`, or is
    /// derived from the JWT key).
    pub signer: MediaUrlSigner,
    /// An upload not attached to any message for this long is deleted.
    pub unattached_ttl: Duration,
    /// How often the cleanup job runs.
    pub cleanup_interval: Duration,
}

impl MediaConfig {
    /// Local directory `./data/media`, default limits, a 15-minute URL
    /// lifetime, 24 h for unattached uploads.
    pub fn dev(signer: MediaUrlSigner) -> Self {
        Self {
            backend: MediaBackend::Local("./data/media".into()),
            limits: MediaLimits::default(),
            signer,
            unattached_ttl: Duration::from_secs(24 * 3600),
            cleanup_interval: Duration::from_secs(600),
        }
    }
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
pub fn routes<S>(limits: MediaLimits) -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    CommandState: FromRef<S>,
    Arc<chat_common::auth::Verifier>: FromRef<S>,
{
    let max = usize::try_from(limits.largest() + MULTIPART_SLACK).unwrap_or(usize::MAX);
    documented_routes().layer(DefaultBodyLimit::max(max))
}

/// The media routes with their conventions in their document.
pub(crate) fn documented_routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    CommandState: FromRef<S>,
    Arc<chat_common::auth::Verifier>: FromRef<S>,
{
    let mut r = OpenApiRouter::new()
        .routes(routes!(upload::upload))
        .routes(routes!(download::download));
    crate::openapi::media_conventions(r.get_openapi_mut());
    r
}
