//! Seed 001's server events, rendered from the frames of the per-user
//! stream (the same frames `/v1/ws` sends, after the same visibility rule):
//! this module only renames and reshapes, it never decides what a user may
//! see. Field names are seed 001's (camelCase); every event also carries
//! the stream `position` (pass the newest as `auth.afterPosition` to
//! resume) and, for messages, their `seq`.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};
use uuid::Uuid;

/// One Socket.IO event to emit.
#[derive(Debug, Clone, PartialEq)]
pub struct Emit {
    pub name: &'static str,
    pub data: Value,
}

fn emit(name: &'static str, data: Value) -> Emit {
    Emit { name, data }
}

/// What rendering needs to know beyond the frame: who is looking, and the
/// other side of a direct chat (seed 001's `receiverId`).
pub trait Viewer {
    fn user(&self) -> Uuid;
    fn peer(&self, chat: Uuid) -> Option<Uuid>;
    /// A media item's download URL (signed), if this node serves media.
    fn media_url(&self, media_id: Uuid) -> Option<String>;
}

/// Message ids this socket has seen, by chat and seq, so that a moved read
/// marker can be told as seed 001's `messageIds`. Bounded per chat: a
/// marker over older messages names the ones still remembered.
#[derive(Debug, Default)]
pub struct Seen {
    ids: HashMap<Uuid, BTreeMap<u64, Uuid>>,
    /// `(chat, reader)`: the newest marker told, so each id is told once.
    told: HashMap<(Uuid, Uuid), u64>,
}

/// Ids remembered per chat.
const SEEN_PER_CHAT: usize = 512;

impl Seen {
    pub fn saw(&mut self, chat: Uuid, seq: u64, id: Uuid) {
        let ids = self.ids.entry(chat).or_default();
        ids.insert(seq, id);
        while ids.len() > SEEN_PER_CHAT {
            ids.pop_first();
        }
    }

    /// The remembered ids of `chat`'s messages a marker moved over.
    fn read(&mut self, chat: Uuid, reader: Uuid, up_to: u64) -> Vec<Uuid> {
        let from = self.told.insert((chat, reader), up_to).unwrap_or(0);
        if up_to <= from {
            return Vec::new();
        }
        self.ids
            .get(&chat)
            .map(|ids| ids.range(from + 1..=up_to).map(|(_, id)| *id).collect())
            .unwrap_or_default()
    }
}

fn field<'a>(ev: &'a Value, name: &str) -> &'a Value {
    ev.get(name).unwrap_or(&Value::Null)
}

fn uuid(ev: &Value, name: &str) -> Option<Uuid> {
    ev.get(name)?.as_str()?.parse().ok()
}

fn with_position(mut data: Value, position: u64) -> Value {
    if let Some(o) = data.as_object_mut() {
        o.insert("position".into(), position.into());
    }
    data
}

/// A `MessageSent` payload as seed 001's message fields.
pub fn message(ev: &Value, viewer: &impl Viewer) -> Value {
    let chat = uuid(ev, "chat_id");
    let sender = uuid(ev, "sender_id");
    let receiver = chat.and_then(|c| {
        if sender == Some(viewer.user()) {
            viewer.peer(c)
        } else {
            viewer.peer(c).map(|_| viewer.user())
        }
    });
    let mut m = json!({
        "messageId": field(ev, "message_id"),
        "chatId": field(ev, "chat_id"),
        "senderId": field(ev, "sender_id"),
        "receiverId": receiver,
        "content": field(ev, "text"),
        "messageType": field(ev, "kind"),
        "createdAt": field(ev, "at"),
        "replyTo": ev.get("reply_to").and_then(|r| r.get("message_id")).unwrap_or(&Value::Null),
        "clientMsgId": field(ev, "client_msg_id"),
        "seq": field(ev, "seq"),
    });
    if ev.get("deleted").and_then(Value::as_bool) == Some(true) {
        m["deleted"] = true.into();
    }
    if let Some(media) = ev.get("media").filter(|m| !m.is_null()) {
        m["media"] = media_fields(media, viewer);
    }
    if let Some(f) = ev.get("forward_of").filter(|f| !f.is_null()) {
        m["forwardOf"] = json!({
            "chatId": field(f, "chat_id"),
            "messageId": field(f, "message_id"),
            "originalSenderId": field(f, "original_sender_id"),
        });
    }
    m
}

