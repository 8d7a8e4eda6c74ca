//! Auto-away: a socket whose client sent no frame for
//! `PRESENCE_AWAY_SECS` shows `away`, and its next frame brings it back.
//! Any client frame counts (a `ping` included); the WebSocket-level pongs
//! answering the server's pings do not, since the browser sends those
//! whether or not anyone is there.

use std::time::Duration;

use tokio::time::Instant;

/// One socket's activity, checked at each of the server's pings.
#[derive(Debug, Clone, Copy)]
pub struct Idle {
    last: Instant,
    after: Duration,
    away: bool,
}

/// What the socket's presence should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    Away,
    Back,
}

impl Idle {
    pub fn new(after: Duration) -> Idle {
        Idle {
            last: Instant::now(),
            after,
            away: false,
        }
    }

    /// The client sent a frame.
    pub fn active(&mut self) -> Option<Turn> {
        self.last = Instant::now();
        std::mem::take(&mut self.away).then_some(Turn::Back)
    }

    /// A ping's check: idle long enough to show away?
    pub fn check(&mut self) -> Option<Turn> {
        if !self.away && self.last.elapsed() >= self.after {
            self.away = true;
            return Some(Turn::Away);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_silent_socket_turns_away_after_the_configured_time_and_back_on_a_frame() {
        let mut idle = Idle::new(Duration::from_secs(300));
        tokio::time::advance(Duration::from_secs(299)).await;
        assert_eq!(idle.check(), None);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(idle.check(), Some(Turn::Away));
        assert_eq!(idle.check(), None, "once");
        assert_eq!(idle.active(), Some(Turn::Back));
        assert_eq!(idle.active(), None);
        tokio::time::advance(Duration::from_secs(200)).await;
        assert_eq!(idle.check(), None, "the frame restarted the clock");
    }
}
