//! One `/v1/ws` session: the socket's loop around a [`Client`]: frames in,
//! queued frames out, keepalive, token expiry and the slow-consumer close.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use chat_common::auth::Principal;
use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until, timeout};

use crate::Gateway;
use crate::acks::Acks;
use crate::client::{Client, Refusal, SubscribeError};
use crate::commands::Commands;
use crate::hub::Out;
use crate::idle::Idle;
use crate::protocol::{self as p, ClientFrame, Frame, error_frame, parse_client_frame, pong_frame};

/// Where the socket came from, for the commands it runs (rate limits by
/// address, logs): the peer and any `X-Forwarded-For`.
pub(crate) type Origin = (
    Option<axum::extract::ConnectInfo<std::net::SocketAddr>>,
    Option<axum::http::HeaderValue>,
);

/// How a session ends.
enum End {
    Close(u16, &'static str),
    /// The peer is gone or silent: nothing to say.
    Drop,
}

struct Session {
    gw: Gateway,
    /// Who the socket is, for the commands its acks become.
    token: String,
    origin: Origin,
    /// Started with the first delivery ack.
    acks: Option<Acks>,
    /// Auto-away: client frames seen, checked at each ping.
    idle: Idle,
    last_heard: Instant,
}

/// Run a session until the peer leaves, falls behind, or the server stops.
pub(crate) async fn run(
    gw: Gateway,
    mut socket: WebSocket,
    who: Principal,
    deadline: Option<Instant>,
    (token, origin): (String, Origin),
) {
    let mut client = gw.attach(&who, deadline).await;
    let mut s = Session {
        gw: gw.clone(),
        token,
        origin,
        acks: None,
        idle: Idle::new(gw.config().away_after),
        last_heard: Instant::now(),
    };
    let slow = client.slow();
    let end = s.serve(&mut socket, &mut client, &slow).await;
    let user = client.user;
    client.close().await;
    if let End::Close(code, reason) = end {
        tracing::debug!(%user, code, reason, "closing WebSocket");
        let close = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        let _ = timeout(gw.config().send_timeout, socket.send(close)).await;
    }
}

impl Session {
    async fn serve(&mut self, socket: &mut WebSocket, client: &mut Client, slow: &Notify) -> End {
        let cfg = self.gw.config().clone();
        let mut stop = client.stopping();
        let mut ping =
            tokio::time::interval_at(Instant::now() + cfg.ping_interval, cfg.ping_interval);
        loop {
            let expiry = sleep_until(client.deadline().unwrap_or_else(far_future));
            let step = tokio::select! {
                biased;
                _ = slow.notified() => Err(End::Close(p::CLOSE_SLOW_CONSUMER, "slow consumer")),
                _ = stop.changed() => Err(End::Close(p::CLOSE_GOING_AWAY, "server shutting down")),
                _ = expiry => Err(End::Close(p::CLOSE_TOKEN_EXPIRED, "token expired")),
                _ = ping.tick() => self.keepalive(socket, client, slow, cfg.idle_timeout).await,
                msg = socket.recv() => self.on_message(socket, client, slow, msg).await,
                out = client.recv() => match out {
                    // The hub dropped us: we fell behind.
                    None => Err(End::Close(p::CLOSE_SLOW_CONSUMER, "slow consumer")),
                    Some(Out::Event(_, frame) | Out::Signal(frame)) => {
                        self.send(socket, slow, frame).await
                    }
                },
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    async fn keepalive(
        &mut self,
        socket: &mut WebSocket,
        client: &mut Client,
        slow: &Notify,
        idle: Duration,
    ) -> Result<(), End> {
        if self.last_heard.elapsed() > idle {
            return Err(End::Drop);
        }
        if client.signed_out() {
            return Err(End::Close(p::CLOSE_SESSION_REVOKED, "session signed out"));
        }
        if let Some(turn) = self.idle.check() {
            client.idle(turn).await;
        }
        client.keepalive().await;
        self.send_msg(socket, slow, Message::Ping(Default::default()))
            .await
    }

    async fn on_message(
        &mut self,
        socket: &mut WebSocket,
        client: &mut Client,
        slow: &Notify,
        msg: Option<Result<Message, axum::Error>>,
    ) -> Result<(), End> {
        let msg = match msg {
            None | Some(Ok(Message::Close(_))) => return Err(End::Drop),
            Some(Err(e)) => {
                let text = e.to_string();
                tracing::debug!(error = %text, "WebSocket read failed");
                return Err(if text.contains("Space limit exceeded") {
                    End::Close(p::CLOSE_TOO_BIG, "frame too big")
                } else {
                    End::Drop
                });
            }
            Some(Ok(m)) => m,
        };
        self.last_heard = Instant::now();
        match msg {
            Message::Text(text) => {
                if let Some(turn) = self.idle.active() {
                    client.idle(turn).await;
                }
                self.on_text(socket, client, slow, text.as_str()).await
            }
            Message::Binary(_) => {
                let f = error_frame("invalid_frame", "frames are JSON text");
                self.send(socket, slow, f).await
            }
            _ => Ok(()),
        }
    }

    async fn on_text(
        &mut self,
        socket: &mut WebSocket,
        client: &mut Client,
        slow: &Notify,
        text: &str,
    ) -> Result<(), End> {
        match parse_client_frame(text) {
            Ok(frame) => self.on_frame(socket, client, slow, frame).await,
            Err((code, detail)) => self.send(socket, slow, error_frame(code, &detail)).await,
        }
    }

    async fn on_frame(
        &mut self,
        socket: &mut WebSocket,
        client: &mut Client,
        slow: &Notify,
        frame: ClientFrame,
    ) -> Result<(), End> {
        let done = match frame {
            ClientFrame::Ping => return self.send(socket, slow, pong_frame()).await,
            ClientFrame::Subscribe { after_position } => {
                return self.subscribe(socket, client, slow, after_position).await;
            }
            ClientFrame::Typing { chat_id, state } => client.typing(chat_id, state).await,
            ClientFrame::Presence { status } => client.presence(status.into()).await,
            ClientFrame::Auth { access_token } => self.renew(client, access_token),
            ClientFrame::Delivered { chat_id, up_to_seq } => {
                self.delivered(client, chat_id, up_to_seq)
            }
        };
        match done {
            Ok(()) => Ok(()),
            Err(r) => self.refuse(socket, slow, r).await,
        }
    }

    fn renew(&mut self, client: &mut Client, token: String) -> Result<(), Refusal> {
        client.renew(&token)?;
        if let Some(acks) = &self.acks {
            acks.renew(&token);
        }
        self.token = token;
        Ok(())
    }

    /// Queue a delivery ack for one of the user's chats.
    fn delivered(&mut self, client: &Client, chat: uuid::Uuid, up_to: u64) -> Result<(), Refusal> {
        if !client.is_member(chat) {
            return Err(Refusal {
                code: "chat_not_found",
                detail: format!("no chat {chat}, or you are not in it"),
            });
        }
        if self.acks.is_none() {
            let Some(router) = self.gw.command_router() else {
                return Err(Refusal {
                    code: "delivery_unavailable",
                    detail: "this node runs no commands: POST /v1/chats/{id}/delivered".into(),
                });
            };
            let (peer, forwarded_for) = self.origin.clone();
            let commands = Commands::new("ws", router, self.token.clone(), peer, forwarded_for);
            self.acks = Some(Acks::start(commands));
        }
        if let Some(acks) = &self.acks {
            acks.ack(chat, up_to);
        }
        Ok(())
    }

    /// Replay what the client missed, then go live (the client queues
    /// everything after the replay meanwhile).
    async fn subscribe(
        &mut self,
        socket: &mut WebSocket,
        client: &mut Client,
        slow: &Notify,
        after: Option<u64>,
    ) -> Result<(), End> {
        let sub = match client.subscribe(after).await {
            Ok(sub) => sub,
            Err(SubscribeError::Refused(r)) => return self.refuse(socket, slow, r).await,
            Err(SubscribeError::Slow) => {
                return Err(End::Close(p::CLOSE_SLOW_CONSUMER, "slow consumer"));
            }
            Err(SubscribeError::Replay(e)) => return Err(replay_failed(e)),
        };
        self.send(socket, slow, p::subscribed_frame(sub.start))
            .await?;
        let Some(mut replay) = sub.replay else {
            return Ok(());
        };
        while let Some(page) = replay.next_page().await.map_err(replay_failed)? {
            for (_, frame) in page {
                self.send(socket, slow, frame).await?;
            }
        }
        Ok(())
    }

    async fn refuse(&self, socket: &mut WebSocket, slow: &Notify, r: Refusal) -> Result<(), End> {
        self.send(socket, slow, error_frame(r.code, &r.detail))
            .await
    }

    async fn send(&self, socket: &mut WebSocket, slow: &Notify, frame: Frame) -> Result<(), End> {
        self.send_msg(socket, slow, Message::Text(frame)).await
    }

    /// Write one message, unless the socket is found slow meanwhile.
    async fn send_msg(
        &self,
        socket: &mut WebSocket,
        slow: &Notify,
        msg: Message,
    ) -> Result<(), End> {
        let limit = self.gw.config().send_timeout;
        tokio::select! {
            biased;
            _ = slow.notified() => Err(End::Close(p::CLOSE_SLOW_CONSUMER, "slow consumer")),
            r = timeout(limit, socket.send(msg)) => match r {
                Ok(Ok(())) => Ok(()),
                Ok(Err(_)) => Err(End::Drop),
                Err(_) => Err(End::Close(p::CLOSE_SLOW_CONSUMER, "slow consumer")),
            },
        }
    }
}

fn replay_failed(e: crate::replay::ReplayError) -> End {
    tracing::error!(error = %e, "resume failed");
    End::Close(p::CLOSE_INTERNAL, "resume failed; retry")
}

/// A deadline that never comes, for a token without expiry.
pub fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}
