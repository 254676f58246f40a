//! The dialer under API load (issue 9 §2): the real `autoinformer serve` (a child process, sim
//! carrier, 100 lines, ring timeout 10 s) runs a campaign twice in the same run — alone, and
//! with 500 concurrent API readers (stats, calls, last results, in a loop, from this process).
//! Prints for both: call starts per minute, ring-timeout overrun p99 (from the dial decision to
//! the end of calls nobody answered, less the timeout), calls taking over 4 s to be answered
//! (the sim rings at most 3 s), the server's CPU, and the API's answers (p50/p99, 503s).
//! Targets: starts/min with readers ≥ 90 % of without; overrun p99 ≤ 200 ms.
//! `LOAD_SECONDS` (default 60) is the measured window; `READERS` (default 500).
#[path = "../tests/common/http.rs"]
mod http;

use serde_json::json;
use sqlx::Row;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const TOKEN: &str = "bench-admin-token-0123456789";
const RING_TIMEOUT_MS: i64 = 10_000;
const WARMUP: Duration = Duration::from_secs(15);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn api(
    addr: SocketAddr,
    method: &str,
    path: &str,
    ct: Option<&str>,
    body: &[u8],
) -> serde_json::Value {
    let a = http::request(addr, method, path, Some(TOKEN), ct, body).await;
    assert!(a.status < 300, "{method} {path}: {} {}", a.status, a.text());
    a.json()
}

/// Starts a server on a fresh data directory with a 100-line campaign of `contacts`.
async fn campaign(dir: &Path, contacts: usize) -> (Serve, SocketAddr, i64) {
    let config = dir.join("serve.toml");
    std::fs::write(
        &config,
        format!(
            "demo = false\nprompts = {:?}\nmodel = {:?}\n\
             [calls]\nring_timeout_s = {}\nrecord = true\n\
             [trunk.sim]\nring_min_s = 1.0\nring_max_s = 3.0\n",
            root().join("prompts"),
            dir.join("no-model"),
            RING_TIMEOUT_MS / 1000
        ),
    )
    .expect("config");
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port");
    let child = Command::new(env!("CARGO_BIN_EXE_autoinformer"))
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .arg("--data")
        .arg(dir.join("data"))
        .arg("--listen")
        .arg(addr.to_string())
        .env("AUTOINFORMER_ADMIN_TOKEN", TOKEN)
        .env("AUTOINFORMER_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let serve = Serve(child);
    let t = Instant::now();
    while http_ok(addr).await.is_none() {
        assert!(t.elapsed() < Duration::from_secs(30), "serve did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for name in ["question.wav", "thanks.wav"] {
        let wav = std::fs::read(root().join("examples/survey").join(name)).expect("wav");
        api(addr, "PUT", &format!("/api/v1/prompts/{name}"), None, &wav).await;
    }
    let sc = std::fs::read(root().join("examples/survey/scenario.toml")).expect("scenario");
    let sc = api(
        addr,
        "POST",
        "/api/v1/scenarios",
        Some("application/toml"),
        &sc,
    )
    .await;
    let p = api(
        addr,
        "POST",
        "/api/v1/projects",
        Some("application/json"),
        json!({"name": "Нагрузка", "scenario_id": sc["id"], "schedule": ["daily 00:00-24:00"], "lines": 100})
            .to_string()
            .as_bytes(),
    )
    .await["id"]
        .as_i64()
        .expect("id");
    let mut csv = String::from("Имя;Телефон\n");
    for i in 0..contacts {
        // Every sim behaviour, by the last digit.
        csv.push_str(&format!("Абонент {i};+7999{:07}\n", i));
    }
    api(
        addr,
        "POST",
        &format!("/api/v1/projects/{p}/contacts"),
        Some("text/csv"),
        csv.as_bytes(),
    )
    .await;
    api(
        addr,
        "POST",
        &format!("/api/v1/projects/{p}/activate"),
        None,
        b"",
    )
    .await;
    (serve, addr, p)
}

async fn http_ok(addr: SocketAddr) -> Option<()> {
    tokio::net::TcpStream::connect(addr).await.ok()?;
    (http::request(addr, "GET", "/healthz", None, None, b"")
        .await
        .status
        == 200)
        .then_some(())
}

/// API answers seen by the readers: (latency µs, status).
type Seen = Arc<Mutex<Vec<(u64, u16)>>>;

fn readers(
    addr: SocketAddr,
    project: i64,
    n: usize,
    stop: Arc<AtomicBool>,
    seen: Seen,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let mut tasks = Vec::new();
            for i in 0..n {
                let (stop, seen) = (stop.clone(), seen.clone());
                tasks.push(tokio::spawn(async move {
                    let paths = [
                        format!("/api/v1/projects/{project}/stats"),
                        format!("/api/v1/calls?project_id={project}&limit=50"),
                        format!("/api/v1/projects/{project}/last-results?limit=50"),
                    ];
                    let mut k = i;
                    while !stop.load(Ordering::Relaxed) {
                        let t = Instant::now();
                        let a =
                            http::request(addr, "GET", &paths[k % 3], Some(TOKEN), None, b"").await;
                        let us = t.elapsed().as_micros() as u64;
                        if let Ok(mut s) = seen.lock() {
                            s.push((us, a.status));
                        }
                        k += 1;
                    }
                }));
            }
            for t in tasks {
                let _ = t.await;
            }
        })
    })
}

