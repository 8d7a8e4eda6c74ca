//! `GET /v1/presence?user_ids=a,b`: the presence of up to 100 users, as the
//! caller may see it. Served by the gateway, which holds presence: the live
//! status over the user's sockets on every node (Redis, or this process),
//! their chosen status, and last seen, each shown only to whoever their
//! privacy settings and blocks let see it (the same viewers as the live
//! `presence` frames), through the domain's one rule.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use chat_common::ApiError;
use chat_domain::user::status::shown;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::Gateway;
use crate::protocol::Status;

/// Most users one request may ask about.
pub const MAX_USERS: usize = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PresenceQuery {
    /// 1 to 100 user ids, comma-separated.
    #[param(
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(,[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}){0,99}$"
    )]
    user_ids: String,
}

/// One user's presence as the caller may see it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PresenceItem {
    user_id: Uuid,
    /// `online`, `away`, `dnd` or `offline` (also for users whose presence
    /// the caller may not see, and for `invisible` ones).
    status: &'static str,
    /// Their status text, while shown.
    text: Option<String>,
    /// When they were last online, while offline and visible to the caller.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    last_seen: Option<OffsetDateTime>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PresenceAnswer {
    items: Vec<PresenceItem>,
}

/// The presence of up to 100 users, as their privacy settings allow.
#[utoipa::path(get, path = "/v1/presence", tag = "queries", operation_id = "get_presence",
    params(PresenceQuery),
    responses((status = 200, description = "One entry per user asked about", body = PresenceAnswer)),
    extensions(("x-error-codes" = json!([
        "missing_token", "invalid_token", "token_expired", "session_revoked", "invalid_query",
        "service_unavailable"
    ]))))]
pub(crate) async fn presence(
    State(gw): State<Gateway>,
    headers: HeaderMap,
    query: Result<Query<PresenceQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PresenceAnswer>, ApiError> {
    let token = bearer(&headers)?;
    let (who, _) = gw.authenticate(&token)?;
    let Query(q) = query.map_err(|e| {
        ApiError::bad_request("invalid_query", e.body_text()).with_field("user_ids")
    })?;
    let users = parse_ids(&q.user_ids)?;
    let now = OffsetDateTime::now_utc();
    let last_seen = last_seen(&gw, &users).await?;
    let mut items = Vec::with_capacity(users.len());
    for user in users {
        if !gw.hub().may_see_presence(who.user_id, user) {
            items.push(PresenceItem {
                user_id: user,
                status: Status::Offline.as_str(),
                text: None,
                last_seen: None,
            });
            continue;
        }
        let live = gw.signals().live(user).await;
        let custom = gw.statuses().get(user);
        let (status, text) = shown(live.into(), custom.as_ref(), now);
        let status = Status::from(status);
        items.push(PresenceItem {
            user_id: user,
            status: status.as_str(),
            text,
            last_seen: (status == Status::Offline)
                .then(|| {
                    last_seen
                        .iter()
                        .find(|(u, _)| *u == user)
                        .map(|(_, at)| *at)
                })
                .flatten(),
        });
    }
    Ok(Json(PresenceAnswer { items }))
}

fn bearer(headers: &HeaderMap) -> Result<String, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing_token",
                "an access token is required",
            )
        })?;
    match value.trim().split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => Ok(t.trim().to_owned()),
        _ => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the Authorization header must use the Bearer scheme",
        )),
    }
}

/// `a,b,c`: 1 to [`MAX_USERS`] user ids, each once.
fn parse_ids(list: &str) -> Result<Vec<Uuid>, ApiError> {
    let bad =
        |detail: String| ApiError::bad_request("invalid_query", detail).with_field("user_ids");
    let mut ids: Vec<Uuid> = Vec::new();
    for part in list.split(',') {
        let id: Uuid = part
            .trim()
            .parse()
            .map_err(|_| bad(format!("`{part}` is not a user id")))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.len() > MAX_USERS {
        return Err(bad(format!("at most {MAX_USERS} users at once")));
    }
    Ok(ids)
}

async fn last_seen(gw: &Gateway, users: &[Uuid]) -> Result<Vec<(Uuid, OffsetDateTime)>, ApiError> {
    sqlx::query_as("SELECT user_id, at FROM gateway.last_seen WHERE user_id = ANY($1)")
        .bind(users)
        .fetch_all(gw.pool())
        .await
        .map_err(|e| ApiError::unavailable(&e))
}

#[cfg(test)]
mod tests {
    use super::parse_ids;

    #[test]
    fn user_id_lists_are_bounded_and_checked() {
        let a = "00000000-0000-0000-0000-000000000001";
        assert_eq!(
            parse_ids(&format!("{a},{a}")).map(|v| v.len()).ok(),
            Some(1)
        );
        assert!(parse_ids("").is_err());
        assert!(parse_ids("nope").is_err());
        let many: Vec<String> = (0..=100)
            .map(|n| format!("{}", uuid::Uuid::from_u128(n)))
            .collect();
        assert!(parse_ids(&many.join(",")).is_err());
    }
}
