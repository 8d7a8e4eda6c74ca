//! Several files in one upload (each judged alone), the list of one's
//! uploads, and deleting one (messages show it as removed).

use reqwest::Method;
use serde_json::{Value, json};

use crate::gateway_client::pos;
use crate::media::{
    BOUNDARY, eventually_no_files, files_under, form, media_dir, png, post_form, send_media,
};
use crate::support::{Resp, TestApp};

/// A form of `file` parts, each after its optional `kind` part.
fn files(parts: &[(Option<&str>, &str, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (kind, name, bytes) in parts {
        if let Some(k) = kind {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{k}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn statuses(r: &Resp) -> Vec<u64> {
    r.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("items in {}", r.raw))
        .iter()
        .map(|i| i["status"].as_u64().expect("a status"))
        .collect()
}

#[tokio::test]
async fn each_file_of_a_form_is_judged_alone_and_a_refused_one_leaves_nothing() {
    let app = TestApp::spawn().await;
    let me = app.register("many.files").await;
    let before = app.event_count().await;
    let body = files(&[
        (None, "a.png", png(2048)),
        (Some("video"), "not-a-video.png", png(512)),
        (None, "empty.bin", Vec::new()),
        (Some("file"), "notes.txt", b"plain words".to_vec()),
    ]);
    let r = post_form(&app, &me, body).await;
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(statuses(&r), [201, 415, 400, 201]);
    let items = r.body["items"].as_array().expect("items");
    assert_eq!(items[1]["problem"]["code"], "media_type_not_allowed");
    assert_eq!(items[2]["problem"]["code"], "media_empty");
    assert_eq!(items[0]["media"]["kind"], "image");
    assert_eq!(items[3]["media"]["kind"], "file");
    assert_eq!(app.event_count().await, before + 2, "two MediaUploaded");
    assert_eq!(
        files_under(&media_dir(&app)).len(),
        2,
        "only the two stored"
    );

    // One file answers as it always did.
    let one = post_form(&app, &me, files(&[(None, "b.png", png(64))])).await;
    assert_eq!(one.status, 201, "{}", one.raw);
    assert_eq!(one.body["kind"], "image");
}

#[tokio::test]
async fn a_form_refused_as_a_whole_stores_nothing() {
    let app = TestApp::spawn().await;
    let me = app.register("too.many").await;
    let before = app.event_count().await;
    let eleven: Vec<(Option<&str>, &str, Vec<u8>)> =
        (0..11).map(|_| (None, "x.png", png(64))).collect();
    post_form(&app, &me, files(&eleven))
        .await
        .problem(400, "too_many_files");
    // A trailing `kind` with no file after it refuses the files before it.
    let mut body = files(&[(None, "a.png", png(64)), (None, "b.png", png(64))]);
    let end = format!("--{BOUNDARY}--\r\n");
    body.truncate(body.len() - end.len());
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nimage\r\n{end}"
        )
        .as_bytes(),
    );
    post_form(&app, &me, body)
        .await
        .problem(400, "invalid_multipart");
    assert_eq!(app.event_count().await, before);
    eventually_no_files(&media_dir(&app)).await;
}

#[tokio::test]
async fn uploads_are_listed_and_a_deleted_one_shows_as_removed_in_messages() {
    let app = TestApp::spawn().await;
    let u = app.users(2).await;
    let chat = app.accepted_direct(&u[0], &u[1]).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let r = post_form(&app, &u[0], files(&[(None, "p.png", png(100 + n))])).await;
        ids.push(r.id("media_id"));
    }
    let sent = send_media(&app, chat, &u[0], "image", ids[0], "with-media").await;
    assert_eq!(sent.status, 201, "{}", sent.raw);

    // Newest first, two to a page.
    let list = |cursor: Option<String>, at: u64| {
        let (app, token) = (&app, u[0].token.clone());
        async move {
            let c = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
            app.call(
                Method::GET,
                &format!("/v1/media?limit=2&min_position={at}{c}"),
                Some(&token),
                None,
            )
            .await
        }
    };
    let first = list(None, pos(&sent.body)).await;
    assert_eq!(first.status, 200, "{}", first.raw);
    let page = |r: &Resp| -> Vec<Value> {
        r.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["media_id"].clone())
            .collect()
    };
    let next = first.body["next_cursor"].as_str().map(str::to_owned);
    let second = list(next, 0).await;
    let mut seen = page(&first);
    seen.extend(page(&second));
    assert_eq!(seen, [json!(ids[2]), json!(ids[1]), json!(ids[0])]);
    assert!(first.body["items"][0]["url"].is_string());
    // Someone else's list holds none of them.
    let theirs = app
        .call(Method::GET, "/v1/media", Some(&u[1].token), None)
        .await;
    assert_eq!(theirs.body["items"], json!([]));

    // Only the owner deletes; then it is gone from the list, the message
    // shows it as removed with no URL, and the blob is gone.
    app.delete(&format!("/v1/media/{}", ids[0]), &u[1])
        .await
        .problem(404, "media_not_found");
    let r = app.delete(&format!("/v1/media/{}", ids[0]), &u[0]).await;
    assert_eq!(r.status, 200, "{}", r.raw);
    let at = pos(&r.body);
    let again = app.delete(&format!("/v1/media/{}", ids[0]), &u[0]).await;
    assert_eq!(
        again.status, 200,
        "deleting twice changes nothing: {}",
        again.raw
    );
    let after = list(None, at).await;
    assert_eq!(page(&after), [json!(ids[2]), json!(ids[1])]);
    let h = app
        .call(
            Method::GET,
            &format!("/v1/chats/{chat}/messages?min_position={at}"),
            Some(&u[1].token),
            None,
        )
        .await;
    let media = &h.body["items"][0]["media"];
    assert_eq!(media["removed"], true, "{}", h.raw);
    assert!(media.get("url").is_none(), "{media}");
    assert_eq!(files_under(&media_dir(&app)).len(), 2);
}

