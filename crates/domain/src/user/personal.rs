//! What of a user event is personal data (`crate::erasure`): their name,
//! profile, status text and upload file names, under their own key.

use super::UserEvent;
use crate::erasure::{SEALED_TYPES, SealKey, Shred};
use crate::event::DomainEvent;

/// A user event without its personal data.
pub(super) fn redacted(event: &UserEvent) -> Option<(SealKey, UserEvent)> {
    // Most events carry nothing personal: no copy made for them (this
    // runs for every event the command side encodes).
    if !SEALED_TYPES.contains(&event.event_type()) {
        return None;
    }
    let mut blank = event.clone();
    match &mut blank {
        UserEvent::UserRegistered {
            username,
            display_name,
            ..
        } => {
            username.clear();
            display_name.clear();
        }
        UserEvent::ProfileUpdated {
            display_name,
            avatar_url,
            bio,
            ..
        } => {
            display_name.clear();
            *avatar_url = None;
            *bio = None;
        }
        UserEvent::StatusChanged { text, .. } => *text = None,
        UserEvent::MediaUploaded { file_name, .. } => *file_name = None,
        _ => return None,
    }
    (blank != *event).then_some((SealKey::user(event.user_id()), blank))
}

pub(super) fn shreds(event: &UserEvent) -> Vec<Shred> {
    match event {
        UserEvent::UserErased { user_id, .. } => vec![Shred::OwnedBy(*user_id)],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::DomainEvent;
    use time::OffsetDateTime;
    use uuid::Uuid;

    #[test]
    fn a_registration_is_sealed_under_the_user_key_and_erasure_shreds_all_they_own() {
        let user_id = Uuid::from_u128(3);
        let at = OffsetDateTime::UNIX_EPOCH;
        let registered = UserEvent::UserRegistered {
            user_id,
            username: "alice".into(),
            display_name: "Alice".into(),
            at,
        };
        let (key, blank) = registered.redacted().expect("has a name");
        assert_eq!(key, SealKey::user(user_id));
        assert!(!format!("{blank:?}").contains("lice"));
        assert_eq!(
            UserEvent::UserErased { user_id, at }.shreds(),
            vec![Shred::OwnedBy(user_id)]
        );
    }
}
