//! Domain errors: a kind that maps to an HTTP status class and a stable code.
//!
//! Domain errors stay a separate type from infrastructure errors up to the
//! edge; the API layer renders them as problem+json with `code`. Codes are a
//! public contract, so they are all listed in [`ALL_CODES`] (the source of
//! `docs/errors.md`); in this crate's tests every constructed error is checked
//! against that list.

use std::fmt;

/// What kind of refusal this is; decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// 400: the command itself is malformed or out of range.
    Invalid,
    /// 403: the actor may not do this.
    Forbidden,
    /// 404: the target does not exist or the actor may not see it.
    NotFound,
    /// 409: the target is in the wrong state for this command.
    Conflict,
}

impl ErrorKind {
    /// The HTTP status this kind maps to.
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorKind::Invalid => 400,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
        }
    }
}

/// A refused command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainError {
    pub kind: ErrorKind,
    /// Stable snake_case code, one of [`ALL_CODES`].
    pub code: &'static str,
    /// Human-readable explanation; not a contract.
    pub detail: String,
    /// The offending field of the request, for `Invalid` errors.
    pub field: Option<&'static str>,
}

impl DomainError {
    fn new(
        kind: ErrorKind,
        code: &'static str,
        field: Option<&'static str>,
        detail: String,
    ) -> Self {
        #[cfg(test)]
        assert!(
            ALL_CODES.iter().any(|(c, _)| *c == code),
            "error code {code} is missing from ALL_CODES"
        );
        Self {
            kind,
            code,
            detail,
            field,
        }
    }

    /// 400. `field` accepts `"name"`, `Some("name")` or `None`.
    pub fn invalid(
        code: &'static str,
        field: impl Into<Option<&'static str>>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(ErrorKind::Invalid, code, field.into(), detail.into())
    }

    /// 403.
    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, code, None, detail.into())
    }

    /// 404.
    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, code, None, detail.into())
    }

    /// 409.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, None, detail.into())
    }

    /// The HTTP status of this error.
    pub const fn http_status(&self) -> u16 {
        self.kind.http_status()
    }
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl std::error::Error for DomainError {}

