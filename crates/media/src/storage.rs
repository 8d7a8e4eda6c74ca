//! The object store behind the media routes.

use std::path::PathBuf;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::local::LocalFileSystem;

/// Where blobs go.
#[derive(Debug, Clone)]
pub enum MediaBackend {
    /// A local directory (`MEDIA_DIR`), created if missing.
    Local(PathBuf),
    /// An S3-compatible bucket (`S3_*`); needs the `s3` cargo feature.
    S3(S3Config),
}

/// An S3-compatible bucket (AWS, MinIO).
#[derive(Debug, Clone)]
pub struct S3Config {
    pub bucket: String,
    /// e.g. `http://127.0.0.1:9000` for MinIO; unset for AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<chat_common::config::Secret>,
}

pub(super) fn open(backend: &MediaBackend) -> Result<Arc<dyn ObjectStore>, String> {
    match backend {
        MediaBackend::Local(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("creating MEDIA_DIR {}: {e}", dir.display()))?;
            let fs = LocalFileSystem::new_with_prefix(dir)
                .map_err(|e| format!("opening MEDIA_DIR {}: {e}", dir.display()))?;
            Ok(Arc::new(fs))
        }
        MediaBackend::S3(s3) => open_s3(s3),
    }
}

#[cfg(feature = "s3")]
fn open_s3(s3: &S3Config) -> Result<Arc<dyn ObjectStore>, String> {
    use object_store::aws::AmazonS3Builder;
    let mut b = AmazonS3Builder::new()
        .with_bucket_name(&s3.bucket)
        .with_region(&s3.region);
    if let Some(endpoint) = &s3.endpoint {
        b = b
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(false);
    }
    if let Some(id) = &s3.access_key_id {
        b = b.with_access_key_id(id);
    }
    if let Some(secret) = &s3.secret_access_key {
        b = b.with_secret_access_key(secret.expose());
    }
    let store = b.build().map_err(|e| format!("configuring S3: {e}"))?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "s3"))]
fn open_s3(s3: &S3Config) -> Result<Arc<dyn ObjectStore>, String> {
    Err(format!(
        "S3_BUCKET={} is set, but this build has no S3 support: build with `--features s3` \
         (chat-command-api/s3)",
        s3.bucket
    ))
}
