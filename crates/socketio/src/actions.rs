//! Seed 001's client events: each is parsed, run as the HTTP command it
//! stands for ([`crate::commands`]), and answered with its `*_success`
//! event (and the client's ack, when it asked for one) or with
//! `error {message, code}` carrying the HTTP problem's code.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::http::Method;
use chat_domain::{ChatEvent, chat_stream, message_id};
use chat_gateway::protocol::TypingState;
use chat_store::EventStore;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use socketioxide::extract::{AckSender, SocketRef};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc;
use uuid::Uuid;

use chat_gateway::commands::{Commands, Problem, segment};

/// What only the session task may do (it owns the gateway client).
#[derive(Debug)]
pub enum Action {
    Typing(Uuid, TypingState),
    Renew(String),
}

/// Events this socket caused itself, so their echo is not sent back to it
/// (seed 001 broadcasts to the chat's *other* members); the user's other
/// sockets still receive them. Bounded: a command that appended nothing
/// leaves an entry behind.
#[derive(Debug, Default, Clone)]
pub struct Echoes(Arc<Mutex<VecDeque<String>>>);

const ECHOES: usize = 64;

impl Echoes {
    pub fn expect(&self, key: String) {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() == ECHOES {
            q.pop_front();
        }
        q.push_back(key);
    }

    pub fn forget(&self, key: &str) {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        q.retain(|k| k != key);
    }

    /// Whether this event is one this socket caused (and forget it).
    pub fn take(&self, key: &str) -> bool {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match q.iter().position(|k| k == key) {
            Some(i) => {
                q.remove(i);
                true
            }
            None => false,
        }
    }
}

/// The echo key of a stream event (its type and what it is about).
pub fn echo_key(ev: &Value) -> Option<String> {
    let kind = ev.get("type")?.as_str()?;
    let id = ev
        .get("message_id")
        .or_else(|| ev.get("chat_id"))?
        .as_str()?;
    let emoji = ev.get("emoji").and_then(Value::as_str).unwrap_or("");
    Some(format!("{kind}:{id}:{emoji}"))
}

/// One socket's handlers' shared parts.
#[derive(Clone)]
pub struct Conn {
    pub user: Uuid,
    pub commands: Commands,
    pub actions: mpsc::Sender<Action>,
    pub gateway: chat_gateway::Gateway,
    pub store: Arc<dyn EventStore>,
    pub echoes: Echoes,
}

fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Emit `name` (and ack) on success, `error` (and ack `{error}`) on refusal.
fn answer(s: &SocketRef, ack: AckSender, event: &str, name: &str, result: Result<Value, Problem>) {
    let sent = match result {
        Ok(data) => {
            let _ = ack.send(&data);
            s.emit(name, &data)
        }
        Err(p) => {
            let e =
                json!({"message": p.message, "code": p.code, "status": p.status, "event": event});
            let _ = ack.send(&json!({"error": e}));
            s.emit("error", &e)
        }
    };
    if let Err(e) = sent {
        tracing::debug!(error = %e, "cannot answer a Socket.IO client");
    }
}

