//! User-stream events: profile, settings and blocks in the directory;
//! mute, archive and clear on the user's chat list.

mod support;

use chat_domain::user::status::Availability;
use chat_domain::{AcceptRequestsFrom, ChatAction, LastSeenVisibility, UserAction};
use serde_json::json;
use support::env;

#[tokio::test]
async fn profile_settings_and_blocks_project_into_the_user_directory() {
    let env = env().await;
    let h = env.history();
    let [alice, bob, carol] = [
        h.register("alice").await,
        h.register("bob").await,
        h.register("carol").await,
    ];
    h.user(
        alice,
        UserAction::UpdateProfile {
            display_name: Some("Alice A.".into()),
            avatar_url: Some("https://example.com/a.png".into()),
            bio: Some("hiker".into()),
        },
    )
    .await;
    h.user(
        alice,
        UserAction::UpdateSettings {
            read_receipts: Some(false),
            last_seen_visible_to: Some(LastSeenVisibility::Nobody),
            accept_requests_from: Some(AcceptRequestsFrom::Nobody),
            push_preview: Some(chat_domain::push::PushPreview::SenderOnly),
        },
    )
    .await;
    for target in [bob, carol] {
        h.user(alice, UserAction::BlockUser { target }).await;
    }
    h.user(alice, UserAction::UnblockUser { target: bob }).await;
    h.user(
        alice,
        UserAction::SetStatus {
            status: Availability::Dnd,
            text: Some("On the trail".into()),
            expires_at: None,
        },
    )
    .await;
    let (proj, _stop) = env.spawn(500);
    env.caught_up(&proj).await;

    let row = env.json(&format!(
        "SELECT to_jsonb(u) - 'registered_at' - 'position' FROM rm_users.users u WHERE user_id = '{alice}'"
    )).await;
    assert_eq!(
        row,
        json!({
            "user_id": alice, "username": "alice", "display_name": "Alice A.",
            "avatar_url": "https://example.com/a.png", "bio": "hiker", "read_receipts": false,
            "last_seen_visible_to": "nobody", "accept_requests_from": "nobody",
            "push_preview": "sender_only",
            "status": "dnd", "status_text": "On the trail", "status_expires_at": null,
            "erased_at": null,
        })
    );
    let blocks = env
        .rows("SELECT jsonb_build_array(user_id, blocked_user_id) FROM rm_users.blocks")
        .await;
    assert_eq!(blocks, vec![json!([alice, carol])]);
    let prefix = env
        .rows("SELECT to_jsonb(username) FROM rm_users.users WHERE lower(username) LIKE 'ca%'")
        .await;
    assert_eq!(prefix, vec![json!("carol")]);
}

#[tokio::test]
async fn mute_archive_and_clear_set_the_users_chat_list_preferences() {
    let env = env().await;
    let h = env.history();
    let (alice, bob) = (h.register("alice").await, h.register("bob").await);
    let chat = h.start_direct(alice, bob).await;
    h.chat(chat, bob, ChatAction::AcceptRequest).await;
    h.send(chat, alice, "c1", "one").await;
    let (proj, _stop) = env.spawn(500);
    // `hidden` as the chat list decides it: a cleared chat stays hidden only
    // until a newer message (joined from the chat's row at read time).
    let prefs = format!(
        "SELECT jsonb_build_object('muted_until', uc.muted_until, 'forever', uc.muted_forever, \
           'archived', uc.archived, 'cleared', uc.cleared_up_to_seq, 'hidden', \
           uc.hidden AND coalesce(m.left_seq, c.last_seq) <= uc.cleared_up_to_seq) \
         FROM rm_chats.user_chats uc \
         JOIN rm_chats.members m ON m.chat_id = uc.chat_id AND m.user_id = uc.user_id \
         JOIN rm_chats.chats c ON c.chat_id = uc.chat_id \
         WHERE uc.chat_id = '{chat}' AND uc.user_id = "
    );
    let bobs = format!("{prefs}'{bob}'");
    let until = h.now() + time::Duration::days(1);
    let steps: Vec<(UserAction, serde_json::Value)> = vec![
        (
            UserAction::MuteChat {
                chat_id: chat,
                until: Some(until),
                is_participant: true,
            },
            json!({"muted_until": until.format(&time::format_description::well_known::Rfc3339).unwrap().replace('Z', "+00:00"),
                "forever": false, "archived": false, "cleared": 0, "hidden": false}),
        ),
        (
            UserAction::MuteChat {
                chat_id: chat,
                until: None,
                is_participant: true,
            },
            json!({"muted_until": null, "forever": true, "archived": false, "cleared": 0, "hidden": false}),
        ),
        (
            UserAction::UnmuteChat {
                chat_id: chat,
                is_participant: true,
            },
            json!({"muted_until": null, "forever": false, "archived": false, "cleared": 0, "hidden": false}),
        ),
        (
            UserAction::ArchiveChat {
                chat_id: chat,
                is_participant: true,
            },
            json!({"muted_until": null, "forever": false, "archived": true, "cleared": 0, "hidden": false}),
        ),
        (
            UserAction::UnarchiveChat {
                chat_id: chat,
                is_participant: true,
            },
            json!({"muted_until": null, "forever": false, "archived": false, "cleared": 0, "hidden": false}),
        ),
        (
            UserAction::ClearChat {
                chat_id: chat,
                up_to_seq: 1,
                is_participant: true,
            },
            json!({"muted_until": null, "forever": false, "archived": false, "cleared": 1, "hidden": true}),
        ),
    ];
    for (action, expected) in steps {
        h.user(bob, action).await;
        env.caught_up(&proj).await;
        assert_eq!(env.json(&bobs).await, expected);
    }
    // A newer message brings the cleared chat back; the clear point stays.
    h.send(chat, alice, "c2", "two").await;
    env.caught_up(&proj).await;
    assert_eq!(env.json(&bobs).await["hidden"], json!(false));
    assert_eq!(env.json(&bobs).await["cleared"], json!(1));
    // Alice's own row never changed.
    let alices = env.json(&format!("{prefs}'{alice}'")).await;
    assert_eq!(
        alices,
        json!({"muted_until": null, "forever": false, "archived": false, "cleared": 0, "hidden": false})
    );
}
