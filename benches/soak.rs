//! Soak (issue 20 §4): the real `autoinformer serve` binary, a child process on 127.0.0.1 with
//! the simulated carrier, runs the bundled survey (examples/survey) at 500 concurrent calls for
//! 30 minutes. Every sample (30 s; 10 s for runs under 10 minutes) it reads the child's RSS,
//! threads and CPU from /proc, its open file descriptors and the sockets among them (TCP, UDP,
//! unix; and whether any is bound outside loopback), the calls up and finished and the RTP
//! send lateness histogram from `/metrics`, and the data directory's size (database + WAL;
//! recordings off). It prints a table over time and a verdict: the memory slope after the
//! warm-up (a linear fit over the second half, against a stated bound), file descriptors flat,
//! lateness p99 per interval, database bytes per finished call (and rows per call, by table).
//!
//! Run: `cargo bench --bench soak` (release), or the test profile as CI builds it:
//! `cargo build --bench soak --profile test` and run the newest `target/debug/deps/soak-*`.
//! The bench finds the `serve` binary cargo built beside it (`CARGO_BIN_EXE_autoinformer`).
//! `SOAK_MINUTES=N` (default 30), `SOAK_CALLS=N` (default 500: the project's lines and the
//! sim carrier's `max_calls`), `SOAK_SAMPLE_S=N`, `SOAK_CONTACTS=N` (default enough for 10 s
//! per call on average, so the base never runs dry).
//!
//! A benchmark: it prints figures and an honest verdict, and exits 0 unless it cannot run.
//! The child is killed on every exit path of this process but SIGKILL (a Drop guard; Ctrl-C
//! and SIGTERM end the run early and still print what was measured).
#[path = "../tests/common/child.rs"]
mod child;
#[path = "../tests/common/http.rs"]
mod http;
#[path = "common/soak_probe.rs"]
mod probe;

use child::{free_addr, root, wait_healthy, Serve};
use probe::{buckets, dir_size, file_len, fit, machine_busy_s, quantile, read_proc, Proc};
use serde_json::{json, Value};
use sqlx::Row;
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "soak-bench-token-0123456789abcdef";
/// The memory growth the verdict holds the steady state to: 64 KiB per minute is 3.75 MiB an
/// hour, 90 MiB a day; at ~2,000 calls a minute about 32 bytes kept per call.
const BOUND_KIB_PER_MIN: f64 = 64.0;
/// RTP lateness p99 target of the load benchmarks (README) and the alert of docs/operations.md.
const LATENESS_TARGET_MS: f64 = 2.0;
const LATENESS_ALERT_MS: f64 = 20.0;
/// The behaviour of the numbers by their last digit (docs/telephony.md, the simulated
/// carrier), 20 in turn: 60 % say «Алло?» and nothing (the survey waits 10 s: the long calls
/// that keep the lines full), 15 % press 1, 10 % press 2 (copied into the callback project),
/// 5 % hang up 1.5 s into the message, 5 % a carrier voicemail (AMD), 5 % busy (retried).
const MIX: [u8; 20] = [8, 5, 8, 6, 8, 8, 5, 8, 9, 8, 6, 8, 4, 8, 5, 8, 1, 8, 8, 8];

