//! Web Push message encryption (RFC 8291) in the `aes128gcm` content
//! coding (RFC 8188): one record, keyed by an ECDH agreement between a
//! fresh sender key and the subscription's `p256dh`, mixed with its `auth`
//! secret. Proven by the RFC's own test vector (below) and, end to end, by
//! the tests' push receiver, which decrypts with an independent library.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Nonce};
use hkdf::Hkdf;
use p256::ecdh::EphemeralSecret;
use p256::{EncodedPoint, PublicKey};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;

/// The record size written in the header: the whole message is one record.
const RECORD_SIZE: u32 = 4096;
/// Largest plaintext one record carries (RFC 8291 §4: 4096 minus the
/// 16-byte tag, the delimiter, and the header of 86 bytes counted by push
/// services against their 4096-byte limit).
pub const MAX_PLAINTEXT: usize = 3993;

/// A subscription's keys, as the browser gave them.
#[derive(Debug, Clone)]
pub struct Receiver {
    /// The user agent's P-256 public key, uncompressed (65 bytes).
    pub p256dh: PublicKey,
    /// The shared authentication secret (16 bytes).
    pub auth: [u8; 16],
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("p256dh is not an uncompressed P-256 point")]
    BadPoint,
    #[error("auth is not 16 bytes")]
    BadAuth,
}

impl Receiver {
    /// From the raw bytes of `keys.p256dh` and `keys.auth`.
    pub fn from_bytes(p256dh: &[u8], auth: &[u8]) -> Result<Receiver, KeyError> {
        if p256dh.len() != 65 || p256dh[0] != 4 {
            return Err(KeyError::BadPoint);
        }
        let p256dh = PublicKey::from_sec1_bytes(p256dh).map_err(|_| KeyError::BadPoint)?;
        let auth = auth.try_into().map_err(|_| KeyError::BadAuth)?;
        Ok(Receiver { p256dh, auth })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a push payload is at most {MAX_PLAINTEXT} bytes")]
pub struct TooLarge;

/// Encrypt `plaintext` for `to` with a fresh sender key and salt.
pub fn encrypt(to: &Receiver, plaintext: &[u8]) -> Result<Vec<u8>, TooLarge> {
    let sender = EphemeralSecret::random(&mut OsRng);
    let sender_public = EncodedPoint::from(sender.public_key());
    let shared = sender.diffie_hellman(&to.p256dh);
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    seal(
        to,
        shared.raw_secret_bytes().as_slice(),
        sender_public.as_bytes(),
        salt,
        plaintext,
    )
}

/// The RFC's steps from an agreed secret on: key and nonce derivation,
/// then the one record with its header.
fn seal(
    to: &Receiver,
    ecdh_secret: &[u8],
    sender_public: &[u8],
    salt: [u8; 16],
    plaintext: &[u8],
) -> Result<Vec<u8>, TooLarge> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(TooLarge);
    }
    let receiver_public = EncodedPoint::from(to.p256dh);
    let (cek, nonce) = derive(
        &to.auth,
        ecdh_secret,
        receiver_public.as_bytes(),
        sender_public,
        &salt,
    );
    // The last (and only) record: the plaintext, then the delimiter 2.
    let mut record = Vec::with_capacity(plaintext.len() + 1);
    record.extend_from_slice(plaintext);
    record.push(2);
    let cipher = Aes128Gcm::new_from_slice(&cek).expect("a 16-byte key");
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &record,
                aad: b"",
            },
        )
        .expect("AES-GCM encryption of a bounded record cannot fail");

    let mut body = Vec::with_capacity(16 + 4 + 1 + sender_public.len() + sealed.len());
    body.extend_from_slice(&salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(u8::try_from(sender_public.len()).expect("a 65-byte key id"));
    body.extend_from_slice(sender_public);
    body.extend_from_slice(&sealed);
    Ok(body)
}

/// The content key and nonce (RFC 8291 §3.4, RFC 8188 §2.2).
fn derive(
    auth: &[u8; 16],
    ecdh_secret: &[u8],
    receiver_public: &[u8],
    sender_public: &[u8],
    salt: &[u8],
) -> ([u8; 16], [u8; 12]) {
    // IKM = HKDF(auth, ecdh, "WebPush: info" || 0 || ua_public || as_public, 32)
    let mut key_info = b"WebPush: info\0".to_vec();
    key_info.extend_from_slice(receiver_public);
    key_info.extend_from_slice(sender_public);
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(auth), ecdh_secret)
        .expand(&key_info, &mut ikm)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    let mut nonce = [0u8; 12];
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
        .expect("16 bytes is a valid HKDF-SHA256 length");
    prk.expand(b"Content-Encoding: nonce\0", &mut nonce)
        .expect("12 bytes is a valid HKDF-SHA256 length");
    (cek, nonce)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a single aes128gcm record for this key")]
pub struct Undecryptable;

