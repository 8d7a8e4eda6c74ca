//! The `chats` projection (schema `rm_chats`): the chat list and everything
//! it shows.
//!
//! * `chats`: one row per chat: kind, title, status, owner, members count,
//!   last seq, message count and the last message's preview;
//! * `members`: every user who is or was in a chat, with role, visible range
//!   (`joined_seq`, and `left_seq` once they left: the row freezes) and read
//!   marker;
//! * `user_chats`: the per-user chat list with the user's own preferences
//!   (mute, archive, clear) from their user stream.
//!
//! Grouped by resource: [`direct`] (requests, blocks), [`group`]
//! (membership, roles, info), `channels` (creation, subscriptions), [`activity`] (messages, read markers),
//! [`prefs`] (user-stream preferences) and [`preview`] (preview text).

pub mod activity;
mod bans;
mod channels;
pub mod direct;
mod erased;
pub mod group;
pub mod prefs;
pub mod preview;

use async_trait::async_trait;
use chat_common::read_models;
use chat_domain::{ChatEvent, StreamKind, parse_stream};
use chat_store::RecordedEvent;
use sqlx::PgConnection;

use crate::error::Result;
use crate::projection::{Fact, Projection};
use crate::sql::big;
use activity::Marker;

/// See the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChatsProjection;

/// What every handler needs: the connection, the schema and the position of
/// the event being applied (rows at or past it are left alone).
pub(crate) struct Ctx<'c> {
    pub conn: &'c mut PgConnection,
    pub s: &'c str,
    pub pos: i64,
}

#[async_trait]
impl Projection for ChatsProjection {
    fn name(&self) -> &'static str {
        read_models::CHATS.name
    }

    fn schema(&self) -> &'static str {
        read_models::CHATS.schema
    }

    /// Chat events but reactions and pins; the user's own chat preferences.
    fn handles(&self, event: &RecordedEvent) -> bool {
        match parse_stream(&event.stream) {
            Some((StreamKind::Chat, _)) => !matches!(
                event.event_type.as_str(),
                "ReactionAdded"
                    | "ReactionRemoved"
                    | "MessagePinned"
                    | "MessageUnpinned"
                    | "PollVoted"
                    | "PollClosed"
                    | "InviteCreated"
                    | "InviteRevoked"
            ),
            Some((StreamKind::User, _)) => matches!(
                event.event_type.as_str(),
                "ChatMuted"
                    | "ChatUnmuted"
                    | "ChatArchived"
                    | "ChatUnarchived"
                    | "ChatCleared"
                    | "UserErased"
            ),
            None => false,
        }
    }

    async fn apply(&self, conn: &mut PgConnection, s: &str, event: &RecordedEvent) -> Result<()> {
        let mut cx = Ctx {
            conn,
            s,
            pos: big(event.position),
        };
        apply_fact(&mut cx, Fact::decode(event)?).await
    }

    /// Runs of `MessageSent` are applied with a few set-based statements
    /// ([`activity::SentRun`]); every other event goes through
    /// [`Projection::apply`]'s code, in order, after the run before it.
    async fn apply_events(
        &self,
        conn: &mut PgConnection,
        s: &str,
        events: &[RecordedEvent],
    ) -> Result<()> {
        let mut run = activity::SentRun::default();
        for event in events {
            let pos = big(event.position);
            match Fact::decode(event)? {
                Some(Fact::Chat(sent @ ChatEvent::MessageSent { .. })) => {
                    if !run.accepts(&sent) {
                        run.flush(conn, s).await?;
                    }
                    run.push(pos, sent);
                }
                fact => {
                    run.flush(conn, s).await?;
                    apply_fact(&mut Ctx { conn, s, pos }, fact).await?;
                }
            }
        }
        run.flush(conn, s).await
    }
}

async fn apply_fact(cx: &mut Ctx<'_>, fact: Option<Fact>) -> Result<()> {
    match fact {
        Some(Fact::Chat(e)) => apply_chat(cx, e).await,
        Some(Fact::User(e)) => prefs::apply(cx, e).await,
        None => Ok(()),
    }
}