fn media_fields(media: &Value, viewer: &impl Viewer) -> Value {
    let url = uuid(media, "media_id").and_then(|id| viewer.media_url(id));
    let mut out = Map::new();
    out.insert("fileId".into(), field(media, "media_id").clone());
    out.insert("url".into(), url.into());
    out.insert("mimeType".into(), field(media, "mime").clone());
    out.insert("fileSize".into(), field(media, "size").clone());
    for (from, to) in [("width", "width"), ("height", "height")] {
        if let Some(v) = media.get(from).filter(|v| !v.is_null()) {
            out.insert(to.into(), v.clone());
        }
    }
    if let Some(ms) = media.get("duration_ms").and_then(Value::as_u64) {
        out.insert("duration".into(), json!(ms as f64 / 1000.0));
    }
    Value::Object(out)
}

/// The seed events of one stream event (`{"type":"event", …}` frame).
/// Events seed 001 has no name for arrive as `chat_event` with our own
/// event, so a Socket.IO client misses nothing `/v1/ws` shows.
pub fn event(frame: &Value, viewer: &impl Viewer, seen: &mut Seen) -> Vec<Emit> {
    let position = frame.get("position").and_then(Value::as_u64).unwrap_or(0);
    let ev = field(frame, "event");
    let at = field(ev, "at");
    let chat_id = field(ev, "chat_id");
    let message_id = field(ev, "message_id");
    let kind = ev.get("type").and_then(Value::as_str).unwrap_or("");
    let out = match kind {
        "MessageSent" => {
            if let (Some(chat), Some(seq), Some(id)) = (
                uuid(ev, "chat_id"),
                ev.get("seq").and_then(Value::as_u64),
                uuid(ev, "message_id"),
            ) {
                seen.saw(chat, seq, id);
            }
            let name = if field(ev, "kind") == "text" || ev.get("media").is_none_or(Value::is_null)
            {
                "message_received"
            } else {
                "media_received"
            };
            emit(name, message(ev, viewer))
        }
        "MessageEdited" => emit(
            "message_edited",
            json!({"messageId": message_id, "chatId": chat_id, "newContent": field(ev, "text"),
                   "editedAt": at, "editedBy": field(ev, "editor_id"), "seq": field(ev, "seq")}),
        ),
        "MessageDeleted" => emit(
            "message_deleted",
            json!({"messageId": message_id, "chatId": chat_id, "deletedBy": field(ev, "by"),
                   "seq": field(ev, "seq")}),
        ),
        "ReactionAdded" | "ReactionRemoved" => emit(
            if kind == "ReactionAdded" {
                "reaction_added"
            } else {
                "reaction_removed"
            },
            json!({"messageId": message_id, "chatId": chat_id, "userId": field(ev, "user_id"),
                   "emoji": field(ev, "emoji"), "timestamp": at}),
        ),
        "ReadMarkerMoved" => {
            let up_to = ev.get("up_to_seq").and_then(Value::as_u64).unwrap_or(0);
            let ids = match (uuid(ev, "chat_id"), uuid(ev, "user_id")) {
                (Some(chat), Some(reader)) => seen.read(chat, reader, up_to),
                _ => Vec::new(),
            };
            emit(
                "messages_read",
                json!({"messageIds": ids, "readBy": field(ev, "user_id"), "chatId": chat_id,
                       "timestamp": at, "upToSeq": up_to}),
            )
        }
        _ => emit(
            "chat_event",
            json!({"chatId": field(frame, "chat_id"), "type": kind, "event": ev}),
        ),
    };
    vec![Emit {
        name: out.name,
        data: with_position(out.data, position),
    }]
}

