//! Media (issue 7): upload and download throughput of a 50 MiB file through
//! the real HTTP app, next to a plain file copy on the same disk in the same
//! run, and the server's peak RSS during a 100 MiB upload.
//!
//! The server runs as a child process (`chat serve`, the binary next to
//! this one, or `--chat-bin`), so its peak RSS is its own: `VmHWM` from
//! `/proc/<pid>/status`, read once the server is up and idle, and again
//! after the 100 MiB upload. The client side keeps the file in memory; it
//! is not what is measured.

use std::path::{Path, PathBuf};

use crate::child::ServerArgs;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use clap::Args;
use serde_json::{Value, json};
use uuid::Uuid;

const MIB: usize = 1024 * 1024;
const BOUNDARY: &str = "chatbenchboundary0123456789";

#[derive(Debug, Args)]
pub struct MediaArgs {
    #[command(flatten)]
    target: ServerArgs,
    /// Where the media (and the baseline copies) go.
    #[arg(long, default_value = "./target/bench-media")]
    dir: PathBuf,
    /// Size of the throughput file, in MiB.
    #[arg(long, default_value_t = 50)]
    size_mib: usize,
    /// Size of the RSS-measured upload, in MiB.
    #[arg(long, default_value_t = 100)]
    rss_mib: usize,
    /// Repetitions of each throughput measurement (the best is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

/// Deterministic incompressible-looking bytes (no known magic: a `file`).
fn payload(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out[0] = b'~';
    out
}

fn form(bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(bytes.len() + 512);
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bench.bin\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn mib_per_sec(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / MIB as f64 / d.as_secs_f64().max(1e-9)
}

fn vm_hwm_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow!("no VmHWM in /proc/{pid}/status"))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `chat serve` as a child process; killed when dropped.
struct Server {
    child: tokio::process::Child,
    base: String,
}

impl Server {
    fn pid(&self) -> anyhow::Result<u32> {
        self.child.id().ok_or_else(|| anyhow!("the server exited"))
    }
}

async fn start_server(bin: &Path, db_url: &str, media_dir: &Path) -> anyhow::Result<Server> {
    let port = free_port()?;
    let child = tokio::process::Command::new(bin)
        .arg("serve")
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", db_url)
        .env("MEDIA_DIR", media_dir)
        .env("JWT_SECRET", "bench-secret-bench-secret-bench-secret")
        .env("RATE_AUTH_BURST", "100")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return Ok(Server { child, base });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the server did not come up on {base}")
}

async fn upload(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    body: Vec<u8>,
) -> anyhow::Result<Value> {
    let res = http
        .post(format!("{base}/v1/media"))
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await?;
    let status = res.status();
    let body: Value = res.json().await?;
    if status.as_u16() != 201 {
        bail!("upload answered {status}: {body}");
    }
    Ok(body)
}

async fn download(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    id: &str,
) -> anyhow::Result<usize> {
    let mut res = http
        .get(format!("{base}/v1/media/{id}"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?;
    let mut n = 0;
    while let Some(chunk) = res.chunk().await? {
        n += chunk.len();
    }
    Ok(n)
}

pub async fn run(args: MediaArgs) -> anyhow::Result<()> {
    let bin = crate::child::chat_bin(args.target.chat_bin.as_ref())?;
    if !bin.exists() {
        bail!(
            "{} not found: build it (`cargo build --release --bin chat`) or pass --chat-bin",
            bin.display()
        );
    }
    let run_dir = args.dir.join(Uuid::new_v4().simple().to_string());
    let media_dir = run_dir.join("media");
    let copy_dir = run_dir.join("copy");
    std::fs::create_dir_all(&media_dir)?;
    std::fs::create_dir_all(&copy_dir)?;
    let db_name = format!("chat_bench_media_{}", Uuid::new_v4().simple());
    let db_url = match args.target.server.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{db_name}"),
        None => bail!("--server must be a postgres URL"),
    };

    let result = measure(&args, &bin, &db_url, &media_dir, &copy_dir).await;

    let admin = sqlx::PgPool::connect(&args.target.server).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
        .execute(&admin)
        .await?;
    let _ = std::fs::remove_dir_all(&run_dir);
    result
}

async fn measure(
    args: &MediaArgs,
    bin: &Path,
    db_url: &str,
    media_dir: &Path,
    copy_dir: &Path,
) -> anyhow::Result<()> {
    let size = args.size_mib * MIB;
    let data = payload(size);
    let server = start_server(bin, db_url, media_dir).await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let reg: Value = http
        .post(format!("{}/v1/auth/register", server.base))
        .json(&json!({"username": "bench_media", "password": "correct horse battery"}))
        .send()
        .await?
        .json()
        .await?;
    let token = reg["access_token"]
        .as_str()
        .ok_or_else(|| anyhow!("register: {reg}"))?
        .to_owned();
    let idle_hwm = vm_hwm_kib(server.pid()?)?;

    // Baseline: a plain copy of a file of the same size on the same disk.
    let src = copy_dir.join("source.bin");
    std::fs::write(&src, &data)?;
    let mut copy_best = Duration::MAX;
    for i in 0..args.runs {
        let dst = copy_dir.join(format!("copy-{i}.bin"));
        let t = Instant::now();
        std::fs::copy(&src, &dst)?;
        copy_best = copy_best.min(t.elapsed());
        std::fs::remove_file(&dst)?;
    }

    let mut up_best = Duration::MAX;
    let mut down_best = Duration::MAX;
    for _ in 0..args.runs {
        let body = form(&data);
        let t = Instant::now();
        let answer = upload(&http, &server.base, &token, body).await?;
        up_best = up_best.min(t.elapsed());
        let id = answer["media_id"]
            .as_str()
            .ok_or_else(|| anyhow!("no media_id"))?
            .to_owned();
        let t = Instant::now();
        let n = download(&http, &server.base, &token, &id).await?;
        down_best = down_best.min(t.elapsed());
        if n != size {
            bail!("downloaded {n} bytes, uploaded {size}");
        }
    }

    // Peak RSS around one big upload.
    let big = form(&payload(args.rss_mib * MIB));
    let before = vm_hwm_kib(server.pid()?)?;
    upload(&http, &server.base, &token, big).await?;
    let after = vm_hwm_kib(server.pid()?)?;
    drop(server);

    println!(
        "media: {} MiB file, best of {} runs; server = `chat serve` child process",
        args.size_mib, args.runs
    );
    println!("| what | MiB/s |");
    println!("|---|---|");
    println!(
        "| plain file copy (same disk) | {:.0} |",
        mib_per_sec(size, copy_best)
    );
    println!(
        "| upload (POST /v1/media) | {:.0} |",
        mib_per_sec(size, up_best)
    );
    println!(
        "| download (GET /v1/media/{{id}}) | {:.0} |",
        mib_per_sec(size, down_best)
    );
    println!(
        "upload ÷ copy = {:.2}, download ÷ copy = {:.2}",
        copy_best.as_secs_f64() / up_best.as_secs_f64(),
        copy_best.as_secs_f64() / down_best.as_secs_f64()
    );
    println!(
        "server VmHWM: idle {:.1} MiB, before the {} MiB upload {:.1} MiB, after {:.1} MiB (limit 64 MiB): {}",
        idle_hwm as f64 / 1024.0,
        args.rss_mib,
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        if after < 64 * 1024 { "ok" } else { "OVER" }
    );
    Ok(())
}
