//! Field validation shared by both aggregates.
//!
//! Each check returns the `Invalid` error with the offending field, so the
//! API can point at it. Lengths are counted in characters (what users see),
//! except emoji, whose cap is in bytes (what storage and keys see).

use crate::error::DomainError;
use crate::policy::{
    MAX_AVATAR_URL_CHARS, MAX_BIO_CHARS, MAX_CLIENT_MSG_ID_CHARS, MAX_DISPLAY_NAME_CHARS,
    MAX_EMOJI_BYTES, MAX_USERNAME_CHARS, MIN_USERNAME_CHARS, Policy,
};

/// No control characters (NUL above all: Postgres `jsonb` refuses it, so it
/// would fail the whole append batch it rides in). Text may keep line
/// breaks and tabs.
pub(crate) fn printable(
    value: &str,
    field: &'static str,
    multiline: bool,
) -> Result<(), DomainError> {
    let bad = value
        .chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')));
    if bad {
        return Err(DomainError::invalid(
            "control_characters",
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(())
}

/// Message text or caption: not blank, at most `max_text_chars`.
pub(crate) fn text(text: &str, policy: &Policy) -> Result<(), DomainError> {
    printable(text, "text", true)?;
    if text.trim().is_empty() {
        return Err(DomainError::invalid(
            "text_required",
            "text",
            "text must not be blank",
        ));
    }
    let len = text.chars().count();
    if len > policy.max_text_chars {
        return Err(DomainError::invalid(
            "text_too_long",
            "text",
            format!(
                "text has {len} characters, at most {} allowed",
                policy.max_text_chars
            ),
        ));
    }
    Ok(())
}

pub(crate) fn client_msg_id(id: &str) -> Result<(), DomainError> {
    printable(id, "client_msg_id", false)?;
    let len = id.chars().count();
    if len == 0 || len > MAX_CLIENT_MSG_ID_CHARS {
        return Err(DomainError::invalid(
            "invalid_client_msg_id",
            "client_msg_id",
            format!("client_msg_id must be 1..={MAX_CLIENT_MSG_ID_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Reactions are free-form emoji, but must not be words or whitespace:
/// that keeps them short, unambiguous as URL path segments and not a side
/// channel for text.
pub(crate) fn emoji(emoji: &str) -> Result<(), DomainError> {
    let ok = !emoji.is_empty()
        && emoji.len() <= MAX_EMOJI_BYTES
        && !emoji
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "invalid_emoji",
            "emoji",
            format!("a reaction is 1..={MAX_EMOJI_BYTES} bytes of emoji"),
        ))
    }
}

/// Group title, trimmed: 1..=max_title_chars.
pub(crate) fn title(title: &str, policy: &Policy) -> Result<String, DomainError> {
    printable(title, "title", false)?;
    let t = title.trim();
    let len = t.chars().count();
    if len == 0 || len > policy.max_title_chars {
        return Err(DomainError::invalid(
            "invalid_title",
            "title",
            format!("title must be 1..={} characters", policy.max_title_chars),
        ));
    }
    Ok(t.to_string())
}

/// Optional description, trimmed; blank clears it.
pub(crate) fn description(desc: &str, policy: &Policy) -> Result<Option<String>, DomainError> {
    printable(desc, "description", true)?;
    let d = desc.trim();
    if d.chars().count() > policy.max_description_chars {
        return Err(DomainError::invalid(
            "description_too_long",
            "description",
            format!(
                "description must be at most {} characters",
                policy.max_description_chars
            ),
        ));
    }
    Ok((!d.is_empty()).then(|| d.to_string()))
}

/// Optional avatar URL; blank clears it, otherwise http(s) and bounded.
pub(crate) fn avatar_url(url: &str) -> Result<Option<String>, DomainError> {
    let u = url.trim();
    if u.is_empty() {
        return Ok(None);
    }
    let scheme_ok = u.starts_with("https://") || u.starts_with("http://");
    if !scheme_ok || u.chars().count() > MAX_AVATAR_URL_CHARS || u.chars().any(char::is_whitespace)
    {
        return Err(DomainError::invalid(
            "invalid_avatar_url",
            "avatar_url",
            format!(
                "avatar_url must be an http(s) URL of at most {MAX_AVATAR_URL_CHARS} characters"
            ),
        ));
    }
    Ok(Some(u.to_string()))
}

/// Username, lowercased: 3..=32 of `[a-z0-9_.]`.
pub(crate) fn username(name: &str) -> Result<String, DomainError> {
    printable(name, "username", false)?;
    let u = name.trim().to_lowercase();
    let len = u.chars().count();
    let ok = (MIN_USERNAME_CHARS..=MAX_USERNAME_CHARS).contains(&len)
        && u.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
    if !ok {
        return Err(DomainError::invalid(
            "invalid_username",
            "username",
            format!(
                "username must be {MIN_USERNAME_CHARS}..={MAX_USERNAME_CHARS} characters of a-z, 0-9, '_' and '.'"
            ),
        ));
    }
    Ok(u)
}

/// Display name, trimmed: 1..=64 characters.
pub(crate) fn display_name(name: &str) -> Result<String, DomainError> {
    printable(name, "display_name", false)?;
    let d = name.trim();
    let len = d.chars().count();
    if len == 0 || len > MAX_DISPLAY_NAME_CHARS {
        return Err(DomainError::invalid(
            "invalid_display_name",
            "display_name",
            format!("display_name must be 1..={MAX_DISPLAY_NAME_CHARS} characters"),
        ));
    }
    Ok(d.to_string())
}

/// Optional bio; blank clears it.
pub(crate) fn bio(bio: &str) -> Result<Option<String>, DomainError> {
    printable(bio, "bio", true)?;
    let b = bio.trim();
    if b.chars().count() > MAX_BIO_CHARS {
        return Err(DomainError::invalid(
            "bio_too_long",
            "bio",
            format!("bio must be at most {MAX_BIO_CHARS} characters"),
        ));
    }
    Ok((!b.is_empty()).then(|| b.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_but_line_breaks_in_text_are_not() {
        let p = Policy::default();
        assert_eq!(text("a\0b", &p).unwrap_err().code, "control_characters");
        assert_eq!(
            title("x\u{1b}[31m", &p).unwrap_err().code,
            "control_characters"
        );
        assert_eq!(
            client_msg_id("id\0").unwrap_err().code,
            "control_characters"
        );
        assert!(text("line one\nline two\tend", &p).is_ok());
    }

    #[test]
    fn emoji_accepts_pictographs_and_rejects_words() {
        for ok in ["👍", "❤️", "👨‍👩‍👧", ":)", "🇫🇷"] {
            assert!(emoji(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a", "👍 ", "ok", "\u{0007}", &"👍".repeat(9)] {
            assert!(emoji(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usernames_are_lowercased_and_restricted() {
        assert_eq!(username("Alice.B_1").ok(), Some("alice.b_1".to_string()));
        for bad in ["ab", "with space", "ünï", &"a".repeat(33)] {
            assert!(username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn avatar_urls_must_be_http() {
        assert_eq!(avatar_url(" ").ok(), Some(None));
        assert!(avatar_url("https://x.example/a.png").is_ok());
        assert!(avatar_url("javascript:alert(1)").is_err());
        assert!(avatar_url(&format!("https://{}", "a".repeat(2048))).is_err());
    }

    #[test]
    fn text_is_counted_in_characters() {
        let p = Policy {
            max_text_chars: 3,
            ..Policy::default()
        };
        assert!(text("ééé", &p).is_ok());
        assert_eq!(text("éééé", &p).map_err(|e| e.code), Err("text_too_long"));
        assert_eq!(text("  ", &p).map_err(|e| e.code), Err("text_required"));
    }
}
