//! TOTP MFA end to end, with codes computed here from RFC 6238 (HMAC-SHA1,
//! 6 digits, 30 s), independently of the server's `totp-rs`: set up,
//! enable, the two-step login, a replayed and an expired code, recovery
//! codes used once, a challenge killed by wrong guesses, turning it off;
//! and the secret is sealed at rest.

use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha1::Sha1;

use chat_testkit::TestDb;

use crate::support::{Resp, TestApp, User, test_config};

const PASSWORD: &str = "correct horse battery";

/// RFC 6238 / RFC 4226: the 6-digit code of `secret` for time step `step`.
fn code(secret: &[u8], step: u64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).unwrap();
    mac.update(&step.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let o = (h[19] & 0xf) as usize;
    let n = u32::from_be_bytes([h[o] & 0x7f, h[o + 1], h[o + 2], h[o + 3]]);
    format!("{:06}", n % 1_000_000)
}

fn step_now() -> u64 {
    time::OffsetDateTime::now_utc().unix_timestamp() as u64 / 30
}

async fn call(app: &TestApp, method: Method, path: &str, who: Option<&User>, body: Value) -> Resp {
    app.call(method, path, who.map(|u| u.token.as_str()), Some(body))
        .await
}

async fn login(app: &TestApp, name: &str) -> Resp {
    call(
        app,
        Method::POST,
        "/v1/auth/login",
        None,
        json!({"username": name, "password": PASSWORD}),
    )
    .await
}

#[test]
fn the_tests_totp_matches_rfc_6238() {
    // Appendix B, SHA-1, T = 59 s: 94287082 (8 digits; the last 6 here).
    assert_eq!(code(b"12345678901234567890", 59 / 30), "287082");
}