/// Decrypt a one-record `aes128gcm` push for the holder of `private` and
/// `auth`: what a browser does. The benchmark's receiver uses it; the
/// tests decrypt with an independent library instead.
pub fn decrypt(
    private: &p256::SecretKey,
    auth: &[u8; 16],
    body: &[u8],
) -> Result<Vec<u8>, Undecryptable> {
    let salt = body.get(..16).ok_or(Undecryptable)?;
    let id_len = usize::from(*body.get(20).ok_or(Undecryptable)?);
    let sender_public = body.get(21..21 + id_len).ok_or(Undecryptable)?;
    let sealed = body.get(21 + id_len..).ok_or(Undecryptable)?;
    let sender = PublicKey::from_sec1_bytes(sender_public).map_err(|_| Undecryptable)?;
    let shared = p256::ecdh::diffie_hellman(private.to_nonzero_scalar(), sender.as_affine());
    let receiver_public = EncodedPoint::from(private.public_key());
    let (cek, nonce) = derive(
        auth,
        shared.raw_secret_bytes().as_slice(),
        receiver_public.as_bytes(),
        sender_public,
        salt,
    );
    let cipher = Aes128Gcm::new_from_slice(&cek).expect("a 16-byte key");
    let mut record = cipher
        .decrypt(Nonce::from_slice(&nonce), sealed)
        .map_err(|_| Undecryptable)?;
    // Strip the padding and the last-record delimiter (2).
    while record.last() == Some(&0) {
        record.pop();
    }
    (record.pop() == Some(2))
        .then_some(record)
        .ok_or(Undecryptable)
}

/// ECDH between a known sender key and the receiver (the test vector's
/// fixed sender key; production always uses [`encrypt`]).
#[cfg(test)]
fn seal_with(to: &Receiver, sender: &p256::SecretKey, salt: [u8; 16], plaintext: &[u8]) -> Vec<u8> {
    let shared = p256::ecdh::diffie_hellman(sender.to_nonzero_scalar(), to.p256dh.as_affine());
    let public = EncodedPoint::from(sender.public_key());
    seal(
        to,
        shared.raw_secret_bytes().as_slice(),
        public.as_bytes(),
        salt,
        plaintext,
    )
    .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use p256::SecretKey;

    fn b64(s: &str) -> Vec<u8> {
        B64.decode(s).unwrap()
    }

    /// RFC 8291, Appendix A.
    #[test]
    fn the_rfc_8291_test_vector() {
        let ua_public = b64(
            "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
        );
        let auth = b64("BTBZMqHH6r4Tts7J_aSIgg");
        let as_private =
            SecretKey::from_slice(&b64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw")).unwrap();
        let salt: [u8; 16] = b64("DGv6ra1nlYgDCS1FRnbzlw").try_into().unwrap();
        let to = Receiver::from_bytes(&ua_public, &auth).unwrap();
        let body = seal_with(
            &to,
            &as_private,
            salt,
            b"When I grow up, I want to be a watermelon",
        );
        let expected = b64(
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
        );
        assert_eq!(body, expected);
        // And the user agent's side: its private key opens it.
        let ua_private =
            SecretKey::from_slice(&b64("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94")).unwrap();
        let auth: [u8; 16] = auth.try_into().unwrap();
        assert_eq!(
            decrypt(&ua_private, &auth, &expected).unwrap(),
            b"When I grow up, I want to be a watermelon"
        );
    }

    #[test]
    fn what_is_encrypted_decrypts_with_the_receivers_key_only() {
        let key = SecretKey::random(&mut OsRng);
        let point = EncodedPoint::from(key.public_key());
        let to = Receiver::from_bytes(point.as_bytes(), &[7; 16]).unwrap();
        let body = encrypt(&to, b"{\"badge\":3}").unwrap();
        assert_eq!(decrypt(&key, &[7; 16], &body).unwrap(), b"{\"badge\":3}");
        assert_eq!(decrypt(&key, &[8; 16], &body), Err(Undecryptable));
        let other = SecretKey::random(&mut OsRng);
        assert_eq!(decrypt(&other, &[7; 16], &body), Err(Undecryptable));
    }

    #[test]
    fn bad_keys_and_large_payloads_are_refused() {
        assert_eq!(
            Receiver::from_bytes(&[4; 65], &[0; 16]).unwrap_err(),
            KeyError::BadPoint
        );
        let key = SecretKey::random(&mut OsRng);
        let point = EncodedPoint::from(key.public_key());
        assert_eq!(
            Receiver::from_bytes(point.as_bytes(), &[0; 15]).unwrap_err(),
            KeyError::BadAuth
        );
        let to = Receiver::from_bytes(point.as_bytes(), &[0; 16]).unwrap();
        assert!(encrypt(&to, &[b'x'; MAX_PLAINTEXT]).is_ok());
        assert_eq!(encrypt(&to, &[b'x'; MAX_PLAINTEXT + 1]), Err(TooLarge));
    }
}
