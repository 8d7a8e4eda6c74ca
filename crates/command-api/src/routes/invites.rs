//! Invite links: make one (admins), preview it and join through it
//! (anyone with the code), revoke it (admins).
//!
//! A code is the chat's id and 128 random bits, base64url: unguessable,
//! and it names its chat, so a join loads the chat's aggregate (no lookup
//! table, no projection lag). The log and the aggregate keep only its
//! SHA-256; the code is shown once, to its maker.

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_common::{ApiError, ApiOptionalJson, ApiPath};
use chat_domain::{ChatAction, ChatKind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::chats::simple;
use super::groups::on_member;
use crate::CommandState;
use crate::answers::{ChatAnswer, CommandAnswer, MemberAnswer};
use crate::facts::chat;
use crate::openapi::ChatPath;
use crate::pipeline::CommandContext;

pub(super) fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    CommandState: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(revoke))
        .routes(routes!(preview))
        .routes(routes!(join))
}

/// A code's two halves: the chat it names, and its hash for the aggregate.
fn parse(code: &str) -> Result<(Uuid, String), ApiError> {
    let not_found = || ApiError::not_found("invite_not_found", "no such invite");
    let bytes = URL_SAFE_NO_PAD.decode(code).map_err(|_| not_found())?;
    if bytes.len() != 32 {
        return Err(not_found());
    }
    let chat_id = Uuid::from_slice(&bytes[..16]).map_err(|_| not_found())?;
    Ok((chat_id, hash(code)))
}

fn hash(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}

/// A new code for `chat_id`: its id and 128 random bits.
fn new_code(chat_id: Uuid) -> String {
    let mut bytes = chat_id.as_bytes().to_vec();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    // A v4 UUID carries 122 random bits; two of them give 128 here.
    bytes.extend_from_slice(&a.as_bytes()[..8]);
    bytes.extend_from_slice(&b.as_bytes()[8..]);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    /// How many joins it allows (at least 1); absent: no limit.
    #[schema(minimum = 1)]
    max_uses: Option<u32>,
    /// When it stops working (in the future); absent: until revoked.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    expires_at: Option<OffsetDateTime>,
}

/// A new invite: its code, shown this once.
#[derive(Debug, Serialize, ToSchema)]
struct InviteAnswer {
    #[serde(flatten)]
    command: CommandAnswer,
    chat_id: Uuid,
    code: String,
    /// Where a client sends people: `/v1/invites/{code}`.
    url: String,
}

/// Make an invite link (admins of a group).
#[utoipa::path(
    post, path = "/v1/chats/{chat_id}/invites", tag = "groups", operation_id = "create_invite",
    params(ChatPath),
    request_body(content = Option<InviteBody>, description = "Optional"),
    responses((status = 201, description = "Made", body = InviteAnswer)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "chat_closed", "not_a_group", "not_an_admin", "invalid_max_uses",
        "invite_expiry_in_past", "too_many_invites"
    ]))),
)]
async fn create(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(chat_id): ApiPath<Uuid>,
    ApiOptionalJson(b): ApiOptionalJson<InviteBody>,
) -> Result<(StatusCode, Json<InviteAnswer>), ApiError> {
    let code = new_code(chat_id);
    let action = ChatAction::CreateInvite {
        code_hash: hash(&code),
        max_uses: b.max_uses,
        expires_at: b.expires_at,
    };
    let Json(made) = simple(&state, &ctx, chat_id, action).await?;
    let answer = InviteAnswer {
        command: made.command,
        chat_id,
        url: format!("/v1/invites/{code}"),
        code,
    };
    Ok((StatusCode::CREATED, Json(answer)))
}

/// Revoke an invite link (admins).
#[utoipa::path(
    delete, path = "/v1/chats/{chat_id}/invites/{code}", tag = "groups", operation_id = "revoke_invite",
    params(("chat_id" = Uuid, Path), ("code" = String, Path)),
    responses((status = 200, description = "Revoked", body = ChatAnswer)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "chat_closed", "not_a_group", "not_an_admin", "invite_not_found"
    ]))),
)]
async fn revoke(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath((chat_id, code)): ApiPath<(Uuid, String)>,
) -> Result<Json<ChatAnswer>, ApiError> {
    let (named, code_hash) = parse(&code)?;
    if named != chat_id {
        return Err(ApiError::not_found("invite_not_found", "no such invite"));
    }
    simple(
        &state,
        &ctx,
        chat_id,
        ChatAction::RevokeInvite { code_hash },
    )
    .await
}

/// What an invite leads to, before joining.
#[derive(Debug, Serialize, ToSchema)]
struct InvitePreview {
    chat_id: Uuid,
    #[schema(value_type = String)]
    kind: ChatKind,
    title: String,
    members_count: usize,
    /// Whether it still admits a join (not used up or expired).
    usable: bool,
}

/// Preview an invite: the group or channel it leads to.
#[utoipa::path(
    get, path = "/v1/invites/{code}", tag = "groups", operation_id = "preview_invite",
    params(("code" = String, Path)),
    responses((status = 200, description = "The group", body = InvitePreview)),
    extensions(("x-error-codes" = json!(["invite_not_found"]))),
)]
async fn preview(
    State(state): State<CommandState>,
    _ctx: CommandContext,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<InvitePreview>, ApiError> {
    let (chat_id, code_hash) = parse(&code)?;
    let loaded = chat(&state, chat_id).await?;
    let c = &loaded.state;
    let (Some(invite), Some(group)) = (c.invites.get(&code_hash), c.group.as_ref()) else {
        return Err(ApiError::not_found("invite_not_found", "no such invite"));
    };
    let (kind, members_count) = if c.is_channel() {
        (
            ChatKind::Channel,
            usize::try_from(c.subscribers).unwrap_or(usize::MAX),
        )
    } else {
        (ChatKind::Group, c.members.len())
    };
    Ok(Json(InvitePreview {
        chat_id,
        kind,
        title: group.title.clone(),
        members_count,
        usable: !group.closed && invite.usable(OffsetDateTime::now_utc()),
    }))
}

/// Join a group, or subscribe to a channel, through an invite.
#[utoipa::path(
    post, path = "/v1/invites/{code}/join", tag = "groups", operation_id = "join_by_invite",
    params(("code" = String, Path)),
    responses((status = 200, description = "Joined (or already a member)", body = MemberAnswer)),
    extensions(("x-error-codes" = json!([
        "invite_not_found", "invite_used_up", "user_banned", "group_full", "chat_closed"
    ]))),
)]
async fn join(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<MemberAnswer>, ApiError> {
    let (chat_id, code_hash) = parse(&code)?;
    let me = ctx.actor();
    on_member(&state, &ctx, (chat_id, me), |_| ChatAction::JoinByInvite {
        code_hash: code_hash.clone(),
    })
    .await
    .map_err(|e| {
        // An unknown chat is an unknown invite to someone outside it.
        if e.code == "chat_not_found" {
            ApiError::not_found("invite_not_found", "no such invite")
        } else {
            e
        }
    })
}
