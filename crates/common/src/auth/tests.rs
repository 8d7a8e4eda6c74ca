//! Verifying our tokens and an external issuer's.

use jsonwebtoken::{EncodingKey, Header};

use super::*;
use axum::http::Request;
use serde_json::json;
use time::{Duration, OffsetDateTime};

/// A throwaway RSA key pair, only for these tests.
const TEST_RSA_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDZOJltWnXz/UZ9\nkoD4fa4nKK+uvY3GMe9uFplr57+dLO1bQUF9vMfZsBt0mphP7KlmoyIA/79n4J1a\nNojTC4cZFaY/v+H6aRU/7InWm05TON+fYk5a7W6eTvzs1aSp8U3op5LgPl6rFwwo\nstTBdGSymsvVSPIDeSEaEjMNuT8u0CGEjpQdSgttr5LsuZYogI0c8VY0Mgwm2pjE\n3yXLC+gzpsuw26MWDUXAxmo2KausSq9P8+FmqgLqEgfo+TJi/QiMHxdqQWDjUQgd\n+N41gBgEFcoeGrYECeY4wQvqou0ZCSNBSeBJIKHCgnktiCXhhxico1ug4BJBZXeQ\nQKBYWFKFAgMBAAECggEASPoAZaIiBYX+JBrPlGwY0ZQULacGFeNZ1ojmIz/Y+pOI\n7IMIXxdIpwRIvQxhBlzyboZ42pARPHNUOeYfYpO5X/6Le1haMZgTKQYtKrnDfycY\nzcGnpFmnM61CwMhnySZF79c4e3jIsj8MeTHXU2Tona5us2mN0QflTI53s3EcXnu0\nZ496Gk5wbXqx5Dpzoo3EhJVics2qJhSz1menXsc5EwQRvdnjK9WI348uzSo2iBNs\n+tURBYrAJUpIZD/AzPiqZenremlP6ZHFskTpcKRO/px86Zo4GRcthMPjhA4T4cx+\ncIMUO4RA3S/LlG3AMnV51aeuROvCQLRSqDCScthFowKBgQD2Cq375GbFWsHFiJpe\n1GWz+n1w9nmHgURIhufmOZw5lJeeLrkXWwZt0iRyY93yeuhk7N/a2/xL3hhBtuDg\nhgIhNUBCUMJkV/2JMwQ4YAwjfNykqsm2Gw2ia2oprRC01Kz4KEOBwpfW9PSKx3XI\npo2KgTdabNylxQtIzKGDLSYjkwKBgQDiA0ywpET/NSbjGwqhxNYx7r4EmOS7FoLt\nGiqA1PcoO3umYn7+JQXexgwu8Qsk5bcWIzi48OsfF29eZO1T9BbhSVgrHnOeAuis\npBTRTRfTfxuSi+9vJ5yVhKRVomx2IueKMKala7X0C4ZsP303RW5wZ3UNLYxiI1cL\ngrXjzTAwhwKBgFVdKzQj8Iw0itpQJM8V/htNo0wYF94tuVU4iSjVgCByL5CQQWOb\nD0X3DPIrOAwzHII3tQsoHAbujZfvLWJ43DBNW3gmsOtDpBGAA8zTdiKx5ZO0Nbva\n8wYRIopHI266AzEuNw3ESA4qetXTkkgFkUImxt+2uW9CSEH/zWHHvl3FAoGBAMAH\ns6pF+EWqYH8Ho9Hsz10fjx2S1ozLRLS1zbUmvVTWrWmiOGoxBLrSJNnhfel8sEHD\n7Vbdg7goDjzynd79/k6uJZaFShDQQeclhnaK/Rp63e92rBoSWu2DBKmp1mPNplL4\noS7dxHw1KqJgk0BZ4srobEClGajsg/HIvkhuN2qTAoGBAJhV3HJDTCI34GqKM/c5\nNEV9x0o4U30DS+PUmk7CeCnbqxjuzZpsO/uLAUek4fL8gbdOgYp/zKPwI6Iig6KE\n7qUfAUtCpSKvS67Kv9uv7UbVgot5qk1ko5PpZZPPO35zoOz8Ranrms9ightHXm77\nNLB0l/DRwsSUPBgOVRpYDdeK\n-----END PRIVATE KEY-----";
const TEST_RSA_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA2TiZbVp18/1GfZKA+H2u\nJyivrr2NxjHvbhaZa+e/nSztW0FBfbzH2bAbdJqYT+ypZqMiAP+/Z+CdWjaI0wuH\nGRWmP7/h+mkVP+yJ1ptOUzjfn2JOWu1unk787NWkqfFN6KeS4D5eqxcMKLLUwXRk\nsprL1UjyA3khGhIzDbk/LtAhhI6UHUoLba+S7LmWKICNHPFWNDIMJtqYxN8lywvo\nM6bLsNujFg1FwMZqNimrrEqvT/PhZqoC6hIH6PkyYv0IjB8XakFg41EIHfjeNYAY\nBBXKHhq2BAnmOMEL6qLtGQkjQUngSSChwoJ5LYgl4YcYnKNboOASQWV3kECgWFhS\nhQIDAQAB\n-----END PUBLIC KEY-----";
/// A throwaway P-256 key pair, only for these tests.
const TEST_EC_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQguwPS4RXVdejU6Rjl\nqswtY8kE1fY46yrJIoTY7LIOmTShRANCAARTQDmXQcHAQYc+kL0oK43Vr9DDLYV8\nJJi+SgN0MeIxGrCGcknUyCB8QHvzFMo+hAnorXhofniz31CcOp98gPjo\n-----END PRIVATE KEY-----";
const TEST_EC_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEU0A5l0HBwEGHPpC9KCuN1a/Qwy2F\nfCSYvkoDdDHiMRqwhnJJ1MggfEB78xTKPoQJ6K14aH54s99QnDqffID46A==\n-----END PUBLIC KEY-----";

