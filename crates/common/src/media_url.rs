//! Short-lived signed media URLs: `/v1/media/{id}?exp=<unix>&sig=<hex>`,
//! where `sig = HMAC-SHA256(key, "{id}|{exp}")`. Clients fetch media with
//! them without sending their bearer token (e.g. from an `<img>` tag).
//! Both the command side (download route, upload answer) and the query side
//! (message pages) sign with the same key.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// Why a signed URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedUrlError {
    Expired,
    Invalid,
}

/// Signs and checks media URLs.
#[derive(Clone)]
pub struct MediaUrlSigner {
    key: Vec<u8>,
    /// Lifetime of a URL, in seconds.
    pub ttl_secs: i64,
}

impl std::fmt::Debug for MediaUrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaUrlSigner")
            .field("key", &"[redacted]")
            .field("ttl_secs", &self.ttl_secs)
            .finish()
    }
}

impl MediaUrlSigner {
    /// A signer with its own key (`MEDIA_URL_SECRET`).
    pub fn new(key: &[u8], ttl_secs: i64) -> Self {
        Self {
            key: key.to_vec(),
            ttl_secs: ttl_secs.max(1),
        }
    }

    /// A key derived from another secret (the JWT key), so that one secret
    /// is never used raw for two purposes.
    pub fn derived_from(secret: &[u8], ttl_secs: i64) -> Self {
        let key = mac(secret, b"chat media url key v1");
        Self::new(&key, ttl_secs)
    }

    fn signature(&self, media_id: Uuid, exp: i64) -> Vec<u8> {
        mac(&self.key, format!("{media_id}|{exp}").as_bytes())
    }

    /// The path and query of a URL valid until `now + ttl`.
    pub fn url(&self, media_id: Uuid, now_unix: i64) -> String {
        let exp = now_unix + self.ttl_secs;
        let sig = hex::encode(self.signature(media_id, exp));
        format!("/v1/media/{media_id}?exp={exp}&sig={sig}")
    }

    /// Check a URL's `exp` and `sig`. The signature is checked first (in
    /// constant time), so an expired URL is only reported for genuine ones.
    pub fn verify(
        &self,
        media_id: Uuid,
        exp: i64,
        sig: &str,
        now_unix: i64,
    ) -> Result<(), SignedUrlError> {
        let sig = hex::decode(sig).map_err(|_| SignedUrlError::Invalid)?;
        let mut m = HmacSha256::new_from_slice(&self.key).map_err(|_| SignedUrlError::Invalid)?;
        m.update(format!("{media_id}|{exp}").as_bytes());
        m.verify_slice(&sig).map_err(|_| SignedUrlError::Invalid)?;
        if now_unix > exp {
            return Err(SignedUrlError::Expired);
        }
        Ok(())
    }
}

fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length.
    let mut m = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_url_verifies_until_it_expires_and_not_for_another_id() {
        let s = MediaUrlSigner::new(b"k", 60);
        let id = Uuid::from_u128(7);
        let url = s.url(id, 1000);
        let q = url.split_once('?').unwrap().1;
        let (exp, sig) = q.split_once('&').unwrap();
        let exp: i64 = exp.trim_start_matches("exp=").parse().unwrap();
        let sig = sig.trim_start_matches("sig=");
        assert_eq!(exp, 1060);
        assert_eq!(s.verify(id, exp, sig, 1060), Ok(()));
        assert_eq!(s.verify(id, exp, sig, 1061), Err(SignedUrlError::Expired));
        assert_eq!(
            s.verify(Uuid::from_u128(8), exp, sig, 1000),
            Err(SignedUrlError::Invalid)
        );
        assert_eq!(
            s.verify(id, exp + 1, sig, 1000),
            Err(SignedUrlError::Invalid)
        );
        assert_eq!(s.verify(id, exp, "zz", 1000), Err(SignedUrlError::Invalid));
        let other = MediaUrlSigner::derived_from(b"k", 60);
        assert_eq!(
            other.verify(id, exp, sig, 1000),
            Err(SignedUrlError::Invalid)
        );
    }
}