/// Every code the domain can return, with its meaning (status in brackets).
#[rustfmt::skip]
pub const ALL_CODES: &[(&str, &str)] = &[
    // 400
    ("control_characters", "[400] a text field contains control characters (NUL, escapes)"),
    ("chat_id_mismatch", "[400] the chat id is not the one derived from the two participants"),
    ("cannot_chat_with_self", "[400] a direct chat needs two different users"),
    ("group_too_small", "[400] a group needs at least 3 distinct people including the creator"),
    ("group_too_large", "[400] a new group would exceed the member limit"),
    ("invalid_title", "[400] the group title is empty or too long"),
    ("description_too_long", "[400] the group description is too long"),
    ("invalid_avatar_url", "[400] the avatar URL is not an http(s) URL of at most 2048 chars"),
    ("cannot_remove_self", "[400] members leave with the leave command instead"),
    ("not_a_direct_chat", "[400] the command only applies to direct chats"),
    ("not_a_group", "[400] the command only applies to group chats"),
    ("invalid_client_msg_id", "[400] client_msg_id must be 1..=64 characters"),
    ("message_id_mismatch", "[400] the message id is not the one derived from client_msg_id"),
    ("text_required", "[400] the message (or edit) needs non-blank text"),
    ("text_too_long", "[400] the text exceeds the character limit"),
    ("media_required", "[400] a media message needs an uploaded media item"),
    ("media_mismatch", "[400] media is missing, not your own upload, or of another kind"),
    ("forward_with_content", "[400] a forward copies its source and carries no text or media of its own"),
    ("invalid_emoji", "[400] a reaction must be 1..=32 bytes of emoji, no spaces or letters"),
    ("seq_out_of_range", "[400] the sequence number is beyond the last message"),
    ("mention_not_member", "[400] a mentioned user is not a member of the chat"),
    ("too_many_mentions", "[400] a message mentions at most 50 members"),
    ("invalid_poll", "[400] a poll has a question and 2..=10 distinct options, and only kind poll carries one"),
    ("invalid_location", "[400] a location has lat within ±90 and lon within ±180, and only kind location carries one"),
    ("invalid_vote", "[400] a ballot names each of the poll's options at most once, one unless multiple choice"),
    ("not_a_poll", "[400] the message is not a poll"),
    ("not_forwardable", "[400] polls and locations cannot be forwarded"),
    ("invalid_username", "[400] usernames are 3..=32 characters of a-z, 0-9, '_' and '.'"),
    ("invalid_display_name", "[400] display names are 1..=64 characters"),
    ("bio_too_long", "[400] the bio exceeds 512 characters"),
    ("cannot_block_self", "[400] users cannot block themselves"),
    ("mute_until_in_past", "[400] a timed mute must end in the future"),
    ("status_text_too_long", "[400] a status text has at most 200 characters"),
    ("status_expiry_in_past", "[400] a status must end in the future"),
    ("cannot_ban_self", "[400] use leave to leave a group"),
    ("ban_until_in_past", "[400] a timed ban must end in the future"),
    ("reason_too_long", "[400] a ban reason has at most 500 characters"),
    ("invalid_max_uses", "[400] an invite needs at least one use"),
    ("invite_expiry_in_past", "[400] an invite must expire in the future"),
    // 403
    ("not_self", "[403] only the user themself can change their profile, settings and preferences"),
    ("not_an_admin", "[403] only group admins may do this"),
    ("not_the_recipient", "[403] only the recipient of the request may answer it"),
    ("not_the_author", "[403] only the author (or, for deletes, a group admin) may do this"),
    ("cannot_remove_owner", "[403] the group owner cannot be removed"),
    ("cannot_demote_owner", "[403] the group owner cannot be demoted"),
    ("not_the_owner", "[403] only the group owner may do this"),
    ("not_a_moderator", "[403] only admins and moderators may ban, and moderators only plain members"),
    ("user_banned", "[403] the user is banned from this group"),
    ("blocked", "[403] the other user has blocked you or this chat, or deleted their account"),
    (
        "member_refuses",
        "[403] a user you add blocked you, or accepts requests from nobody and is not your contact",
    ),
    ("you_blocked_user", "[403] you have blocked this user; unblock them first"),
    ("you_blocked_chat", "[403] you have blocked this chat; unblock it first"),
    ("requests_not_accepted", "[403] the user does not accept chat requests"),
    // 404
    ("chat_not_found", "[404] the chat does not exist or you are not in it"),
    ("message_not_found", "[404] the message does not exist in this chat or you cannot see it"),
    ("not_a_member", "[404] the target user is not a member of the group"),
    ("user_not_found", "[404] the user has not registered"),
    ("invite_not_found", "[404] no such invite, or it was revoked"),
    // 409
    ("chat_exists", "[409] a chat with this id already exists"),
    ("chat_closed", "[409] the group was closed when its last member left"),
    ("chat_not_pending", "[409] the chat request was already answered"),
    ("chat_request_pending", "[409] accept the chat request before writing"),
    ("chat_request_rejected", "[409] the chat request was rejected"),
    ("chat_not_accepted", "[409] the direct chat request has not been accepted"),
    ("edit_window_over", "[409] the message is too old to edit"),
    ("message_deleted", "[409] the message was deleted for everyone"),
    ("too_many_pins", "[409] the chat already has the maximum number of pinned messages"),
    ("too_many_reactions", "[409] you already reacted with the maximum number of emoji"),
    ("group_full", "[409] the group has reached its member limit"),
    ("user_exists", "[409] the user is already registered"),
    ("account_erased", "[409] the account was deleted and cannot be registered again"),
    ("too_many_blocks", "[409] you have blocked the maximum number of users"),
    ("poll_closed", "[409] the poll is closed"),
    ("invite_used_up", "[409] the invite has expired or has no uses left"),
    ("too_many_invites", "[409] the group has the most live invites it may have"),
    ("message_not_editable", "[409] polls and locations cannot be edited"),
    (
        "channel_join_only",
        "[409] people subscribe to a channel themselves; nobody is added to one",
    ),
    (
        "owner_cannot_leave",
        "[409] a channel's owner hands it to another admin before leaving",
    ),
    ("not_a_channel", "[400] the command only applies to channels"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_unique_snake_case_and_explained() {
        let mut seen = BTreeSet::new();
        for (code, meaning) in ALL_CODES {
            assert!(seen.insert(*code), "duplicate code {code}");
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code} is not snake_case"
            );
            assert!(meaning.starts_with('['), "{code} meaning lacks a status");
        }
    }

    #[test]
    fn errors_display_their_code_and_map_to_statuses() {
        let e = DomainError::invalid("text_too_long", "text", "too long");
        assert_eq!(e.to_string(), "text_too_long: too long");
        assert_eq!(e.field, Some("text"));
        assert_eq!(e.http_status(), 400);
        assert_eq!(DomainError::forbidden("blocked", "").http_status(), 403);
        assert_eq!(
            DomainError::not_found("chat_not_found", "").http_status(),
            404
        );
        assert_eq!(DomainError::conflict("chat_closed", "").http_status(), 409);
        assert_eq!(DomainError::invalid("not_a_group", None, "").field, None);
    }
}