struct Figures {
    starts_per_min: f64,
    overrun_p99_ms: i64,
    overrun_max_ms: i64,
    no_answer: usize,
    slow_answers: usize,
    answered: usize,
    cpu_pct: f64,
}

fn quantile(v: &mut [i64], q: f64) -> i64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1]
}

async fn measure(dir: &Path, with_readers: usize, window: Duration) -> (Figures, Vec<(u64, u16)>) {
    let (serve, addr, p) = campaign(dir, 30_000).await;
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Seen = Arc::default();
    let reading =
        (with_readers > 0).then(|| readers(addr, p, with_readers, stop.clone(), seen.clone()));
    tokio::time::sleep(WARMUP).await;
    if let Ok(mut s) = seen.lock() {
        s.clear();
    }
    let (from, cpu0) = (unix_ms(), cpu_seconds(serve.0.id()));
    tokio::time::sleep(window).await;
    let (to, cpu1) = (unix_ms(), cpu_seconds(serve.0.id()));
    stop.store(true, Ordering::Relaxed);
    if let Some(r) = reading {
        let _ = r.join();
    }
    // Let the calls dialed in the window end (ring timeout 10 s, calls ≤ ~20 s).
    tokio::time::sleep(Duration::from_secs(25)).await;
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}?mode=ro",
        dir.join("data/autoinformer.db").display()
    ))
    .await
    .expect("db");
    let rows = sqlx::query(
        "SELECT dialed_at_ms, answered_at_ms, ended_at_ms, result FROM calls \
         WHERE dialed_at_ms BETWEEN ? AND ?",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&pool)
    .await
    .expect("calls");
    let mut overrun = Vec::new();
    let (mut slow, mut answered) = (0, 0);
    for r in &rows {
        let dialed: i64 = r.get(0);
        let ans: Option<i64> = r.get(1);
        let ended: Option<i64> = r.get(2);
        let result: Option<String> = r.get(3);
        if result.as_deref() == Some("no_answer") {
            if let Some(e) = ended {
                overrun.push(e - dialed - RING_TIMEOUT_MS);
            }
        }
        if let Some(a) = ans {
            answered += 1;
            if a - dialed > 4_000 {
                slow += 1;
            }
        }
    }
    let secs = (to - from) as f64 / 1000.0;
    let fig = Figures {
        starts_per_min: rows.len() as f64 * 60.0 / secs,
        no_answer: overrun.len(),
        overrun_p99_ms: quantile(&mut overrun, 0.99),
        overrun_max_ms: overrun.iter().copied().max().unwrap_or(0),
        slow_answers: slow,
        answered,
        cpu_pct: (cpu1 - cpu0) / secs * 100.0,
    };
    drop(serve);
    let answers = seen.lock().map(|s| s.clone()).unwrap_or_default();
    (fig, answers)
}

fn main() {
    let window = Duration::from_secs(
        std::env::var("LOAD_SECONDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(60),
    );
    let n_readers: usize = std::env::var("READERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let a = tempfile::tempdir().expect("tmp");
        let b = tempfile::tempdir().expect("tmp");
        let (alone, _) = measure(a.path(), 0, window).await;
        let (loaded, answers) = measure(b.path(), n_readers, window).await;
        let row = |name: &str, f: &Figures| {
            println!(
                "{name}: {:.0} call starts/min; ring-timeout overrun p99 {} ms (max {} ms, {} calls not answered); \
                 {}/{} answered calls took over 4 s to answer; server CPU {:.0} % of one core",
                f.starts_per_min, f.overrun_p99_ms, f.overrun_max_ms, f.no_answer, f.slow_answers, f.answered, f.cpu_pct
            )
        };
        row("campaign alone", &alone);
        row(&format!("with {n_readers} API readers"), &loaded);
        let mut ok: Vec<i64> = answers.iter().filter(|a| a.1 == 200).map(|a| a.0 as i64).collect();
        let busy = answers.iter().filter(|a| a.1 == 503).count();
        let other = answers.len() - ok.len() - busy;
        let (p50, p99) = (quantile(&mut ok, 0.5), quantile(&mut ok, 0.99));
        let mut all: Vec<i64> = answers.iter().map(|a| a.0 as i64).collect();
        println!(
            "API under load: {} answers in {} s ({:.0}/s): {} × 200 (p50 {:.1} ms, p99 {:.1} ms), {busy} × 503 busy, {other} other; all answers p99 {:.1} ms",
            answers.len(),
            window.as_secs(),
            answers.len() as f64 / window.as_secs_f64(),
            ok.len(),
            p50 as f64 / 1000.0,
            p99 as f64 / 1000.0,
            quantile(&mut all, 0.99) as f64 / 1000.0,
        );
        println!(
            "starts/min with readers / without: {:.0} % (target ≥ 90 %); overrun p99 {} ms alone, {} ms with readers (target ≤ 200 ms)",
            loaded.starts_per_min / alone.starts_per_min.max(1.0) * 100.0,
            alone.overrun_p99_ms,
            loaded.overrun_p99_ms
        );
    });
}
