//! The built-in auth against real Postgres: register, login, refresh with
//! rotation and reuse detection, logout, token verification over HTTP and
//! profiles for users of an external issuer.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::FromRef;
use axum::routing::get;
use axum::{Json, Router};
use chat_auth::{self as auth, AuthConfig, AuthService};
use chat_common::auth::{
    AuthUser, Claims, ExternalIssuer, ExternalKey, JwtConfig, ROLE_AUDITOR, TokenSigner, Verifier,
    external_user_id,
};
use chat_common::config::Secret;
use chat_domain::user_stream;
use chat_store::postgres::{PgEventStore, PgStoreConfig, migrate};
use chat_store::{Direction, EventStore, RecordedEvent, Upcasters};
use chat_testkit::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const SECRET: &str = "integration-test-secret-0123456789";
const EXTERNAL_ISSUER: &str = "https://idp.example";
const EXTERNAL_AUDIENCE: &str = "chat-app";
const EXTERNAL_SECRET: &str = "the-idp-shared-secret";
const PASSWORD: &str = "correct horse battery";

/// The app's state plus the verifier, so a test route can take [`AuthUser`].
#[derive(Clone)]
struct TestState {
    auth: Arc<AuthService>,
    verifier: Arc<Verifier>,
}

impl FromRef<TestState> for Arc<AuthService> {
    fn from_ref(s: &TestState) -> Self {
        s.auth.clone()
    }
}

impl FromRef<TestState> for Arc<Verifier> {
    fn from_ref(s: &TestState) -> Self {
        s.verifier.clone()
    }
}

async fn whoami(AuthUser(p): AuthUser) -> Json<Value> {
    Json(json!({ "user_id": p.user_id, "external": p.external, "roles": p.roles }))
}

/// The auth routes served on a free port, with a typed client.
struct TestApp {
    _db: TestDb,
    addr: SocketAddr,
    client: reqwest::Client,
    pool: PgPool,
    store: Arc<PgEventStore>,
    auth: Arc<AuthService>,
}

fn jwt_config() -> JwtConfig {
    JwtConfig {
        external: Some(ExternalIssuer {
            issuer: EXTERNAL_ISSUER.into(),
            audience: EXTERNAL_AUDIENCE.into(),
            key: ExternalKey::Hs256(Secret::new(EXTERNAL_SECRET)),
            role_map: vec![],
        }),
        ..JwtConfig::new(Secret::new(SECRET))
    }
}

impl TestApp {
    async fn spawn() -> TestApp {
        let db = TestDb::create().await;
        let pool = db.pool(16).await;
        migrate(&pool).await.unwrap();
        chat_auth::migrator().run(&pool).await.unwrap();
        let store = Arc::new(PgEventStore::new(
            pool.clone(),
            Upcasters::new(),
            PgStoreConfig::default(),
        ));
        let auth = Arc::new(
            AuthService::new(pool.clone(), store.clone(), AuthConfig::new(jwt_config())).unwrap(),
        );
        let state = TestState {
            verifier: auth.verifier(),
            auth: auth.clone(),
        };
        let app = Router::new()
            .merge(auth::routes())
            .route("/whoami", get(whoami))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestApp {
            _db: db,
            addr,
            client: reqwest::Client::new(),
            pool,
            store,
            auth,
        }
    }

    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(format!("http://{}{path}", self.addr))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn register(&self, username: &str, password: &str) -> reqwest::Response {
        let body = json!({ "username": username, "password": password });
        self.post("/v1/auth/register", body).await
    }

