//! What one user may see of one chat: the single rule behind the history
//! and receipt queries, the live socket and the resume replay, so that no
//! read path can show what another hides.
//!
//! The facts it needs are small and every path has them at hand:
//!
//! * the member's [`Window`] of seqs: after the later of their join point
//!   and their last clear, up to where they left (a removed member keeps
//!   what they saw, nothing after);
//! * for system entries, the member's [`Span`] of log positions;
//! * whether the caller hid the message for themselves, and whether it was
//!   deleted for everyone (then only a tombstone is shown: who sent it and
//!   when, never its text or media);
//! * both sides' read-receipt settings: receipts are mutual, so a read
//!   marker reaches someone else only while both share theirs;
//! * whether a poll is anonymous: then a vote reaches only its voter;
//! * whether the chat is a channel: what is about one subscriber reaches
//!   only them.

use uuid::Uuid;

/// The part of a chat's history one member sees: seqs in
/// `(max(joined_seq, cleared_seq), left_seq]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    /// The chat's last seq when they (last) joined.
    pub joined_seq: u64,
    /// Their newest "clear chat" point, 0 if never cleared.
    pub cleared_seq: u64,
    /// The chat's last seq when they left or were removed.
    pub left_seq: Option<u64>,
}

impl Window {
    /// A member who joined when the chat's last seq was `joined_seq`.
    pub fn joined(joined_seq: u64) -> Window {
        Window {
            joined_seq,
            ..Window::default()
        }
    }

    /// Messages with a larger seq than this are theirs to see.
    pub fn lower(&self) -> u64 {
        self.joined_seq.max(self.cleared_seq)
    }

    /// Whether the message at `seq` is inside the window.
    pub fn contains(&self, seq: u64) -> bool {
        seq > self.lower() && self.left_seq.is_none_or(|left| seq <= left)
    }

    /// They cleared the chat up to `up_to_seq` (a clear never moves back).
    pub fn clear(&mut self, up_to_seq: u64) {
        self.cleared_seq = self.cleared_seq.max(up_to_seq);
    }
}

/// The part of a chat's log whose system entries one member sees, in log
/// positions: from their (last) join, their own join entry included,
/// through their leave or removal, after their last clear. Positions, not
/// seqs, because entries take no seq: several can sit after one message,
/// some before a join and some after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// Position of the event that (last) made them a member.
    pub joined_pos: u64,
    /// Position of their newest "clear chat", 0 if never cleared.
    pub cleared_pos: u64,
    /// Position of the event that made them leave, if they left.
    pub left_pos: Option<u64>,
}

impl Span {
    /// The first position they see (their join, unless cleared since).
    pub fn first(&self) -> u64 {
        self.joined_pos.max(self.cleared_pos.saturating_add(1))
    }

    /// The last position they see: where they left, or no end.
    pub fn last(&self) -> u64 {
        self.left_pos.unwrap_or(u64::MAX)
    }

    /// Whether the entry recorded at `position` is theirs to see.
    pub fn contains(&self, position: u64) -> bool {
        (self.first()..=self.last()).contains(&position)
    }
}

/// How a message reaches one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// Its text, media and everything done to it.
    Whole,
    /// Deleted for everyone: that it existed, not what it said.
    Tombstone,
    /// Outside their window, or hidden by them: nothing at all, nor any
    /// edit, reaction, pin or delete of it.
    Not,
}

/// How the message at `seq` reaches a member with this `window`.
pub fn message(window: &Window, seq: u64, hidden: bool, deleted: bool) -> Shown {
    if hidden || !window.contains(seq) {
        Shown::Not
    } else if deleted {
        Shown::Tombstone
    } else {
        Shown::Whole
    }
}

/// Whether a vote on a poll reaches `viewer` (who sees the poll): an
/// anonymous poll's votes reach only the voter; results are counted on
/// the query side without names.
pub fn ballot(viewer: Uuid, voter: Uuid, anonymous: bool) -> bool {
    !anonymous || viewer == voter
}

/// Whether an event about one subscriber of a channel (their subscription,
/// their read or delivery marker) reaches `viewer`: only that subscriber. A
/// channel's audience is nobody else's business, and telling everyone would
/// cost a fan-out per reader.
pub fn about_a_subscriber(viewer: Uuid, subscriber: Uuid) -> bool {
    viewer == subscriber
}

/// Whether `reader`'s read marker reaches `viewer`: always their own, and
/// someone else's only while both share read receipts.
pub fn read_marker(viewer: Uuid, reader: Uuid, viewer_shares: bool, reader_shares: bool) -> bool {
    viewer == reader || (viewer_shares && reader_shares)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_shows_ones_own_join_and_removal_nothing_before_or_after_or_cleared() {
        let mut span = Span {
            joined_pos: 10,
            ..Span::default()
        };
        assert!(!span.contains(9));
        assert!(span.contains(10));
        assert!(span.contains(1_000));
        span.left_pos = Some(20);
        assert!(span.contains(20));
        assert!(!span.contains(21));
        span.cleared_pos = 15;
        assert!(!span.contains(15));
        assert!(span.contains(16));
    }

    #[test]
    fn the_window_starts_after_the_later_of_join_and_clear_and_ends_at_leaving() {
        let mut w = Window::joined(5);
        assert!(!w.contains(5));
        assert!(w.contains(6));
        w.clear(8);
        w.clear(3);
        assert_eq!(w.lower(), 8);
        assert!(!w.contains(8) && w.contains(9));
        w.left_seq = Some(10);
        assert!(w.contains(10) && !w.contains(11));
    }

    #[test]
    fn hidden_beats_deleted_and_deleted_is_a_tombstone() {
        let w = Window::joined(0);
        assert_eq!(message(&w, 1, false, false), Shown::Whole);
        assert_eq!(message(&w, 1, false, true), Shown::Tombstone);
        assert_eq!(message(&w, 1, true, true), Shown::Not);
        assert_eq!(message(&Window::joined(1), 1, false, false), Shown::Not);
    }

    #[test]
    fn anonymous_votes_reach_only_their_voter() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(ballot(a, b, false));
        assert!(!ballot(a, b, true));
        assert!(ballot(b, b, true));
    }

    #[test]
    fn receipts_are_mutual_but_ones_own_marker_is_always_shown() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(read_marker(a, a, false, false));
        assert!(read_marker(a, b, true, true));
        assert!(!read_marker(a, b, false, true));
        assert!(!read_marker(a, b, true, false));
    }
}
