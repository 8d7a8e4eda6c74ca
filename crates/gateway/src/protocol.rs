//! The wire protocol of `GET /v1/ws` (see `api.md`, WebSocket): the frames a
//! client may send, the frames the server sends, and the close codes.
//!
//! Server frames are rendered to text once and shared (a reference-counted
//! [`Frame`]) by every socket they go to.

use axum::extract::ws::Utf8Bytes;
use chat_domain::user::status::Presence;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

/// The client fell too far behind: its queue filled up or a write stalled.
/// It should reconnect and resume from the last position it saw.
pub const CLOSE_SLOW_CONSUMER: u16 = 4008;
/// The access token expired (and no `auth` frame renewed it).
pub const CLOSE_TOKEN_EXPIRED: u16 = 4001;
/// The token's session was signed out (sessions, password change or
/// reset): sign in again; renewing the token will not help.
pub const CLOSE_SESSION_REVOKED: u16 = 4003;
/// The server is shutting down.
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// A frame exceeded the size limit.
pub const CLOSE_TOO_BIG: u16 = 1009;
/// The server could not go on (e.g. the event store failed during a replay).
pub const CLOSE_INTERNAL: u16 = 1011;

/// Frames from the client.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Start (or resume after `after_position`) the stream of the caller's events.
    Subscribe {
        #[serde(default)]
        after_position: Option<u64>,
    },
    Typing {
        chat_id: Uuid,
        state: TypingState,
    },
    Presence {
        status: ClientStatus,
    },
    Ping,
    /// The client received the chat's messages up to `up_to_seq`: the
    /// sender sees them delivered (`DeliveryMarkerMoved`).
    Delivered {
        chat_id: Uuid,
        up_to_seq: u64,
    },
    /// Renew the session's token before it expires (same user only).
    Auth {
        access_token: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypingState {
    Start,
    Stop,
}

/// What a client may announce about itself (offline is implied by leaving).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientStatus {
    Online,
    Away,
    Dnd,
}

/// A user's presence, over all their devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Offline,
    Away,
    Dnd,
    Online,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Offline => "offline",
            Status::Away => "away",
            Status::Dnd => "dnd",
            Status::Online => "online",
        }
    }

    pub fn parse(s: &str) -> Status {
        match s {
            "online" => Status::Online,
            "dnd" => Status::Dnd,
            "away" => Status::Away,
            _ => Status::Offline,
        }
    }
}

impl From<Status> for Presence {
    fn from(s: Status) -> Self {
        match s {
            Status::Offline => Presence::Offline,
            Status::Away => Presence::Away,
            Status::Dnd => Presence::Dnd,
            Status::Online => Presence::Online,
        }
    }
}

impl From<Presence> for Status {
    fn from(p: Presence) -> Self {
        match p {
            Presence::Offline => Status::Offline,
            Presence::Away => Status::Away,
            Presence::Dnd => Status::Dnd,
            Presence::Online => Status::Online,
        }
    }
}

impl From<ClientStatus> for Status {
    fn from(s: ClientStatus) -> Self {
        match s {
            ClientStatus::Online => Status::Online,
            ClientStatus::Away => Status::Away,
            ClientStatus::Dnd => Status::Dnd,
        }
    }
}

/// A rendered server frame; clones share the bytes.
pub type Frame = Utf8Bytes;

fn render(v: &Value) -> Frame {
    Utf8Bytes::from(v.to_string())
}

/// `{"type":"event","position":n,"chat_id":…,"event":{…}}`.
pub fn event_frame(position: u64, chat_id: Option<Uuid>, event: &Value) -> Frame {
    render(&json!({"type": "event", "position": position, "chat_id": chat_id, "event": event}))
}

pub fn subscribed_frame(position: u64) -> Frame {
    render(&json!({"type": "subscribed", "position": position}))
}

pub fn pong_frame() -> Frame {
    render(&json!({"type": "pong"}))
}

pub fn error_frame(code: &str, detail: &str) -> Frame {
    render(&json!({"type": "error", "code": code, "detail": detail}))
}

pub fn typing_frame(chat_id: Uuid, user_id: Uuid, state: TypingState) -> Frame {
    render(&json!({"type": "typing", "chat_id": chat_id, "user_id": user_id, "state": state}))
}

/// `last_seen` is sent only when the viewer may see it (else null).
/// A presence frame: the status as shown ([`chat_domain::user::status::shown`])
/// with the user's status text, if any.
pub fn presence_frame(
    user_id: Uuid,
    status: Status,
    text: Option<&str>,
    last_seen: Option<OffsetDateTime>,
) -> Frame {
    let last_seen = last_seen.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    render(&json!({
        "type": "presence", "user_id": user_id, "status": status.as_str(), "text": text,
        "last_seen": last_seen
    }))
}

/// Why a client frame was refused: the `error` frame's code and detail.
pub fn parse_client_frame(text: &str) -> Result<ClientFrame, (&'static str, String)> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ("invalid_json", format!("the frame is not JSON: {e}")))?;
    serde_json::from_value(value).map_err(|e| ("invalid_frame", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_parse_and_unknown_ones_are_refused() {
        assert_eq!(
            parse_client_frame(r#"{"type":"subscribe","after_position":7}"#),
            Ok(ClientFrame::Subscribe {
                after_position: Some(7)
            })
        );
        assert_eq!(
            parse_client_frame(r#"{"type":"subscribe"}"#),
            Ok(ClientFrame::Subscribe {
                after_position: None
            })
        );
        assert_eq!(
            parse_client_frame(r#"{"type":"ping"}"#),
            Ok(ClientFrame::Ping)
        );
        assert_eq!(
            parse_client_frame(
                r#"{"type":"delivered","chat_id":"00000000-0000-0000-0000-000000000001","up_to_seq":3}"#
            ),
            Ok(ClientFrame::Delivered {
                chat_id: Uuid::from_u128(1),
                up_to_seq: 3
            })
        );
        assert_eq!(parse_client_frame("nope").unwrap_err().0, "invalid_json");
        assert_eq!(
            parse_client_frame(r#"{"type":"dance"}"#).unwrap_err().0,
            "invalid_frame"
        );
        assert_eq!(
            parse_client_frame(r#"{"type":"presence","status":"offline"}"#)
                .unwrap_err()
                .0,
            "invalid_frame"
        );
    }

    #[test]
    fn statuses_rank_online_over_dnd_over_away_over_offline() {
        let mut all = vec![Status::Away, Status::Online, Status::Offline, Status::Dnd];
        all.sort();
        assert_eq!(
            all,
            [Status::Offline, Status::Away, Status::Dnd, Status::Online]
        );
        assert_eq!(Status::parse("dnd"), Status::Dnd);
    }
}