fn env_num(name: &str, default: f64) -> f64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let minutes = env_num("SOAK_MINUTES", 30.0);
    let calls = env_num("SOAK_CALLS", 500.0) as u32;
    assert!(
        minutes > 0.0 && calls > 0,
        "SOAK_MINUTES and SOAK_CALLS > 0"
    );
    let sample_s = env_num("SOAK_SAMPLE_S", if minutes >= 10.0 { 30.0 } else { 10.0 });
    let contacts = env_num(
        "SOAK_CONTACTS",
        (f64::from(calls) * minutes * 60.0 / 10.0).ceil() + 2.0 * f64::from(calls),
    ) as u64;
    assert!(
        contacts <= 999_999,
        "at most 999,999 contacts (SOAK_CONTACTS)"
    );
    let dir = tempfile::tempdir().expect("a temp dir");
    let data = dir.path().join("data");
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            "demo = false\nprompts = {:?}\nmodel = {:?}\n\
             [calls]\nring_timeout_s = 20\nrecord = false\n\
             [dialer]\npass_ms = 1000\nshutdown_grace_s = 30\n\
             [trunk]\nkind = \"sim\"\n\
             [trunk.sim]\nring_min_s = 1.0\nring_max_s = 4.0\nmax_calls = {calls}\n",
            root().join("prompts"),
            dir.path().join("no-model"),
        ),
    )
    .expect("writing the config");
    let log_path = dir.path().join("serve.log");
    let addr = free_addr();
    let bin = env!("CARGO_BIN_EXE_autoinformer");
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .arg("--config")
        .arg(&config)
        .arg("--data")
        .arg(&data)
        .arg("--listen")
        .arg(addr.to_string());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("AUTOINFORMER_") {
            cmd.env_remove(k);
        }
    }
    let child = cmd
        .env("AUTOINFORMER_ADMIN_TOKEN", TOKEN)
        .env("AUTOINFORMER_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).expect("the log file"))
        .spawn()
        .unwrap_or_else(|e| panic!("starting {bin}: {e}"));
    // From here on, every way out of main (return, panic) kills the child.
    let mut serve = Serve(child);
    let pid = serve.0.id();
    println!(
        "soak: {bin} (pid {pid}) on http://{addr}, sim carrier, {calls} lines, {minutes} min, \
         a sample every {sample_s} s, {contacts} contacts; data in {}",
        data.display()
    );
    wait_healthy(addr).await;
    let api = Api { addr };
    let idle = Sample::take(&api, pid, &data, None, 0.0).await;

    // The survey, its callback project, the campaign and its contacts.
    for name in ["question.wav", "thanks.wav"] {
        let wav = std::fs::read(root().join("examples/survey").join(name)).expect("a prompt");
        api.ok("PUT", &format!("/api/v1/prompts/{name}"), None, &wav)
            .await;
    }
    let scenario = std::fs::read(root().join("examples/survey/scenario.toml")).expect("survey");
    let sc = api
        .ok(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            &scenario,
        )
        .await["id"]
        .clone();
    api.ok_json(
        "/api/v1/projects",
        json!({"name": "Перезвон: жалобы", "scenario_id": sc}),
    )
    .await;
    let p = api
        .ok_json(
            "/api/v1/projects",
            json!({"name": "Soak", "scenario_id": sc, "schedule": ["daily 00:00-24:00"],
                   "lines": calls}),
        )
        .await["id"]
        .as_i64()
        .expect("a project id");
    let mut csv = String::with_capacity(contacts as usize * 32);
    csv.push_str("Имя;Телефон\n");
    for i in 0..contacts {
        let last = MIX[(i % 20) as usize];
        csv.push_str(&format!("Абонент {i};+7999{i:06}{last}\n"));
    }
    let t = Instant::now();
    let imported = api
        .ok(
            "POST",
            &format!("/api/v1/projects/{p}/contacts"),
            Some("text/csv"),
            csv.as_bytes(),
        )
        .await;
    drop(csv);
    println!(
        "imported {} contacts in {:.1} s",
        imported["imported"],
        t.elapsed().as_secs_f64()
    );
    let db = data.join("autoinformer.db");
    let rows_before = table_rows(&db).await;
    let before = Sample::take(&api, pid, &data, Some(p), 0.0).await;
    api.ok("POST", &format!("/api/v1/projects/{p}/activate"), None, b"")
        .await;
    let t0 = Instant::now();
    let length = Duration::from_secs_f64(minutes * 60.0);
    let every = Duration::from_secs_f64(sample_s);

    print_head();
    let mut samples: Vec<Sample> = vec![before.clone()];
    print_row(&before, None);
    let mut died = None;
    let mut interrupted = false;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    let mut next = every;
    while t0.elapsed() < length {
        let wait = next.saturating_sub(t0.elapsed());
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = tokio::signal::ctrl_c() => { interrupted = true; }
            _ = term.recv() => { interrupted = true; }
        }
        if interrupted {
            println!("interrupted: stopping early");
            break;
        }
        next += every;
        if let Ok(Some(status)) = serve.0.try_wait() {
            died = Some(status);
            break;
        }
        let s = Sample::take(&api, pid, &data, Some(p), t0.elapsed().as_secs_f64()).await;
        print_row(&s, samples.last());
        samples.push(s);
    }
    if let Some(status) = died {
        println!("\nVERDICT: serve DIED during the soak ({status}); the end of its log:");
        print_log_tail(&log_path, 30);
        return;
    }

    // The end: no new calls, the calls up end, then the leftovers.
    let mut drained = None;
    if !interrupted {
        api.ok("POST", &format!("/api/v1/projects/{p}/pause"), None, b"")
            .await;
        let t = Instant::now();
        let mut up = f64::MAX;
        while t.elapsed() < Duration::from_secs(90) && up > 0.0 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            up = scrape(&api)
                .await
                .get("autoinformer_calls_up")
                .copied()
                .unwrap_or(0.0);
        }
        // Let the sweep and the outbox settle a moment.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let s = Sample::take(&api, pid, &data, Some(p), t0.elapsed().as_secs_f64()).await;
        println!(
            "\npaused; {} calls up after {:.0} s of draining",
            s.up,
            t.elapsed().as_secs_f64()
        );
        drained = Some(s);
    }
    // A graceful stop (nothing is up after the drain); cut short, a kill instead of waiting
    // for the calls up (`dialer.shutdown_grace_s`), and no rows read.
    let t = Instant::now();
    let (stop_s, rows_after) = if interrupted {
        serve.kill();
        (None, BTreeMap::new())
    } else {
        serve.terminate();
        (Some(t.elapsed().as_secs_f64()), table_rows(&db).await)
    };
    let last = samples.last().cloned().expect("a sample");
    summary(&Summary {
        calls,
        minutes,
        idle: &idle,
        samples: &samples,
        drained: drained.as_ref(),
        rows: (&rows_before, &rows_after),
        stop_s,
        last: &last,
    });
    print_log_summary(&log_path);
}

