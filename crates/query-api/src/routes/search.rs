//! `GET /v1/search/messages`: full-text search over what the caller can see.

use axum::Json;
use axum::extract::State;
use chat_common::ApiError;
use chat_common::ApiQuery;
use chat_common::auth::AuthUser;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::db;
use crate::answers::{Page, SearchHit};
use crate::{QueryState, cursor};
use sqlx::types::Json as SqlJson;

pub(super) fn routes() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new().routes(routes!(search))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    /// Web-search syntax: words, "phrases", -excluded, or.
    #[param(
        min_length = 1,
        max_length = 256,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    q: String,
    /// Only this chat.
    chat_id: Option<Uuid>,
    cursor: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// Wait (briefly) until the read models reflect this global position.
    #[allow(
        dead_code,
        reason = "honoured by the min_position middleware; declared so unknown-field checks accept it and the document lists it"
    )]
    min_position: Option<u64>,
}

/// Messages matching `q` in chats the caller is or was in, inside their
/// visible range; deleted and hidden-for-me messages never match. Ranked,
/// with `<mark>`-highlighted fragments.
#[utoipa::path(get, path = "/v1/search/messages", tag = "queries", operation_id = "search_messages",
    params(SearchQuery),
    responses((status = 200, description = "Hits, best first, a page", body = Page<SearchHit>)),
    extensions(("x-error-codes" = json!(["invalid_search", "invalid_cursor", "invalid_limit", "invalid_query"]))))]
async fn search(
    State(s): State<QueryState>,
    AuthUser(p): AuthUser,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<Page<SearchHit>>, ApiError> {
    let text = super::search_text(&q.q, 256)?;
    let limit = cursor::limit(q.limit)?;
    // Ranked results have no stable key to seek to; the cursor is an offset.
    let offset: i64 = q
        .cursor
        .as_deref()
        .map(cursor::decode)
        .transpose()?
        .unwrap_or(0);
    // A cursor is client-held text: one we never gave out is refused, not
    // handed to the database (a negative offset made Postgres fail: 503).
    if !(0..=MAX_OFFSET).contains(&offset) {
        return Err(ApiError::bad_request(
            "invalid_cursor",
            "the cursor is not one this server gave out",
        )
        .with_field("cursor"));
    }
    let rows: Vec<(SqlJson<SearchHit>,)> = sqlx::query_as(
        "SELECT jsonb_build_object('chat_id', x.chat_id, 'message_id', x.message_id, 'seq', x.seq, \
                'sender_id', x.sender_id, 'kind', x.kind, 'text', x.text, 'sent_at', x.sent_at, \
                'rank', ts_rank(x.search, query), \
                'highlight', ts_headline('simple', translate(x.text, chr(1) || chr(2), ''), query, \
                    'StartSel=' || chr(1) || ', StopSel=' || chr(2) || \
                    ', MaxFragments=2, MaxWords=20, MinWords=5')) \
           FROM websearch_to_tsquery('simple', $2) AS query, \
                rm_chats.members m \
           JOIN rm_chats.chats c ON c.chat_id = m.chat_id \
           JOIN rm_messages.messages x ON x.chat_id = m.chat_id \
           LEFT JOIN rm_chats.user_chats uc ON uc.user_id = m.user_id AND uc.chat_id = m.chat_id \
          WHERE m.user_id = $1 AND ($3::uuid IS NULL OR m.chat_id = $3) \
            AND x.search @@ query AND x.deleted_at IS NULL \
            AND x.seq > greatest(m.joined_seq, coalesce(uc.cleared_up_to_seq, 0)) \
            AND x.seq <= coalesce(m.left_seq, c.last_seq) \
            AND NOT EXISTS (SELECT 1 FROM rm_messages.hidden h \
                             WHERE h.user_id = $1 AND h.message_id = x.message_id) \
          ORDER BY ts_rank(x.search, query) DESC, x.sent_at DESC, x.message_id \
          LIMIT $4 OFFSET $5",
    )
    .bind(p.user_id)
    .bind(text)
    .bind(q.chat_id)
    .bind(cursor::fetch(limit))
    .bind(offset)
    .fetch_all(&s.pool)
    .await
    .map_err(db)?;
    // Ranked results page by offset (a rank is no stable key).
    let (rows, next) = cursor::page(rows, limit, |_| offset + limit);
    let items = rows
        .into_iter()
        .map(|(SqlJson(mut hit),)| {
            hit.highlight = hit.highlight.as_deref().map(marked);
            hit
        })
        .collect();
    Ok(Json(Page {
        items,
        next_cursor: next,
    }))
}

/// How deep ranked results page (offsets cost a scan of what they skip).
const MAX_OFFSET: i64 = 10_000;

/// A highlight as HTML: the message's text escaped, the matches (between
/// the \u{1} and \u{2} markers the query asks Postgres for, which the text
/// itself cannot contain) in `<mark>`. Message text is the sender's; a
/// client that renders highlights must never receive it as markup.
fn marked(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 16);
    for c in raw.chars() {
        match c {
            '\u{1}' => out.push_str("<mark>"),
            '\u{2}' => out.push_str("</mark>"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::marked;

    #[test]
    fn highlights_escape_the_text_and_mark_only_the_matches() {
        assert_eq!(
            marked("<img src=x onerror='a&b'> \u{1}hello\u{2} \"x\""),
            "&lt;img src=x onerror=&#39;a&amp;b&#39;&gt; <mark>hello</mark> &quot;x&quot;"
        );
    }
}
