//! Who a push notification goes to, and what it says: the one rule the
//! notifier applies to each burst of a chat's messages (or a chat request)
//! and each member with a subscribed device.
//!
//! A recipient is notified when, among the burst, there is a message from
//! someone else that the one visibility rule ([`crate::visibility`]) shows
//! them whole (inside their window, not hidden by them, not deleted) and
//! whose sender they do not block;
//! unless they are connected (they see it live), their chosen status is
//! `dnd`, or the chat is muted and none of those messages mentions them.
//! The preview honours their own setting ([`PushPreview`]).

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

pub use crate::user::PushPreview;
use crate::user::status::{Availability, CustomStatus};
use crate::visibility::{self, Shown, Window};

/// One message of a burst, as the log recorded it (a chat request is a
/// message with no text from the requester).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub message_id: Option<Uuid>,
    pub seq: u64,
    pub sender_id: Uuid,
    pub sender_name: String,
    /// The chat list's preview of it (`None` for a request).
    pub text: Option<String>,
    /// Deleted for everyone before the notification went out: not told.
    pub deleted: bool,
    pub mentions: Vec<Uuid>,
    pub request: bool,
}

/// What the notifier knows of one member when the burst goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub user_id: Uuid,
    /// The seqs they see (join, clear, leave): the one visibility rule's.
    pub window: Window,
    /// Messages of the burst they hid for themselves.
    pub hidden: Vec<Uuid>,
    pub muted: bool,
    pub status: Option<CustomStatus>,
    pub blocks: Vec<Uuid>,
    pub connected: bool,
    pub preview: PushPreview,
}

/// Why a notification is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Message,
    Mention,
    Request,
}

/// What one recipient's devices are told about a burst.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub reason: Reason,
    /// The latest message of the burst they may see.
    pub message_id: Option<Uuid>,
    pub seq: u64,
    /// How many of the burst's messages this covers.
    pub count: usize,
    pub sender_id: Option<Uuid>,
    pub sender_name: Option<String>,
    pub preview: Option<String>,
}

/// The notice for `to`, or `None` when they are not to be disturbed.
pub fn notice(to: &Recipient, burst: &[Sent], now: OffsetDateTime) -> Option<Notice> {
    if to.connected {
        return None;
    }
    let dnd = to
        .status
        .as_ref()
        .and_then(|s| s.at(now))
        .is_some_and(|s| s.status == Availability::Dnd);
    if dnd {
        return None;
    }
    let told =
        |m: &&Sent| !m.deleted && m.sender_id != to.user_id && !to.blocks.contains(&m.sender_id);
    // The messages they may see; a chat request counts only alone (a
    // message in the same burst says more).
    let seen: Vec<&Sent> = burst
        .iter()
        .filter(told)
        .filter(|m| {
            let hidden = m.message_id.is_some_and(|id| to.hidden.contains(&id));
            !m.request && visibility::message(&to.window, m.seq, hidden, m.deleted) == Shown::Whole
        })
        .collect();
    let request = burst.iter().filter(told).find(|m| m.request);
    let (last, count) = match (seen.last(), request) {
        (Some(last), _) => (*last, seen.len()),
        (None, Some(request)) => (request, 1),
        (None, None) => return None,
    };
    let mentioned = seen.iter().any(|m| m.mentions.contains(&to.user_id));
    let reason = if last.request {
        Reason::Request
    } else if mentioned {
        Reason::Mention
    } else {
        Reason::Message
    };
    if to.muted && reason == Reason::Message {
        return None;
    }
    let (sender_id, sender_name, preview) = match to.preview {
        PushPreview::Full => (
            Some(last.sender_id),
            Some(last.sender_name.clone()),
            last.text.clone(),
        ),
        PushPreview::SenderOnly => (Some(last.sender_id), Some(last.sender_name.clone()), None),
        PushPreview::Nothing => (None, None, None),
    };
    Some(Notice {
        reason,
        message_id: last.message_id,
        seq: last.seq,
        count,
        sender_id,
        sender_name,
        preview,
    })
}

