//! The media cleanup job: deletes uploads that were never attached to a
//! message within the retention window (24 h by default), and uploads whose
//! every referencing message was deleted for everyone.
//!
//! Each deletion is a `MediaDeleted` event on the uploader's stream (so the
//! media can no longer be sent) followed by the blob's removal. Candidates
//! come from the `rm_media` read model, so the job first waits for that
//! projection to reach the store's head: a message just sent must be seen
//! referencing its media before the media is judged unreferenced.

use std::time::Duration;

use chat_common::ApiError;
use chat_common::auth::Principal;
use chat_domain::{MediaDeleteReason, MediaState, User, UserAction, UserCommand, user_stream};
use object_store::ObjectStoreExt;
use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

use super::object_path;
use crate::{Lagging, MediaApp};
use chat_command_api::pipeline::{CommandContext, execute};

/// Uploads handled per run (the next run continues).
const BATCH: i64 = 500;
/// How long a run waits for the media projection to catch up.
const CATCH_UP: Duration = Duration::from_secs(10);

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanupReport {
    pub unattached: usize,
    pub unreferenced: usize,
    /// The projection did not reach the head in time; nothing was judged.
    pub skipped_lagging: bool,
}

/// One run, as of `now`: uploads older than `unattached_ttl` that no message
/// ever referenced, and uploads whose referencing messages are all deleted.
pub async fn run_cleanup(
    state: &MediaApp,
    now: OffsetDateTime,
    unattached_ttl: Duration,
) -> Result<CleanupReport, ApiError> {
    let mut report = CleanupReport::default();
    if !caught_up(state).await? {
        report.skipped_lagging = true;
        return Ok(report);
    }
    let cutoff = now - unattached_ttl;
    let rows: Vec<(Uuid, Uuid, bool)> = sqlx::query_as(
        "SELECT m.media_id, m.owner_id, \
                EXISTS (SELECT 1 FROM rm_media.refs r WHERE r.media_id = m.media_id) AS referenced \
           FROM rm_media.media m \
          WHERE m.deleted_at IS NULL \
            AND NOT EXISTS (SELECT 1 FROM rm_media.refs r WHERE r.media_id = m.media_id AND NOT r.deleted) \
            AND (m.uploaded_at < $1 \
                 OR EXISTS (SELECT 1 FROM rm_media.refs r WHERE r.media_id = m.media_id)) \
          ORDER BY m.uploaded_at LIMIT $2",
    )
    .bind(cutoff)
    .bind(BATCH)
    .fetch_all(&state.commands.pool)
    .await
    .map_err(|e| ApiError::unavailable(&e))?;
    for (media_id, owner, referenced) in rows {
        let reason = if referenced {
            MediaDeleteReason::Unreferenced
        } else {
            MediaDeleteReason::Unattached
        };
        delete_one(state, now, owner, media_id, reason).await?;
        if referenced {
            report.unreferenced += 1;
        } else {
            report.unattached += 1;
        }
    }
    Ok(report)
}

/// Whether the media projection has reached the store's head (waiting up
/// to [`CATCH_UP`], through the app's read-model watch).
async fn caught_up(state: &MediaApp) -> Result<bool, ApiError> {
    match state.caught_up(CATCH_UP).await {
        Ok(_) => Ok(true),
        Err(Lagging::Behind(_)) => Ok(false),
        Err(Lagging::Failed(e)) => Err(e),
    }
}

/// The cleanup's deletion of one upload, as its owner's command.
async fn delete_one(
    state: &MediaApp,
    now: OffsetDateTime,
    owner: Uuid,
    media_id: Uuid,
    reason: MediaDeleteReason,
) -> Result<(), ApiError> {
    let ctx = CommandContext {
        principal: Principal {
            user_id: owner,
            roles: Vec::new(),
            external: false,
            username_hint: None,
            session_id: None,
        },
        at: now,
        request_id: None,
        command_id: Some(format!("media-cleanup:{media_id}")),
        if_match: None,
    };
    delete_media(state, &ctx, media_id, reason)
        .await
        .map(|_| ())
}

/// Record the deletion on the owner's (`ctx`'s actor's) stream, then remove
/// the blob. The owner's route and the cleanup job both delete this way.
pub(crate) async fn delete_media(
    state: &MediaApp,
    ctx: &CommandContext,
    media_id: Uuid,
    reason: MediaDeleteReason,
) -> Result<chat_command_api::pipeline::Outcome<chat_domain::UserEvent>, ApiError> {
    let (owner, now) = (ctx.actor(), ctx.at);
    let outcome =
        execute::<User, _, _>(&state.commands, ctx, &user_stream(owner), |_| async move {
            let (media, _) =
                chat_command_api::facts::media(&state.commands, owner, media_id).await?;
            if matches!(media, MediaState::Unknown) {
                return Err(ApiError::not_found(
                    "media_not_found",
                    format!("no media {media_id} of yours"),
                ));
            }
            Ok(UserCommand {
                actor: owner,
                at: now,
                action: UserAction::DeleteMedia {
                    media_id,
                    state: media,
                    reason,
                },
            })
        })
        .await?;
    match state.media.objects.delete(&object_path(media_id)).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
        Err(e) => {
            // The media is already unusable; a leftover blob is only space.
            tracing::warn!(%media_id, error = %e, "deleting a media blob");
        }
    }
    Ok(outcome)
}

/// Run the job every `interval` until `stop` turns true.
pub fn spawn_cleanup(state: MediaApp, mut stop: watch::Receiver<bool>) {
    let interval = state.media.config.cleanup_interval;
    let ttl = state.media.config.unattached_ttl;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
            match run_cleanup(&state, OffsetDateTime::now_utc(), ttl).await {
                Ok(r) if r.unattached + r.unreferenced > 0 => {
                    tracing::info!(
                        unattached = r.unattached,
                        unreferenced = r.unreferenced,
                        "media cleanup"
                    );
                }
                Ok(r) if r.skipped_lagging => {
                    tracing::debug!("media cleanup skipped: projection lagging")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "media cleanup failed"),
            }
        }
    });
}