fn config() -> JwtConfig {
    JwtConfig::new(Secret::new("our-test-secret-of-enough-length"))
}

fn with_external(key: ExternalKey) -> JwtConfig {
    JwtConfig {
        external: Some(ExternalIssuer {
            issuer: "https://idp.example".into(),
            audience: "chat-app".into(),
            key,
            role_map: vec![("idp-audit".into(), ROLE_AUDITOR.into())],
        }),
        ..config()
    }
}

#[test]
fn external_roles_count_only_through_the_configured_map() {
    let secret = Secret::new("the-idp-shared-secret");
    let v = Verifier::new(&with_external(ExternalKey::Hs256(secret.clone()))).unwrap();
    let signer = TokenSigner::new(&JwtConfig::new(secret)).unwrap();
    let mut claims = external_claims("carol");
    claims["roles"] = json!(["auditor", "admin"]);
    let p = v.verify(&signer.sign(&claims).unwrap()).unwrap();
    assert!(
        p.roles.is_empty(),
        "an IdP's own `auditor` is not ours: {:?}",
        p.roles
    );
    claims["roles"] = json!(["idp-audit"]);
    let p = v.verify(&signer.sign(&claims).unwrap()).unwrap();
    assert_eq!(p.roles, vec![ROLE_AUDITOR.to_owned()]);
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn ours(user: Uuid, ttl: Duration) -> String {
    let signer = TokenSigner::new(&config()).unwrap();
    signer
        .sign(&signer.claims(user, vec![ROLE_AUDITOR.into()], now(), ttl))
        .unwrap()
}

fn external_claims(sub: &str) -> serde_json::Value {
    let iat = now().unix_timestamp();
    json!({
        "sub": sub, "iat": iat, "exp": iat + 300,
        "iss": "https://idp.example", "aud": ["chat-app", "other"],
        "preferred_username": "Alice Example",
    })
}

fn code(r: Result<Principal, ApiError>) -> &'static str {
    let e = r.unwrap_err();
    assert_eq!(e.status, StatusCode::UNAUTHORIZED);
    e.code
}

#[test]
fn a_token_we_signed_names_its_user_and_roles() {
    let user = Uuid::now_v7();
    let v = Verifier::new(&config()).unwrap();
    let p = v.verify(&ours(user, Duration::minutes(15))).unwrap();
    assert_eq!(p.user_id, user);
    assert!(p.has_role(ROLE_AUDITOR));
    assert!(!p.external);
    assert_eq!(p.username_hint, None);
}

#[test]
fn an_expired_token_is_refused_as_expired() {
    let v = Verifier::new(&config()).unwrap();
    let token = ours(Uuid::now_v7(), Duration::seconds(-120));
    assert_eq!(code(v.verify(&token)), "token_expired");
}

#[test]
fn a_token_expired_within_the_leeway_is_still_accepted() {
    let v = Verifier::new(&config()).unwrap();
    assert!(
        v.verify(&ours(Uuid::now_v7(), Duration::seconds(-5)))
            .is_ok()
    );
}

#[test]
fn a_token_signed_with_another_secret_is_invalid() {
    let other = TokenSigner::new(&JwtConfig::new(Secret::new("another-secret"))).unwrap();
    let token = other
        .sign(&other.claims(Uuid::now_v7(), vec![], now(), Duration::minutes(5)))
        .unwrap();
    let v = Verifier::new(&config()).unwrap();
    assert_eq!(code(v.verify(&token)), "invalid_token");
}

#[test]
fn a_token_for_another_audience_is_invalid() {
    let signer = TokenSigner::new(&JwtConfig {
        audience: "someone-else".into(),
        ..config()
    })
    .unwrap();
    let token = signer
        .sign(&signer.claims(Uuid::now_v7(), vec![], now(), Duration::minutes(5)))
        .unwrap();
    let v = Verifier::new(&config()).unwrap();
    assert_eq!(code(v.verify(&token)), "invalid_token");
}

