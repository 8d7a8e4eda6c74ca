//! Groups end to end: create, edit info, members, admins, leave.

use crate::support::{Resp, TestApp, User, assert_answer, types};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

async fn patch(app: &TestApp, chat: Uuid, who: &User, body: Value) -> Resp {
    app.call(
        Method::PATCH,
        &format!("/v1/chats/{chat}"),
        Some(&who.token),
        Some(body),
    )
    .await
}

async fn create(app: &TestApp, who: &User, body: Value) -> Resp {
    app.post("/v1/chats/group", who, Some(body)).await
}

#[tokio::test]
async fn creating_a_group_appends_group_created_with_the_creator_first() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let body = json!({ "title": "  Team  ", "member_ids": [users[1].id, users[2].id], "description": "our place" });
    let r = create(&app, &users[0], body).await;
    let chat = r.id("chat_id");
    let stream = format!("chat-{chat}");
    assert_answer(&r, 201, &stream);
    assert_eq!(r.body["version"], 1);
    let events = app.events(&stream).await;
    assert_eq!(events.len(), 1);
    let (t, p) = &events[0];
    assert_eq!(t, "GroupCreated");
    assert_eq!(p["owner_id"], users[0].id.to_string());
    assert_eq!(p["title"], "Team");
    assert_eq!(p["description"], "our place");
    let members: Vec<&str> = p["member_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let expected: Vec<String> = users.iter().map(|u| u.id.to_string()).collect();
    assert_eq!(members, expected);
}

#[tokio::test]
async fn a_group_of_fewer_than_three_distinct_people_is_too_small() {
    let app = TestApp::spawn().await;
    let users = app.users(2).await;
    let (me, other) = (&users[0], &users[1]);
    let before = app.event_count().await;
    for ids in [
        vec![],
        vec![other.id],
        vec![other.id, other.id],
        vec![other.id, me.id],
    ] {
        let r = create(&app, me, json!({ "title": "tiny", "member_ids": ids })).await;
        r.problem(400, "group_too_small");
        assert_eq!(r.body["field"], "member_ids", "{}", r.raw);
    }
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn creating_a_group_with_unknown_members_or_a_bad_title_is_refused() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let (me, ids) = (&users[0], [users[1].id, users[2].id]);
    let before = app.event_count().await;
    create(
        &app,
        me,
        json!({ "title": "ghosts", "member_ids": [ids[0], Uuid::new_v4()] }),
    )
    .await
    .problem(404, "user_not_found");
    create(&app, me, json!({ "title": "   ", "member_ids": ids }))
        .await
        .problem(400, "invalid_title");
    create(
        &app,
        me,
        json!({ "title": "t".repeat(129), "member_ids": ids }),
    )
    .await
    .problem(400, "invalid_title");
    let long = json!({ "title": "ok", "member_ids": ids, "description": "d".repeat(1025) });
    create(&app, me, long)
        .await
        .problem(400, "description_too_long");
    create(&app, me, json!({ "member_ids": ids }))
        .await
        .problem(400, "invalid_body");
    create(
        &app,
        me,
        json!({ "title": "ok", "member_ids": ids, "owner": me.id }),
    )
    .await
    .problem(400, "invalid_body");
    create(&app, me, json!({ "title": "ok", "member_ids": ["nope"] }))
        .await
        .problem(400, "invalid_body");
    app.call(
        Method::POST,
        "/v1/chats/group",
        None,
        Some(json!({ "title": "ok", "member_ids": ids })),
    )
    .await
    .problem(401, "missing_token");
    app.call(
        Method::POST,
        "/v1/chats/group",
        Some("garbage"),
        Some(json!({ "title": "ok", "member_ids": ids })),
    )
    .await
    .problem(401, "invalid_token");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn an_admin_updates_the_group_info() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let chat = app
        .group(&users[0], &[&users[1], &users[2]], "before")
        .await;
    let stream = format!("chat-{chat}");
    let body =
        json!({ "title": "after", "description": "new", "avatar_url": "https://x.example/g.png" });
    let r = patch(&app, chat, &users[0], body.clone()).await;
    assert_answer(&r, 200, &stream);
    assert_eq!(r.id("chat_id"), chat);
    assert_eq!(r.body["status"], "active");
    let events = app.events(&stream).await;
    let (t, p) = events.last().unwrap();
    assert_eq!(t, "GroupInfoUpdated");
    assert_eq!(p["title"], "after");
    assert_eq!(p["avatar_url"], "https://x.example/g.png");

    let before = app.event_count().await;
    let again = patch(&app, chat, &users[0], body).await;
    assert_answer(&again, 200, &stream);
    assert_eq!(again.body["version"], r.body["version"]);
    assert_eq!(
        app.event_count().await,
        before,
        "the same info again appends nothing"
    );
}

