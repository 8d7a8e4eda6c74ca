//! APNs (HTTP/2 provider API, token auth) against a loopback server that,
//! like Apple's, speaks HTTP/2 only and checks what Apple's documentation
//! says: `POST /3/device/<token>`, an ES256 provider token with the key's
//! `kid` and the team as `iss`, the topic, push type, priority, expiration
//! and collapse id headers, and a JSON body of at most 4 KiB with the alert
//! under `aps`. APNs itself cannot be reached from here.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chat_push::apns::ApnsConfig;
use chat_testkit::TestDb;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::http::request::Parts;
use hyper::{Request, Response, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use super::receiver::{key_pair, say, text};
use crate::support::{TestApp, User, test_config};

const KEY_ID: &str = "ABC123DEFG";
const TEAM_ID: &str = "DEF123GHIJ";
const TOPIC: &str = "com.example.chat";

/// One request as the loopback APNs took it.
#[derive(Debug, Clone)]
struct Taken {
    token: String,
    status: u16,
    at: Instant,
    headers: hyper::HeaderMap,
    body: Value,
}

#[derive(Default)]
struct Seen {
    faults: Vec<String>,
    taken: Vec<Taken>,
}

struct Fake {
    public_pem: String,
    seen: Mutex<Seen>,
}

impl Fake {
    /// What Apple documents, checked; `Err` says what was wrong.
    fn check(&self, req: &Parts, body: &[u8]) -> Result<(String, Value), String> {
        if req.version != Version::HTTP_2 || req.method != hyper::Method::POST {
            return Err(format!("{:?} {}", req.version, req.method));
        }
        let token = req
            .uri
            .path()
            .strip_prefix("/3/device/")
            .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_hexdigit()))
            .ok_or_else(|| format!("path {}", req.uri.path()))?
            .to_owned();
        let h = |name: &str| {
            req.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let jwt = h("authorization")
            .strip_prefix("bearer ")
            .ok_or("no bearer provider token")?
            .to_owned();
        let header = jsonwebtoken::decode_header(&jwt).map_err(|e| e.to_string())?;
        if header.alg != Algorithm::ES256 || header.kid.as_deref() != Some(KEY_ID) {
            return Err(format!("provider token header {header:?}"));
        }
        let mut v = Validation::new(Algorithm::ES256);
        v.validate_exp = false;
        v.required_spec_claims = HashSet::from(["iss".to_owned()]);
        v.set_issuer(&[TEAM_ID]);
        let key = DecodingKey::from_ec_pem(self.public_pem.as_bytes()).unwrap();
        let claims = jsonwebtoken::decode::<Value>(&jwt, &key, &v)
            .map_err(|e| format!("provider token: {e}"))?
            .claims;
        let age =
            time::OffsetDateTime::now_utc().unix_timestamp() - claims["iat"].as_i64().unwrap_or(0);
        if !(0..3600).contains(&age) {
            return Err(format!("provider token iat {age} s ago"));
        }
        if h("apns-topic") != TOPIC || h("apns-push-type") != "alert" {
            return Err(format!(
                "topic {} push type {}",
                h("apns-topic"),
                h("apns-push-type")
            ));
        }
        if !["5", "10"].contains(&h("apns-priority").as_str())
            || h("apns-expiration").parse::<u64>().is_err()
            || h("apns-collapse-id").is_empty()
            || h("apns-collapse-id").len() > 64
        {
            return Err(format!("headers {:?}", req.headers));
        }
        if body.len() > 4096 {
            return Err(format!("payload of {} bytes", body.len()));
        }
        let n: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let aps = &n["aps"];
        if !(aps["alert"]["title"].is_string()
            && aps["alert"]["body"].is_string()
            && aps["badge"].is_u64())
        {
            return Err(format!("payload {n}"));
        }
        Ok((token, n))
    }

    async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        let (parts, body) = req.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let answer = |status: u16, reason: Option<Value>| {
            Ok(Response::builder()
                .status(status)
                .header("apns-id", uuid::Uuid::new_v4().to_string())
                .body(Full::new(
                    reason
                        .map(|r| Bytes::from(r.to_string()))
                        .unwrap_or_default(),
                ))
                .unwrap())
        };
        let mut seen = self.seen.lock().unwrap();
        let (token, n) = match self.check(&parts, &body) {
            Ok(ok) => ok,
            Err(fault) => {
                seen.faults.push(fault);
                return answer(400, Some(json!({"reason": "BadRequest"})));
            }
        };
        // The first request is told its provider token expired, as APNs
        // says of one older than an hour.
        let (status, reason) = if seen.taken.is_empty() {
            (403, Some(json!({"reason": "ExpiredProviderToken"})))
        } else if token == "0bad" {
            (400, Some(json!({"reason": "BadDeviceToken"})))
        } else if token == "0ff" {
            (
                410,
                Some(json!({"reason": "Unregistered", "timestamp": 1_765_000_000_000u64})),
            )
        } else {
            (200, None)
        };
        seen.taken.push(Taken {
            token,
            status,
            at: Instant::now(),
            headers: parts.headers,
            body: n,
        });
        answer(status, reason)
    }
}

