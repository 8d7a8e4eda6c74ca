//! Secrets sealed at rest (TOTP secrets now; the keys of erasure later):
//! AES-256-GCM under a key from configuration, KMS-style. [`KeyWrap`] is
//! the interface a cloud KMS could implement; [`MasterKey`] is ours, from
//! `MASTER_KEY`.
//!
//! A sealed value is `v1 | key id (4) | nonce (12) | ciphertext+tag`. The
//! key id (the first bytes of the key's SHA-256) says which key opens it,
//! so a rotated key (`MASTER_KEY_PREVIOUS`) still opens what the old one
//! sealed. The context (what the value is and whose) is authenticated, so
//! a sealed value copied to another row or user does not open there.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::config::Secret;

const VERSION: &[u8; 2] = b"v1";
const ID_LEN: usize = 4;
const NONCE_LEN: usize = 12;

/// Why a sealed value did not open.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("not a sealed value")]
    Malformed,
    #[error(
        "sealed under a key this server does not have (MASTER_KEY rotated without MASTER_KEY_PREVIOUS?)"
    )]
    UnknownKey,
    #[error("the sealed value or its context was altered")]
    Forged,
}

/// Seals and opens secrets; a KMS client could be one.
pub trait KeyWrap: Send + Sync {
    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8>;
    fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, SealError>;
    /// Whether `sealed` was sealed under an older key (worth sealing again).
    fn is_stale(&self, sealed: &[u8]) -> bool;
}

struct Key {
    id: [u8; ID_LEN],
    cipher: Aes256Gcm,
}

impl Key {
    /// A 256-bit key from any secret of at least 32 bytes (HKDF-SHA256).
    fn derive(secret: &[u8]) -> Key {
        let mut key = [0u8; 32];
        Hkdf::<Sha256>::new(Some(b"chat master key v1"), secret)
            .expand(b"aes-256-gcm", &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 length");
        let digest = Sha256::digest(key);
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(&digest[..ID_LEN]);
        Key {
            id,
            cipher: Aes256Gcm::new(&key.into()),
        }
    }
}

/// The master key, and the one before it while values sealed under it
/// remain.
pub struct MasterKey {
    current: Key,
    previous: Option<Key>,
}

impl MasterKey {
    pub fn new(current: &Secret, previous: Option<&Secret>) -> MasterKey {
        MasterKey {
            current: Key::derive(current.expose().as_bytes()),
            previous: previous.map(|p| Key::derive(p.expose().as_bytes())),
        }
    }
}

impl KeyWrap for MasterKey {
    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let body = self
            .current
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .expect("AES-GCM seals any input of this size");
        let mut out = Vec::with_capacity(VERSION.len() + ID_LEN + NONCE_LEN + body.len());
        out.extend_from_slice(VERSION);
        out.extend_from_slice(&self.current.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        out
    }

    fn is_stale(&self, sealed: &[u8]) -> bool {
        sealed.get(VERSION.len()..VERSION.len() + ID_LEN) != Some(&self.current.id[..])
    }

    fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, SealError> {
        let rest = sealed.strip_prefix(VERSION).ok_or(SealError::Malformed)?;
        if rest.len() < ID_LEN + NONCE_LEN + 16 {
            return Err(SealError::Malformed);
        }
        let (id, rest) = rest.split_at(ID_LEN);
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let key = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|k| k.id == id)
            .ok_or(SealError::UnknownKey)?;
        key.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context,
                },
            )
            .map_err(|_| SealError::Forged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Secret {
        Secret::new(s)
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_context() {
        let k = MasterKey::new(&key("a master key of at least thirty-two bytes"), None);
        let sealed = k.seal(b"JBSWY3DPEHPK3PXP", b"totp:user-1");
        assert!(!sealed.windows(16).any(|w| w == b"JBSWY3DPEHPK3PXP"));
        assert_eq!(
            k.open(&sealed, b"totp:user-1").unwrap(),
            b"JBSWY3DPEHPK3PXP"
        );
        assert_eq!(k.open(&sealed, b"totp:user-2"), Err(SealError::Forged));
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(k.open(&flipped, b"totp:user-1"), Err(SealError::Forged));
        assert_eq!(k.open(b"v1", b""), Err(SealError::Malformed));
        assert_ne!(
            sealed,
            k.seal(b"JBSWY3DPEHPK3PXP", b"totp:user-1"),
            "fresh nonces"
        );
    }

    #[test]
    fn a_rotated_key_still_opens_what_the_previous_one_sealed() {
        let old = MasterKey::new(&key("the first master key, thirty-two bytes+"), None);
        let sealed = old.seal(b"secret", b"ctx");
        let new = MasterKey::new(
            &key("the second master key, thirty-two bytes"),
            Some(&key("the first master key, thirty-two bytes+")),
        );
        assert!(new.is_stale(&sealed));
        assert_eq!(new.open(&sealed, b"ctx").unwrap(), b"secret");
        assert!(!new.is_stale(&new.seal(b"secret", b"ctx")));
        let forgot = MasterKey::new(&key("the second master key, thirty-two bytes"), None);
        assert_eq!(forgot.open(&sealed, b"ctx"), Err(SealError::UnknownKey));
    }
}
