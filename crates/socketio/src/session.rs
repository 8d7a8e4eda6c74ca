//! One Socket.IO socket's life: its gateway client's stream (replayed from
//! `auth.afterPosition`, then live) rendered as seed 001's events, the
//! actions only the client may take (typing, token renewal), the
//! `unread_message` counts, keepalive and the closes (slow consumer,
//! token expiry, shutdown).

use std::sync::Arc;

use chat_gateway::client::{Client, SubscribeError};
use chat_gateway::hub::Out;
use chat_gateway::protocol::Frame;
use chat_gateway::session::far_future;
use serde_json::{Value, json};
use socketioxide::extract::SocketRef;
use tokio::sync::{Notify, mpsc};
use tokio::time::{Instant, sleep_until};
use uuid::Uuid;

use crate::Shared;
use crate::actions::{Action, Echoes, echo_key};
use crate::render::{self, Emit, Seen, Viewer};
use crate::unread::Unread;
use chat_gateway::commands::Commands;

/// Why the loop ended.
enum End {
    /// The client left.
    Gone,
    /// We close it: tell it why first.
    Close(&'static str, &'static str),
}

pub struct Session {
    pub socket: SocketRef,
    pub client: Client,
    pub shared: Shared,
    pub actions: mpsc::Receiver<Action>,
    pub gone: Arc<Notify>,
    pub echoes: Echoes,
    pub commands: Commands,
    pub after: Option<u64>,
}

struct Look<'a> {
    client: &'a Client,
    shared: &'a Shared,
}

impl Viewer for Look<'_> {
    fn user(&self) -> Uuid {
        self.client.user
    }
    fn peer(&self, chat: Uuid) -> Option<Uuid> {
        self.client.peer(chat)
    }
    fn media_url(&self, media_id: Uuid) -> Option<String> {
        let signer = self.shared.media_urls.as_ref()?;
        Some(signer.url(media_id, time::OffsetDateTime::now_utc().unix_timestamp()))
    }
}

impl Session {
    pub async fn run(mut self) {
        let mut unread = Unread::new(
            self.client.user,
            self.shared.pool.clone(),
            self.shared.checkpoints.clone(),
        );
        let mut seen = Seen::default();
        let end = match self.start(&mut unread, &mut seen).await {
            Ok(()) => self.serve(&mut unread, &mut seen).await,
            Err(end) => end,
        };
        if let End::Close(code, message) = end {
            let _ = self
                .socket
                .emit("error", &json!({"code": code, "message": message}));
            let _ = self.socket.clone().disconnect();
        }
        self.client.close().await;
    }

