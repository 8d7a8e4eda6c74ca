//! An external identity provider's tokens: its key, its claims, and how its
//! identities and roles become ours (always namespaced, roles only through
//! the configured map).

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use uuid::Uuid;

use super::{EXTERNAL_USER_NAMESPACE, validation};
use crate::config::Secret;

/// An external identity provider whose access tokens we accept.
#[derive(Debug, Clone)]
pub struct ExternalIssuer {
    /// Must equal the tokens' `iss`.
    pub issuer: String,
    /// Must be one of the tokens' `aud`.
    pub audience: String,
    pub key: ExternalKey,
    /// The issuer's role names that grant one of ours (`JWT_ROLE_MAP`,
    /// `theirs=ours`). A role the map does not name grants nothing: an
    /// identity provider's `auditor` is not ours unless configured so.
    pub role_map: Vec<(String, String)>,
}

/// The external issuer's verification key.
#[derive(Debug, Clone)]
pub enum ExternalKey {
    /// A shared HS256 secret.
    Hs256(Secret),
    /// A public key in PEM: RSA (RS256/384/512) or EC (ES256/384), detected.
    PublicPem(String),
}

/// An external issuer, ready to verify with.
pub(super) struct External {
    pub(super) issuer: String,
    pub(super) key: DecodingKey,
    pub(super) validation: Validation,
    pub(super) role_map: Vec<(String, String)>,
}

/// What we read from an external issuer's token.
#[derive(Deserialize)]
pub(super) struct ExternalClaims {
    pub(super) sub: String,
    #[serde(default)]
    pub(super) preferred_username: Option<String>,
    /// Used only when it is a list of strings.
    #[serde(default)]
    pub(super) roles: serde_json::Value,
}

pub(super) fn external(ext: &ExternalIssuer) -> Result<External, String> {
    if ext.issuer.is_empty() || ext.audience.is_empty() {
        return Err("the external issuer and audience must not be empty".into());
    }
    let (key, algorithms) = match &ext.key {
        ExternalKey::Hs256(secret) if secret.expose().is_empty() => {
            return Err("the external issuer's secret is empty".into());
        }
        ExternalKey::Hs256(secret) => (
            DecodingKey::from_secret(secret.expose().as_bytes()),
            vec![Algorithm::HS256],
        ),
        ExternalKey::PublicPem(pem) => public_key(pem)?,
    };
    Ok(External {
        issuer: ext.issuer.clone(),
        validation: validation(algorithms, &ext.issuer, &ext.audience),
        key,
        role_map: ext.role_map.clone(),
    })
}

/// RSA first, then EC.
fn public_key(pem: &str) -> Result<(DecodingKey, Vec<Algorithm>), String> {
    if let Ok(key) = DecodingKey::from_rsa_pem(pem.as_bytes()) {
        let algs = vec![Algorithm::RS256, Algorithm::RS384, Algorithm::RS512];
        return Ok((key, algs));
    }
    match DecodingKey::from_ec_pem(pem.as_bytes()) {
        Ok(key) => Ok((key, vec![Algorithm::ES256, Algorithm::ES384])),
        Err(e) => Err(format!(
            "JWT_PUBLIC_KEY_PEM is neither an RSA nor an EC public key: {e}"
        )),
    }
}

/// The user id of an external identity: a UUIDv5 of `"{iss}|{sub}"`, stable
/// for as long as the issuer keeps `sub`. Always namespaced, even when `sub`
/// is itself a UUID: an issuer's subject must never be able to name one of
/// our local users (or another issuer's).
pub fn external_user_id(issuer: &str, sub: &str) -> Uuid {
    Uuid::new_v5(
        &EXTERNAL_USER_NAMESPACE,
        format!("{issuer}|{sub}").as_bytes(),
    )
}

/// Our roles for an external token's `roles`, through the configured map.
pub(super) fn mapped_roles(map: &[(String, String)], theirs: &[String]) -> Vec<String> {
    let mut ours: Vec<String> = map
        .iter()
        .filter(|(t, _)| theirs.contains(t))
        .map(|(_, o)| o.clone())
        .collect();
    ours.sort();
    ours.dedup();
    ours
}

pub(super) fn string_list(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