fn parse<T: DeserializeOwned>(data: Value) -> Result<T, Problem> {
    serde_json::from_value(data).map_err(|e| Problem::new("invalid_body", e.to_string()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChatRef {
    chat_id: Uuid,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendMessage {
    chat_id: Uuid,
    content: Option<String>,
    reply_to_id: Option<Uuid>,
    client_msg_id: Option<String>,
    /// `send_media` only.
    message_type: Option<String>,
    media: Option<MediaRef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MediaRef {
    file_id: Uuid,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MarkRead {
    chat_id: Uuid,
    #[serde(default)]
    message_ids: Vec<Uuid>,
    up_to_seq: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Edit {
    chat_id: Uuid,
    message_id: Uuid,
    new_content: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageRef {
    chat_id: Uuid,
    message_id: Uuid,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reaction {
    chat_id: Uuid,
    message_id: Uuid,
    emoji: String,
}

#[derive(Deserialize)]
struct Renew {
    token: String,
}

impl Conn {
    /// Handle one client event; unknown events are refused.
    pub async fn on(&self, s: SocketRef, ack: AckSender, event: &str, data: Value) {
        let (name, result) = match event {
            "join_chat" => ("join_chat_success", self.join(data)),
            "leave_chat" => (
                "leave_chat_success",
                parse::<ChatRef>(data).map(|c| json!({"chatId": c.chat_id})),
            ),
            "send_message" | "send_media" => {
                let name = if event == "send_message" {
                    "send_message_success"
                } else {
                    "send_media_success"
                };
                (name, self.send(data, event == "send_media").await)
            }
            "mark_as_read" => ("read_success", self.mark_read(data).await),
            "edit_message" => ("edit_success", self.edit(data).await),
            "delete_message" => ("delete_success", self.delete(data).await),
            "add_reaction" => ("reaction_success", self.react(data, true).await),
            "remove_reaction" => ("reaction_removed_success", self.react(data, false).await),
            "typing" | "typing_start" | "stop_typing" | "typing_stop" => {
                let state = if event.starts_with("stop") || event.ends_with("stop") {
                    TypingState::Stop
                } else {
                    TypingState::Start
                };
                match parse::<ChatRef>(data) {
                    Ok(c) => {
                        let _ = self.actions.send(Action::Typing(c.chat_id, state)).await;
                        return;
                    }
                    Err(p) => ("", Err(p)),
                }
            }
            "auth" => match parse::<Renew>(data) {
                Ok(r) => {
                    let _ = self.actions.send(Action::Renew(r.token)).await;
                    return;
                }
                Err(p) => ("", Err(p)),
            },
            _ => (
                "",
                Err(Problem::new(
                    "unknown_event",
                    format!("no client event {event:?}"),
                )),
            ),
        };
        answer(&s, ack, event, name, result);
    }

    fn join(&self, data: Value) -> Result<Value, Problem> {
        let c: ChatRef = parse(data)?;
        if !self.gateway.is_member(c.chat_id, self.user) {
            return Err(Problem {
                status: 404,
                ..Problem::new("chat_not_found", format!("no chat {}", c.chat_id))
            });
        }
        Ok(json!({"chatId": c.chat_id, "message": "joined chat"}))
    }

    async fn send(&self, data: Value, media: bool) -> Result<Value, Problem> {
        let m: SendMessage = parse(data)?;
        let client_msg_id = m
            .client_msg_id
            .clone()
            .unwrap_or_else(|| Uuid::new_v4().to_string());
        let (kind, media_id) = if media {
            let kind = m.message_type.clone().unwrap_or_else(|| "file".into());
            let file = m
                .media
                .as_ref()
                .ok_or_else(|| Problem::new("media_required", "send_media needs media.fileId"))?;
            (kind, Some(file.file_id))
        } else {
            ("text".to_owned(), None)
        };
        let mid = message_id(m.chat_id, self.user, &client_msg_id);
        let key = format!("MessageSent:{mid}:");
        self.echoes.expect(key.clone());
        let body = json!({"client_msg_id": client_msg_id, "kind": kind, "text": m.content,
                          "media_id": media_id, "reply_to": m.reply_to_id});
        let path = format!("/v1/chats/{}/messages", m.chat_id);
        let answer = self.commands.call(Method::POST, &path, Some(body)).await;
        let a = answer.inspect_err(|_| self.echoes.forget(&key))?;
        Ok(
            json!({"messageId": a["message_id"], "chatId": m.chat_id, "seq": a["seq"],
                  "clientMsgId": client_msg_id, "position": a["position"], "timestamp": now()}),
        )
    }

    async fn mark_read(&self, data: Value) -> Result<Value, Problem> {
        let r: MarkRead = parse(data)?;
        let mut up_to = r.up_to_seq.unwrap_or(0);
        for id in &r.message_ids {
            up_to = up_to.max(self.seq_of(r.chat_id, *id).await?);
        }
        if up_to == 0 {
            return Err(Problem::new(
                "invalid_body",
                "mark_as_read needs messageIds (or upToSeq)",
            ));
        }
        let key = format!("ReadMarkerMoved:{}:", r.chat_id);
        self.echoes.expect(key.clone());
        let path = format!("/v1/chats/{}/read", r.chat_id);
        let body = json!({"up_to_seq": up_to});
        let a = (self.commands.call(Method::POST, &path, Some(body)).await)
            .inspect_err(|_| self.echoes.forget(&key))?;
        Ok(
            json!({"messageIds": r.message_ids, "chatId": r.chat_id, "upToSeq": up_to,
                  "position": a["position"]}),
        )
    }

    /// A message's seq, from its own events (no projection lag).
    async fn seq_of(&self, chat: Uuid, message: Uuid) -> Result<u64, Problem> {
        let events = self
            .store
            .read_subject(&chat_stream(chat), message)
            .await
            .map_err(|e| Problem {
                status: 503,
                ..Problem::new("unavailable", e.to_string())
            })?;
        events
            .iter()
            .find_map(
                |e| match serde_json::from_value::<ChatEvent>(e.payload.clone()) {
                    Ok(ChatEvent::MessageSent { seq, .. }) => Some(seq),
                    _ => None,
                },
            )
            .ok_or_else(|| Problem {
                status: 404,
                ..Problem::new("message_not_found", format!("no message {message}"))
            })
    }

    async fn edit(&self, data: Value) -> Result<Value, Problem> {
        let e: Edit = parse(data)?;
        let key = format!("MessageEdited:{}:", e.message_id);
        self.echoes.expect(key.clone());
        let path = format!("/v1/chats/{}/messages/{}", e.chat_id, e.message_id);
        let body = json!({"text": e.new_content});
        let a = (self.commands.call(Method::PATCH, &path, Some(body)).await)
            .inspect_err(|_| self.echoes.forget(&key))?;
        Ok(json!({"messageId": e.message_id, "chatId": e.chat_id, "position": a["position"]}))
    }

    async fn delete(&self, data: Value) -> Result<Value, Problem> {
        let d: MessageRef = parse(data)?;
        let key = format!("MessageDeleted:{}:", d.message_id);
        self.echoes.expect(key.clone());
        let path = format!(
            "/v1/chats/{}/messages/{}?for=everyone",
            d.chat_id, d.message_id
        );
        let a = (self.commands.call(Method::DELETE, &path, None).await)
            .inspect_err(|_| self.echoes.forget(&key))?;
        Ok(json!({"messageId": d.message_id, "chatId": d.chat_id, "position": a["position"]}))
    }

    async fn react(&self, data: Value, add: bool) -> Result<Value, Problem> {
        let r: Reaction = parse(data)?;
        let kind = if add {
            "ReactionAdded"
        } else {
            "ReactionRemoved"
        };
        let key = format!("{kind}:{}:{}", r.message_id, r.emoji);
        self.echoes.expect(key.clone());
        let path = format!(
            "/v1/chats/{}/messages/{}/reactions/{}",
            r.chat_id,
            r.message_id,
            segment(&r.emoji)
        );
        let method = if add { Method::PUT } else { Method::DELETE };
        let a = (self.commands.call(method, &path, None).await)
            .inspect_err(|_| self.echoes.forget(&key))?;
        Ok(
            json!({"messageId": r.message_id, "chatId": r.chat_id, "emoji": r.emoji,
                  "position": a["position"]}),
        )
    }
}
