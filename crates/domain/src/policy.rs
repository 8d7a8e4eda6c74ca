//! Tunable limits, passed into every `decide` call.
//!
//! The limits that are part of the wire contract (id and emoji lengths,
//! username shape) are constants instead: changing them would break clients,
//! so they are not configuration.

use time::Duration;

/// Longest accepted `client_msg_id`, in characters.
pub const MAX_CLIENT_MSG_ID_CHARS: usize = 64;
/// Longest accepted reaction emoji, in UTF-8 bytes.
pub const MAX_EMOJI_BYTES: usize = 32;
/// Longest accepted avatar URL, in characters.
pub const MAX_AVATAR_URL_CHARS: usize = 2048;
/// Longest accepted bio, in characters.
pub const MAX_BIO_CHARS: usize = 512;
/// Shortest accepted username, in characters.
pub const MIN_USERNAME_CHARS: usize = 3;
/// Longest accepted username, in characters.
pub const MAX_USERNAME_CHARS: usize = 32;
/// Longest accepted display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;
/// Fewest distinct people (creator included) in a new group.
pub const MIN_GROUP_MEMBERS: usize = 3;
/// The largest member cap an operator may set (`MAX_GROUP_MEMBERS`).
pub const MAX_GROUP_MEMBERS: usize = 10_000;

/// Operator-tunable limits. `Policy::default()` is the product default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// How long after sending the author may still edit a message.
    pub edit_window: Duration,
    /// Longest message text (or caption), in characters.
    pub max_text_chars: usize,
    /// Most members a group may have.
    pub max_group_members: usize,
    /// Most pinned messages per chat; also keeps the chat aggregate bounded.
    pub max_pins: usize,
    /// Longest group title, in characters (after trimming).
    pub max_title_chars: usize,
    /// Longest group description, in characters.
    pub max_description_chars: usize,
    /// Most distinct emoji one user may put on one message.
    pub max_reactions_per_user: usize,
    /// Most users one user may block; keeps the user aggregate bounded.
    pub max_blocked_users: usize,
    /// Most live invite links per group; keeps the chat aggregate bounded.
    pub max_invites: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            edit_window: Duration::minutes(15),
            max_text_chars: 4096,
            max_group_members: 256,
            max_pins: 50,
            max_title_chars: 128,
            max_description_chars: 1024,
            max_reactions_per_user: 10,
            max_blocked_users: 10_000,
            max_invites: 100,
        }
    }
}