    async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        let body = json!({ "username": username, "password": password });
        self.post("/v1/auth/login", body).await
    }

    async fn refresh(&self, token: &str) -> reqwest::Response {
        self.post("/v1/auth/refresh", json!({ "refresh_token": token }))
            .await
    }

    async fn logout(&self, token: &str) -> reqwest::Response {
        self.post("/v1/auth/logout", json!({ "refresh_token": token }))
            .await
    }

    async fn whoami(&self, token: &str) -> reqwest::Response {
        self.client
            .get(format!("http://{}/whoami", self.addr))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Register `username` and answer the token pair.
    async fn registered(&self, username: &str) -> Value {
        let res = self.register(username, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }

    async fn events_of(&self, user_id: Uuid) -> Vec<RecordedEvent> {
        self.store
            .read_stream(&user_stream(user_id), 1, Direction::Forward, 100)
            .await
            .unwrap()
    }
}

/// Status and problem code of an error answer, checking it is problem+json.
async fn problem(res: reqwest::Response) -> (StatusCode, String) {
    let status = res.status();
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = res.json().await.unwrap();
    (status, body["code"].as_str().unwrap().to_owned())
}

fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn registering_answers_tokens_the_verifier_accepts_and_records_the_user() {
    let app = TestApp::spawn().await;
    let pair = app
        .post(
            "/v1/auth/register",
            json!({ "username": "Alice", "password": PASSWORD, "display_name": "Alice A." }),
        )
        .await;
    assert_eq!(pair.status(), StatusCode::CREATED);
    let pair: Value = pair.json().await.unwrap();
    let user_id: Uuid = s(&pair, "user_id").parse().unwrap();
    assert_eq!(pair["expires_in"], 900);
    assert!(!s(&pair, "refresh_token").is_empty());

    let principal = app
        .auth
        .verifier()
        .verify(&s(&pair, "access_token"))
        .unwrap();
    assert_eq!(principal.user_id, user_id);
    assert!(!principal.external);

    let events = app.events_of(user_id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "UserRegistered");
    assert_eq!(events[0].metadata.actor, Some(user_id));
    assert_eq!(events[0].payload["username"], "alice");
    assert_eq!(events[0].payload["display_name"], "Alice A.");
    let payload = events[0].payload.to_string();
    assert!(!payload.contains(PASSWORD) && !payload.contains("argon2"));

    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM auth_credentials WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(hash.starts_with("$argon2id$"));
}

#[tokio::test]
async fn a_taken_username_is_a_conflict_whatever_its_case() {
    let app = TestApp::spawn().await;
    app.registered("bob").await;
    let (status, code) = problem(app.register("  BOB ", PASSWORD).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "username_taken")
    );
}

#[tokio::test]
async fn bad_usernames_and_passwords_are_refused_with_their_codes() {
    let app = TestApp::spawn().await;
    let res = app.register("a b", PASSWORD).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], 400);
    assert_eq!(body["code"], "invalid_username");
    assert_eq!(body["field"], "username");
    let (status, code) = problem(app.register("carol", "short").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_password")
    );
    let long = "x".repeat(129);
    let (_, code) = problem(app.register("carol", &long).await).await;
    assert_eq!(code, "invalid_password");
    // Nothing was kept of the refused attempts.
    assert_eq!(
        app.login("carol", "short").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn unknown_fields_and_malformed_json_are_400_problems() {
    let app = TestApp::spawn().await;
    let body = json!({ "username": "dave", "password": PASSWORD, "admin": true });
    let (status, code) = problem(app.post("/v1/auth/register", body).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_body")
    );
    let res = app
        .client
        .post(format!("http://{}/v1/auth/login", app.addr))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, code) = problem(res).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "malformed_json")
    );
}