async fn apply_chat(cx: &mut Ctx<'_>, event: ChatEvent) -> Result<()> {
    use ChatEvent as E;
    match event {
        E::DirectChatRequested {
            chat_id,
            requester_id,
            recipient_id,
            at,
        } => direct::requested(cx, chat_id, requester_id, recipient_id, at).await,
        E::ChatRequestAccepted { chat_id, .. } => direct::answered(cx, chat_id, "accepted").await,
        E::ChatRequestRejected { chat_id, .. } => direct::answered(cx, chat_id, "rejected").await,
        E::DirectChatBlocked { chat_id, by, .. } => direct::blocked(cx, chat_id, by, true).await,
        E::DirectChatUnblocked { chat_id, by, .. } => direct::blocked(cx, chat_id, by, false).await,
        E::GroupCreated {
            chat_id,
            owner_id,
            title,
            description,
            member_ids,
            at,
        } => group::created(cx, chat_id, owner_id, title, description, member_ids, at).await,
        E::ChannelCreated {
            chat_id,
            owner_id,
            title,
            description,
            public,
            at,
        } => channels::created(cx, chat_id, owner_id, title, description, public, at).await,
        E::ChannelSubscribed {
            chat_id,
            user_id,
            last_seq,
            at,
            ..
        } => channels::subscribed(cx, chat_id, user_id, last_seq, at).await,
        E::ChannelUnsubscribed {
            chat_id,
            user_id,
            at,
        } => group::member_gone(cx, chat_id, user_id, at).await,
        E::GroupInfoUpdated {
            chat_id,
            title,
            description,
            avatar_url,
            ..
        } => group::info_updated(cx, chat_id, title, description, avatar_url).await,
        E::MembersAdded {
            chat_id,
            user_ids,
            joined_seq,
            at,
            ..
        } => group::members_added(cx, chat_id, user_ids, joined_seq, at).await,
        E::MemberRemoved {
            chat_id,
            user_id,
            at,
            ..
        }
        | E::MemberLeft {
            chat_id,
            user_id,
            at,
        } => group::member_gone(cx, chat_id, user_id, at).await,
        E::AdminPromoted {
            chat_id, user_id, ..
        } => group::set_role(cx, chat_id, user_id, "member", "admin").await,
        E::AdminDemoted {
            chat_id, user_id, ..
        } => group::set_role(cx, chat_id, user_id, "admin", "member").await,
        E::MemberRoleChanged {
            chat_id,
            user_id,
            role,
            ..
        } => group::role_changed(cx, chat_id, user_id, role).await,
        E::MemberBanned {
            chat_id,
            user_id,
            by,
            until,
            reason,
            at,
        } => bans::banned(cx, chat_id, user_id, by, until, reason, at).await,
        E::MemberUnbanned {
            chat_id, user_id, ..
        } => bans::unbanned(cx, chat_id, user_id).await,
        E::OwnershipTransferred {
            chat_id,
            previous_owner_id,
            new_owner_id,
            ..
        } => group::ownership_transferred(cx, chat_id, previous_owner_id, new_owner_id).await,
        E::GroupClosed { chat_id, .. } => group::closed(cx, chat_id).await,
        E::MessageSent { .. } => activity::message_sent(cx, event).await,
        E::MessageEdited {
            chat_id,
            message_id,
            text,
            at,
            ..
        } => activity::message_edited(cx, chat_id, message_id, text, at).await,
        E::MessageDeleted {
            chat_id,
            message_id,
            at,
            ..
        } => activity::message_deleted(cx, chat_id, message_id, at).await,
        E::ReadMarkerMoved {
            chat_id,
            user_id,
            up_to_seq,
            at,
        } => activity::marker_moved(cx, Marker::Read, chat_id, user_id, up_to_seq, at).await,
        E::DeliveryMarkerMoved {
            chat_id,
            user_id,
            up_to_seq,
            at,
        } => activity::marker_moved(cx, Marker::Delivered, chat_id, user_id, up_to_seq, at).await,
        // Reactions, pins and polls live in the messages projection.
        E::ReactionAdded { .. }
        | E::ReactionRemoved { .. }
        | E::MessagePinned { .. }
        | E::MessageUnpinned { .. }
        | E::PollVoted { .. }
        | E::PollClosed { .. } => Ok(()),
        // Invites live in the chat's aggregate (joins through one are
        // ordinary `MembersAdded`).
        E::InviteCreated { .. } | E::InviteRevoked { .. } => Ok(()),
    }
}
