//! Servers under test as child processes, so their memory is their own:
//! starting one (it logs a JSON `listening` line with its address), its
//! resident and peak memory from `/proc`, and the open-file limit that caps
//! how many sockets a run may open.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, anyhow};
use serde_json::Value;

/// Where a benchmark runs its server: the Postgres server its scratch
/// database goes on, and the `chat` binary.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    #[arg(
        long,
        env = "BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub server: String,
    /// The `chat` binary to run as the server (default: next to this one).
    #[arg(long)]
    pub chat_bin: Option<PathBuf>,
}

/// The `chat` binary: `explicit`, or the one next to this bench binary.
pub fn chat_bin(explicit: Option<&PathBuf>) -> anyhow::Result<PathBuf> {
    match explicit {
        Some(b) => Ok(b.clone()),
        None => Ok(std::env::current_exe()?
            .parent()
            .context("the bench's directory")?
            .join("chat")),
    }
}

/// The open-file limit of this process (the child inherits it).
pub fn nofile_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| anyhow!("no {field} in /proc/{pid}/status"))
}

/// Resident memory now.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    status_kib(pid, "VmRSS:")
}

/// Peak resident memory so far.
pub fn hwm_kib(pid: u32) -> anyhow::Result<u64> {
    status_kib(pid, "VmHWM:")
}

/// A server in a child process; terminated (SIGTERM, then waited for)
/// when dropped.
pub struct Server {
    child: Child,
    pub addr: String,
}

impl Server {
    /// Run `bin args…` with `envs`, wait for its JSON `listening` log line
    /// (`{"message":"listening","addr":…}` on stdout) and keep draining its
    /// output so it never blocks on a full pipe.
    pub fn spawn<I, K, V>(bin: &Path, args: &[&str], envs: I) -> anyhow::Result<Server>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let mut child = Command::new(bin)
            .args(args)
            .envs(envs)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("the child's stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && v["message"] == "listening"
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(v["addr"].as_str().map(str::to_owned));
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(120))
            .context("the server did not log its address")?
            .context("a listening line with the address")?;
        Ok(Server { child, addr })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// The secret the benchmarks' `chat serve` signs tokens with.
pub const SECRET: &str = "bench-secret-bench-secret-bench-secret";

/// Environment of a benchmarked `chat serve` on `database_url`: port 0,
/// JSON logs (for the address line), and rate limits out of the way so
/// the server, not the limiter, is measured.
pub fn chat_env(database_url: &str) -> Vec<(&'static str, String)> {
    let unlimited = || u32::MAX.to_string();
    vec![
        ("BIND_ADDR", "127.0.0.1:0".into()),
        ("DATABASE_URL", database_url.into()),
        ("DATABASE_MAX_CONNECTIONS", "40".into()),
        ("LOG_FORMAT", "json".into()),
        ("RUST_LOG", "info".into()),
        ("JWT_SECRET", SECRET.into()),
        ("RATE_MESSAGES_PER_SEC", "1000000000".into()),
        ("RATE_MESSAGES_BURST", unlimited()),
        ("RATE_COMMANDS_PER_SEC", "1000000000".into()),
        ("RATE_COMMANDS_BURST", unlimited()),
        ("RATE_AUTH_PER_SEC", "1000000000".into()),
        ("RATE_AUTH_BURST", unlimited()),
        ("RATE_QUERIES_PER_SEC", "1000000000".into()),
        ("RATE_QUERIES_BURST", unlimited()),
        ("QUERIES_IN_FLIGHT_PER_USER", unlimited()),
        ("GATEWAY_QUEUE_CAPACITY", "4096".into()),
    ]
}
