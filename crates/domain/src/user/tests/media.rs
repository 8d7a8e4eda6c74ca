//! Uploads and their deletion on the uploader's stream.

use super::*;
use crate::message::MediaRef;

const MEDIA: Uuid = Uuid::from_u128(77);

fn photo(owner: Uuid) -> MediaRef {
    MediaRef {
        media_id: MEDIA,
        owner_id: owner,
        kind: MessageKind::Image,
        mime: "image/png".into(),
        size: 1234,
        width: Some(10),
        height: Some(20),
        duration_ms: None,
        sha256: "ab".repeat(32),
    }
}

fn uploaded() -> UserEvent {
    UserEvent::MediaUploaded {
        user_id: ME,
        media: photo(ME),
        file_name: Some("cat.png".into()),
        at: T0,
    }
}

fn delete(state: MediaState) -> UserCommand {
    by(
        ME,
        UserAction::DeleteMedia {
            media_id: MEDIA,
            state,
            reason: MediaDeleteReason::Unattached,
        },
    )
}

#[test]
fn an_upload_is_recorded_on_the_uploaders_stream_with_the_media_as_subject() {
    let record = by(
        ME,
        UserAction::RecordUpload {
            media: photo(ME),
            file_name: Some("cat.png".into()),
        },
    );
    me([]).when(record).then([uploaded()]);
    assert_eq!(uploaded().subject(), Some(MEDIA));
}

#[test]
fn an_upload_owned_by_someone_else_is_refused() {
    let record = by(
        ME,
        UserAction::RecordUpload {
            media: photo(OTHER),
            file_name: None,
        },
    );
    me([]).when(record).then_error(Invalid, "media_mismatch");
}

#[test]
fn folding_an_uploaded_then_deleted_media_leaves_it_unusable() {
    let deleted = UserEvent::MediaDeleted {
        user_id: ME,
        media_id: MEDIA,
        reason: MediaDeleteReason::Unattached,
        at: T0,
    };
    assert_eq!(
        MediaState::fold(MEDIA, [&uploaded()]),
        MediaState::Uploaded(photo(ME))
    );
    assert_eq!(
        MediaState::fold(MEDIA, [&uploaded(), &deleted]),
        MediaState::Deleted
    );
    assert_eq!(
        MediaState::fold(Uuid::from_u128(5), [&uploaded()]),
        MediaState::Unknown
    );
    assert!(
        MediaState::fold(MEDIA, [&uploaded(), &deleted])
            .usable()
            .is_none()
    );
}

#[test]
fn deleting_media_happens_once() {
    me([uploaded()])
        .when(delete(MediaState::Uploaded(photo(ME))))
        .then([UserEvent::MediaDeleted {
            user_id: ME,
            media_id: MEDIA,
            reason: MediaDeleteReason::Unattached,
            at: T0,
        }]);
    me([uploaded()])
        .when(delete(MediaState::Deleted))
        .then_nothing();
    me([]).when(delete(MediaState::Unknown)).then_nothing();
}
