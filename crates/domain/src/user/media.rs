//! A media item's life on its uploader's stream: uploaded, then perhaps
//! deleted. The user aggregate keeps no per-media state (uploads are
//! unbounded); callers fold the item's own events (the store's subject
//! index) with [`MediaState::fold`] and pass the result in.

use serde::{Deserialize, Serialize};

use super::event::UserEvent;
use crate::message::MediaRef;

/// What the uploader's stream says about one media id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(
    clippy::large_enum_variant,
    reason = "folded once per command and moved, never stored in bulk"
)]
pub enum MediaState {
    /// Never uploaded (by this user).
    Unknown,
    Uploaded(MediaRef),
    Deleted,
}

impl MediaState {
    /// Fold the events about one media id (oldest first).
    pub fn fold<'a>(media_id: uuid::Uuid, events: impl IntoIterator<Item = &'a UserEvent>) -> Self {
        let mut state = MediaState::Unknown;
        for event in events {
            match event {
                UserEvent::MediaUploaded { media, .. }
                    if media.media_id == media_id && state == MediaState::Unknown =>
                {
                    state = MediaState::Uploaded(media.clone());
                }
                UserEvent::MediaDeleted { media_id: id, .. } if *id == media_id => {
                    state = MediaState::Deleted;
                }
                _ => {}
            }
        }
        state
    }

    /// The media, if it can still be sent.
    pub fn usable(self) -> Option<MediaRef> {
        match self {
            MediaState::Uploaded(m) => Some(m),
            _ => None,
        }
    }
}