/// The words a device shows: the same for every kind of device, so a
/// browser, an FCM app and an iOS alert say one thing. What the preview
/// setting left out (sender, text) is not made up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub title: String,
    pub body: String,
}

/// The alert for a notice about a chat titled `chat_title` (`None` for a
/// direct chat), covering `count` messages in all.
pub fn alert(n: &Notice, chat_title: Option<&str>, count: u64) -> Alert {
    let sender = n.sender_name.as_deref();
    if n.reason == Reason::Request {
        return Alert {
            title: sender.map_or_else(
                || "New chat request".to_owned(),
                |s| format!("{s} wants to chat"),
            ),
            body: String::new(),
        };
    }
    let title = chat_title.or(sender).unwrap_or("New message").to_owned();
    let mut body = match (&n.preview, chat_title, sender) {
        (Some(p), Some(_), Some(s)) => format!("{s}: {p}"),
        (Some(p), _, _) => p.clone(),
        (None, _, _) if count > 1 => format!("{count} new messages"),
        (None, _, _) => "New message".to_owned(),
    };
    if n.reason == Reason::Mention {
        body = format!("@ {body}");
    }
    Alert { title, body }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-07 12:00 UTC);

    fn me() -> Recipient {
        Recipient {
            user_id: Uuid::from_u128(1),
            window: Window::default(),
            hidden: vec![],
            muted: false,
            status: None,
            blocks: vec![],
            connected: false,
            preview: PushPreview::Full,
        }
    }

    fn msg(seq: u64, from: u128, text: &str) -> Sent {
        Sent {
            message_id: Some(Uuid::from_u128(100 + u128::from(seq))),
            seq,
            sender_id: Uuid::from_u128(from),
            sender_name: format!("user{from}"),
            text: Some(text.to_owned()),
            deleted: false,
            mentions: vec![],
            request: false,
        }
    }

    #[test]
    fn a_burst_is_one_notice_about_its_latest_message() {
        let n = notice(&me(), &[msg(1, 2, "a"), msg(2, 3, "b")], NOW).unwrap();
        assert_eq!((n.seq, n.count, n.reason), (2, 2, Reason::Message));
        assert_eq!(n.preview.as_deref(), Some("b"));
        assert_eq!(n.sender_name.as_deref(), Some("user3"));
    }

    #[test]
    fn nobody_is_told_of_their_own_messages_nor_while_connected() {
        assert_eq!(notice(&me(), &[msg(1, 1, "mine")], NOW), None);
        let online = Recipient {
            connected: true,
            ..me()
        };
        assert_eq!(notice(&online, &[msg(1, 2, "x")], NOW), None);
    }

    #[test]
    fn muted_chats_are_quiet_except_for_mentions() {
        let muted = Recipient {
            muted: true,
            ..me()
        };
        assert_eq!(notice(&muted, &[msg(1, 2, "x")], NOW), None);
        let mut m = msg(2, 2, "@you");
        m.mentions = vec![Uuid::from_u128(1)];
        let n = notice(&muted, &[msg(1, 2, "x"), m], NOW).unwrap();
        assert_eq!(n.reason, Reason::Mention);
    }

    #[test]
    fn dnd_is_quiet_until_it_ends() {
        let mut status = CustomStatus {
            status: Availability::Dnd,
            text: None,
            expires_at: None,
        };
        let dnd = Recipient {
            status: Some(status.clone()),
            ..me()
        };
        assert_eq!(notice(&dnd, &[msg(1, 2, "x")], NOW), None);
        status.expires_at = Some(datetime!(2026-12-07 11:00 UTC));
        let ended = Recipient {
            status: Some(status),
            ..me()
        };
        assert!(notice(&ended, &[msg(1, 2, "x")], NOW).is_some());
    }

    #[test]
    fn blocked_senders_and_messages_outside_the_visible_range_are_left_out() {
        let r = Recipient {
            blocks: vec![Uuid::from_u128(2)],
            window: Window::joined(1),
            ..me()
        };
        assert_eq!(
            notice(&r, &[msg(1, 3, "before"), msg(2, 2, "blocked")], NOW),
            None
        );
        let n = notice(&r, &[msg(2, 3, "after")], NOW).unwrap();
        assert_eq!(n.count, 1);
    }

    #[test]
    fn what_they_cleared_or_hid_is_not_told() {
        let mut window = Window::joined(0);
        window.clear(1);
        let r = Recipient {
            window,
            hidden: vec![Uuid::from_u128(103)],
            ..me()
        };
        // Seq 1 is before their clear; seq 3 (message id 103) they hid.
        let n = notice(&r, &[msg(1, 2, "a"), msg(2, 2, "b"), msg(3, 2, "c")], NOW).unwrap();
        assert_eq!((n.count, n.preview.as_deref()), (1, Some("b")));
    }

    #[test]
    fn a_message_deleted_before_the_push_is_not_told() {
        let mut gone = msg(2, 2, "oops");
        gone.deleted = true;
        let n = notice(&me(), &[msg(1, 2, "hi"), gone.clone()], NOW).unwrap();
        assert_eq!((n.seq, n.count, n.preview.as_deref()), (1, 1, Some("hi")));
        assert_eq!(notice(&me(), &[gone], NOW), None);
    }

    #[test]
    fn the_preview_follows_the_recipients_setting() {
        let n = notice(&me(), &[msg(1, 2, "hello")], NOW).unwrap();
        assert_eq!(n.preview.as_deref(), Some("hello"));
        let sender = Recipient {
            preview: PushPreview::SenderOnly,
            ..me()
        };
        let n = notice(&sender, &[msg(1, 2, "secret")], NOW).unwrap();
        assert_eq!((n.preview, n.sender_name.as_deref()), (None, Some("user2")));
        let nothing = Recipient {
            preview: PushPreview::Nothing,
            ..me()
        };
        let n = notice(&nothing, &[msg(1, 2, "secret")], NOW).unwrap();
        assert_eq!((n.preview, n.sender_id), (None, None));
    }

    #[test]
    fn a_request_notifies_even_a_muted_recipient_with_no_text() {
        let req = Sent {
            message_id: None,
            seq: 0,
            sender_id: Uuid::from_u128(2),
            sender_name: "user2".into(),
            text: None,
            deleted: false,
            mentions: vec![],
            request: true,
        };
        let n = notice(&me(), std::slice::from_ref(&req), NOW).unwrap();
        assert_eq!((n.reason, n.preview), (Reason::Request, None));
        // With a message after it, the message is what is told.
        let n = notice(&me(), &[req, msg(1, 2, "hi")], NOW).unwrap();
        assert_eq!((n.reason, n.count), (Reason::Message, 1));
    }

    #[test]
    fn an_alert_says_only_what_the_preview_setting_lets_through() {
        let full = notice(&me(), &[msg(1, 2, "a"), msg(2, 3, "hi")], NOW).unwrap();
        let a = alert(&full, Some("Team"), 2);
        assert_eq!((a.title.as_str(), a.body.as_str()), ("Team", "user3: hi"));
        let a = alert(&full, None, 2);
        assert_eq!((a.title.as_str(), a.body.as_str()), ("user3", "hi"));
        let quiet = Recipient {
            preview: PushPreview::Nothing,
            ..me()
        };
        let n = notice(&quiet, &[msg(1, 2, "a"), msg(2, 3, "secret")], NOW).unwrap();
        let a = alert(&n, None, 2);
        assert_eq!(
            (a.title.as_str(), a.body.as_str()),
            ("New message", "2 new messages")
        );
        let mut m = msg(1, 2, "@you");
        m.mentions = vec![Uuid::from_u128(1)];
        let n = notice(&me(), &[m], NOW).unwrap();
        assert_eq!(alert(&n, Some("Team"), 1).body, "@ user2: @you");
    }
}