/// The API with the soak's token.
struct Api {
    addr: SocketAddr,
}

impl Api {
    async fn ok(&self, method: &str, path: &str, ct: Option<&str>, body: &[u8]) -> Value {
        child::call(self.addr, TOKEN, method, path, ct, body).await
    }

    async fn ok_json(&self, path: &str, body: Value) -> Value {
        self.ok(
            "POST",
            path,
            Some("application/json"),
            body.to_string().as_bytes(),
        )
        .await
    }

    async fn get(&self, path: &str) -> http::Answer {
        http::request(self.addr, "GET", path, Some(TOKEN), None, b"").await
    }
}

/// `/metrics` as `name{labels}` → value (families whose lines do not parse are left out).
async fn scrape(api: &Api) -> BTreeMap<String, f64> {
    let a = api.get("/metrics").await;
    a.text()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

#[derive(Clone, Default)]
struct Sample {
    t_s: f64,
    proc: Proc,
    /// Busy CPU seconds of the whole machine (to tell other load from the server's).
    machine_s: f64,
    up: f64,
    finished: f64,
    lateness: Vec<(f64, f64)>,
    pass: Vec<(f64, f64)>,
    no_audio: f64,
    http_5xx: f64,
    /// Contacts of the soak project not called yet or due for a retry.
    left: f64,
    db: u64,
    wal: u64,
    data: u64,
}

impl Sample {
    async fn take(api: &Api, pid: u32, data: &Path, project: Option<i64>, t_s: f64) -> Sample {
        let proc = read_proc(pid);
        let machine_s = machine_busy_s();
        let m = scrape(api).await;
        let left = match project {
            Some(p) => {
                let st = api.get(&format!("/api/v1/projects/{p}/stats")).await.json();
                let c = &st["contacts"];
                c["not_called"].as_f64().unwrap_or(0.0) + c["retry"].as_f64().unwrap_or(0.0)
            }
            None => 0.0,
        };
        let sum = |prefix: &str| {
            m.iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(_, v)| v)
                .sum::<f64>()
        };
        Sample {
            t_s,
            proc,
            machine_s,
            up: m.get("autoinformer_calls_up").copied().unwrap_or(0.0),
            // (+ 0.0: an empty sum is -0.0.)
            finished: sum("autoinformer_calls_total{") + 0.0,
            lateness: buckets(&m, "autoinformer_rtp_send_lateness_seconds"),
            pass: buckets(&m, "autoinformer_dialer_pass_seconds"),
            no_audio: sum("autoinformer_calls_without_audio_total"),
            http_5xx: m
                .iter()
                .filter(|(k, _)| {
                    k.starts_with("autoinformer_http_requests_total{") && k.contains("status=\"5")
                })
                .map(|(_, v)| v)
                .sum(),
            left,
            db: file_len(&data.join("autoinformer.db")),
            wal: file_len(&data.join("autoinformer.db-wal")),
            data: dir_size(data),
        }
    }
}

