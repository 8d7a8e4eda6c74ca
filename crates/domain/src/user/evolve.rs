//! Applying user events. Like the chat's, this never fails: facts are facts.

use super::event::UserEvent;
use super::state::{ChatPrefs, Muted, Settings, User};

impl User {
    pub(super) fn apply(mut self, event: &UserEvent) -> Self {
        match event {
            UserEvent::UserRegistered {
                user_id,
                username,
                display_name,
                ..
            } => {
                if !self.exists {
                    self.id = *user_id;
                    self.exists = true;
                    self.username = username.clone();
                    self.display_name = display_name.clone();
                }
            }
            UserEvent::ProfileUpdated {
                display_name,
                avatar_url,
                bio,
                ..
            } => {
                self.display_name = display_name.clone();
                self.avatar_url = avatar_url.clone();
                self.bio = bio.clone();
            }
            UserEvent::StatusChanged {
                status,
                text,
                expires_at,
                ..
            } => {
                self.status = Some(super::status::CustomStatus {
                    status: *status,
                    text: text.clone(),
                    expires_at: *expires_at,
                });
            }
            UserEvent::SettingsChanged {
                read_receipts,
                last_seen_visible_to,
                accept_requests_from,
                push_preview,
                ..
            } => {
                self.settings = Settings {
                    read_receipts: *read_receipts,
                    last_seen_visible_to: *last_seen_visible_to,
                    accept_requests_from: *accept_requests_from,
                    push_preview: *push_preview,
                };
            }
            UserEvent::UserBlocked {
                blocked_user_id, ..
            } => {
                self.blocked.insert(*blocked_user_id);
            }
            UserEvent::UserUnblocked {
                blocked_user_id, ..
            } => {
                self.blocked.remove(blocked_user_id);
            }
            UserEvent::ChatMuted { chat_id, until, .. } => {
                self.prefs_mut(*chat_id).muted = Some(Muted::from_until(*until));
            }
            UserEvent::ChatUnmuted { chat_id, .. } => self.prefs_mut(*chat_id).muted = None,
            UserEvent::ChatArchived { chat_id, .. } => self.prefs_mut(*chat_id).archived = true,
            UserEvent::ChatUnarchived { chat_id, .. } => {
                self.prefs_mut(*chat_id).archived = false;
            }
            UserEvent::ChatCleared {
                chat_id, up_to_seq, ..
            } => {
                let p = self.prefs_mut(*chat_id);
                p.cleared_up_to_seq = p.cleared_up_to_seq.max(*up_to_seq);
            }
            UserEvent::UserErased { user_id, .. } => {
                // Nothing of theirs is kept: the state (and so its
                // snapshot) forgets the profile with the keys.
                return User {
                    id: *user_id,
                    erased: true,
                    ..User::default()
                };
            }
            UserEvent::MessageHiddenForMe { .. }
            | UserEvent::MediaUploaded { .. }
            | UserEvent::MediaDeleted { .. } => {}
        }
        self
    }

    fn prefs_mut(&mut self, chat_id: uuid::Uuid) -> &mut ChatPrefs {
        self.chats.entry(chat_id).or_default()
    }
}