/// A typing or presence frame as seed 001's event; `chat` is where the
/// presence is told (the direct chat with that user, if any).
pub fn signal(frame: &Value, now: &str, viewer: &impl Viewer) -> Option<Emit> {
    match frame.get("type")?.as_str()? {
        "typing" => {
            let name = match frame.get("state")?.as_str()? {
                "start" => "user_typing",
                _ => "user_stop_typing",
            };
            Some(emit(
                name,
                json!({"userId": field(frame, "user_id"), "chatId": field(frame, "chat_id"),
                       "timestamp": now}),
            ))
        }
        "presence" => {
            let user = uuid(frame, "user_id")?;
            if user == viewer.user() {
                return None;
            }
            let status = frame.get("status")?.as_str()?;
            let name = if status == "offline" {
                "user_offline"
            } else {
                "user_online"
            };
            Some(emit(
                name,
                json!({"userId": user, "chatId": Value::Null, "status": status,
                       "lastSeen": field(frame, "last_seen"), "timestamp": now}),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Me(Uuid, Option<Uuid>);

    impl Viewer for Me {
        fn user(&self) -> Uuid {
            self.0
        }
        fn peer(&self, _: Uuid) -> Option<Uuid> {
            self.1
        }
        fn media_url(&self, id: Uuid) -> Option<String> {
            Some(format!("/v1/media/{id}"))
        }
    }

    fn framed(position: u64, chat: Uuid, ev: Value) -> Value {
        json!({"type": "event", "position": position, "chat_id": chat, "event": ev})
    }

    #[test]
    fn a_text_message_becomes_message_received_with_the_seed_names() {
        let (me, peer, chat, id) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let ev = json!({"type": "MessageSent", "chat_id": chat, "message_id": id, "seq": 3,
                        "sender_id": peer, "kind": "text", "text": "hi", "media": null,
                        "reply_to": null, "client_msg_id": "c1", "at": "2026-12-03T00:00:00Z"});
        let out = event(
            &framed(41, chat, ev),
            &Me(me, Some(peer)),
            &mut Seen::default(),
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].name, "message_received");
        let d = &out[0].data;
        assert_eq!(d["content"], "hi");
        assert_eq!(d["senderId"], peer.to_string());
        assert_eq!(d["receiverId"], me.to_string());
        assert_eq!(d["messageType"], "text");
        assert_eq!(d["position"], 41);
        assert_eq!(d["seq"], 3);
    }

    #[test]
    fn media_messages_become_media_received_and_markers_name_the_ids_seen() {
        let (me, other, chat) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut seen = Seen::default();
        let viewer = Me(me, None);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let media = json!({"media_id": b, "mime": "image/png", "size": 9, "kind": "image"});
        for (seq, id, kind, media) in [(1, a, "text", Value::Null), (2, b, "image", media)] {
            let ev = json!({"type": "MessageSent", "chat_id": chat, "message_id": id,
                            "seq": seq, "sender_id": me, "kind": kind, "text": null,
                            "media": media, "at": "t"});
            let out = event(&framed(seq, chat, ev), &viewer, &mut seen);
            if kind == "image" {
                assert_eq!(out[0].name, "media_received");
                assert_eq!(out[0].data["media"]["fileId"], b.to_string());
                assert_eq!(out[0].data["media"]["url"], format!("/v1/media/{b}"));
                assert_eq!(out[0].data["receiverId"], Value::Null, "a group has none");
            }
        }
        let read = json!({"type": "ReadMarkerMoved", "chat_id": chat, "user_id": other,
                          "up_to_seq": 2, "at": "t"});
        let out = event(&framed(3, chat, read.clone()), &viewer, &mut seen);
        assert_eq!(out[0].name, "messages_read");
        assert_eq!(out[0].data["messageIds"], json!([a, b]));
        let again = event(&framed(4, chat, read), &viewer, &mut seen);
        assert_eq!(again[0].data["messageIds"], json!([]), "told once");
    }

    #[test]
    fn events_without_a_seed_name_arrive_as_chat_event_and_signals_are_renamed() {
        let (me, chat, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let ev = json!({"type": "MembersAdded", "chat_id": chat, "user_ids": [other]});
        let out = event(&framed(7, chat, ev), &Me(me, None), &mut Seen::default());
        assert_eq!(out[0].name, "chat_event");
        assert_eq!(out[0].data["type"], "MembersAdded");
        let typing = json!({"type": "typing", "chat_id": chat, "user_id": other, "state": "stop"});
        let s = signal(&typing, "now", &Me(me, None)).unwrap();
        assert_eq!(s.name, "user_stop_typing");
        let online = json!({"type": "presence", "user_id": other, "status": "away"});
        assert_eq!(
            signal(&online, "now", &Me(me, None)).unwrap().name,
            "user_online"
        );
        let offline = json!({"type": "presence", "user_id": other, "status": "offline"});
        assert_eq!(
            signal(&offline, "now", &Me(me, None)).unwrap().name,
            "user_offline"
        );
    }
}
