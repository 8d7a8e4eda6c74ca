//! Groups: create, edit info, members, admins, leave.

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use chat_common::ApiPath;
use chat_common::{ApiError, ApiJson};
use chat_domain::{ChatAction, ChatStatus, Invitee, direct_chat_id};
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::chats::simple;
use crate::CommandState;
use crate::answers::{ChatAnswer, ChatIdAnswer, CommandAnswer, MemberAnswer};
use crate::facts::{chat, existing_user};
use crate::openapi::{ChatPath, MemberPath};
use crate::pipeline::CommandContext;

pub(super) fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    CommandState: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(update_info))
        .routes(routes!(add_members))
        .routes(routes!(remove_member))
        .routes(routes!(promote, demote))
        .routes(routes!(leave))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    /// 1..=128 characters.
    #[schema(
        max_length = 128,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    title: String,
    /// The other members: with the creator, at least 3 distinct people.
    #[schema(min_items = 1)]
    member_ids: Vec<Uuid>,
    /// At most 1024 characters; blank leaves none.
    #[schema(
        max_length = 1024,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    description: Option<String>,
}

/// Fields left out (or null) stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct InfoBody {
    /// 1..=128 characters.
    #[schema(
        max_length = 128,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    title: Option<String>,
    /// At most 1024 characters; blank clears it.
    #[schema(
        max_length = 1024,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    description: Option<String>,
    /// An http(s) URL of at most 2048 characters; blank clears it.
    #[schema(
        max_length = 2048,
        pattern = r"^[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(https?://[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*)?[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    avatar_url: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MembersBody {
    /// 1 or more registered users.
    #[schema(min_items = 1)]
    user_ids: Vec<Uuid>,
}

/// What the decision needs of each user `actor` wants to put into a group:
/// their blocks and request settings, and whether the two are contacts (an
/// accepted direct chat). Every id must name a registered user (else 404).
async fn invitees(
    state: &CommandState,
    actor: Uuid,
    ids: &[Uuid],
) -> Result<Vec<Invitee>, ApiError> {
    futures::stream::iter(ids.iter().copied())
        .map(|id| async move {
            let user = existing_user(state, id)
                .await
                .map_err(|e| e.with_field("user_ids"))?;
            let direct = chat(state, direct_chat_id(actor, id)).await?;
            Ok(Invitee {
                user_id: id,
                blocks_actor: user.state.blocks(actor),
                accepts_requests: user.state.accepts_requests(),
                contact: direct.state.status() == ChatStatus::Active,
            })
        })
        .buffered(16)
        .try_collect()
        .await
}

/// Create a group; the creator is its owner and an admin.
#[utoipa::path(
    post, path = "/v1/chats/group", tag = "groups", operation_id = "create_group",
    request_body = CreateBody,
    responses((status = 201, description = "Created", body = ChatIdAnswer)),
    extensions(("x-error-codes" = json!([
        "group_too_small", "group_too_large", "invalid_title", "description_too_long",
        "user_not_found", "chat_exists", "member_refuses"
    ]))),
)]
async fn create(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiJson(b): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<ChatIdAnswer>), ApiError> {
    if b.member_ids.len() > state.policy.max_group_members {
        return Err(
            ApiError::bad_request("group_too_large", "too many members").with_field("member_ids")
        );
    }
    let invitees = invitees(&state, ctx.actor(), &b.member_ids)
        .await
        .map_err(|e| e.with_field("member_ids"))?;
    let chat_id = Uuid::now_v7();
    let action = ChatAction::CreateGroup {
        chat_id,
        title: b.title,
        description: b.description,
        member_ids: b.member_ids,
        invitees,
    };
    super::chats::create(&state, &ctx, chat_id, action).await
}

/// Edit a group's title, description or avatar (admins).
#[utoipa::path(
    patch, path = "/v1/chats/{chat_id}", tag = "groups", operation_id = "update_group_info",
    params(ChatPath),
    request_body = InfoBody,
    responses((status = 200, description = "Updated", body = ChatAnswer)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "chat_closed", "not_a_group", "not_an_admin", "invalid_title",
        "description_too_long", "invalid_avatar_url"
    ]))),
)]
async fn update_info(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<Uuid>,
    ApiJson(b): ApiJson<InfoBody>,
) -> Result<Json<ChatAnswer>, ApiError> {
    let action = ChatAction::UpdateGroupInfo {
        title: b.title,
        description: b.description,
        avatar_url: b.avatar_url,
    };
    simple(&state, &ctx, path, action).await
}