const MIB: f64 = 1024.0 * 1024.0;

fn ms(x: Option<f64>) -> String {
    x.map_or("–".into(), |v| format!("{:.2}", v * 1000.0))
}

fn print_head() {
    println!(
        "\n| t, min | calls up | finished | calls/min | RSS (anon), MiB | threads | CPU %: serve \
         / the rest of the machine | fds | \
         tcp/udp/unix | lateness p50 / p99 / p99.9, ms | frames | dialer pass p99, ms | \
         DB + WAL, MiB | WAL, MiB | B/call | contacts left |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
}

fn print_row(s: &Sample, prev: Option<&Sample>) {
    let empty = Sample::default();
    let prev = prev.unwrap_or(&empty);
    let dt = s.t_s - prev.t_s;
    let dcalls = s.finished - prev.finished;
    let per_min = if dt > 0.0 {
        format!("{:.0}", dcalls / dt * 60.0)
    } else {
        "–".into()
    };
    let cpu = if dt > 0.0 {
        let serve = s.proc.cpu_s - prev.proc.cpu_s;
        format!(
            "{:.0} / {:.0}",
            serve / dt * 100.0,
            (s.machine_s - prev.machine_s - serve).max(0.0) / dt * 100.0
        )
    } else {
        "–".into()
    };
    let frames = s.lateness.last().map_or(0.0, |b| b.1) - prev.lateness.last().map_or(0.0, |b| b.1);
    let grew = (s.db + s.wal) as f64 - (prev.db + prev.wal) as f64;
    let per_call = if dcalls > 0.0 && prev.db > 0 {
        format!("{:.0}", grew / dcalls)
    } else {
        "–".into()
    };
    println!(
        "| {:.1} | {:.0} | {:.0} | {per_min} | {:.1} ({:.1}) | {} | {cpu} | {} | {}/{}/{}{} | {} / {} / {} \
         | {frames:.0} | {} | {:.1} | {:.1} | {per_call} | {:.0} |",
        s.t_s / 60.0,
        s.up,
        s.finished,
        s.proc.rss_kib as f64 / 1024.0,
        s.proc.anon_kib as f64 / 1024.0,
        s.proc.threads,
        s.proc.fds,
        s.proc.tcp,
        s.proc.udp,
        s.proc.unix,
        if s.proc.other_sockets > 0 {
            format!("+{}", s.proc.other_sockets)
        } else {
            String::new()
        },
        ms(quantile(&s.lateness, &prev.lateness, 0.5)),
        ms(quantile(&s.lateness, &prev.lateness, 0.99)),
        ms(quantile(&s.lateness, &prev.lateness, 0.999)),
        ms(quantile(&s.pass, &prev.pass, 0.99)),
        (s.db + s.wal) as f64 / MIB,
        s.wal as f64 / MIB,
        s.left,
    );
}

/// Rows of every table of the database (read-only; the server may be running: WAL).
async fn table_rows(db: &Path) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    let url = format!("sqlite://{}?mode=ro", db.display());
    let Ok(pool) = sqlx::SqlitePool::connect(&url).await else {
        return out;
    };
    let names: Vec<String> = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&pool)
    .await
    .map(|rows| rows.iter().map(|r| r.get::<String, _>(0)).collect())
    .unwrap_or_default();
    for name in names {
        let q = format!("SELECT count(*) FROM \"{}\"", name.replace('"', "\"\""));
        if let Ok(r) = sqlx::query(&q).fetch_one(&pool).await {
            out.insert(name, r.get::<i64, _>(0));
        }
    }
    pool.close().await;
    out
}