/// Serve the fake on loopback, HTTP/2 only (with prior knowledge: TLS
/// with ALPN `h2` is what differs in production); its base URL.
async fn serve(fake: Arc<Fake>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let fake = fake.clone();
            let service = hyper::service::service_fn(move |req| fake.clone().handle(req));
            tokio::spawn(
                hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    base
}

async fn register(app: &TestApp, who: &User, token: &str) -> crate::support::Resp {
    app.post(
        "/v1/me/push-subscriptions",
        who,
        Some(json!({"kind": "apns", "token": token})),
    )
    .await
}

#[tokio::test]
async fn apns_devices_get_one_alert_per_burst_over_http2_and_dead_tokens_are_removed() {
    let (key_pem, public_pem) =
        key_pair(&["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    let fake = Arc::new(Fake {
        public_pem,
        seen: Mutex::new(Seen::default()),
    });
    let base = serve(fake.clone()).await;
    let db = TestDb::create().await;
    let mut config = test_config(&db);
    config.push.delay = Duration::from_millis(300);
    config.push.apns = Some(ApnsConfig {
        key_pem,
        key_id: KEY_ID.into(),
        team_id: TEAM_ID.into(),
        topic: TOPIC.into(),
        endpoint: base,
    });
    let app = TestApp::spawn_with(db, config).await;
    let [alice, bob]: [User; 2] = app.users(2).await.try_into().ok().unwrap();
    let chat = app.accepted_direct(&alice, &bob).await;

    // A token becomes part of the request's path: hex only.
    for bad in ["a1/../../x", "a1?x=1", "zz"] {
        register(&app, &bob, bad).await.problem(400, "invalid_body");
    }
    let r = app
        .post(
            "/v1/me/push-subscriptions",
            &bob,
            Some(json!({"kind": "fcm", "token": "abc"})),
        )
        .await;
    r.problem(400, "push_kind_not_configured");
    for token in ["a1b2c3d4", "0bad", "0ff"] {
        let r = register(&app, &bob, token).await;
        assert_eq!(r.status, 201, "{}", r.raw);
    }

    say(&app, chat, &alice, text("one")).await;
    say(&app, chat, &alice, text("two")).await;
    let mut delivered = None;
    for _ in 0..200 {
        let list = app.get("/v1/me/push-subscriptions", &bob).await;
        {
            let seen = fake.seen.lock().unwrap();
            assert_eq!(seen.faults, Vec::<String>::new());
            delivered = seen.taken.iter().find(|t| t.status == 200).cloned();
        }
        if delivered.is_some() && list.body["items"].as_array().unwrap().len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let d = delivered.expect("the good device got its alert");
    let list = app.get("/v1/me/push-subscriptions", &bob).await;
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "unregistered and bad tokens are gone: {items:?}"
    );
    assert_eq!(items[0]["kind"], "apns");
    assert_eq!(d.token, "a1b2c3d4");
    let aps = &d.body["aps"];
    let me = app.get("/v1/me", &alice).await;
    assert_eq!(
        aps["alert"]["title"], me.body["display_name"],
        "a direct chat: the sender"
    );
    assert_eq!(aps["alert"]["body"], "two");
    assert_eq!(aps["thread-id"], chat.to_string());
    assert_eq!(aps["badge"], 2);
    assert_eq!(
        (d.body["type"].clone(), d.body["count"].clone()),
        (json!("message"), json!(2))
    );
    assert_eq!(
        d.headers["apns-collapse-id"],
        chat.simple().to_string().as_str()
    );
    assert_eq!(d.headers["apns-priority"], "5");

    let seen = fake.seen.lock().unwrap();
    // The expired provider token was signed anew and the alert sent again
    // at once, not after a retry's back-off (at least a second).
    let first = &seen.taken[0];
    assert_eq!(first.status, 403);
    let again = seen
        .taken
        .iter()
        .find(|t| t.token == first.token && t.status != 403)
        .unwrap();
    assert!(
        again.at - first.at < Duration::from_millis(900),
        "resent at once"
    );
    // Exactly one alert per device for the burst.
    let per_device = |token: &str| {
        seen.taken
            .iter()
            .filter(|t| t.token == token && t.status != 403)
            .count()
    };
    assert_eq!(
        (
            per_device("a1b2c3d4"),
            per_device("0bad"),
            per_device("0ff")
        ),
        (1, 1, 1)
    );
}
