//! Roles, ownership and bans in groups: each a command on one member (or
//! one user, for bans), decided by the domain (`chat::decide::roles`).

use axum::Json;
use axum::extract::{FromRef, State};
use chat_common::{ApiError, ApiJson, ApiOptionalJson, ApiPath};
use chat_domain::{ChatAction, Role};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::groups::on_member;
use crate::CommandState;
use crate::answers::MemberAnswer;
use crate::openapi::{ChatPath, MemberPath};
use crate::pipeline::CommandContext;

pub(super) fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    CommandState: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(set_role))
        .routes(routes!(transfer))
        .routes(routes!(ban, unban))
}

/// A member's role.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum RoleName {
    Admin,
    Moderator,
    Member,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    role: RoleName,
}

/// Set a member's role (admins; the owner's never changes).
#[utoipa::path(
    put, path = "/v1/chats/{chat_id}/members/{user_id}/role", tag = "groups",
    operation_id = "set_member_role",
    params(MemberPath),
    request_body = RoleBody,
    responses((status = 200, description = "Set (or unchanged)", body = MemberAnswer)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "chat_closed", "not_a_group", "not_an_admin", "not_a_member",
        "cannot_demote_owner"
    ]))),
)]
async fn set_role(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<(Uuid, Uuid)>,
    ApiJson(b): ApiJson<RoleBody>,
) -> Result<Json<MemberAnswer>, ApiError> {
    let role = match b.role {
        RoleName::Admin => Role::Admin,
        RoleName::Moderator => Role::Moderator,
        RoleName::Member => Role::Member,
    };
    on_member(&state, &ctx, path, |user_id| ChatAction::SetRole {
        user_id,
        role,
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OwnerBody {
    /// A member, who becomes an admin if not one already.
    user_id: Uuid,
}

/// Hand the group to another member (the owner, who stays an admin).
#[utoipa::path(
    put, path = "/v1/chats/{chat_id}/owner", tag = "groups", operation_id = "transfer_ownership",
    params(ChatPath),
    request_body = OwnerBody,
    responses((status = 200, description = "Handed over", body = MemberAnswer)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "chat_closed", "not_a_group", "not_an_admin", "not_the_owner",
        "not_a_member"
    ]))),
)]
async fn transfer(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(chat_id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<OwnerBody>,
) -> Result<Json<MemberAnswer>, ApiError> {
    on_member(&state, &ctx, (chat_id, b.user_id), |user_id| {
        ChatAction::TransferOwnership { user_id }
    })
    .await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct BanBody {
    /// When the ban ends (in the future); absent: until lifted.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    until: Option<OffsetDateTime>,
    /// Why, for the other admins and moderators; at most 500 characters.
    #[schema(max_length = 500, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    reason: Option<String>,
}

/// Ban a user from the group (admins; moderators ban plain members): a
/// member is removed, and nobody adds them back nor do they join until
/// the ban ends or is lifted.
#[utoipa::path(
    post, path = "/v1/chats/{chat_id}/bans/{user_id}", tag = "groups", operation_id = "ban_member",
    params(MemberPath),
    request_body(content = Option<BanBody>),
    responses((status = 200, description = "Banned (or already)", body = MemberAnswer)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "chat_closed", "not_a_group", "not_a_moderator", "cannot_ban_self",
        "ban_until_in_past", "reason_too_long", "control_characters"
    ]))),
)]
async fn ban(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<(Uuid, Uuid)>,
    ApiOptionalJson(b): ApiOptionalJson<BanBody>,
) -> Result<Json<MemberAnswer>, ApiError> {
    on_member(&state, &ctx, path, |user_id| ChatAction::Ban {
        user_id,
        until: b.until,
        reason: b.reason.clone(),
    })
    .await
}

/// Lift a ban (admins; moderators for plain members).
#[utoipa::path(
    delete, path = "/v1/chats/{chat_id}/bans/{user_id}", tag = "groups", operation_id = "unban_member",
    params(MemberPath),
    responses((status = 200, description = "Lifted (or was none)", body = MemberAnswer)),
    extensions(("x-error-codes" = json!([
        "chat_not_found", "chat_closed", "not_a_group", "not_a_moderator", "cannot_ban_self"
    ]))),
)]
async fn unban(
    State(state): State<CommandState>,
    ctx: CommandContext,
    ApiPath(path): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<MemberAnswer>, ApiError> {
    on_member(&state, &ctx, path, |user_id| ChatAction::Unban { user_id }).await
}