/// Add members to a group (admins).
#[utoipa::path(
    post, path = "/v1/chats/{chat_id}/members", tag = "groups", operation_id = "add_group_members",
    params(ChatPath),
    request_body = MembersBody,
    responses((status = 200, description = "Added", body = ChatAnswer)),
    extensions(("x-error-codes" = json!([
        "invalid_user_ids", "user_not_found", "chat_not_found", "chat_closed", "not_a_group",
        "not_an_admin", "group_full", "member_refuses", "channel_join_only"
    ]))),
)]
async fn add_members(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<Uuid>,
    ApiJson(b): ApiJson<MembersBody>,
) -> Result<Json<ChatAnswer>, ApiError> {
    if b.user_ids.is_empty() || b.user_ids.len() > state.policy.max_group_members {
        return Err(
            ApiError::bad_request("invalid_user_ids", "give 1 or more user ids")
                .with_field("user_ids"),
        );
    }
    let invitees = invitees(&state, ctx.actor(), &b.user_ids).await?;
    simple(
        &state,
        &ctx,
        path,
        ChatAction::AddMembers {
            user_ids: b.user_ids,
            invitees,
        },
    )
    .await
}

/// Commands addressed at one member: `/v1/chats/{chat_id}/…/{user_id}`.
pub(super) async fn on_member(
    state: &CommandState,
    ctx: &CommandContext,
    path: (Uuid, Uuid),
    action: impl Fn(Uuid) -> ChatAction,
) -> Result<Json<MemberAnswer>, ApiError> {
    let (chat_id, user_id) = path;
    let outcome = super::chats::run(state, ctx, chat_id, &action(user_id)).await?;
    Ok(Json(MemberAnswer {
        command: CommandAnswer::of(&outcome),
        chat_id,
        user_id,
    }))
}

/// Remove a member from a group (admins; not the owner).
#[utoipa::path(
    delete, path = "/v1/chats/{chat_id}/members/{user_id}", tag = "groups",
    operation_id = "remove_group_member",
    params(MemberPath),
    responses((status = 200, description = "Removed", body = MemberAnswer)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "chat_closed", "not_a_group", "not_an_admin", "not_a_member",
        "cannot_remove_owner", "cannot_remove_self"
    ]))),
)]
async fn remove_member(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<MemberAnswer>, ApiError> {
    on_member(&state, &ctx, path, |user_id| ChatAction::RemoveMember {
        user_id,
    })
    .await
}

/// Make a member an admin (admins).
#[utoipa::path(
    post, path = "/v1/chats/{chat_id}/admins/{user_id}", tag = "groups", operation_id = "promote_admin",
    params(MemberPath),
    responses((status = 200, description = "Promoted", body = MemberAnswer)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "chat_closed", "not_a_group", "not_an_admin", "not_a_member"
    ]))),
)]
async fn promote(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<MemberAnswer>, ApiError> {
    on_member(&state, &ctx, path, |user_id| ChatAction::PromoteAdmin {
        user_id,
    })
    .await
}

/// Take a member's admin role away (admins; the owner cannot be demoted).
#[utoipa::path(
    delete, path = "/v1/chats/{chat_id}/admins/{user_id}", tag = "groups", operation_id = "demote_admin",
    params(MemberPath),
    responses((status = 200, description = "Demoted", body = MemberAnswer)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "chat_closed", "not_a_group", "not_an_admin", "not_a_member",
        "cannot_demote_owner"
    ]))),
)]
async fn demote(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<MemberAnswer>, ApiError> {
    on_member(&state, &ctx, path, |user_id| ChatAction::DemoteAdmin {
        user_id,
    })
    .await
}

/// Leave a group; the last admin leaving promotes the longest-standing member.
#[utoipa::path(
    post, path = "/v1/chats/{chat_id}/leave", tag = "groups", operation_id = "leave_group",
    params(ChatPath),
    responses((status = 200, description = "Left", body = ChatAnswer)),
    extensions(("x-error-codes" = json!(["chat_not_found", "chat_closed", "not_a_group", "owner_cannot_leave"]))),
)]
async fn leave(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<Uuid>,
) -> Result<Json<ChatAnswer>, ApiError> {
    simple(&state, &ctx, path, ChatAction::Leave).await
}