#[tokio::test]
async fn totp_guards_the_login_and_each_code_works_once() {
    // Every guess counts against the account's login budget (10 in a
    // burst by default); this test guesses more than that on purpose.
    let db = TestDb::create().await;
    let mut config = test_config(&db);
    config.command.rate_limits.login.burst = 1_000;
    let app = TestApp::spawn_with(db, config).await;
    let me = app.register("tia").await;

    let r = call(
        &app,
        Method::POST,
        "/v1/me/mfa/totp/enable",
        Some(&me),
        json!({"code": "123456"}),
    )
    .await;
    r.problem(409, "mfa_not_set_up");
    let r = app.post("/v1/me/mfa/totp", &me, None).await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let b32 = r.body["secret"].as_str().unwrap().to_owned();
    let uri = r.body["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/chat:tia?secret="), "{uri}");
    assert!(uri.contains(&format!("secret={b32}")), "{uri}");
    let secret = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &b32).unwrap();

    // Sealed at rest: the secret's bytes are nowhere in its row.
    let pool = app.db().pool(1).await;
    let stored: Vec<u8> = sqlx::query_scalar("SELECT secret FROM auth_totp")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!stored.windows(secret.len()).any(|w| w == secret.as_slice()));
    assert!(!String::from_utf8_lossy(&stored).contains(&b32));

    // An expired code does not enable it; a current one does.
    let s = step_now();
    let r = call(
        &app,
        Method::POST,
        "/v1/me/mfa/totp/enable",
        Some(&me),
        json!({"code": code(&secret, s - 3)}),
    )
    .await;
    r.problem(403, "invalid_mfa_code");
    let r = call(
        &app,
        Method::POST,
        "/v1/me/mfa/totp/enable",
        Some(&me),
        json!({"code": code(&secret, s)}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let recovery: Vec<String> = serde_json::from_value(r.body["recovery_codes"].clone()).unwrap();
    assert_eq!(recovery.len(), 10);
    app.post("/v1/me/mfa/totp", &me, None)
        .await
        .problem(409, "mfa_already_enabled");

    // The password alone is not enough now.
    let r = login(&app, "tia").await;
    r.problem(401, "mfa_required");
    let challenge = r.body["mfa_token"].as_str().unwrap().to_owned();
    let second = |proof: Value| {
        let mut body = proof;
        body["mfa_token"] = json!(challenge);
        body
    };
    // The code that enabled it is spent (replay), a stale one too.
    for spent in [code(&secret, s), code(&secret, s - 2)] {
        call(
            &app,
            Method::POST,
            "/v1/auth/login/mfa",
            None,
            second(json!({"code": spent})),
        )
        .await
        .problem(403, "invalid_mfa_code");
    }
    let r = call(
        &app,
        Method::POST,
        "/v1/auth/login/mfa",
        None,
        second(json!({"code": code(&secret, s + 1)})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    assert!(r.body["access_token"].is_string());
    // The challenge is used up.
    call(
        &app,
        Method::POST,
        "/v1/auth/login/mfa",
        None,
        second(json!({"code": code(&secret, s + 1)})),
    )
    .await
    .problem(401, "invalid_mfa_token");

    // A recovery code (as typed: any case) works once.
    let challenge = login(&app, "tia").await.body["mfa_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let with = |proof: Value| {
        let mut body = proof;
        body["mfa_token"] = json!(challenge);
        body
    };
    let typed = recovery[0].to_uppercase();
    let r = call(
        &app,
        Method::POST,
        "/v1/auth/login/mfa",
        None,
        with(json!({"recovery_code": typed})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let challenge = login(&app, "tia").await.body["mfa_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let again = json!({"mfa_token": challenge, "recovery_code": recovery[0]});
    call(&app, Method::POST, "/v1/auth/login/mfa", None, again)
        .await
        .problem(403, "invalid_mfa_code");

    // Five wrong codes end the challenge, even for a right sixth.
    for _ in 1..5 {
        let wrong = json!({"mfa_token": challenge, "code": "000000"});
        call(&app, Method::POST, "/v1/auth/login/mfa", None, wrong)
            .await
            .problem(403, "invalid_mfa_code");
    }
    let late = json!({"mfa_token": challenge, "code": code(&secret, step_now() + 1)});
    call(&app, Method::POST, "/v1/auth/login/mfa", None, late)
        .await
        .problem(401, "invalid_mfa_token");

    // Off with a recovery code: the password is enough again.
    let r = call(
        &app,
        Method::DELETE,
        "/v1/me/mfa/totp",
        Some(&me),
        json!({"recovery_code": recovery[1]}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.raw);
    assert_eq!(login(&app, "tia").await.status, 200);
    call(
        &app,
        Method::DELETE,
        "/v1/me/mfa/totp",
        Some(&me),
        json!({"code": "123456"}),
    )
    .await
    .problem(409, "mfa_not_enabled");
}

/// Deleting an account with TOTP on needs a second factor besides the
/// password; a wrong one changes nothing, a recovery code does it.
#[tokio::test]
async fn deleting_an_account_with_totp_on_needs_a_code_as_well() {
    let app = TestApp::spawn().await;
    let me = app.register("tove").await;
    let r = app.post("/v1/me/mfa/totp", &me, None).await;
    let b32 = r.body["secret"].as_str().unwrap().to_owned();
    let secret = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &b32).unwrap();
    let r = call(
        &app,
        Method::POST,
        "/v1/me/mfa/totp/enable",
        Some(&me),
        json!({"code": code(&secret, step_now())}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let recovery = r.body["recovery_codes"][0].as_str().unwrap().to_owned();
    let delete = |body: Value| call(&app, Method::DELETE, "/v1/me", Some(&me), body);

    delete(json!({"password": PASSWORD}))
        .await
        .problem(403, "mfa_code_required");
    delete(json!({"password": PASSWORD, "code": "000000"}))
        .await
        .problem(403, "invalid_mfa_code");
    delete(json!({"password": "not the password", "recovery_code": recovery}))
        .await
        .problem(403, "wrong_password");
    let still = app.get("/v1/me", &me).await;
    assert_eq!(still.status, 200, "nothing changed: {}", still.raw);

    let r = delete(json!({"password": PASSWORD, "recovery_code": recovery})).await;
    assert_eq!(r.status, 202, "{}", r.raw);
    app.get("/v1/me", &me).await.problem(401, "session_revoked");
    login(&app, "tove")
        .await
        .problem(401, "invalid_credentials");
}
