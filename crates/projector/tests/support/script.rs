//! A history touching every event type, for the exactly-once, rebuild and
//! runner tests; `rounds` adds more messages and reactions.

use chat_domain::{ChatAction, LastSeenVisibility, MessageKind, UserAction};
use uuid::Uuid;

use super::History;

pub struct Cast {
    pub users: Vec<Uuid>,
    pub direct: Uuid,
    pub group: Uuid,
}

pub async fn everything(h: &History, rounds: usize) -> Cast {
    let mut users = Vec::new();
    for name in ["alice", "bob", "carol", "dave", "erin"] {
        users.push(h.register(name).await);
    }
    let [alice, bob, carol, dave, erin] = [users[0], users[1], users[2], users[3], users[4]];
    h.user(
        alice,
        UserAction::UpdateProfile {
            display_name: Some("Alice".into()),
            avatar_url: None,
            bio: Some("hi".into()),
        },
    )
    .await;
    h.user(
        bob,
        UserAction::UpdateSettings {
            read_receipts: Some(false),
            last_seen_visible_to: Some(LastSeenVisibility::Contacts),
            accept_requests_from: None,
            push_preview: None,
        },
    )
    .await;
    h.user(carol, UserAction::BlockUser { target: erin }).await;
    h.user(carol, UserAction::BlockUser { target: dave }).await;
    h.user(carol, UserAction::UnblockUser { target: dave })
        .await;

    // Direct chats: accepted; rejected then re-requested by the other side.
    let direct = h.start_direct(alice, bob).await;
    h.chat(direct, bob, ChatAction::AcceptRequest).await;
    let rejected = h.start_direct(alice, dave).await;
    h.chat(rejected, dave, ChatAction::RejectRequest).await;
    h.start_direct(dave, alice).await;
    h.chat(direct, bob, ChatAction::BlockChat).await;
    h.chat(direct, bob, ChatAction::UnblockChat).await;

    let group = h.create_group(alice, &[bob, carol], "Hikers").await;
    h.chat(
        group,
        alice,
        ChatAction::AddMembers {
            user_ids: vec![dave],
            invitees: Vec::new(),
        },
    )
    .await;
    h.chat(
        group,
        alice,
        ChatAction::UpdateGroupInfo {
            title: None,
            description: Some("trails".into()),
            avatar_url: None,
        },
    )
    .await;

    for r in 0..rounds {
        let m = h
            .send(
                direct,
                alice,
                &format!("d{r}"),
                &format!("direct message number {r}"),
            )
            .await;
        let g = h
            .send(
                group,
                bob,
                &format!("g{r}"),
                &format!("group message number {r}"),
            )
            .await;
        h.on_message(direct, m, bob, |message| ChatAction::AddReaction {
            message,
            emoji: "👍".into(),
            blocked_by_peer: false,
        })
        .await;
        h.on_message(group, g, carol, |message| ChatAction::AddReaction {
            message,
            emoji: "🎉".into(),
            blocked_by_peer: false,
        })
        .await;
        if r % 3 == 1 {
            h.on_message(direct, m, alice, |message| ChatAction::EditMessage {
                message,
                text: format!("edited {r}"),
                blocked_by_peer: false,
            })
            .await;
            h.on_message(group, g, carol, |message| ChatAction::RemoveReaction {
                message,
                emoji: "🎉".into(),
            })
            .await;
        }
        if r % 4 == 2 {
            h.on_message(group, g, alice, |message| ChatAction::PinMessage {
                message,
                blocked_by_peer: false,
            })
            .await;
            h.on_message(direct, m, alice, |message| ChatAction::DeleteForEveryone {
                message,
            })
            .await;
        }
        if r % 5 == 3 && r % 4 != 2 {
            h.on_message(group, g, alice, |message| ChatAction::PinMessage {
                message,
                blocked_by_peer: false,
            })
            .await;
            h.on_message(group, g, alice, |message| ChatAction::UnpinMessage {
                message_id: message.message_id,
            })
            .await;
            let message = h.facts(direct, m, bob).await;
            h.user(
                bob,
                UserAction::HideMessage {
                    chat_id: direct,
                    message,
                    visible: true,
                    already_hidden: false,
                },
            )
            .await;
        }
        let seq = h.last_seq(group).await;
        h.chat(group, carol, ChatAction::MarkRead { up_to_seq: seq })
            .await;
    }
    h.send_with(group, dave, "photo", MessageKind::Image, Some("summit"))
        .await;

    // Membership and roles, handing over ownership on the way out.
    h.chat(
        group,
        alice,
        ChatAction::AddMembers {
            user_ids: vec![erin],
            invitees: Vec::new(),
        },
    )
    .await;
    h.chat(group, alice, ChatAction::RemoveMember { user_id: carol })
        .await;
    h.chat(group, alice, ChatAction::PromoteAdmin { user_id: dave })
        .await;
    h.chat(group, alice, ChatAction::DemoteAdmin { user_id: dave })
        .await;
    h.chat(group, alice, ChatAction::Leave).await;
    h.chat(
        group,
        bob,
        ChatAction::AddMembers {
            user_ids: vec![carol],
            invitees: Vec::new(),
        },
    )
    .await;

    // Per-user preferences.
    let until = h.now() + time::Duration::hours(8);
    h.user(
        bob,
        UserAction::MuteChat {
            chat_id: group,
            until: Some(until),
            is_participant: true,
        },
    )
    .await;
    h.user(
        dave,
        UserAction::MuteChat {
            chat_id: group,
            until: None,
            is_participant: true,
        },
    )
    .await;
    h.user(
        dave,
        UserAction::UnmuteChat {
            chat_id: group,
            is_participant: true,
        },
    )
    .await;
    h.user(
        bob,
        UserAction::ArchiveChat {
            chat_id: direct,
            is_participant: true,
        },
    )
    .await;
    h.user(
        erin,
        UserAction::ArchiveChat {
            chat_id: group,
            is_participant: true,
        },
    )
    .await;
    h.user(
        erin,
        UserAction::UnarchiveChat {
            chat_id: group,
            is_participant: true,
        },
    )
    .await;
    let seq = h.last_seq(direct).await;
    h.user(
        alice,
        UserAction::ClearChat {
            chat_id: direct,
            up_to_seq: seq,
            is_participant: true,
        },
    )
    .await;

    // A short-lived group that closes.
    let small = h.create_group(carol, &[dave, erin], "Brief").await;
    for u in [carol, dave, erin] {
        h.chat(small, u, ChatAction::Leave).await;
    }
    Cast {
        users,
        direct,
        group,
    }
}