#[tokio::test]
async fn logging_in_needs_the_right_password_and_unknown_users_look_the_same() {
    let app = TestApp::spawn().await;
    let registered = app.registered("erin").await;
    let res = app.login("ERIN", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let pair: Value = res.json().await.unwrap();
    assert_eq!(pair["user_id"], registered["user_id"]);
    assert!(
        app.auth
            .verifier()
            .verify(&s(&pair, "access_token"))
            .is_ok()
    );

    let wrong = problem(app.login("erin", "wrong password").await).await;
    let unknown = problem(app.login("nobody", PASSWORD).await).await;
    assert_eq!(
        wrong,
        (StatusCode::UNAUTHORIZED, "invalid_credentials".into())
    );
    assert_eq!(unknown, wrong);
}

/// No username holds a control character, and Postgres refuses NUL in
/// text: such a name is an unknown user, not a 503 (the API fuzzer found
/// the 503).
#[tokio::test]
async fn a_username_with_a_nul_is_an_unknown_user() {
    let app = TestApp::spawn().await;
    app.registered("gina").await;
    let nul = problem(app.login("gi\u{0}na", PASSWORD).await).await;
    assert_eq!(
        nul,
        (StatusCode::UNAUTHORIZED, "invalid_credentials".into())
    );
}

#[tokio::test]
async fn refreshing_rotates_the_refresh_token() {
    let app = TestApp::spawn().await;
    let first = app.registered("frank").await;
    let res = app.refresh(&s(&first, "refresh_token")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let second: Value = res.json().await.unwrap();
    assert_eq!(second["user_id"], first["user_id"]);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert!(
        app.auth
            .verifier()
            .verify(&s(&second, "access_token"))
            .is_ok()
    );
    // The new refresh token rotates in turn.
    let res = app.refresh(&s(&second, "refresh_token")).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_its_whole_family() {
    let app = TestApp::spawn().await;
    let first = app.registered("grace").await;
    let other_login: Value = app.login("grace", PASSWORD).await.json().await.unwrap();
    let second: Value = app
        .refresh(&s(&first, "refresh_token"))
        .await
        .json()
        .await
        .unwrap();

    let reused = problem(app.refresh(&s(&first, "refresh_token")).await).await;
    assert_eq!(
        reused,
        (StatusCode::UNAUTHORIZED, "refresh_token_reused".into())
    );
    // The newest token of the family is dead too; another login is not.
    let newest = problem(app.refresh(&s(&second, "refresh_token")).await).await;
    assert_eq!(
        newest,
        (StatusCode::UNAUTHORIZED, "invalid_refresh_token".into())
    );
    let res = app.refresh(&s(&other_login, "refresh_token")).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn of_two_concurrent_refreshes_with_one_token_only_one_wins() {
    let app = TestApp::spawn().await;
    let pair = app.registered("heidi").await;
    let token = s(&pair, "refresh_token");
    let (a, b) = tokio::join!(app.refresh(&token), app.refresh(&token));
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::UNAUTHORIZED]);
}

#[tokio::test]
async fn logging_out_revokes_the_family_and_can_be_repeated() {
    let app = TestApp::spawn().await;
    let pair = app.registered("ivan").await;
    let token = s(&pair, "refresh_token");
    assert_eq!(app.logout(&token).await.status(), StatusCode::NO_CONTENT);
    let refused = problem(app.refresh(&token).await).await;
    assert_eq!(
        refused,
        (StatusCode::UNAUTHORIZED, "invalid_refresh_token".into())
    );
    assert_eq!(app.logout(&token).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.logout("never-issued").await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused() {
    let app = TestApp::spawn().await;
    let pair = app.registered("judy").await;
    sqlx::query("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    let refused = problem(app.refresh(&s(&pair, "refresh_token")).await).await;
    assert_eq!(
        refused,
        (StatusCode::UNAUTHORIZED, "invalid_refresh_token".into())
    );
}

#[tokio::test]
async fn a_role_granted_in_sql_reaches_the_next_access_token() {
    let app = TestApp::spawn().await;
    let pair = app.registered("mallory").await;
    sqlx::query("UPDATE auth_credentials SET roles = '{auditor}' WHERE username = 'mallory'")
        .execute(&app.pool)
        .await
        .unwrap();
    let fresh: Value = app
        .refresh(&s(&pair, "refresh_token"))
        .await
        .json()
        .await
        .unwrap();
    let p = app
        .auth
        .verifier()
        .verify(&s(&fresh, "access_token"))
        .unwrap();
    assert!(p.has_role(ROLE_AUDITOR));
    let res: Value = app
        .whoami(&s(&fresh, "access_token"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(res["roles"], json!(["auditor"]));
}

#[tokio::test]
async fn expired_and_foreign_access_tokens_are_refused_with_401() {
    let app = TestApp::spawn().await;
    let pair = app.registered("niaj").await;
    let res = app.whoami(&s(&pair, "access_token")).await;
    assert_eq!(res.status(), StatusCode::OK);

    let ours = TokenSigner::new(&JwtConfig::new(Secret::new(SECRET))).unwrap();
    let user_id: Uuid = s(&pair, "user_id").parse().unwrap();
    let long_ago = OffsetDateTime::now_utc() - Duration::hours(1);
    let expired = ours
        .sign(&ours.claims(user_id, vec![], long_ago, Duration::minutes(15)))
        .unwrap();
    let answer = problem(app.whoami(&expired).await).await;
    assert_eq!(answer, (StatusCode::UNAUTHORIZED, "token_expired".into()));

    let stranger = TokenSigner::new(&JwtConfig::new(Secret::new("another secret"))).unwrap();
    let forged = stranger
        .sign(&stranger.claims(
            user_id,
            vec![ROLE_AUDITOR.into()],
            OffsetDateTime::now_utc(),
            Duration::minutes(15),
        ))
        .unwrap();
    let answer = problem(app.whoami(&forged).await).await;
    assert_eq!(answer, (StatusCode::UNAUTHORIZED, "invalid_token".into()));

    let res = app
        .client
        .get(format!("http://{}/whoami", app.addr))
        .send()
        .await
        .unwrap();
    let answer = problem(res).await;
    assert_eq!(answer, (StatusCode::UNAUTHORIZED, "missing_token".into()));
}

fn external_token(sub: &str, username: &str) -> String {
    let signer = TokenSigner::new(&JwtConfig::new(Secret::new(EXTERNAL_SECRET))).unwrap();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    signer
        .sign(&json!({
            "sub": sub, "iat": now, "exp": now + 300,
            "iss": EXTERNAL_ISSUER, "aud": EXTERNAL_AUDIENCE,
            "preferred_username": username,
        }))
        .unwrap()
}

#[tokio::test]
async fn an_external_users_token_is_accepted_and_gets_a_profile_exactly_once() {
    let app = TestApp::spawn().await;
    let token = external_token("google-oauth2|1234", "Olivia Example");
    let principal = app.auth.verifier().verify(&token).unwrap();
    assert!(principal.external);
    let expected = external_user_id(EXTERNAL_ISSUER, "google-oauth2|1234");
    assert_eq!(principal.user_id, expected);
    assert_eq!(app.whoami(&token).await.status(), StatusCode::OK);

    app.auth.ensure_profile(&principal).await.unwrap();
    app.auth.ensure_profile(&principal).await.unwrap();
    let events = app.events_of(expected).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "UserRegistered");
    assert_eq!(events[0].payload["username"], "olivia_example");
    assert_eq!(events[0].payload["display_name"], "Olivia Example");

    // The username is reserved: nobody can register it, nor log in as it.
    let (_, code) = problem(app.register("olivia_example", PASSWORD).await).await;
    assert_eq!(code, "username_taken");
    let (_, code) = problem(app.login("olivia_example", "!external").await).await;
    assert_eq!(code, "invalid_credentials");
}

#[tokio::test]
async fn an_external_user_whose_name_is_taken_gets_one_derived_from_the_id() {
    let app = TestApp::spawn().await;
    app.registered("peggy").await;
    let principal = app
        .auth
        .verifier()
        .verify(&external_token("peggy-at-idp", "peggy"))
        .unwrap();
    let ensure = |p| {
        let auth = app.auth.clone();
        async move { auth.ensure_profile(&p).await }
    };
    // Two first requests at once still make one profile.
    let (a, b) = tokio::join!(ensure(principal.clone()), ensure(principal.clone()));
    a.unwrap();
    b.unwrap();
    let events = app.events_of(principal.user_id).await;
    assert_eq!(events.len(), 1);
    let hex = principal.user_id.simple().to_string();
    assert_eq!(events[0].payload["username"], format!("user_{}", &hex[..8]));
}

#[tokio::test]
async fn our_own_users_are_left_alone_by_ensure_profile() {
    let app = TestApp::spawn().await;
    let pair = app.registered("rupert").await;
    let principal = app
        .auth
        .verifier()
        .verify(&s(&pair, "access_token"))
        .unwrap();
    app.auth.ensure_profile(&principal).await.unwrap();
    assert_eq!(app.events_of(principal.user_id).await.len(), 1);
    // A forged claim set with our issuer but a non-UUID subject is refused.
    let ours = TokenSigner::new(&jwt_config()).unwrap();
    let mut claims: Claims = ours.claims(
        principal.user_id,
        vec![],
        OffsetDateTime::now_utc(),
        Duration::minutes(1),
    );
    claims.sub = "rupert".into();
    assert!(
        app.auth
            .verifier()
            .verify(&ours.sign(&claims).unwrap())
            .is_err()
    );
}