#[test]
fn our_tokens_need_a_uuid_subject_and_garbage_is_invalid() {
    let signer = TokenSigner::new(&config()).unwrap();
    let mut claims = signer.claims(Uuid::now_v7(), vec![], now(), Duration::minutes(5));
    claims.sub = "alice".into();
    let v = Verifier::new(&config()).unwrap();
    assert_eq!(
        code(v.verify(&signer.sign(&claims).unwrap())),
        "invalid_token"
    );
    assert_eq!(code(v.verify("not.a.jwt")), "invalid_token");
    assert_eq!(code(v.verify("  ")), "missing_token");
}

#[test]
fn an_external_hs256_token_maps_its_subject_to_a_stable_user_id() {
    let secret = Secret::new("the-idp-shared-secret");
    let v = Verifier::new(&with_external(ExternalKey::Hs256(secret.clone()))).unwrap();
    let signer = TokenSigner::new(&JwtConfig::new(secret)).unwrap();
    let p = v
        .verify(&signer.sign(&external_claims("auth0|42")).unwrap())
        .unwrap();
    assert!(p.external);
    assert_eq!(
        p.user_id,
        external_user_id("https://idp.example", "auth0|42")
    );
    assert_eq!(p.user_id.get_version_num(), 5);
    assert_eq!(p.username_hint.as_deref(), Some("Alice Example"));
    // A UUID subject is namespaced too: it can never name a local user.
    let id = Uuid::new_v4();
    let p = v
        .verify(&signer.sign(&external_claims(&id.to_string())).unwrap())
        .unwrap();
    assert_ne!(p.user_id, id);
    assert_eq!(
        p.user_id,
        external_user_id("https://idp.example", &id.to_string())
    );
    // Our own tokens still work next to the external issuer.
    assert!(
        v.verify(&ours(Uuid::now_v7(), Duration::minutes(1)))
            .is_ok()
    );
}

#[test]
fn an_external_token_signed_with_our_secret_is_invalid() {
    let v = Verifier::new(&with_external(ExternalKey::Hs256(Secret::new("idp")))).unwrap();
    let ours = TokenSigner::new(&config()).unwrap();
    let token = ours.sign(&external_claims("bob")).unwrap();
    assert_eq!(code(v.verify(&token)), "invalid_token");
}

#[test]
fn an_external_rs256_token_is_verified_with_the_public_key() {
    let v = Verifier::new(&with_external(ExternalKey::PublicPem(
        TEST_RSA_PUBLIC_PEM.into(),
    )))
    .unwrap();
    let key = EncodingKey::from_rsa_pem(TEST_RSA_PRIVATE_PEM.as_bytes()).unwrap();
    let claims = external_claims("rsa-user");
    let token = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap();
    let p = v.verify(&token).unwrap();
    assert_eq!(
        p.user_id,
        external_user_id("https://idp.example", "rsa-user")
    );
    // The same claims signed HS256 with the public key as a secret: the
    // algorithm confusion attack is refused.
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(TEST_RSA_PUBLIC_PEM.as_bytes()),
    )
    .unwrap();
    assert_eq!(code(v.verify(&forged)), "invalid_token");
}

#[test]
fn an_external_es256_token_is_verified_with_the_public_key() {
    let v = Verifier::new(&with_external(ExternalKey::PublicPem(
        TEST_EC_PUBLIC_PEM.into(),
    )))
    .unwrap();
    let key = EncodingKey::from_ec_pem(TEST_EC_PRIVATE_PEM.as_bytes()).unwrap();
    let token =
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), &external_claims("ec"), &key).unwrap();
    assert!(v.verify(&token).unwrap().external);
}

#[test]
fn a_pem_that_is_no_public_key_is_a_configuration_error() {
    let cfg = with_external(ExternalKey::PublicPem("-----BEGIN NONSENSE-----".into()));
    assert!(Verifier::new(&cfg).is_err());
}

async fn extract(req: Request<()>) -> Result<AuthUser, ApiError> {
    let state = Arc::new(Verifier::new(&config()).unwrap());
    let (mut parts, ()) = req.into_parts();
    <AuthUser as FromRequestParts<_>>::from_request_parts(&mut parts, &state).await
}

#[tokio::test]
async fn the_extractor_reads_the_bearer_header_and_the_query_fallback() {
    let user = Uuid::now_v7();
    let token = ours(user, Duration::minutes(5));
    let req = Request::builder()
        .uri("/v1/me")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(())
        .unwrap();
    assert_eq!(extract(req).await.unwrap().0.user_id, user);
    let req = Request::builder()
        .uri(format!("/v1/ws?x=1&access_token={token}"))
        .body(())
        .unwrap();
    assert_eq!(extract(req).await.unwrap().0.user_id, user);
}

#[tokio::test]
async fn the_extractor_refuses_missing_and_non_bearer_credentials() {
    let req = Request::builder().uri("/v1/me").body(()).unwrap();
    assert_eq!(extract(req).await.unwrap_err().code, "missing_token");
    let req = Request::builder()
        .uri("/v1/me")
        .header(header::AUTHORIZATION, "Basic YWxpY2U6c2VjcmV0")
        .body(())
        .unwrap();
    assert_eq!(extract(req).await.unwrap_err().code, "invalid_token");
}
