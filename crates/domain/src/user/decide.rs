//! Deciding user commands. Only the user themself writes their stream; the
//! per-chat preferences need the caller to confirm participation because the
//! user stream does not know the chat's membership.

use time::OffsetDateTime;
use uuid::Uuid;

use super::command::{UserAction, UserCommand};
use super::event::UserEvent;
use super::media::MediaState;
use super::state::{ChatPrefs, Muted, Settings, User};
use crate::error::DomainError;
use crate::message::MessageFacts;
use crate::policy::Policy;
use crate::rules;

type Decision = Result<Vec<UserEvent>, DomainError>;

pub(super) fn decide(user: &User, cmd: &UserCommand, policy: &Policy) -> Decision {
    let (me, at) = (cmd.actor, cmd.at);
    if let UserAction::Register {
        username,
        display_name,
    } = &cmd.action
    {
        return register(user, me, at, username, display_name.as_deref());
    }
    // A deleted account's uploads are still removed by the cleanup job.
    let cleanup = user.erased && matches!(cmd.action, UserAction::DeleteMedia { .. });
    if !user.exists && !cleanup {
        return Err(DomainError::not_found("user_not_found", "no such user"));
    }
    if me != user.id {
        return Err(DomainError::forbidden(
            "not_self",
            "only the user themself may do this",
        ));
    }
    let prefs = |chat_id: Uuid, is_participant: bool| -> Result<ChatPrefs, DomainError> {
        if !is_participant {
            return Err(DomainError::not_found(
                "chat_not_found",
                "no such chat, or you are not in it",
            ));
        }
        Ok(user.prefs(chat_id).cloned().unwrap_or_default())
    };
    let user_id = me;
    Ok(match &cmd.action {
        UserAction::Register { .. } => Vec::new(),
        UserAction::UpdateProfile {
            display_name,
            avatar_url,
            bio,
        } => update_profile(user, at, display_name, avatar_url, bio)?,
        UserAction::UpdateSettings {
            read_receipts,
            last_seen_visible_to,
            accept_requests_from,
            push_preview,
        } => {
            let new = Settings {
                read_receipts: read_receipts.unwrap_or(user.settings.read_receipts),
                last_seen_visible_to: last_seen_visible_to
                    .unwrap_or(user.settings.last_seen_visible_to),
                accept_requests_from: accept_requests_from
                    .unwrap_or(user.settings.accept_requests_from),
                push_preview: push_preview.unwrap_or(user.settings.push_preview),
            };
            when(new != user.settings, || UserEvent::SettingsChanged {
                user_id,
                read_receipts: new.read_receipts,
                last_seen_visible_to: new.last_seen_visible_to,
                accept_requests_from: new.accept_requests_from,
                push_preview: new.push_preview,
                at,
            })
        }
        UserAction::BlockUser { target } => {
            not_self_target(me, *target)?;
            let already = user.blocks(*target);
            if !already && user.blocked.len() >= policy.max_blocked_users {
                return Err(DomainError::conflict(
                    "too_many_blocks",
                    format!("at most {} blocked users", policy.max_blocked_users),
                ));
            }
            when(!already, || UserEvent::UserBlocked {
                user_id,
                blocked_user_id: *target,
                at,
            })
        }
        UserAction::UnblockUser { target } => {
            not_self_target(me, *target)?;
            when(user.blocks(*target), || UserEvent::UserUnblocked {
                user_id,
                blocked_user_id: *target,
                at,
            })
        }
        UserAction::MuteChat {
            chat_id,
            until,
            is_participant,
        } => {
            let p = prefs(*chat_id, *is_participant)?;
            if until.is_some_and(|t| t <= at) {
                return Err(DomainError::invalid(
                    "mute_until_in_past",
                    "until",
                    "a timed mute must end in the future",
                ));
            }
            when(p.muted != Some(Muted::from_until(*until)), || {
                UserEvent::ChatMuted {
                    user_id,
                    chat_id: *chat_id,
                    until: *until,
                    at,
                }
            })
        }
        UserAction::UnmuteChat {
            chat_id,
            is_participant,
        } => {
            let p = prefs(*chat_id, *is_participant)?;
            // An expired timed mute is already no mute.
            let muted = p.muted.is_some_and(|m| m.is_active(at));
            when(muted, || UserEvent::ChatUnmuted {
                user_id,
                chat_id: *chat_id,
                at,
            })
        }
        UserAction::ArchiveChat {
            chat_id,
            is_participant,
        } => {
            let p = prefs(*chat_id, *is_participant)?;
            when(!p.archived, || UserEvent::ChatArchived {
                user_id,
                chat_id: *chat_id,
                at,
            })
        }
        UserAction::UnarchiveChat {
            chat_id,
            is_participant,
        } => {
            let p = prefs(*chat_id, *is_participant)?;
            when(p.archived, || UserEvent::ChatUnarchived {
                user_id,
                chat_id: *chat_id,
                at,
            })
        }
        UserAction::ClearChat {
            chat_id,
            up_to_seq,
            is_participant,
        } => {
            let p = prefs(*chat_id, *is_participant)?;
            // Clearing an empty chat still hides it; only a clear that hides
            // nothing new over an earlier clear is a no-op.
            let nothing_new = p.cleared_up_to_seq > 0 && *up_to_seq <= p.cleared_up_to_seq;
            when(!nothing_new, || UserEvent::ChatCleared {
                user_id,
                chat_id: *chat_id,
                up_to_seq: *up_to_seq,
                at,
            })
        }
        UserAction::HideMessage {
            chat_id,
            message,
            visible,
            already_hidden,
        } => hide_message(user, at, *chat_id, message, *visible, *already_hidden)?,
        UserAction::RecordUpload { media, file_name } => {
            if media.owner_id != me {
                return Err(DomainError::invalid(
                    "media_mismatch",
                    "media_id",
                    "an upload belongs to its uploader",
                ));
            }
            vec![UserEvent::MediaUploaded {
                user_id,
                media: media.clone(),
                file_name: file_name.clone(),
                at,
            }]
        }
        UserAction::SetStatus {
            status,
            text,
            expires_at,
        } => {
            let wanted = super::status::validate(*status, text.as_deref(), *expires_at, at)?;
            when(user.status.as_ref() != Some(&wanted), || {
                UserEvent::StatusChanged {
                    user_id,
                    status: wanted.status,
                    text: wanted.text.clone(),
                    expires_at: wanted.expires_at,
                    at,
                }
            })
        }
        UserAction::Erase => vec![UserEvent::UserErased { user_id, at }],
        UserAction::DeleteMedia {
            media_id,
            state,
            reason,
        } => when(matches!(state, MediaState::Uploaded(_)), || {
            UserEvent::MediaDeleted {
                user_id,
                media_id: *media_id,
                reason: *reason,
                at,
            }
        }),
    })
}

