//! Account mail through a real SMTP server on loopback
//! (`tests/mail/catcher.py`, aiosmtpd): address verification codes and
//! password resets arrive, work once, expire, and a reset signs out every
//! session; nobody learns whether an account or address exists.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chat_common::config::Secret;
use chat_testkit::TestDb;
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::support::{Resp, TestApp, test_config};

/// The SMTP server process and the directory it writes mail to.
struct Catcher {
    child: Child,
    dir: PathBuf,
    url: String,
}

impl Drop for Catcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Catcher {
    fn start() -> Catcher {
        let home = std::env::var("HOME").unwrap_or_default();
        let tools =
            std::env::var("CHAT_TOOLS_DIR").unwrap_or_else(|_| format!("{home}/.cache/chat-test"));
        let python = format!("{tools}/venv-mail/bin/python");
        let dir = std::env::temp_dir().join(format!("chat-mail-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(&python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/mail/catcher.py"
            ))
            .arg(&dir)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{python} (scripts/services installs it): {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().strip_prefix("listening ").expect("a port");
        Catcher {
            child,
            dir,
            url: format!("smtp://127.0.0.1:{port}"),
        }
    }

    /// Every mail received so far, in order.
    fn mails(&self) -> Vec<String> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// The `n`th mail (from 1), once it arrived.
    async fn mail(&self, n: usize) -> String {
        for _ in 0..100 {
            if let Some(m) = self.mails().get(n - 1) {
                return m.clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("mail {n} never arrived; got {:?}", self.mails());
    }
}

/// The code a mail carries (its indented line).
fn code(mail: &str) -> String {
    mail.lines()
        .find_map(|l| l.strip_prefix("    "))
        .unwrap_or_else(|| panic!("no code in {mail}"))
        .trim()
        .to_owned()
}

async fn app_mailing_to(catcher: &Catcher) -> TestApp {
    let db = TestDb::create().await;
    let mut config = test_config(&db);
    config.command.auth.mail.smtp_url = Some(Secret::new(catcher.url.clone()));
    config.command.auth.mail.from = "Chat <accounts@chat.test>".into();
    TestApp::spawn_with(db, config).await
}

async fn post(app: &TestApp, path: &str, body: serde_json::Value) -> Resp {
    app.call(Method::POST, path, None, Some(body)).await
}

async fn reset(app: &TestApp, body: serde_json::Value) {
    let r = post(app, "/v1/auth/password-reset", body).await;
    assert_eq!(r.status, 202, "{}", r.raw);
}

#[tokio::test]
async fn an_address_is_confirmed_by_the_mailed_code_once() {
    let mail = Catcher::start();
    let app = app_mailing_to(&mail).await;
    let r = app
        .call(
            Method::POST,
            "/v1/auth/register",
            None,
            Some(json!({"username": "mia", "password": "correct horse battery", "email": "not an address"})),
        )
        .await;
    r.problem(400, "invalid_email");
    let r = app
        .call(
            Method::POST,
            "/v1/auth/register",
            None,
            Some(json!({"username": "mia", "password": "correct horse battery", "email": "mia@example.org"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.raw);

    let first = mail.mail(1).await;
    assert!(first.contains("X-Envelope-To: mia@example.org"), "{first}");
    assert!(first.contains("From: Chat <accounts@chat.test>"), "{first}");
    assert!(
        first.contains("Subject: Confirm your e-mail address"),
        "{first}"
    );
    let token = code(&first);
    let r = post(&app, "/v1/auth/verify-email", json!({"token": token})).await;
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(
        r.body,
        json!({"email": "mia@example.org", "verified": true})
    );
    // Once.
    post(&app, "/v1/auth/verify-email", json!({"token": token}))
        .await
        .problem(400, "invalid_mail_code");

    // Another account cannot confirm an address someone has.
    let ann = app.register("ann_m").await;
    let r = app
        .call(
            Method::PUT,
            "/v1/me/email",
            Some(&ann.token),
            Some(json!({"email": "MIA@example.org"})),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.raw);
    let token = code(&mail.mail(2).await);
    post(&app, "/v1/auth/verify-email", json!({"token": token}))
        .await
        .problem(409, "email_taken");

    // An expired code does nothing.
    let r = app
        .call(
            Method::PUT,
            "/v1/me/email",
            Some(&ann.token),
            Some(json!({"email": "ann@example.org"})),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.raw);
    let token = code(&mail.mail(3).await);
    sqlx::query("UPDATE auth_mail_codes SET expires_at = now() - interval '1 second'")
        .execute(&app.db().pool(1).await)
        .await
        .unwrap();
    post(&app, "/v1/auth/verify-email", json!({"token": token}))
        .await
        .problem(400, "invalid_mail_code");
}

#[tokio::test]
async fn a_reset_code_works_once_and_signs_out_every_session() {
    let mail = Catcher::start();
    let app = app_mailing_to(&mail).await;
    let bo = app.register("bob_r").await;
    let other = app.register("unconfirmed").await;
    let r = app
        .call(
            Method::PUT,
            "/v1/me/email",
            Some(&bo.token),
            Some(json!({"email": "bo@example.org"})),
        )
        .await;
    assert_eq!(r.status, 202);
    let token = code(&mail.mail(1).await);
    assert_eq!(
        post(&app, "/v1/auth/verify-email", json!({"token": token}))
            .await
            .status,
        200
    );
    let r = app
        .call(
            Method::PUT,
            "/v1/me/email",
            Some(&other.token),
            Some(json!({"email": "u@example.org"})),
        )
        .await;
    assert_eq!(r.status, 202);
    mail.mail(2).await;

    // No account, no confirmed address, or both ways at once: the same
    // answer, and no mail.
    reset(&app, json!({"username": "nobody"})).await;
    reset(&app, json!({"email": "nobody@example.org"})).await;
    reset(&app, json!({"username": "unconfirmed"})).await;
    post(
        &app,
        "/v1/auth/password-reset",
        json!({"username": "bob_r", "email": "bo@example.org"}),
    )
    .await
    .problem(400, "invalid_body");
    // By address (any case): the code goes to the confirmed address.
    reset(&app, json!({"email": "BO@example.org"})).await;
    let m = mail.mail(3).await;
    assert!(m.contains("X-Envelope-To: bo@example.org"), "{m}");
    assert!(m.contains("Subject: Reset your password"), "{m}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(mail.mails().len(), 3, "the others mailed nothing");

    let token = code(&m);
    let confirm = |token: &str, password: &str| json!({"token": token, "new_password": password});
    post(
        &app,
        "/v1/auth/password-reset/confirm",
        confirm(&token, "short"),
    )
    .await
    .problem(400, "invalid_password");
    post(
        &app,
        "/v1/auth/password-reset/confirm",
        confirm("not-a-code", "a brand new one"),
    )
    .await
    .problem(400, "invalid_mail_code");
    let r = post(
        &app,
        "/v1/auth/password-reset/confirm",
        confirm(&token, "a brand new one"),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.raw);
    post(
        &app,
        "/v1/auth/password-reset/confirm",
        confirm(&token, "yet another one"),
    )
    .await
    .problem(400, "invalid_mail_code");

    // Every session is signed out; the new password logs in.
    app.get("/v1/me", &bo).await.problem(401, "session_revoked");
    let login = |password: &str| json!({"username": "bob_r", "password": password});
    post(&app, "/v1/auth/login", login("correct horse battery"))
        .await
        .problem(401, "invalid_credentials");
    let r = post(&app, "/v1/auth/login", login("a brand new one")).await;
    assert_eq!(r.status, 200, "{}", r.raw);
}
