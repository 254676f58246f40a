//! `autoinformer serve` as a real child process, for tests that kill it (SIGKILL) and start it
//! again on the same data directory and port. Include it next to the HTTP client:
//! `#[path = "common/http.rs"] mod http;` and `#[path = "common/child.rs"] mod child;`.
#![allow(dead_code)]
use crate::http::request;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The server as a child process; killed when dropped (a failing test leaves nothing behind).
pub struct Serve(pub Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Serve {
    /// SIGKILL: no shutdown of any kind.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// SIGTERM and wait: the graceful stop.
    pub fn terminate(&mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.0.wait();
    }
}

/// Starts `serve` with this config file, data directory, address and admin token.
pub fn start(data: &Path, addr: SocketAddr, config: &Path, token: &str) -> Serve {
    spawn(data, addr, config, token, "warn", Stdio::null())
}

/// As `start`, with the server's log at `level` appended to the file `log`.
pub fn start_logged(
    data: &Path,
    addr: SocketAddr,
    config: &Path,
    token: &str,
    level: &str,
    log: &Path,
) -> Serve {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("the log file opens");
    spawn(data, addr, config, token, level, out.into())
}

fn spawn(
    data: &Path,
    addr: SocketAddr,
    config: &Path,
    token: &str,
    level: &str,
    stderr: Stdio,
) -> Serve {
    let child = Command::new(env!("CARGO_BIN_EXE_autoinformer"))
        .arg("serve")
        .arg("--config")
        .arg(config)
        .arg("--data")
        .arg(data)
        .arg("--listen")
        .arg(addr.to_string())
        .env("AUTOINFORMER_ADMIN_TOKEN", token)
        .env("AUTOINFORMER_LOG", level)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("serve starts");
    Serve(child)
}

pub async fn wait_healthy(addr: SocketAddr) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(30) {
        if tokio::net::TcpStream::connect(addr).await.is_ok()
            && request(addr, "GET", "/healthz", None, None, b"")
                .await
                .status
                == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("serve did not come up on {addr}");
}

/// A request that must succeed; its JSON.
pub async fn call(
    addr: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    ct: Option<&str>,
    body: &[u8],
) -> Value {
    let a = request(addr, method, path, Some(token), ct, body).await;
    assert!(a.status < 300, "{method} {path}: {} {}", a.status, a.text());
    a.json()
}

pub fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// The bundled survey (examples/survey): its two prompts and its scenario stored, and the
/// project its complaints are copied into ("Перезвон: жалобы", which must exist before a
/// project of the survey is activated). Answers the scenario's id.
pub async fn survey(addr: SocketAddr, token: &str) -> Value {
    for name in ["question.wav", "thanks.wav"] {
        let wav = std::fs::read(root().join("examples/survey").join(name)).unwrap();
        call(
            addr,
            token,
            "PUT",
            &format!("/api/v1/prompts/{name}"),
            None,
            &wav,
        )
        .await;
    }
    let scenario = std::fs::read(root().join("examples/survey/scenario.toml")).unwrap();
    let sc = call(
        addr,
        token,
        "POST",
        "/api/v1/scenarios",
        Some("application/toml"),
        &scenario,
    )
    .await;
    call(
        addr,
        token,
        "POST",
        "/api/v1/projects",
        Some("application/json"),
        serde_json::json!({"name": "Перезвон: жалобы", "scenario_id": sc["id"]})
            .to_string()
            .as_bytes(),
    )
    .await;
    sc["id"].clone()
}

/// A small deterministic generator (kill moments).
pub fn next(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *seed >> 33
}

/// A tone as an 8 kHz 16-bit WAV: the robot's prompts (loud enough for the simulated callee
/// to hear them as speech, short so that calls are).
pub fn tone_wav(ms: u32, hz: f32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new(&mut buf, spec).unwrap();
        for i in 0..(8 * ms) {
            let t = i as f32 / 8000.0;
            w.write_sample((8000.0 * (2.0 * std::f32::consts::PI * hz * t).sin()) as i16)
                .unwrap();
        }
        w.finalize().unwrap();
    }
    buf.into_inner()
}

/// A project of the bundled survey (`survey`) named `name`, with these lines and quick
/// retries; answers the project's id.
pub async fn survey_project(addr: SocketAddr, token: &str, name: &str, lines: u32) -> i64 {
    let sc = survey(addr, token).await;
    let quick = serde_json::json!({"attempts": 2, "interval_s": 1});
    call(
        addr,
        token,
        "POST",
        "/api/v1/projects",
        Some("application/json"),
        serde_json::json!({
            "name": name, "scenario_id": sc, "schedule": ["daily 00:00-24:00"],
            "lines": lines,
            "retry_rules": {"system": quick, "no_answer": quick, "busy": quick}
        })
        .to_string()
        .as_bytes(),
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

/// Imports `numbers` (one contact each) into project `p` and activates it.
pub async fn import_and_activate(addr: SocketAddr, token: &str, p: i64, numbers: &[String]) {
    let mut csv = String::from("Имя;Телефон\n");
    for (i, n) in numbers.iter().enumerate() {
        csv.push_str(&format!("Абонент {i};{n}\n"));
    }
    let path = format!("/api/v1/projects/{p}/contacts");
    let r = call(addr, token, "POST", &path, Some("text/csv"), csv.as_bytes()).await;
    assert_eq!(r["imported"], numbers.len(), "{r}");
    let path = format!("/api/v1/projects/{p}/activate");
    call(addr, token, "POST", &path, None, b"").await;
}