/// A recipient fetches a media message's file the moment it reaches them,
/// while the projector is behind (held here by locking the media read
/// model's checkpoint, as a slow batch would): the download waits for the
/// read models instead of answering 404. It answered 404 before (seen in
/// CI from a Socket.IO client that downloads on `media_received`), with a
/// token and through the signed URL alike.
#[tokio::test]
async fn a_download_right_after_the_message_waits_for_a_lagging_projection() {
    let app = TestApp::spawn().await;
    let [alice, bob]: [crate::support::User; 2] = app.users(2).await.try_into().ok().unwrap();
    let chat = app.accepted_direct(&alice, &bob).await;

    let pool = app.db().pool(1).await;
    let mut hold = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM rm_media.checkpoint FOR UPDATE")
        .execute(&mut *hold)
        .await
        .unwrap();
    let up = post_form(&app, &alice, form(None, "now.png", &png(1024))).await;
    assert_eq!(up.status, 201, "{}", up.raw);
    let media_id = up.id("media_id");
    let signed = up.body["url"].as_str().expect("a signed url").to_owned();
    let sent = send_media(&app, chat, &alice, "image", media_id, "now-1").await;
    assert_eq!(sent.status, 201, "{}", sent.raw);

    let by_token = app
        .http
        .get(format!("{}/v1/media/{media_id}", app.base))
        .bearer_auth(&bob.token)
        .send();
    let by_url = app.http.get(format!("{}{signed}", app.base)).send();
    let release = async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        hold.commit().await.unwrap();
    };
    let (by_token, by_url, ()) = tokio::join!(by_token, by_url, release);
    assert_eq!(by_token.unwrap().status(), 200, "bob with his token");
    assert_eq!(by_url.unwrap().status(), 200, "the signed URL");

    // Media that does not exist is still 404 once the projection is there.
    let none = app
        .http
        .get(format!("{}/v1/media/{}", app.base, uuid::Uuid::now_v7()))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 404);
}
