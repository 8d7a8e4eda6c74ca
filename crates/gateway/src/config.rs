//! The gateway's settings, as CLI flags / environment variables.
//!
//! `REDIS_URL` is read by the command side's flags already (rate limits);
//! the binary passes it on to [`GatewayConfig::redis_url`].

use std::time::Duration;

use clap::Args;

/// Everything the gateway needs besides its database and token verifier.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Redis for presence, typing and multi-node signals; `None` = in process.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel (nodes sharing it see each other).
    pub redis_prefix: String,
    /// Frames queued per socket before it counts as a slow consumer.
    pub queue_capacity: usize,
    /// A single write taking longer than this makes the socket slow too.
    pub send_timeout: Duration,
    /// How often the server pings and refreshes the socket's presence.
    pub ping_interval: Duration,
    /// A socket silent for this long (no frame, no pong) is dropped.
    pub idle_timeout: Duration,
    /// Typing expires after this long without a refresh.
    pub typing_ttl: Duration,
    /// Presence of a socket whose node stopped refreshing expires after this.
    pub presence_ttl: Duration,
    /// A socket whose client sent no frame for this long shows `away`
    /// (`PRESENCE_AWAY_SECS`); checked at each ping.
    pub away_after: Duration,
    /// Largest frame a client may send, in bytes.
    pub max_frame_bytes: usize,
    /// Events read per round of a resume.
    pub replay_page: usize,
    /// Whether `after_position` resumes can be answered exactly. They read
    /// the Postgres `events` table through its indexes; with the event log
    /// in KurrentDB (`EVENTSTORE_URL`) that table is empty, so a resume is
    /// refused with `resume_unavailable` (the client refetches through the
    /// query API) rather than answered with silence.
    pub exact_resume: bool,
    /// Sockets one user may hold on this node; one more is refused (429).
    pub max_sockets_per_user: usize,
    /// Typing and presence frames a socket may send per second, sustained.
    pub signals_per_sec: f64,
    /// … and in a burst; beyond, they are dropped with a `rate_limited` error frame.
    pub signals_burst: u32,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            redis_url: None,
            redis_prefix: "chat".into(),
            queue_capacity: 1_024,
            send_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            typing_ttl: Duration::from_secs(5),
            presence_ttl: Duration::from_secs(60),
            away_after: Duration::from_secs(300),
            max_frame_bytes: 16 * 1024,
            replay_page: 500,
            exact_resume: true,
            max_sockets_per_user: 10,
            signals_per_sec: 5.0,
            signals_burst: 10,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct GatewayArgs {
    /// Prefix of the gateway's Redis keys and channel.
    #[arg(long, env = "GATEWAY_REDIS_PREFIX", default_value = "chat")]
    pub gateway_redis_prefix: String,
    /// Frames queued per WebSocket before it is closed as a slow consumer (4008).
    #[arg(long, env = "GATEWAY_QUEUE_CAPACITY", default_value_t = 1_024)]
    pub gateway_queue_capacity: usize,
    /// Seconds between server pings (and presence heartbeats).
    #[arg(long, env = "GATEWAY_PING_SECS", default_value_t = 20)]
    pub gateway_ping_secs: u64,
    /// Seconds a socket's presence outlives its last heartbeat.
    #[arg(long, env = "GATEWAY_PRESENCE_TTL_SECS", default_value_t = 60)]
    pub gateway_presence_ttl_secs: u64,
    /// Seconds without a client frame before a socket shows `away`.
    #[arg(long, env = "PRESENCE_AWAY_SECS", default_value_t = 300)]
    pub presence_away_secs: u64,
    /// Sockets one user may hold on a node.
    #[arg(long, env = "GATEWAY_MAX_SOCKETS_PER_USER", default_value_t = 10)]
    pub gateway_max_sockets_per_user: usize,
    /// Typing and presence frames per second per socket (sustained).
    #[arg(long, env = "GATEWAY_SIGNALS_PER_SEC", default_value_t = 5.0)]
    pub gateway_signals_per_sec: f64,
    /// Typing and presence frames a socket may send in a burst.
    #[arg(long, env = "GATEWAY_SIGNALS_BURST", default_value_t = 10)]
    pub gateway_signals_burst: u32,
}

impl GatewayArgs {
    pub fn config(&self, redis_url: Option<String>) -> GatewayConfig {
        let ping = Duration::from_secs(self.gateway_ping_secs.max(1));
        GatewayConfig {
            redis_url,
            redis_prefix: self.gateway_redis_prefix.clone(),
            queue_capacity: self.gateway_queue_capacity.max(1),
            ping_interval: ping,
            idle_timeout: ping * 3,
            presence_ttl: Duration::from_secs(self.gateway_presence_ttl_secs.max(1)),
            away_after: Duration::from_secs(self.presence_away_secs.max(1)),
            max_sockets_per_user: self.gateway_max_sockets_per_user.max(1),
            signals_per_sec: self.gateway_signals_per_sec,
            signals_burst: self.gateway_signals_burst.max(1),
            ..GatewayConfig::default()
        }
    }
}
