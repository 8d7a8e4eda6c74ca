//! Polls and locations: the two message kinds whose body is not text.
//!
//! A poll's question and options are fixed when it is sent (2 to 10
//! options, single or multiple choice, anonymous or not); its author may
//! close it. Each member's ballot is the set of options they chose: a new
//! ballot replaces the old one, an unchanged one decides nothing, an empty
//! one retracts. Votes are events (`PollVoted`), so results are rebuilt from
//! the log like everything else; an anonymous poll's votes reach nobody but
//! the voter (the visibility rule's `ballot`).
//!
//! A location is a validated point (finite, ±90° latitude, ±180° longitude)
//! with an optional name.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::rules;

/// Most options a poll may have; fewer than [`MIN_OPTIONS`] is no choice.
pub const MAX_OPTIONS: usize = 10;
pub const MIN_OPTIONS: usize = 2;
const MAX_QUESTION_CHARS: usize = 300;
const MAX_OPTION_CHARS: usize = 100;
const MAX_PLACE_NAME_CHARS: usize = 200;

/// A poll as its author asks it (the command's input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollSpec {
    pub question: String,
    pub options: Vec<String>,
    pub multiple: bool,
    pub anonymous: bool,
}

/// A poll as sent: options numbered from 0 in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Poll {
    pub question: String,
    pub options: Vec<PollOption>,
    pub multiple: bool,
    pub anonymous: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollOption {
    pub id: u32,
    pub text: String,
}

/// A point on the map. Coordinates are checked finite, so equality is total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Eq for Location {}

/// What a vote or a close needs to know of a poll message (in its facts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollFacts {
    pub options: u32,
    pub multiple: bool,
    pub anonymous: bool,
    pub closed: bool,
    /// The actor's current ballot, sorted.
    pub ballot_of_actor: Vec<u32>,
}

impl PollSpec {
    /// The poll as sent, trimmed and checked.
    pub fn validate(&self) -> Result<Poll, DomainError> {
        let question = words(&self.question, MAX_QUESTION_CHARS, "poll.question")?;
        if !(MIN_OPTIONS..=MAX_OPTIONS).contains(&self.options.len()) {
            return Err(invalid_poll(format!(
                "a poll has {MIN_OPTIONS} to {MAX_OPTIONS} options"
            )));
        }
        let mut options: Vec<PollOption> = Vec::with_capacity(self.options.len());
        for (i, text) in self.options.iter().enumerate() {
            let text = words(text, MAX_OPTION_CHARS, "poll.options")?;
            if options
                .iter()
                .any(|o| o.text.to_lowercase() == text.to_lowercase())
            {
                return Err(invalid_poll("the options must differ"));
            }
            options.push(PollOption {
                id: u32::try_from(i).unwrap_or(u32::MAX),
                text,
            });
        }
        Ok(Poll {
            question,
            options,
            multiple: self.multiple,
            anonymous: self.anonymous,
        })
    }
}

impl Poll {
    pub fn facts(&self) -> PollFacts {
        PollFacts {
            options: u32::try_from(self.options.len()).unwrap_or(u32::MAX),
            multiple: self.multiple,
            anonymous: self.anonymous,
            closed: false,
            ballot_of_actor: Vec::new(),
        }
    }
}

impl PollFacts {
    /// A ballot as this poll takes it: sorted, each option once and real,
    /// one at most unless the poll is multiple choice. Empty retracts.
    pub fn ballot(&self, option_ids: &[u32]) -> Result<Vec<u32>, DomainError> {
        let mut ballot = option_ids.to_vec();
        ballot.sort_unstable();
        ballot.dedup();
        if ballot.len() != option_ids.len() || ballot.iter().any(|o| *o >= self.options) {
            return Err(invalid_vote("each option once, from the poll's options"));
        }
        if !self.multiple && ballot.len() > 1 {
            return Err(invalid_vote("this poll takes one option"));
        }
        Ok(ballot)
    }
}

impl Location {
    pub fn validate(&self) -> Result<Location, DomainError> {
        let ok = self.lat.is_finite()
            && self.lon.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon);
        if !ok {
            return Err(DomainError::invalid(
                "invalid_location",
                "location",
                "lat must be within ±90 and lon within ±180",
            ));
        }
        let name = match self.name.as_deref() {
            Some(n) if !n.trim().is_empty() => {
                Some(words(n, MAX_PLACE_NAME_CHARS, "location.name")?)
            }
            _ => None,
        };
        Ok(Location {
            lat: self.lat,
            lon: self.lon,
            name,
        })
    }
}

/// Printable, not blank, at most `max` characters; trimmed.
fn words(s: &str, max: usize, field: &'static str) -> Result<String, DomainError> {
    rules::printable(s, field, false)?;
    let t = s.trim();
    if t.is_empty() || t.chars().count() > max {
        return Err(DomainError::invalid(
            if field.starts_with("poll") {
                "invalid_poll"
            } else {
                "invalid_location"
            },
            field,
            format!("1 to {max} characters, not blank"),
        ));
    }
    Ok(t.to_owned())
}

fn invalid_poll(detail: impl Into<String>) -> DomainError {
    DomainError::invalid("invalid_poll", "poll", detail)
}

fn invalid_vote(detail: &str) -> DomainError {
    DomainError::invalid("invalid_vote", "option_ids", detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(options: &[&str]) -> PollSpec {
        PollSpec {
            question: " Lunch? ".into(),
            options: options.iter().map(|o| (*o).to_owned()).collect(),
            multiple: false,
            anonymous: false,
        }
    }

    #[test]
    fn polls_have_two_to_ten_distinct_options() {
        let p = spec(&["Pizza", " Sushi "]).validate().expect("a poll");
        assert_eq!(p.question, "Lunch?");
        assert_eq!(
            p.options[1],
            PollOption {
                id: 1,
                text: "Sushi".into()
            }
        );
        for bad in [&["one"][..], &["a", "A"], &["a", " "], &["x"; 11]] {
            assert!(spec(bad).validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ballots_are_sorted_sets_of_real_options() {
        let mut f = spec(&["a", "b", "c"]).validate().expect("a poll").facts();
        assert_eq!(f.ballot(&[1]).ok(), Some(vec![1]));
        assert_eq!(f.ballot(&[]).ok(), Some(vec![]));
        assert!(f.ballot(&[0, 1]).is_err(), "single choice");
        assert!(f.ballot(&[3]).is_err(), "no such option");
        f.multiple = true;
        assert_eq!(f.ballot(&[2, 0]).ok(), Some(vec![0, 2]));
        assert!(f.ballot(&[1, 1]).is_err(), "twice");
    }

    #[test]
    fn locations_are_finite_points_on_the_globe() {
        let at = |lat, lon| {
            Location {
                lat,
                lon,
                name: Some(" Café ".into()),
            }
            .validate()
        };
        assert_eq!(
            at(48.85, 2.35).ok().and_then(|l| l.name),
            Some("Café".into())
        );
        for (lat, lon) in [
            (91.0, 0.0),
            (0.0, -180.5),
            (f64::NAN, 0.0),
            (0.0, f64::INFINITY),
        ] {
            assert!(at(lat, lon).is_err(), "{lat} {lon}");
        }
    }
}