/// One event if `cond`, else the idempotent nothing.
fn when(cond: bool, event: impl FnOnce() -> UserEvent) -> Vec<UserEvent> {
    if cond { vec![event()] } else { Vec::new() }
}

fn not_self_target(me: Uuid, target: Uuid) -> Result<(), DomainError> {
    if me == target {
        return Err(DomainError::invalid(
            "cannot_block_self",
            "user_id",
            "you cannot block yourself",
        ));
    }
    Ok(())
}

fn register(
    user: &User,
    me: Uuid,
    at: OffsetDateTime,
    username: &str,
    display_name: Option<&str>,
) -> Decision {
    if user.exists {
        return Err(DomainError::conflict("user_exists", "already registered"));
    }
    if user.erased {
        return Err(DomainError::conflict(
            "account_erased",
            "this account was deleted and cannot be registered again",
        ));
    }
    let username = rules::username(username)?;
    let display_name = match display_name.filter(|d| !d.trim().is_empty()) {
        Some(d) => rules::display_name(d)?,
        None => username.clone(),
    };
    Ok(vec![UserEvent::UserRegistered {
        user_id: me,
        username,
        display_name,
        at,
    }])
}

fn update_profile(
    user: &User,
    at: OffsetDateTime,
    display_name: &Option<String>,
    avatar_url: &Option<String>,
    bio: &Option<String>,
) -> Decision {
    let display_name = match display_name {
        Some(d) => rules::display_name(d)?,
        None => user.display_name.clone(),
    };
    let avatar_url = match avatar_url {
        Some(a) => rules::avatar_url(a)?,
        None => user.avatar_url.clone(),
    };
    let bio = match bio {
        Some(b) => rules::bio(b)?,
        None => user.bio.clone(),
    };
    let changed =
        display_name != user.display_name || avatar_url != user.avatar_url || bio != user.bio;
    Ok(when(changed, || UserEvent::ProfileUpdated {
        user_id: user.id,
        display_name,
        avatar_url,
        bio,
        at,
    }))
}

fn hide_message(
    user: &User,
    at: OffsetDateTime,
    chat_id: Uuid,
    message: &MessageFacts,
    visible: bool,
    already_hidden: bool,
) -> Decision {
    if message.chat_id != chat_id || !visible {
        return Err(DomainError::not_found(
            "message_not_found",
            "no such message in this chat",
        ));
    }
    let cleared = user
        .prefs(chat_id)
        .is_some_and(|p| message.seq <= p.cleared_up_to_seq);
    Ok(when(!already_hidden && !cleared, || {
        UserEvent::MessageHiddenForMe {
            user_id: user.id,
            chat_id,
            message_id: message.message_id,
            seq: message.seq,
            at,
        }
    }))
}
