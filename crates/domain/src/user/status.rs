//! A user's chosen status: `online`, `away`, `dnd` (do not disturb) or
//! `invisible`, with an optional text and end. It is a fact of the user's
//! stream (`StatusChanged`); presence (whether a device is connected, and
//! idle) is not, and stays ephemeral in the gateway. [`shown`] is the one
//! rule that combines the two into what others see, for the live frames
//! and `GET /v1/presence` alike; the push notifier reads `dnd` from here.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::DomainError;

/// Longest status text, in characters.
pub const MAX_STATUS_TEXT_CHARS: usize = 200;

/// What the user chose to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Online,
    Away,
    Dnd,
    /// Connected, but shown offline to everyone else.
    Invisible,
}

/// The status a user set, as their stream records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomStatus {
    pub status: Availability,
    pub text: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

impl CustomStatus {
    /// The status while in force: `None` once its end has passed.
    pub fn at(&self, now: OffsetDateTime) -> Option<&CustomStatus> {
        match self.expires_at {
            Some(end) if end <= now => None,
            _ => Some(self),
        }
    }
}

/// Presence as others see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Offline,
    Away,
    Dnd,
    Online,
}

/// What others see of a user whose devices are `live` (the best over them:
/// offline when none is connected, away when idle) and who chose `custom`:
/// nothing but offline while no device is connected or while invisible;
/// otherwise a chosen `away` or `dnd` over the devices' state, with the
/// status text.
pub fn shown(
    live: Presence,
    custom: Option<&CustomStatus>,
    now: OffsetDateTime,
) -> (Presence, Option<String>) {
    let Some(c) = custom.and_then(|c| c.at(now)) else {
        return (live, None);
    };
    if live == Presence::Offline || c.status == Availability::Invisible {
        return (Presence::Offline, None);
    }
    let presence = match c.status {
        Availability::Away => Presence::Away,
        Availability::Dnd => Presence::Dnd,
        Availability::Online | Availability::Invisible => live,
    };
    (presence, c.text.clone())
}

/// A status as asked: the text trimmed (blank is none), at most
/// [`MAX_STATUS_TEXT_CHARS`], printable; an end in the future.
pub(crate) fn validate(
    status: Availability,
    text: Option<&str>,
    expires_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<CustomStatus, DomainError> {
    let text = text.map(str::trim).filter(|t| !t.is_empty());
    if let Some(t) = text {
        crate::rules::printable(t, "text", false)?;
        if t.chars().count() > MAX_STATUS_TEXT_CHARS {
            return Err(DomainError::invalid(
                "status_text_too_long",
                "text",
                format!("a status text has at most {MAX_STATUS_TEXT_CHARS} characters"),
            ));
        }
    }
    if expires_at.is_some_and(|end| end <= now) {
        return Err(DomainError::invalid(
            "status_expiry_in_past",
            "expires_at",
            "a status must end in the future",
        ));
    }
    Ok(CustomStatus {
        status,
        text: text.map(str::to_owned),
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-07 12:00 UTC);

    fn set(status: Availability, ends: Option<OffsetDateTime>) -> CustomStatus {
        CustomStatus {
            status,
            text: Some("lunch".into()),
            expires_at: ends,
        }
    }

    #[test]
    fn invisible_and_disconnected_users_show_offline_without_text() {
        let inv = set(Availability::Invisible, None);
        assert_eq!(
            shown(Presence::Online, Some(&inv), NOW),
            (Presence::Offline, None)
        );
        let dnd = set(Availability::Dnd, None);
        assert_eq!(
            shown(Presence::Offline, Some(&dnd), NOW),
            (Presence::Offline, None)
        );
    }

    #[test]
    fn a_chosen_status_wins_over_the_devices_until_it_ends() {
        let dnd = set(Availability::Dnd, Some(datetime!(2026-12-07 13:00 UTC)));
        assert_eq!(
            shown(Presence::Online, Some(&dnd), NOW),
            (Presence::Dnd, Some("lunch".into()))
        );
        let later = datetime!(2026-12-07 13:00 UTC);
        assert_eq!(
            shown(Presence::Online, Some(&dnd), later),
            (Presence::Online, None)
        );
        let online = set(Availability::Online, None);
        assert_eq!(
            shown(Presence::Away, Some(&online), NOW),
            (Presence::Away, Some("lunch".into())),
            "idle devices still show away"
        );
    }

    #[test]
    fn texts_are_bounded_and_ends_lie_ahead() {
        let long = "x".repeat(MAX_STATUS_TEXT_CHARS + 1);
        assert!(validate(Availability::Away, Some(&long), None, NOW).is_err());
        assert!(validate(Availability::Away, None, Some(NOW), NOW).is_err());
        let ok = validate(Availability::Away, Some("  "), None, NOW).expect("valid");
        assert_eq!(ok.text, None);
    }
}
