//! The media side's settings: per-kind limits, where blobs go, the signed
//! URLs' key and lifetime, and the cleanup's schedule; as CLI flags and
//! environment variables ([`MediaArgs`]) for `chat serve` and `chat command-api`.

use std::path::PathBuf;
use std::time::Duration;

use chat_common::config::{Secret, check_secret};
use chat_common::media_url::MediaUrlSigner;
use chat_domain::MessageKind;
use clap::Args;

use crate::{MediaBackend, S3Config};

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
            // Text, polls and locations carry no media (uploads refuse them).
            MessageKind::File | MessageKind::Text | MessageKind::Poll | MessageKind::Location => {
                self.file
            }
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

    /// For development and tests: URLs signed with a key derived from the
    /// token key `jwt_secret`, blobs in a directory under the system's
    /// temp dir.
    pub fn dev_for(jwt_secret: &Secret) -> Self {
        let signer = MediaUrlSigner::derived_from(jwt_secret.expose().as_bytes(), 900);
        let mut config = Self::dev(signer);
        config.backend = MediaBackend::Local(std::env::temp_dir().join("chat-media-dev"));
        config
    }
}

/// Media storage, limits, signed URLs and cleanup (`docs/media.md`).
#[derive(Debug, Clone, Args)]
pub struct MediaArgs {
    /// Directory for uploaded media (unless S3_BUCKET is set); created if missing.
    #[arg(long, env = "MEDIA_DIR", default_value = "./data/media")]
    pub media_dir: PathBuf,
    /// S3-compatible bucket for media (needs a build with `--features s3`).
    #[arg(long, env = "S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// S3 endpoint, e.g. `http://minio:9000`; unset for AWS.
    #[arg(long, env = "S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    #[arg(long, env = "S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    #[arg(long, env = "S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,
    #[arg(long, env = "S3_SECRET_ACCESS_KEY")]
    pub s3_secret_access_key: Option<Secret>,
    /// Largest image upload, in bytes.
    #[arg(long, env = "MEDIA_MAX_IMAGE_BYTES", default_value_t = 16 * MIB)]
    pub media_max_image_bytes: u64,
    /// Largest video upload, in bytes.
    #[arg(long, env = "MEDIA_MAX_VIDEO_BYTES", default_value_t = 100 * MIB)]
    pub media_max_video_bytes: u64,
    /// Largest audio or voice upload, in bytes.
    #[arg(long, env = "MEDIA_MAX_AUDIO_BYTES", default_value_t = 25 * MIB)]
    pub media_max_audio_bytes: u64,
    /// Largest other file, in bytes.
    #[arg(long, env = "MEDIA_MAX_FILE_BYTES", default_value_t = 100 * MIB)]
    pub media_max_file_bytes: u64,
    /// Key of the signed media URLs. Unset: derived from JWT_SECRET.
    #[arg(long, env = "MEDIA_URL_SECRET")]
    pub media_url_secret: Option<Secret>,
    /// Lifetime of a signed media URL, in seconds.
    #[arg(long, env = "MEDIA_URL_TTL_SECS", default_value_t = 900)]
    pub media_url_ttl_secs: i64,
    /// Uploads not attached to a message for this long are deleted, in seconds.
    #[arg(long, env = "MEDIA_UNATTACHED_TTL_SECS", default_value_t = 86_400)]
    pub media_unattached_ttl_secs: u64,
    /// How often the media cleanup job runs, in seconds.
    #[arg(long, env = "MEDIA_CLEANUP_INTERVAL_SECS", default_value_t = 600)]
    pub media_cleanup_interval_secs: u64,
}

const MIB: u64 = 1024 * 1024;

impl MediaArgs {
    /// The media settings; the URL key falls back to one derived from the
    /// token key (`jwt_secret`).
    pub fn config(&self, jwt_secret: &Secret, dev: bool) -> Result<MediaConfig, String> {
        if !dev && let Some(secret) = &self.media_url_secret {
            check_secret("MEDIA_URL_SECRET", secret)?;
        }
        let signer = match &self.media_url_secret {
            Some(s) => MediaUrlSigner::new(s.expose().as_bytes(), self.media_url_ttl_secs),
            None => MediaUrlSigner::derived_from(
                jwt_secret.expose().as_bytes(),
                self.media_url_ttl_secs,
            ),
        };
        let backend = match &self.s3_bucket {
            Some(bucket) => MediaBackend::S3(S3Config {
                bucket: bucket.clone(),
                endpoint: self.s3_endpoint.clone(),
                region: self.s3_region.clone(),
                access_key_id: self.s3_access_key_id.clone(),
                secret_access_key: self.s3_secret_access_key.clone(),
            }),
            None => MediaBackend::Local(self.media_dir.clone()),
        };
        Ok(MediaConfig {
            backend,
            limits: MediaLimits {
                image: self.media_max_image_bytes,
                video: self.media_max_video_bytes,
                audio: self.media_max_audio_bytes,
                file: self.media_max_file_bytes,
            },
            signer,
            unattached_ttl: Duration::from_secs(self.media_unattached_ttl_secs),
            cleanup_interval: Duration::from_secs(self.media_cleanup_interval_secs.max(1)),
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: MediaArgs,
    }

    fn config(argv: &[&str], dev: bool) -> Result<MediaConfig, String> {
        let mut full = vec!["chat"];
        full.extend_from_slice(argv);
        let jwt = Secret::new("k".repeat(32));
        Cli::try_parse_from(full)
            .map_err(|e| e.to_string())?
            .args
            .config(&jwt, dev)
    }

    #[test]
    fn a_weak_url_secret_is_refused_outside_development() {
        let short = config(&["--media-url-secret", "short"], false).unwrap_err();
        assert!(short.contains("MEDIA_URL_SECRET"), "{short}");
        assert!(config(&["--media-url-secret", "short"], true).is_ok());
        assert!(config(&[], false).is_ok(), "unset: derived from JWT_SECRET");
    }
}
