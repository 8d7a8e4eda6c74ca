//! The query routes, one module per resource, and the SQL they share.

mod bans;
mod channels;
mod chats;
mod edits;
mod export;
mod me;
mod media;
mod messages;
mod search;
mod users;

use chat_common::ApiError;
use chat_domain::visibility::{self, Window};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::QueryState;

pub fn routes() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new()
        .merge(me::routes())
        .merge(export::routes())
        .merge(chats::routes())
        .merge(bans::routes())
        .merge(channels::routes())
        .merge(messages::routes())
        .merge(edits::routes())
        .merge(search::routes())
        .merge(media::routes())
        .merge(users::routes())
}

/// The query string of a route that takes nothing but `min_position`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct WaitQuery {
    /// Wait (briefly) until the read models reflect this global position.
    #[allow(
        dead_code,
        reason = "honoured by the min_position middleware; declared so unknown-field checks accept it and the document lists it"
    )]
    min_position: Option<u64>,
}

/// A search box's text, trimmed: not blank, at most `max` characters as
/// sent (what the document's `maxLength` counts).
pub(crate) fn search_text(q: &str, max: usize) -> Result<&str, ApiError> {
    let text = q.trim();
    if text.is_empty() || q.chars().count() > max {
        return Err(ApiError::bad_request(
            "invalid_search",
            format!("q must be 1 to {max} characters"),
        )
        .with_field("q"));
    }
    Ok(text)
}

/// A database error: the database is unavailable (503), except a row that
/// does not fit its answer type, which is our bug (500, logged).
pub(crate) fn db(e: sqlx::Error) -> ApiError {
    match e {
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => ApiError::internal(&e),
        _ => ApiError::unavailable(&e),
    }
}

/// The chat list's counts for chat `c` and its member (`m`, `uc`), from
/// one scan of the unread messages (capped like [`chat_common::unread_count`]): a JSON object
/// `{unread_count, mention_count}`, the second counting the unread messages
/// that mention the member. Mute does not change either: a mention in a
/// muted chat still counts.
pub(crate) const UNREAD_COUNTS: &str = concat!(
    "(SELECT jsonb_build_object('unread_count', count(*), \
             'mention_count', count(*) FILTER (WHERE mentioned)) \
      FROM (SELECT m.user_id = ANY(x.mentions) AS mentioned ",
    chat_common::unread_messages!(),
    " LIMIT 9999) unread)"
);

/// Whether the chat list shows chat `c` to its member (`m`, `uc`): a chat
/// they cleared or deleted for themselves stays out of it until a message
/// they can see arrives after the clear. Decided here rather than stored, so
/// that a send writes no row per member.
pub(crate) const LISTED: &str = chat_common::listed!();

/// When chat `c` last had activity for its member (`m`, `uc`): the chat's
/// own while they are in it, as it was when they left afterwards (frozen
/// into `uc` by the projection).
pub(crate) const ACTIVITY: &str = "(CASE WHEN m.left_seq IS NULL \
      THEN greatest(uc.last_activity_at, c.last_activity_at) ELSE uc.last_activity_at END)";

/// What part of a chat's history `user` may see: seq in (lower, upper],
/// the bounds of their [`Window`] (the rule every read path shares).
/// The upper bound comes from the same projection as membership (the
/// member's left_seq, else the chat's last_seq as `rm_chats` knows it), so a
/// messages projection running ahead of the chats projection can never show
/// a removed member what was sent after their removal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Access {
    pub lower: i64,
    pub upper: i64,
    /// They left or were removed: they see the chat as it was then.
    pub left: bool,
    /// The log positions whose system entries they see.
    pub span: visibility::Span,
}

/// The caller's visible range in a chat; 404 if they never were in it.
pub(crate) async fn access(pool: &PgPool, chat_id: Uuid, user: Uuid) -> Result<Access, ApiError> {
    type Row = (i64, i64, i64, bool, i64, Option<i64>, i64);
    let row: Option<Row> = sqlx::query_as(
        "SELECT m.joined_seq, coalesce(m.left_seq, c.last_seq), coalesce(uc.cleared_up_to_seq, 0), \
                m.left_seq IS NOT NULL, m.joined_pos, m.left_pos, coalesce(uc.cleared_pos, 0) \
           FROM rm_chats.members m \
           JOIN rm_chats.chats c ON c.chat_id = m.chat_id \
           LEFT JOIN rm_chats.user_chats uc ON uc.user_id = m.user_id AND uc.chat_id = m.chat_id \
          WHERE m.chat_id = $1 AND m.user_id = $2",
    )
    .bind(chat_id)
    .bind(user)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    let (joined, last, cleared, left, joined_pos, left_pos, cleared_pos) =
        row.ok_or_else(|| ApiError::not_found("chat_not_found", format!("no chat {chat_id}")))?;
    let window = Window {
        joined_seq: seq(joined),
        cleared_seq: seq(cleared),
        left_seq: left.then_some(seq(last)),
    };
    Ok(Access {
        lower: sql_seq(window.lower()),
        upper: sql_seq(window.left_seq.unwrap_or(seq(last))),
        left,
        span: visibility::Span {
            joined_pos: seq(joined_pos),
            cleared_pos: seq(cleared_pos),
            left_pos: left_pos.map(seq),
        },
    })
}

fn seq(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn sql_seq(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `LIKE` treats `%`, `_` and `\` specially; a prefix must match literally.
pub(crate) fn like_prefix(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 1);
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// `?q=&cursor=&limit=` of the routes that list by name prefix (users,
/// public channels).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PrefixQuery {
    /// A prefix of the names the route lists (case-insensitive).
    #[param(
        min_length = 1,
        max_length = 64,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub q: String,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Wait (briefly) until the read models reflect this global position.
    #[allow(
        dead_code,
        reason = "honoured by the min_position middleware; declared so unknown-field checks accept it and the document lists it"
    )]
    min_position: Option<u64>,
}

#[cfg(test)]
mod like_tests {
    use super::like_prefix;

    #[test]
    fn like_wildcards_in_a_prefix_match_literally() {
        assert_eq!(like_prefix("Al_i%"), "al\\_i\\%%");
    }
}
