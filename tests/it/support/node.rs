//! `chat serve` as a child process (the real binary, as an operator runs
//! it): for tests of start-up, signals and crashes that an in-process app
//! cannot show.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use serde_json::Value;

/// A running `chat serve`; killed when dropped.
pub struct ServeNode {
    child: Child,
    /// `http://<the address it bound>`.
    pub base: String,
}

impl ServeNode {
    /// Start `chat serve` on port 0 against `database_url` with `env`
    /// added, and wait (up to a minute) for the address it logs.
    pub async fn start(database_url: &str, env: &[(&str, String)]) -> ServeNode {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chat"))
            .arg("serve")
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("DATABASE_URL", database_url)
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chat serve");
        let stdout = child.stdout.take().expect("stdout");
        // Port 0 picks the port, so the node logs the address it bound.
        let addr = tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stdout).lines();
            let addr = lines.by_ref().map_while(Result::ok).find_map(|l| {
                let v: Value = serde_json::from_str(&l).ok()?;
                (v["message"] == "listening").then(|| v["addr"].as_str().map(str::to_owned))?
            });
            // Keep reading its log so it never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            addr
        });
        let addr = tokio::time::timeout(Duration::from_secs(60), addr)
            .await
            .expect("the node logs its address within a minute")
            .unwrap()
            .expect("a listening line with the address");
        ServeNode {
            child,
            base: format!("http://{addr}"),
        }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// SIGTERM, and how the process ended.
    pub async fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
        tokio::task::spawn_blocking(move || self.child.wait())
            .await
            .unwrap()
            .unwrap()
    }
}

impl Drop for ServeNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