struct Summary<'a> {
    calls: u32,
    minutes: f64,
    idle: &'a Sample,
    samples: &'a [Sample],
    drained: Option<&'a Sample>,
    rows: (&'a BTreeMap<String, i64>, &'a BTreeMap<String, i64>),
    stop_s: Option<f64>,
    last: &'a Sample,
}

fn summary(s: &Summary) {
    let first = &s.samples[0];
    let last = s.last;
    let run_min = last.t_s / 60.0;
    let finished = last.finished - first.finished;
    println!("\n## Verdict ({run_min:.1} of {} min)\n", s.minutes);
    if s.samples.len() < 3 {
        println!("too few samples for a verdict");
        return;
    }
    // The steady part: after the warm-up (the first minute, or the first sample), the
    // second half of the run for the memory fit.
    let steady: Vec<&Sample> = s
        .samples
        .iter()
        .skip(1)
        .filter(|x| x.t_s >= 60.0_f64.min(s.samples[1].t_s))
        .collect();
    let mut half: Vec<&Sample> = s
        .samples
        .iter()
        .filter(|x| x.t_s >= (last.t_s / 2.0).max(60.0))
        .collect();
    if half.len() < 3 {
        // A short run: all of it after the first sample.
        half = s.samples.iter().skip(1).collect();
    }
    let target = f64::from(s.calls);
    let ups: Vec<f64> = steady.iter().map(|x| x.up).collect();
    let mean_up = ups.iter().sum::<f64>() / ups.len().max(1) as f64;
    let min_up = ups.iter().copied().fold(f64::INFINITY, f64::min);
    let full = ups.iter().filter(|&&u| u >= 0.95 * target).count();
    println!(
        "- load: {finished:.0} calls finished ({:.0} a minute); calls up after the warm-up: mean \
         {mean_up:.0}, min {min_up:.0} of {target:.0}; ≥ 95 % of the lines at {full} of {} \
         samples; {:.0} contacts left at the end{}",
        finished / run_min.max(1e-9),
        ups.len(),
        last.left,
        if last.left <= 0.0 {
            " — THE BASE RAN DRY (SOAK_CONTACTS)"
        } else {
            ""
        }
    );
    let span = (last.t_s - first.t_s).max(1e-9);
    let cpu = (last.proc.cpu_s - first.proc.cpu_s) / span * 100.0;
    let others = ((last.machine_s - first.machine_s) / span * 100.0 - cpu).max(0.0);
    println!(
        "- CPU: serve {cpu:.0} % of one core on average ({:.3} % per call up); the rest of the \
         machine meanwhile {others:.0} % of one core ({} cores)",
        cpu / mean_up.max(1.0),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );

    // Memory.
    let rss = |x: &Sample| x.proc.rss_kib as f64 / 1024.0;
    let anon = |x: &Sample| x.proc.anon_kib as f64 / 1024.0;
    println!(
        "- memory: RSS (anonymous) idle {:.1} ({:.1}) MiB, after the import {:.1} ({:.1}), at the \
         end {:.1} ({:.1}), peak {:.1}{}; ~{:.0} KiB per call up over the idle",
        rss(s.idle),
        anon(s.idle),
        rss(first),
        anon(first),
        rss(last),
        anon(last),
        last.proc.hwm_kib as f64 / 1024.0,
        s.drained
            .map(|d| format!(", after the calls drained {:.1} ({:.1})", rss(d), anon(d)))
            .unwrap_or_default(),
        (last.proc.rss_kib as f64 - s.idle.proc.rss_kib as f64) / last.up.max(1.0),
    );
    let calls_per_min = half.first().map_or(0.0, |h| {
        (last.finished - h.finished) / ((last.t_s - h.t_s) / 60.0).max(1e-9)
    });
    let growth = |what: &str, kib: &dyn Fn(&Sample) -> f64| {
        let pts: Vec<(f64, f64)> = half.iter().map(|x| (x.t_s / 60.0, kib(x))).collect();
        let Some((slope, se)) = fit(&pts) else {
            return format!("{what}: too few samples in the second half for a fit");
        };
        let word = if slope + 2.0 * se <= BOUND_KIB_PER_MIN {
            "FLAT"
        } else if slope - 2.0 * se > BOUND_KIB_PER_MIN {
            "GROWING"
        } else {
            "INCONCLUSIVE (the noise is wider than the bound: run longer)"
        };
        format!(
            "{what} {word}: slope over the second half ({} samples, {:.1}–{:.1} min) {slope:+.1} \
             ± {se:.1} KiB/min ({:+.1} MiB/hour; {:+.1} bytes per finished call); bound \
             {BOUND_KIB_PER_MIN} KiB/min",
            pts.len(),
            pts[0].0,
            pts[pts.len() - 1].0,
            slope * 60.0 / 1024.0,
            slope * 1024.0 / calls_per_min.max(1.0),
        )
    };
    println!(
        "- memory growth: {}",
        growth("RSS", &|x: &Sample| x.proc.rss_kib as f64)
    );
    println!(
        "- memory growth: {}",
        growth("anonymous RSS", &|x: &Sample| x.proc.anon_kib as f64)
    );

    // File descriptors and sockets.
    let fds: Vec<u64> = half.iter().map(|x| x.proc.fds).collect();
    let (fmin, fmax) = (
        fds.iter().copied().min().unwrap_or(0),
        fds.iter().copied().max().unwrap_or(0),
    );
    let fd_fit = fit(&half
        .iter()
        .map(|x| (x.t_s / 60.0, x.proc.fds as f64))
        .collect::<Vec<_>>());
    let exposed = s.samples.iter().map(|x| x.proc.exposed).max().unwrap_or(0);
    println!(
        "- file descriptors: idle {}, second half {fmin}–{fmax} (slope {}){}; {}; sockets at the \
         end tcp {} / udp {} / unix {}; sockets bound outside loopback: {exposed} (max of all \
         samples){}",
        s.idle.proc.fds,
        fd_fit.map_or("–".into(), |(sl, _)| format!("{sl:+.2}/min")),
        s.drained
            .map(|d| format!(", after the calls drained {}", d.proc.fds))
            .unwrap_or_default(),
        if fmax - fmin <= 8 {
            "FLAT (spread ≤ 8)"
        } else {
            "NOT FLAT"
        },
        last.proc.tcp,
        last.proc.udp,
        last.proc.unix,
        if exposed == 0 {
            ""
        } else {
            " — NOT LOOPBACK ONLY"
        },
    );
    let threads: Vec<u64> = half.iter().map(|x| x.proc.threads).collect();
    println!(
        "- threads: second half {}–{}",
        threads.iter().min().unwrap_or(&0),
        threads.iter().max().unwrap_or(&0)
    );

    // Lateness.
    let p99s: Vec<f64> = s
        .samples
        .windows(2)
        .filter_map(|w| quantile(&w[1].lateness, &w[0].lateness, 0.99))
        .collect();
    let worst = p99s.iter().copied().fold(0.0, f64::max);
    let late_half: Vec<(f64, f64)> = s
        .samples
        .windows(2)
        .filter(|w| w[1].t_s >= (last.t_s / 2.0).max(60.0))
        .filter_map(|w| {
            Some((
                w[1].t_s / 60.0,
                quantile(&w[1].lateness, &w[0].lateness, 0.99)?,
            ))
        })
        .collect();
    let frames =
        last.lateness.last().map_or(0.0, |b| b.1) - first.lateness.last().map_or(0.0, |b| b.1);
    println!(
        "- RTP send lateness: whole run p50 {} / p99 {} / p99.9 {} ms over {frames:.0} frames; \
         p99 per interval {}–{} ms (worst interval {}, target {LATENESS_TARGET_MS} ms, alert \
         {LATENESS_ALERT_MS} ms); p99 trend over the second half {}; calls without audio {:.0}",
        ms(quantile(&last.lateness, &first.lateness, 0.5)),
        ms(quantile(&last.lateness, &first.lateness, 0.99)),
        ms(quantile(&last.lateness, &first.lateness, 0.999)),
        ms(p99s.iter().copied().reduce(f64::min)),
        ms(p99s.iter().copied().reduce(f64::max)),
        if worst * 1000.0 <= LATENESS_TARGET_MS {
            "within the target"
        } else if worst * 1000.0 <= LATENESS_ALERT_MS {
            "OVER the target, under the alert"
        } else {
            "OVER THE ALERT"
        },
        fit(&late_half).map_or("–".into(), |(sl, se)| format!(
            "{:+.3} ± {:.3} ms/min",
            sl * 1000.0,
            se * 1000.0
        )),
        last.no_audio - first.no_audio,
    );
    println!(
        "- dialer pass: p99 over the run {} ms; HTTP 5xx answers {:.0}",
        ms(quantile(&last.pass, &first.pass, 0.99)),
        last.http_5xx - first.http_5xx
    );

    // The database.
    let grew = (last.db + last.wal) as f64 - (first.db + first.wal) as f64;
    let wal_max = s.samples.iter().map(|x| x.wal).max().unwrap_or(0);
    let db_fit = fit(&half
        .iter()
        .map(|x| (x.finished, (x.db + x.wal) as f64))
        .collect::<Vec<_>>());
    println!(
        "- database: {:.1} MiB after the import ({:.1} MiB contacts base), {:.1} MiB at the end \
         (WAL at most {:.1} MiB): {:.0} bytes per finished call over the run, {} over the second \
         half (fit); the data directory {:.1} MiB",
        (first.db + first.wal) as f64 / MIB,
        (first.db + first.wal) as f64 / MIB - (s.idle.db + s.idle.wal) as f64 / MIB,
        (last.db + last.wal) as f64 / MIB,
        wal_max as f64 / MIB,
        grew / finished.max(1.0),
        db_fit.map_or("–".into(), |(sl, _)| format!("{sl:.0}")),
        last.data as f64 / MIB,
    );
    let (before, after) = s.rows;
    // The rows are read after the stop: the calls that ended while draining count too.
    let finished = s.drained.map_or(finished, |d| d.finished - first.finished);
    let grown: Vec<String> = after
        .iter()
        .filter_map(|(t, n)| {
            let d = n - before.get(t).copied().unwrap_or(0);
            (d != 0).then(|| format!("{t} {d:+} ({:.2}/call)", d as f64 / finished.max(1.0)))
        })
        .collect();
    if !grown.is_empty() {
        println!(
            "- rows added during the run (read after the stop): {}",
            grown.join(", ")
        );
    }
    let names: HashSet<&String> = before.keys().collect();
    let new: Vec<&String> = after.keys().filter(|k| !names.contains(k)).collect();
    if !new.is_empty() {
        println!("- tables that appeared: {new:?}");
    }
    if let Some(stop_s) = s.stop_s {
        println!("- graceful stop (SIGTERM) took {stop_s:.2} s");
    }
}

fn print_log_tail(path: &Path, n: usize) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    for l in &lines[lines.len().saturating_sub(n)..] {
        println!("  {l}");
    }
}

/// WARN and ERROR lines of the server's log, counted by their message (numbers and ids cut).
fn print_log_summary(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    let (mut warn, mut error) = (0, 0);
    for l in text.lines() {
        let level = if l.contains(" WARN ") {
            warn += 1;
            "WARN"
        } else if l.contains(" ERROR ") {
            error += 1;
            "ERROR"
        } else {
            continue;
        };
        // The message after the target, without the span's fields.
        let msg = l.split_once(": ").map_or(l, |(_, m)| m);
        let key: String = msg
            .chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .take(140)
            .collect();
        *by.entry(format!("{level} {key}")).or_default() += 1;
    }
    println!("- the server's log: {warn} WARN, {error} ERROR lines");
    let mut top: Vec<(String, usize)> = by.into_iter().collect();
    top.sort_by_key(|b| std::cmp::Reverse(b.1));
    for (k, n) in top.iter().take(8) {
        println!("    {n} × {k}");
    }
}