#[tokio::test]
async fn only_admins_of_the_group_may_update_its_info() {
    let app = TestApp::spawn().await;
    let users = app.users(4).await;
    let chat = app
        .group(&users[0], &[&users[1], &users[2]], "guarded")
        .await;
    let direct = app.accepted_direct(&users[0], &users[3]).await;
    let before = app.event_count().await;
    let body = json!({ "title": "hijacked" });
    patch(&app, chat, &users[1], body.clone())
        .await
        .problem(403, "not_an_admin");
    patch(&app, chat, &users[3], body.clone())
        .await
        .problem(404, "chat_not_found");
    patch(&app, Uuid::new_v4(), &users[0], body.clone())
        .await
        .problem(404, "chat_not_found");
    patch(&app, direct, &users[0], body.clone())
        .await
        .problem(400, "not_a_group");
    patch(&app, chat, &users[0], json!({ "avatar_url": "ftp://x" }))
        .await
        .problem(400, "invalid_avatar_url");
    patch(&app, chat, &users[0], json!({ "title": "" }))
        .await
        .problem(400, "invalid_title");
    patch(&app, chat, &users[0], json!({ "topic": "x" }))
        .await
        .problem(400, "invalid_body");
    let path = format!("/v1/chats/{chat}");
    app.call(
        Method::PATCH,
        "/v1/chats/xyz",
        Some(&users[0].token),
        Some(body.clone()),
    )
    .await
    .problem(400, "invalid_id");
    app.call(Method::PATCH, &path, None, Some(body.clone()))
        .await
        .problem(401, "missing_token");
    app.call(Method::PATCH, &path, Some("garbage"), Some(body))
        .await
        .problem(401, "invalid_token");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn if_match_on_a_chat_command_is_strict() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let chat = app
        .group(&users[0], &[&users[1], &users[2]], "strict")
        .await;
    let stream = format!("chat-{chat}");
    let path = format!("/v1/chats/{chat}");
    let before = app.event_count().await;
    let body = json!({ "title": "renamed" });
    let r = app
        .call_with(
            Method::PATCH,
            &path,
            Some(&users[0].token),
            Some(body.clone()),
            &[("If-Match", "2")],
        )
        .await;
    r.problem(409, "version_conflict");
    assert_eq!(app.event_count().await, before);
    let r = app
        .call_with(
            Method::PATCH,
            &path,
            Some(&users[0].token),
            Some(body),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_answer(&r, 200, &stream);
    assert_eq!(r.body["version"], 2);
    assert_eq!(
        types(&app, &stream).await,
        ["GroupCreated", "GroupInfoUpdated"]
    );
}

#[tokio::test]
async fn an_admin_adds_members_and_adding_them_again_appends_nothing() {
    let app = TestApp::spawn().await;
    let users = app.users(5).await;
    let chat = app
        .group(&users[0], &[&users[1], &users[2]], "growing")
        .await;
    let stream = format!("chat-{chat}");
    let path = format!("/v1/chats/{chat}/members");
    let r = app
        .post(
            &path,
            &users[0],
            Some(json!({ "user_ids": [users[3].id, users[4].id, users[1].id] })),
        )
        .await;
    assert_answer(&r, 200, &stream);
    assert_eq!(r.id("chat_id"), chat);
    let events = app.events(&stream).await;
    let (t, p) = events.last().unwrap();
    assert_eq!(t, "MembersAdded");
    assert_eq!(
        p["user_ids"],
        json!([users[3].id, users[4].id]),
        "existing members are left out"
    );

    let before = app.event_count().await;
    let again = app
        .post(&path, &users[0], Some(json!({ "user_ids": [users[3].id] })))
        .await;
    assert_answer(&again, 200, &stream);
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn adding_members_is_for_admins_with_known_users() {
    let app = TestApp::spawn().await;
    let users = app.users(5).await;
    let chat = app
        .group(&users[0], &[&users[1], &users[2]], "members only")
        .await;
    let path = format!("/v1/chats/{chat}/members");
    let body = json!({ "user_ids": [users[3].id] });
    let before = app.event_count().await;
    app.post(&path, &users[1], Some(body.clone()))
        .await
        .problem(403, "not_an_admin");
    app.post(&path, &users[4], Some(body.clone()))
        .await
        .problem(404, "chat_not_found");
    app.post(
        &format!("/v1/chats/{}/members", Uuid::new_v4()),
        &users[0],
        Some(body.clone()),
    )
    .await
    .problem(404, "chat_not_found");
    app.post(
        &path,
        &users[0],
        Some(json!({ "user_ids": [Uuid::new_v4()] })),
    )
    .await
    .problem(404, "user_not_found");
    app.post(&path, &users[0], Some(json!({ "user_ids": [] })))
        .await
        .problem(400, "invalid_user_ids");
    app.post(&path, &users[0], Some(json!({ "user_ids": "all" })))
        .await
        .problem(400, "invalid_body");
    app.post("/v1/chats/oops/members", &users[0], Some(body.clone()))
        .await
        .problem(400, "invalid_id");
    app.call(Method::POST, &path, None, Some(body.clone()))
        .await
        .problem(401, "missing_token");
    app.call(Method::POST, &path, Some("garbage"), Some(body))
        .await
        .problem(401, "invalid_token");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn an_admin_removes_a_member() {
    let app = TestApp::spawn().await;
    let users = app.users(4).await;
    let chat = app
        .group(&users[0], &[&users[1], &users[2], &users[3]], "trimmed")
        .await;
    let stream = format!("chat-{chat}");
    let r = app
        .delete(
            &format!("/v1/chats/{chat}/members/{}", users[3].id),
            &users[0],
        )
        .await;
    assert_answer(&r, 200, &stream);
    assert_eq!(r.id("chat_id"), chat);
    assert_eq!(r.id("user_id"), users[3].id);
    let events = app.events(&stream).await;
    let (t, p) = events.last().unwrap();
    assert_eq!(t, "MemberRemoved");
    assert_eq!(p["user_id"], users[3].id.to_string());

    let before = app.event_count().await;
    app.send(chat, &users[3], "gone", "still here?")
        .await
        .problem(404, "chat_not_found");
    let again = app
        .delete(
            &format!("/v1/chats/{chat}/members/{}", users[3].id),
            &users[0],
        )
        .await;
    again.problem(404, "not_a_member");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn removing_the_owner_yourself_or_as_a_member_is_refused() {
    let app = TestApp::spawn().await;
    let users = app.users(5).await;
    let (owner, admin, member, outsider) = (&users[0], &users[1], &users[2], &users[4]);
    let chat = app
        .group(owner, &[admin, member, &users[3]], "protected")
        .await;
    let r = app
        .post(
            &format!("/v1/chats/{chat}/admins/{}", admin.id),
            owner,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let before = app.event_count().await;
    let remove = |who: &User, target: Uuid| {
        let (app, token) = (&app, who.token.clone());
        async move {
            app.call(
                Method::DELETE,
                &format!("/v1/chats/{chat}/members/{target}"),
                Some(&token),
                None,
            )
            .await
        }
    };
    remove(admin, owner.id)
        .await
        .problem(403, "cannot_remove_owner");
    remove(admin, admin.id)
        .await
        .problem(400, "cannot_remove_self");
    remove(member, users[3].id)
        .await
        .problem(403, "not_an_admin");
    remove(outsider, users[3].id)
        .await
        .problem(404, "chat_not_found");
    remove(owner, outsider.id)
        .await
        .problem(404, "not_a_member");
    let unknown_chat = format!("/v1/chats/{}/members/{}", Uuid::new_v4(), member.id);
    app.delete(&unknown_chat, owner)
        .await
        .problem(404, "chat_not_found");
    app.delete(&format!("/v1/chats/{chat}/members/not-a-user"), owner)
        .await
        .problem(400, "invalid_id");
    app.delete(
        &format!("/v1/chats/not-a-chat/members/{}", member.id),
        owner,
    )
    .await
    .problem(400, "invalid_id");
    let path = format!("/v1/chats/{chat}/members/{}", member.id);
    app.call(Method::DELETE, &path, None, None)
        .await
        .problem(401, "missing_token");
    app.call(Method::DELETE, &path, Some("garbage"), None)
        .await
        .problem(401, "invalid_token");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn promoting_and_demoting_an_admin_appends_role_events_once() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let chat = app.group(&users[0], &[&users[1], &users[2]], "roles").await;
    let stream = format!("chat-{chat}");
    let path = format!("/v1/chats/{chat}/admins/{}", users[1].id);

    let r = app.post(&path, &users[0], None).await;
    assert_answer(&r, 200, &stream);
    assert_eq!(r.id("user_id"), users[1].id);
    let events = app.events(&stream).await;
    let (t, p) = events.last().unwrap();
    assert_eq!(t, "AdminPromoted");
    assert_eq!(p["user_id"], users[1].id.to_string());
    assert_eq!(p["by"], users[0].id.to_string());

    let before = app.event_count().await;
    let again = app.post(&path, &users[0], None).await;
    assert_answer(&again, 200, &stream);
    assert_eq!(again.body["version"], r.body["version"]);
    assert_eq!(
        app.event_count().await,
        before,
        "promoting an admin appends nothing"
    );

    // The new admin may now do admin things.
    let renamed = app
        .call(
            Method::PATCH,
            &format!("/v1/chats/{chat}"),
            Some(&users[1].token),
            Some(json!({ "title": "by admin" })),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.raw);

    let r = app.delete(&path, &users[0]).await;
    assert_answer(&r, 200, &stream);
    assert_eq!(
        types(&app, &stream).await.last().map(String::as_str),
        Some("AdminDemoted")
    );
    let before = app.event_count().await;
    let again = app.delete(&path, &users[0]).await;
    assert_answer(&again, 200, &stream);
    assert_eq!(
        app.event_count().await,
        before,
        "demoting a member appends nothing"
    );
}

#[tokio::test]
async fn the_owner_cannot_be_demoted_and_members_cannot_change_roles() {
    let app = TestApp::spawn().await;
    let users = app.users(4).await;
    let (owner, admin, member, outsider) = (&users[0], &users[1], &users[2], &users[3]);
    let chat = app.group(owner, &[admin, member], "hierarchy").await;
    let r = app
        .post(
            &format!("/v1/chats/{chat}/admins/{}", admin.id),
            owner,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let before = app.event_count().await;
    let owner_path = format!("/v1/chats/{chat}/admins/{}", owner.id);
    app.delete(&owner_path, admin)
        .await
        .problem(403, "cannot_demote_owner");
    app.delete(&owner_path, owner)
        .await
        .problem(403, "cannot_demote_owner");
    for method in [Method::POST, Method::DELETE] {
        let call = |who: &User, target: Uuid| {
            let (app, token, method) = (&app, who.token.clone(), method.clone());
            async move {
                app.call(
                    method,
                    &format!("/v1/chats/{chat}/admins/{target}"),
                    Some(&token),
                    None,
                )
                .await
            }
        };
        call(member, admin.id).await.problem(403, "not_an_admin");
        call(outsider, member.id)
            .await
            .problem(404, "chat_not_found");
        call(owner, outsider.id).await.problem(404, "not_a_member");
        let unknown_chat = format!("/v1/chats/{}/admins/{}", Uuid::new_v4(), member.id);
        app.call(method.clone(), &unknown_chat, Some(&owner.token), None)
            .await
            .problem(404, "chat_not_found");
        let bad = format!("/v1/chats/{chat}/admins/123");
        app.call(method.clone(), &bad, Some(&owner.token), None)
            .await
            .problem(400, "invalid_id");
        let path = format!("/v1/chats/{chat}/admins/{}", member.id);
        app.call(method.clone(), &path, None, None)
            .await
            .problem(401, "missing_token");
        app.call(method.clone(), &path, Some("garbage"), None)
            .await
            .problem(401, "invalid_token");
    }
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn a_member_leaving_appends_member_left() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let chat = app.group(&users[0], &[&users[1], &users[2]], "door").await;
    let stream = format!("chat-{chat}");
    let r = app
        .post(&format!("/v1/chats/{chat}/leave"), &users[2], None)
        .await;
    assert_answer(&r, 200, &stream);
    assert_eq!(r.id("chat_id"), chat);
    let events = app.events(&stream).await;
    let (t, p) = events.last().unwrap();
    assert_eq!(t, "MemberLeft");
    assert_eq!(p["user_id"], users[2].id.to_string());
    assert_eq!(events.len(), 2, "a member's leave hands nothing over");

    let before = app.event_count().await;
    app.post(&format!("/v1/chats/{chat}/leave"), &users[2], None)
        .await
        .problem(404, "chat_not_found");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn the_last_admin_leaving_promotes_the_longest_standing_member() {
    let app = TestApp::spawn().await;
    let users = app.users(4).await;
    // Joining order, not id order, decides: the eldest member registered later.
    let (owner, second, eldest, newcomer) = (&users[0], &users[1], &users[2], &users[3]);
    let chat = app.group(owner, &[eldest, second], "succession").await;
    let r = app
        .post(
            &format!("/v1/chats/{chat}/members"),
            owner,
            Some(json!({ "user_ids": [newcomer.id] })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let stream = format!("chat-{chat}");
    let before = app.events(&stream).await.len();

    let r = app
        .post(&format!("/v1/chats/{chat}/leave"), owner, None)
        .await;
    assert_answer(&r, 200, &stream);
    let events = app.events(&stream).await;
    let new: Vec<&(String, Value)> = events[before..].iter().collect();
    let new_types: Vec<&str> = new.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        new_types,
        ["MemberLeft", "AdminPromoted", "OwnershipTransferred"]
    );
    assert_eq!(new[1].1["user_id"], eldest.id.to_string());
    assert_eq!(new[1].1["by"], Value::Null);
    assert_eq!(new[2].1["new_owner_id"], eldest.id.to_string());
    assert_eq!(
        r.body["version"],
        events.len() as u64,
        "the answer is at the last event"
    );

    // The heir is an admin now.
    let renamed = app
        .call(
            Method::PATCH,
            &format!("/v1/chats/{chat}"),
            Some(&eldest.token),
            Some(json!({ "title": "mine" })),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.raw);
}

#[tokio::test]
async fn the_owner_leaving_hands_ownership_to_the_longest_standing_admin() {
    let app = TestApp::spawn().await;
    let users = app.users(4).await;
    let (owner, eldest, admin) = (&users[0], &users[1], &users[2]);
    let chat = app
        .group(owner, &[eldest, admin, &users[3]], "handover")
        .await;
    let r = app
        .post(
            &format!("/v1/chats/{chat}/admins/{}", admin.id),
            owner,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let stream = format!("chat-{chat}");
    let before = app.events(&stream).await.len();
    let r = app
        .post(&format!("/v1/chats/{chat}/leave"), owner, None)
        .await;
    assert_answer(&r, 200, &stream);
    let events = app.events(&stream).await;
    let new_types: Vec<&str> = events[before..].iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        new_types,
        ["MemberLeft", "OwnershipTransferred"],
        "an admin remains: nobody is promoted"
    );
    assert_eq!(
        events.last().unwrap().1["new_owner_id"],
        admin.id.to_string()
    );
}

#[tokio::test]
async fn the_last_member_leaving_closes_the_group_for_good() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let chat = app
        .group(&users[0], &[&users[1], &users[2]], "fading")
        .await;
    let stream = format!("chat-{chat}");
    for u in &users[1..] {
        let r = app.post(&format!("/v1/chats/{chat}/leave"), u, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    }
    let r = app
        .post(&format!("/v1/chats/{chat}/leave"), &users[0], None)
        .await;
    assert_answer(&r, 200, &stream);
    assert_eq!(r.body["status"], "closed");
    assert_eq!(
        types(&app, &stream).await.last().map(String::as_str),
        Some("GroupClosed")
    );
    let before = app.event_count().await;
    let body = json!({ "title": "revived" });
    app.call(
        Method::PATCH,
        &format!("/v1/chats/{chat}"),
        Some(&users[0].token),
        Some(body),
    )
    .await
    .problem(409, "chat_closed");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn leaving_needs_a_group_you_are_in() {
    let app = TestApp::spawn().await;
    let users = app.users(4).await;
    let chat = app.group(&users[0], &[&users[1], &users[2]], "exits").await;
    let direct = app.accepted_direct(&users[0], &users[3]).await;
    let before = app.event_count().await;
    let path = format!("/v1/chats/{chat}/leave");
    app.post(&path, &users[3], None)
        .await
        .problem(404, "chat_not_found");
    app.post(
        &format!("/v1/chats/{}/leave", Uuid::new_v4()),
        &users[0],
        None,
    )
    .await
    .problem(404, "chat_not_found");
    app.post(&format!("/v1/chats/{direct}/leave"), &users[0], None)
        .await
        .problem(400, "not_a_group");
    app.post("/v1/chats/0/leave", &users[0], None)
        .await
        .problem(400, "invalid_id");
    app.call(Method::POST, &path, None, None)
        .await
        .problem(401, "missing_token");
    app.call(Method::POST, &path, Some("garbage"), None)
        .await
        .problem(401, "invalid_token");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn repeating_a_group_creation_with_the_same_idempotency_key_creates_one_group() {
    let app = TestApp::spawn().await;
    let users = app.users(3).await;
    let body = json!({ "title": "once", "member_ids": [users[1].id, users[2].id] });
    let key = [("Idempotency-Key", "create-once")];
    let first = app
        .call_with(
            Method::POST,
            "/v1/chats/group",
            Some(&users[0].token),
            Some(body.clone()),
            &key,
        )
        .await;
    assert_answer(&first, 201, &format!("chat-{}", first.id("chat_id")));
    let before = app.event_count().await;
    let again = app
        .call_with(
            Method::POST,
            "/v1/chats/group",
            Some(&users[0].token),
            Some(body),
            &key,
        )
        .await;
    assert_eq!(again.status, first.status);
    assert_eq!(again.body, first.body);
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn a_member_added_later_cannot_reach_earlier_messages() {
    let app = TestApp::spawn().await;
    let users = app.users(4).await;
    let chat = app
        .group(&users[0], &[&users[1], &users[2]], "history")
        .await;
    let early = app
        .send(chat, &users[0], "early", "before you came")
        .await
        .id("message_id");
    let r = app
        .post(
            &format!("/v1/chats/{chat}/members"),
            &users[0],
            Some(json!({ "user_ids": [users[3].id] })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let before = app.event_count().await;
    let react = format!("/v1/chats/{chat}/messages/{early}/reactions/👍");
    app.call(Method::PUT, &react, Some(&users[3].token), None)
        .await
        .problem(404, "message_not_found");
    let reply =
        json!({ "client_msg_id": "late", "kind": "text", "text": "what?", "reply_to": early });
    app.post(
        &format!("/v1/chats/{chat}/messages"),
        &users[3],
        Some(reply),
    )
    .await
    .problem(404, "message_not_found");
    app.delete(
        &format!("/v1/chats/{chat}/messages/{early}?for=me"),
        &users[3],
    )
    .await
    .problem(404, "message_not_found");
    assert_eq!(app.event_count().await, before);
    let later = app
        .send(chat, &users[0], "later", "welcome")
        .await
        .id("message_id");
    let ok = app
        .call(
            Method::PUT,
            &format!("/v1/chats/{chat}/messages/{later}/reactions/👍"),
            Some(&users[3].token),
            None,
        )
        .await;
    assert_answer(&ok, 200, &format!("chat-{chat}"));
}

/// Membership is contact: nobody is put into a group by someone they
/// blocked, nor by a stranger when they accept requests from nobody; an
/// accepted direct chat makes the two contacts. A refusal changes nothing.
#[tokio::test]
async fn a_group_cannot_be_imposed_on_who_blocks_or_accepts_no_requests() {
    let app = TestApp::spawn().await;
    let users = app.users(5).await;
    let (x, u, v, w, y) = (&users[0], &users[1], &users[2], &users[3], &users[4]);
    let r = app
        .post(&format!("/v1/users/{}/block", x.id), u, None)
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    let before = app.event_count().await;
    let refused = app
        .post(
            "/v1/chats/group",
            x,
            Some(json!({ "title": "imposed", "member_ids": [u.id, v.id] })),
        )
        .await;
    refused.problem(403, "member_refuses");
    assert_eq!(app.event_count().await, before);

    // v accepts requests from nobody: a stranger cannot add them...
    let r = app
        .call(
            Method::PUT,
            "/v1/me/settings",
            Some(&v.token),
            Some(json!({ "accept_requests_from": "nobody" })),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    let group = app.group(x, &[w, y], "team").await;
    let add = |who: &User| {
        let app = &app;
        let path = format!("/v1/chats/{group}/members");
        let body = json!({ "user_ids": [who.id] });
        async move { app.post(&path, x, Some(body)).await }
    };
    add(v).await.problem(403, "member_refuses");
    // ...but a contact can.
    let chat = app.accepted_direct(v, x).await;
    assert_ne!(chat, group);
    let ok = add(v).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.raw);
}
