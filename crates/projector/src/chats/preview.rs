//! The chat list's "last message": what it shows for each kind of message,
//! and how it looks once edited or deleted.

use chat_domain::MessageKind;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Longest preview text, in characters (an ellipsis marks a cut).
pub const PREVIEW_CHARS: usize = 100;

/// What a deleted last message shows.
pub const DELETED_PREVIEW: &str = "Message deleted";

/// `rm_chats.chats.last_message` (jsonb).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastMessage {
    pub message_id: Uuid,
    pub seq: u64,
    pub sender_id: Uuid,
    pub kind: MessageKind,
    pub preview: String,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub edited_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub deleted: bool,
}

/// The icon and label of a kind that is not plain text; `None` for text.
fn media_label(kind: MessageKind) -> Option<(&'static str, &'static str)> {
    match kind {
        MessageKind::Text => None,
        MessageKind::Image => Some(("📷", "Photo")),
        MessageKind::Video => Some(("🎥", "Video")),
        MessageKind::Voice => Some(("🎤", "Voice message")),
        MessageKind::Audio => Some(("🎵", "Audio")),
        MessageKind::File => Some(("📎", "File")),
        MessageKind::Poll => Some(("📊", "Poll")),
        MessageKind::Location => Some(("📍", "Location")),
    }
}

/// The preview of a message of `kind` with `text` (a caption for media):
/// whitespace collapsed, cut to [`PREVIEW_CHARS`]; media show their icon and
/// the caption, or a label without one.
pub fn preview(kind: MessageKind, text: Option<&str>) -> String {
    let words: Vec<&str> = text.unwrap_or("").split_whitespace().collect();
    let body = cut(&words.join(" "));
    match (media_label(kind), body.is_empty()) {
        (None, _) => body,
        (Some((icon, label)), true) => format!("{icon} {label}"),
        (Some((icon, _)), false) => format!("{icon} {body}"),
    }
}

fn cut(text: &str) -> String {
    if text.chars().count() <= PREVIEW_CHARS {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(PREVIEW_CHARS - 1).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_previews_collapse_whitespace_and_are_cut_with_an_ellipsis() {
        assert_eq!(
            preview(MessageKind::Text, Some("  hi \n there ")),
            "hi there"
        );
        let long = "x".repeat(250);
        let p = preview(MessageKind::Text, Some(&long));
        assert_eq!(p.chars().count(), PREVIEW_CHARS);
        assert!(p.ends_with('…'));
    }

    #[test]
    fn media_previews_show_an_icon_and_a_label_or_the_caption() {
        assert_eq!(preview(MessageKind::Image, None), "📷 Photo");
        assert_eq!(preview(MessageKind::Video, Some(" ")), "🎥 Video");
        assert_eq!(preview(MessageKind::Voice, None), "🎤 Voice message");
        assert_eq!(preview(MessageKind::Audio, None), "🎵 Audio");
        assert_eq!(preview(MessageKind::File, None), "📎 File");
        assert_eq!(preview(MessageKind::Image, Some("sunset")), "📷 sunset");
    }

    #[test]
    fn cutting_never_splits_a_multibyte_character() {
        let emoji = "😀".repeat(150);
        let p = preview(MessageKind::Text, Some(&emoji));
        assert_eq!(p.chars().count(), PREVIEW_CHARS);
    }
}
