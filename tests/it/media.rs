//! Media end to end: upload (streamed, sniffed, size-limited), send, download
//! by participants and through signed URLs, ranges, and the cleanup job.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{Resp, TestApp, User, test_config};
use chat_media::{MediaBackend, run_cleanup};
use chat_store::EventStore;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

pub(crate) const BOUNDARY: &str = "chatmediatestboundary7MA4YWxk";

/// A PNG header (IHDR 640x480) followed by `len` pseudo-random bytes.
pub(crate) fn png(len: usize) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend_from_slice(&640u32.to_be_bytes());
    b.extend_from_slice(&480u32.to_be_bytes());
    b.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut x: u32 = 0x1234_5678;
    b.extend((0..len).map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8
    }));
    b
}

pub(crate) fn form(kind: Option<&str>, file_name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    if let Some(k) = kind {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{k}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(app: &TestApp, who: &User, kind: Option<&str>, name: &str, bytes: &[u8]) -> Resp {
    post_form(app, who, form(kind, name, bytes)).await
}

/// `POST /v1/media` with a multipart body as given.
pub(crate) async fn post_form(app: &TestApp, who: &User, body: Vec<u8>) -> Resp {
    let res = app
        .http
        .post(format!("{}/v1/media", app.base))
        .bearer_auth(&who.token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .expect("the upload reaches the app");
    Resp::read(res).await
}

async fn get(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    range: Option<&str>,
) -> reqwest::Response {
    let mut req = app.http.get(format!("{}{path}", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(r) = range {
        req = req.header("range", r);
    }
    req.send().await.expect("the request reaches the app")
}

pub(crate) async fn send_media(
    app: &TestApp,
    chat: Uuid,
    who: &User,
    kind: &str,
    media: Uuid,
    cmid: &str,
) -> Resp {
    app.call(
        Method::POST,
        &format!("/v1/chats/{chat}/messages"),
        Some(&who.token),
        Some(json!({ "client_msg_id": cmid, "kind": kind, "media_id": media })),
    )
    .await
}

pub(crate) fn media_dir(app: &TestApp) -> PathBuf {
    match &app.config.media.backend {
        MediaBackend::Local(dir) => dir.clone(),
        MediaBackend::S3(_) => panic!("tests use a local directory"),
    }
}

pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Partial objects are removed by a blocking task after an abort; give it
/// a moment (bounded) before judging.
pub(crate) async fn eventually_no_files(dir: &Path) {
    for _ in 0..100 {
        if files_under(dir).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("files left behind: {:?}", files_under(dir));
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test]
async fn a_participant_downloads_the_exact_bytes_an_outsider_gets_404() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol]: [User; 3] = app.users(3).await.try_into().ok().unwrap();
    let chat = app.accepted_direct(&alice, &bob).await;
    let bytes = png(300 * 1024);

    let up = upload(&app, &alice, None, "cat.png", &bytes).await;
    assert_eq!(up.status, StatusCode::CREATED, "{:?}", up.body);
    assert_eq!(up.body["kind"], "image");
    assert_eq!(up.body["mime"], "image/png");
    assert_eq!(up.body["size"], bytes.len());
    assert_eq!(up.body["width"], 640);
    assert_eq!(up.body["height"], 480);
    assert_eq!(up.body["sha256"], sha(&bytes));
    let media_id = up.id("media_id");
    let events = crate::support::types(&app, &format!("user-{}", alice.id)).await;
    assert!(events.contains(&"MediaUploaded".to_owned()), "{events:?}");
    // The uploader may fetch it at once (from their stream, before the
    // read model has it).
    let res = get(
        &app,
        &format!("/v1/media/{media_id}"),
        Some(&alice.token),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(sha(&res.bytes().await.unwrap()), sha(&bytes));

    let sent = send_media(&app, chat, &alice, "image", media_id, "m1").await;
    assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);
    let pos = sent.body["position"].as_u64().unwrap();

    // The message page carries the descriptor and a signed URL.
    let page = app
        .call(
            Method::GET,
            &format!("/v1/chats/{chat}/messages?min_position={pos}"),
            Some(&bob.token),
            None,
        )
        .await;
    let media = &page.body["items"][0]["media"];
    assert_eq!(media["media_id"], media_id.to_string());
    assert_eq!(media["sha256"], sha(&bytes));
    let url = media["url"].as_str().expect("a signed url").to_owned();
    let chats = app
        .call(
            Method::GET,
            &format!("/v1/chats?min_position={pos}"),
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!(
        chats.body["items"][0]["last_message"]["preview"],
        "📷 Photo"
    );

    // Bob (a participant) with his token.
    let res = get(
        &app,
        &format!("/v1/media/{media_id}"),
        Some(&bob.token),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers().contains_key("cache-control"));
    let got = res.bytes().await.unwrap();
    assert_eq!(sha(&got), sha(&bytes));

    // Carol is in no chat with it: not found, whatever she tries.
    let res = get(
        &app,
        &format!("/v1/media/{media_id}"),
        Some(&carol.token),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "media_not_found");
    // Nor may she send it.
    let theirs = app.accepted_direct(&carol, &bob).await;
    let r = send_media(&app, theirs, &carol, "image", media_id, "steal").await;
    r.problem(404, "media_not_found");

    // The signed URL works without a token, and only until it expires.
    let res = get(&app, &url, None, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(sha(&res.bytes().await.unwrap()), sha(&bytes));
    let signer = &app.config.media.signer;
    let old = time::OffsetDateTime::now_utc().unix_timestamp() - 10 * signer.ttl_secs;
    let res = get(&app, &signer.url(media_id, old), None, None).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "signed_url_expired"
    );
    let forged = url.replace("sig=", "sig=00");
    let res = get(&app, &forged, None, None).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "signature_invalid"
    );
    // No token and no signature: 401.
    let res = get(&app, &format!("/v1/media/{media_id}"), None, None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Ranges.
    let res = get(
        &app,
        &format!("/v1/media/{media_id}"),
        Some(&bob.token),
        Some("bytes=100-199"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes 100-199/{}", bytes.len()).as_str()
    );
    assert_eq!(&res.bytes().await.unwrap()[..], &bytes[100..200]);
    let res = get(
        &app,
        &format!("/v1/media/{media_id}"),
        Some(&bob.token),
        Some("bytes=99999999-"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "invalid_range");
}

#[tokio::test]
async fn the_type_comes_from_the_bytes_not_the_name() {
    let app = TestApp::spawn().await;
    let [alice, bob]: [User; 2] = app.users(2).await.try_into().ok().unwrap();
    let chat = app.accepted_direct(&alice, &bob).await;

    let up = upload(&app, &alice, None, "setup.exe", &png(1000)).await;
    assert_eq!(up.status, StatusCode::CREATED, "{:?}", up.body);
    assert_eq!(up.body["kind"], "image");
    assert_eq!(up.body["mime"], "image/png");

    let script = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>";
    let r = upload(&app, &alice, Some("image"), "cute.png", script).await;
    r.problem(415, "media_type_not_allowed");
    let up = upload(&app, &alice, None, "cute.png", script).await;
    assert_eq!(up.status, StatusCode::CREATED, "{:?}", up.body);
    assert_eq!(up.body["kind"], "file");
    assert_eq!(up.body["mime"], "application/octet-stream");
    let file = up.id("media_id");
    // It cannot pass as a photo, only as a file.
    let r = send_media(&app, chat, &alice, "image", file, "f1").await;
    r.problem(400, "media_mismatch");
    let r = send_media(&app, chat, &alice, "file", file, "f2").await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let res = get(&app, &format!("/v1/media/{file}"), Some(&alice.token), None).await;
    assert_eq!(res.headers()["content-type"], "application/octet-stream");
    assert_eq!(
        res.headers()["content-disposition"],
        "attachment; filename=\"cute.png\""
    );

    let r = upload(&app, &alice, None, "empty.png", b"").await;
    r.problem(400, "media_empty");
}

#[tokio::test]
async fn an_upload_over_the_kinds_limit_is_413_and_leaves_nothing() {
    let db = chat_testkit::TestDb::create().await;
    let mut config = test_config(&db);
    config.media.limits.image = 64 * 1024;
    let app = TestApp::spawn_with(db, config).await;
    let alice = app.users(1).await.remove(0);

    let r = upload(&app, &alice, None, "big.png", &png(1024 * 1024)).await;
    r.problem(413, "media_too_large");
    eventually_no_files(&media_dir(&app)).await;
    // Files have the larger limit.
    let up = upload(&app, &alice, Some("file"), "big.png", &png(1024 * 1024)).await;
    assert_eq!(up.status, StatusCode::CREATED, "{:?}", up.body);
    assert_eq!(files_under(&media_dir(&app)).len(), 1);
}

#[tokio::test]
async fn a_client_that_disconnects_mid_upload_leaves_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.users(1).await.remove(0);
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/media HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        alice.token,
        10 * 1024 * 1024
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let body = form(None, "half.png", &png(8 * 1024 * 1024));
    // Past the sniffed head and the first store parts, then gone.
    tcp.write_all(&body[..6 * 1024 * 1024]).await.unwrap();
    tcp.flush().await.unwrap();
    // Wait until the server has started the object, so the test proves cleanup.
    let mut started = false;
    for _ in 0..250 {
        if !files_under(&media_dir(&app)).is_empty() {
            started = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(started, "the server never started writing the object");
    drop(tcp);
    eventually_no_files(&media_dir(&app)).await;
    let events = crate::support::types(&app, &format!("user-{}", alice.id)).await;
    assert!(!events.contains(&"MediaUploaded".to_owned()), "{events:?}");
}

#[tokio::test]
async fn cleanup_deletes_unattached_uploads_after_a_day_and_media_of_deleted_messages() {
    let app = TestApp::spawn().await;
    let [alice, bob]: [User; 2] = app.users(2).await.try_into().ok().unwrap();
    let chat = app.accepted_direct(&alice, &bob).await;
    let unattached = upload(&app, &alice, None, "a.png", &png(2000))
        .await
        .id("media_id");
    let deleted = upload(&app, &alice, None, "b.png", &png(2000))
        .await
        .id("media_id");
    let kept = upload(&app, &alice, None, "c.png", &png(2000))
        .await
        .id("media_id");
    let sent = send_media(&app, chat, &alice, "image", deleted, "b").await;
    let message = sent.id("message_id");
    // Forwarded into no other chat: the one message is its only reference.
    assert_eq!(
        send_media(&app, chat, &alice, "image", kept, "c")
            .await
            .status,
        StatusCode::CREATED
    );
    let r = app
        .call(
            Method::DELETE,
            &format!("/v1/chats/{chat}/messages/{message}?for=everyone"),
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(files_under(&media_dir(&app)).len(), 3);

    let media = app.state.media.as_ref().expect("the media side runs");
    let day = Duration::from_secs(24 * 3600);
    let now = time::OffsetDateTime::now_utc();
    let first = run_cleanup(media, now, day).await.unwrap();
    assert_eq!((first.unattached, first.unreferenced), (0, 1), "{first:?}");
    let later = run_cleanup(media, now + time::Duration::hours(25), day)
        .await
        .unwrap();
    assert_eq!((later.unattached, later.unreferenced), (1, 0), "{later:?}");
    let again = run_cleanup(media, now + time::Duration::hours(25), day)
        .await
        .unwrap();
    assert_eq!((again.unattached, again.unreferenced), (0, 0), "{again:?}");

    assert_eq!(files_under(&media_dir(&app)).len(), 1);
    let res = get(&app, &format!("/v1/media/{kept}"), Some(&bob.token), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    for gone in [unattached, deleted] {
        let pos = app.state.store.head_position().await.unwrap();
        let _ = app
            .call(
                Method::GET,
                &format!("/v1/me?min_position={pos}"),
                Some(&alice.token),
                None,
            )
            .await;
        let res = get(&app, &format!("/v1/media/{gone}"), Some(&alice.token), None).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
    let r = send_media(&app, chat, &alice, "image", unattached, "late").await;
    r.problem(404, "media_not_found");
    let events = crate::support::types(&app, &format!("user-{}", alice.id)).await;
    assert_eq!(events.iter().filter(|t| *t == "MediaDeleted").count(), 2);
}

/// The file is stored as it arrives, so a `kind` part after it came too
/// late to judge it: the upload is refused and nothing stays behind (it
/// was silently ignored; found by the API fuzzer).
#[tokio::test]
async fn a_kind_part_after_the_file_is_refused_and_leaves_nothing() {
    let app = TestApp::spawn().await;
    let me = app.register("late.kind").await;
    let before = app.event_count().await;
    let mut body = form(None, "p.png", &png(1024));
    let tail = format!("\r\n--{BOUNDARY}--\r\n");
    body.truncate(body.len() - tail.len());
    body.extend_from_slice(
        format!(
            "\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nvideo{tail}"
        )
        .as_bytes(),
    );
    post_form(&app, &me, body)
        .await
        .problem(400, "invalid_multipart");
    assert_eq!(app.event_count().await, before, "no MediaUploaded");
    assert!(
        files_under(&media_dir(&app)).is_empty(),
        "no blob left behind"
    );
}
