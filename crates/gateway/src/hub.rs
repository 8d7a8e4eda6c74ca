//! The node's registry of sockets and its membership, behind one lock.
//!
//! The tail routes each event under the lock and records the last position
//! routed; a socket that subscribes reads that position under the same lock,
//! so everything after it reaches the socket live and everything up to it is
//! the replay's: no gap and no overlap at the seam.
//!
//! Delivery never waits: a socket's queue is bounded and the router uses
//! `try_send`; a full queue marks the socket slow (its session closes it with
//! the slow-consumer code), so one slow client never delays the others.
//! Typing and presence only look their recipients up under the lock and
//! queue outside it, so a signal to a large group never holds up events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{Notify, mpsc};
use uuid::Uuid;

use crate::members::{Members, Private};
use crate::protocol::Frame;
use crate::route::Target;

/// What the router hands a session.
#[derive(Debug, Clone)]
pub enum Out {
    /// A durable event at its global position.
    Event(u64, Frame),
    /// Typing or presence.
    Signal(Frame),
}

struct Conn {
    id: u64,
    tx: mpsc::Sender<Out>,
    slow: Arc<Notify>,
    /// Receives events (after `subscribe`); signals go to every socket.
    events: bool,
}

struct Inner {
    members: Members,
    conns: HashMap<Uuid, Vec<Conn>>,
    routed: u64,
    next_id: u64,
}

/// A socket's end of the hub.
pub struct Connection {
    pub id: u64,
    pub rx: mpsc::Receiver<Out>,
    /// Notified when the socket fell behind and must be closed.
    pub slow: Arc<Notify>,
}

/// Where a subscription starts live, and the chats its replay must read.
#[derive(Debug, Clone)]
pub struct Registration {
    pub live_after: u64,
    pub chats: Vec<Uuid>,
    /// Their clears and hides, and receipt settings, as of `live_after`.
    pub private: Private,
}

pub struct Hub {
    inner: Mutex<Inner>,
}

impl Hub {
    pub fn new(members: Members, position: u64) -> Hub {
        Hub {
            inner: Mutex::new(Inner {
                members,
                conns: HashMap::new(),
                routed: position,
                next_id: 1,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic under the lock cannot leave the maps half-updated in a way
        // worse than a lost event for one socket; keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn connect(&self, user: Uuid, capacity: usize) -> Connection {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let slow = Arc::new(Notify::new());
        let mut inner = self.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        inner.conns.entry(user).or_default().push(Conn {
            id,
            tx,
            slow: slow.clone(),
            events: false,
        });
        Connection { id, rx, slow }
    }

    pub fn disconnect(&self, user: Uuid, id: u64) {
        let mut inner = self.lock();
        if let Some(list) = inner.conns.get_mut(&user) {
            list.retain(|c| c.id != id);
            if list.is_empty() {
                inner.conns.remove(&user);
            }
        }
    }

    /// Start routing events to socket `id`; `None` if it is gone or already
    /// subscribed.
    pub fn subscribe(&self, user: Uuid, id: u64) -> Option<Registration> {
        let mut inner = self.lock();
        let live_after = inner.routed;
        let conn = inner
            .conns
            .get_mut(&user)?
            .iter_mut()
            .find(|c| c.id == id && !c.events)?;
        conn.events = true;
        let chats = inner.members.chats_ever(user);
        let private = inner.members.private_facts(user);
        Some(Registration {
            live_after,
            chats,
            private,
        })
    }

    /// Route the event at `position`: apply its membership change and queue
    /// its frame (rendered only if someone here receives it).
    pub fn dispatch(&self, position: u64, target: &Target, render: impl FnOnce() -> Frame) {
        let mut inner = self.lock();
        inner.routed = position;
        let audience = inner.members.apply(target);
        let mut frame = None;
        let mut render = Some(render);
        let Inner { conns, .. } = &mut *inner;
        for user in audience {
            let Some(list) = conns.get_mut(&user) else {
                continue;
            };
            let frame = frame.get_or_insert_with(|| render.take().map(|r| r()));
            if let Some(f) = frame {
                deliver(list, Out::Event(position, f.clone()));
            }
            if list.is_empty() {
                conns.remove(&user);
            }
        }
    }

    pub fn routed(&self) -> u64 {
        self.lock().routed
    }

    pub fn is_member(&self, chat: Uuid, user: Uuid) -> bool {
        self.lock().members.is_member(chat, user)
    }

    /// The other participant of a direct chat of `user`'s.
    pub fn direct_peer(&self, chat: Uuid, user: Uuid) -> Option<Uuid> {
        self.lock().members.direct_peer(chat, user)
    }

    /// Sockets `user` holds on this node.
    pub fn sockets_of(&self, user: Uuid) -> usize {
        self.lock().conns.get(&user).map_or(0, Vec::len)
    }

    pub fn has_connections(&self, user: Uuid) -> bool {
        self.lock().conns.contains_key(&user)
    }

    pub fn connections(&self) -> usize {
        self.lock().conns.values().map(Vec::len).sum()
    }

    /// A typing signal to the chat's current members here, but its author
    /// and anyone who blocked them or whom they blocked. Channels show no
    /// typing: their audience is not a conversation.
    pub fn to_members(&self, chat: Uuid, except: Uuid, frame: &Frame) {
        let sockets = {
            let inner = self.lock();
            if inner.members.is_channel(chat) {
                return;
            }
            let users = inner
                .members
                .members(chat)
                .filter(|u| *u != except && !inner.members.blocked_between(except, *u));
            sockets_of(&inner, users)
        };
        send_signal(sockets, frame);
    }

    /// Whether `viewer` may see `user`'s presence (themselves, or one of
    /// the viewers their settings and blocks allow).
    pub fn may_see_presence(&self, viewer: Uuid, user: Uuid) -> bool {
        viewer == user || self.lock().members.viewers(user).contains(&viewer)
    }

    /// A presence signal to whoever may see `user`'s presence.
    pub fn to_viewers(&self, user: Uuid, frame: &Frame) {
        let sockets = {
            let inner = self.lock();
            let viewers = inner.members.viewers(user);
            sockets_of(&inner, viewers.into_iter())
        };
        send_signal(sockets, frame);
    }
}

/// A socket's queue and its slow flag, taken out of the hub so a signal's
/// fan-out runs without the lock that routes events.
type Socket = (mpsc::Sender<Out>, Arc<Notify>);

fn sockets_of(inner: &Inner, users: impl Iterator<Item = Uuid>) -> Vec<Socket> {
    users
        .filter_map(|u| inner.conns.get(&u))
        .flatten()
        .map(|c| (c.tx.clone(), c.slow.clone()))
        .collect()
}

/// Queue a signal on each socket without waiting; a full queue marks the
/// socket slow (its session closes it and leaves the hub), a closed one is
/// already leaving.
fn send_signal(sockets: Vec<Socket>, frame: &Frame) {
    for (tx, slow) in sockets {
        if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(Out::Signal(frame.clone())) {
            slow.notify_one();
        }
    }
}

/// Queue `out` on every socket of one user without waiting; a full queue
/// marks the socket slow and drops it from the hub.
fn deliver(list: &mut Vec<Conn>, out: Out) {
    list.retain(|c| {
        if !c.events {
            return true;
        }
        match c.tx.try_send(out.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                c.slow.notify_one();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    });
}