    /// Subscribe and send the replay; the live stream queues meanwhile.
    async fn start(&mut self, unread: &mut Unread, seen: &mut Seen) -> Result<(), End> {
        let sub = match self.client.subscribe(self.after).await {
            Ok(sub) => sub,
            Err(SubscribeError::Refused(r)) => {
                let _ = self
                    .socket
                    .emit("error", &json!({"code": r.code, "message": r.detail}));
                let _ = self.socket.clone().disconnect();
                return Err(End::Gone);
            }
            Err(SubscribeError::Slow) => return Err(End::Close("slow_consumer", "slow consumer")),
            Err(SubscribeError::Replay(e)) => {
                tracing::error!(error = %e, "Socket.IO resume failed");
                return Err(End::Close("resume_failed", "resume failed; retry"));
            }
        };
        let _ = self
            .socket
            .emit("subscribed", &json!({"position": sub.start}));
        if let Some(mut replay) = sub.replay {
            loop {
                let page = match replay.next_page().await {
                    Ok(Some(page)) => page,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::error!(error = %e, "Socket.IO resume failed");
                        return Err(End::Close("resume_failed", "resume failed; retry"));
                    }
                };
                for (position, frame) in page {
                    self.event(position, &frame, unread, seen).await?;
                }
            }
        }
        Ok(())
    }

    async fn serve(&mut self, unread: &mut Unread, seen: &mut Seen) -> End {
        let slow = self.client.slow();
        let mut stop = self.client.stopping();
        let every = self.shared.keepalive;
        let mut keepalive = tokio::time::interval_at(Instant::now() + every, every);
        loop {
            let expiry = sleep_until(self.client.deadline().unwrap_or_else(far_future));
            let step = tokio::select! {
                biased;
                _ = self.gone.notified() => Err(End::Gone),
                _ = slow.notified() => Err(End::Close("slow_consumer", "slow consumer")),
                _ = stop.changed() => Err(End::Close("going_away", "server shutting down")),
                _ = expiry => Err(End::Close("token_expired", "token expired")),
                _ = keepalive.tick() => {
                    if self.client.signed_out() {
                        Err(End::Close("session_revoked", "session signed out"))
                    } else {
                        self.client.keepalive().await;
                        Ok(())
                    }
                }
                Some(action) = self.actions.recv() => {
                    self.act(action).await;
                    Ok(())
                }
                out = self.client.recv() => match out {
                    None => Err(End::Close("slow_consumer", "slow consumer")),
                    Some(Out::Event(position, frame)) => {
                        self.event(position, &frame, unread, seen).await
                    }
                    Some(Out::Signal(frame)) => self.signal(&frame),
                },
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    async fn act(&mut self, action: Action) {
        let refused = match action {
            Action::Typing(chat, state) => self.client.typing(chat, state).await.err(),
            Action::Renew(token) => match self.client.renew(&token) {
                Ok(()) => {
                    self.commands.renew(&token);
                    None
                }
                Err(r) => Some(r),
            },
        };
        if let Some(r) = refused {
            let _ = self
                .socket
                .emit("error", &json!({"code": r.code, "message": r.detail}));
        }
    }

    async fn event(
        &mut self,
        position: u64,
        frame: &Frame,
        unread: &mut Unread,
        seen: &mut Seen,
    ) -> Result<(), End> {
        let Ok(frame) = serde_json::from_str::<Value>(frame.as_str()) else {
            return Ok(());
        };
        let ev = frame.get("event").unwrap_or(&Value::Null);
        let mine = actor(ev) == Some(self.client.user);
        let echo = mine && echo_key(ev).is_some_and(|k| self.echoes.take(&k));
        let look = Look {
            client: &self.client,
            shared: &self.shared,
        };
        let emits = render::event(&frame, &look, seen);
        let message = (ev.get("type").and_then(Value::as_str) == Some("MessageSent"))
            .then(|| render::message(ev, &look));
        if !echo {
            for e in emits {
                self.emit(e)?;
            }
        }
        if let Some(count) = unread.follow(position, ev).await {
            let data = json!({"chatId": ev.get("chat_id"), "unreadCount": count,
                              "lastMessage": message, "senderId": ev.get("sender_id"),
                              "position": position});
            self.emit(Emit {
                name: "unread_message",
                data,
            })?;
        }
        Ok(())
    }

    fn signal(&mut self, frame: &Frame) -> Result<(), End> {
        let Ok(frame) = serde_json::from_str::<Value>(frame.as_str()) else {
            return Ok(());
        };
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let look = Look {
            client: &self.client,
            shared: &self.shared,
        };
        match render::signal(&frame, &now, &look) {
            Some(e) => self.emit(e),
            None => Ok(()),
        }
    }

    /// Queue one event on the socket; a full buffer is a slow consumer
    /// (closed, to resume from its last position), a closed socket is gone.
    fn emit(&self, e: Emit) -> Result<(), End> {
        use socketioxide::{SendError, SocketError};
        match self.socket.emit(e.name, &e.data) {
            Ok(()) => Ok(()),
            Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                Err(End::Close("slow_consumer", "slow consumer"))
            }
            Err(SendError::Socket(SocketError::Closed)) => Err(End::Gone),
            Err(e) => {
                tracing::warn!(error = %e, "cannot encode a Socket.IO event");
                Ok(())
            }
        }
    }
}

/// Who did what an event records, for the events a client causes.
fn actor(ev: &Value) -> Option<Uuid> {
    let field = match ev.get("type")?.as_str()? {
        "MessageSent" => "sender_id",
        "MessageEdited" => "editor_id",
        "MessageDeleted" => "by",
        "ReactionAdded" | "ReactionRemoved" | "ReadMarkerMoved" => "user_id",
        _ => return None,
    };
    ev.get(field)?.as_str()?.parse().ok()
}
