//! Load benchmark of live calls (issues 3, 20): N concurrent calls (`LOAD_CALLS`, a list)
//! 1. through the simulated carrier (both ends in this process),
//! 2. through the SIP trunk against `sipp -sn uas -rtp_echo` on loopback,
//! 3. and, as the floor, sipp itself as the caller streaming RTP at the same load.
//!
//! Prints CPU per call, outgoing RTP lateness p50/p99 (target ≤ 2 ms at p99), memory per call,
//! answered/failed, and the CPU ratio of our SIP calls to sipp's RTP streaming; by default at
//! 1,000 and 2,000 calls (`LOAD_CALLS=1000,2000`), closing with a table of both loads.
//! Run: `cargo bench --bench live_load` (needs sipp: `scripts/setup.sh --test`).
use autoinformer::call::live::{run_call, LiveSettings, PacingProbe};
use autoinformer::call::CallConfig;
use autoinformer::config::SipConfig;
use autoinformer::scenario::{load_file, LoadOptions, Scenario};
use autoinformer::telephony::sim::{SimConfig, SimTrunk};
use autoinformer::telephony::sip::SipTrunk;
use autoinformer::telephony::trunk::{DialRequest, Trunk};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(10);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// CPU seconds (user + system) of a process, from /proc.
fn cpu_seconds(pid: &str) -> f64 {
    let (u, s) = cpu_split(pid);
    u + s
}

/// CPU seconds of a process in user space and in the kernel, from /proc.
fn cpu_split(pid: &str) -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return (0.0, 0.0);
    };
    // Fields after the command name (which may hold spaces) start at ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime, stime are fields 14 and 15 (1-based) → 11 and 12 after ')'.
    (ticks(11) / 100.0, ticks(12) / 100.0)
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

struct Killer(Child);
impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn scenario() -> Arc<Scenario> {
    let prompts_dir = root().join("prompts");
    let opts = LoadOptions {
        prompts_dir,
        speech: None,
    };
    Arc::new(
        load_file(&root().join("examples/survey/scenario.toml"), &opts)
            .unwrap_or_else(|p| panic!("{p}")),
    )
}

struct LoadFigures {
    calls: usize,
    cpu_per_call_pct: f64,
    /// The kernel's share of it (system time: sockets, timers, wake-ups), %.
    sys_share_pct: f64,
    p50_us: u64,
    p99_us: u64,
    mem_per_call_kb: f64,
    answered: usize,
    failed: usize,
    up_during_window: usize,
    early_pct: f64,
    p999_us: u64,
    peer_cpu_pct: Option<f64>,
}

async fn load(
    name: &str,
    trunk: Arc<dyn Trunk>,
    n: usize,
    amd: bool,
    peer_pid: Option<String>,
) -> LoadFigures {
    let scenario = scenario();
    let probe = Arc::new(PacingProbe::default());
    let active = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let rss0 = rss_kb();
    let mut tasks = Vec::with_capacity(n);
    let ramp_start = Instant::now();
    for i in 0..n {
        let trunk = trunk.clone();
        let scenario = scenario.clone();
        let probe = probe.clone();
        let active = active.clone();
        let cfg = CallConfig {
            prompts_dir: root().join("prompts"),
            speech: None,
            amd,
            greetings: None,
        };
        tasks.push(tokio::spawn(async move {
            let req = DialRequest {
                call_id: format!("load{i}"),
                number: format!("+7999300{i:04}"),
                caller_id: None,
            };
            let settings = LiveSettings::default();
            active.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let r = run_call(trunk.as_ref(), req, scenario, cfg, &settings, Some(&probe)).await;
            active.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            r
        }));
        // Ramp: 1,000 calls over ~1 s.
        if i % 10 == 9 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    tokio::time::sleep_until((ramp_start + Duration::from_secs(5)).into()).await;
    probe.reset();
    let me = std::process::id().to_string();
    let (cpu0, peer0, t0) = (
        cpu_split(&me),
        peer_pid.as_deref().map(cpu_seconds),
        Instant::now(),
    );
    let mut up_min = usize::MAX;
    while t0.elapsed() < WINDOW {
        tokio::time::sleep(Duration::from_millis(500)).await;
        up_min = up_min.min(active.load(std::sync::atomic::Ordering::Relaxed));
    }
    let wall = t0.elapsed().as_secs_f64();
    let (user1, sys1) = cpu_split(&me);
    let (user, sys) = (user1 - cpu0.0, sys1 - cpu0.1);
    let cpu = user + sys;
    let peer_cpu = peer_pid
        .as_deref()
        .zip(peer0)
        .map(|(p, c0)| (cpu_seconds(p) - c0) / wall * 100.0);
    let rss1 = rss_kb();
    let (p50, p99) = (probe.quantile_us(0.5), probe.quantile_us(0.99));
    let sent = probe
        .frames_sent
        .load(std::sync::atomic::Ordering::Relaxed)
        .max(1);
    let early_pct = probe
        .frames_early
        .load(std::sync::atomic::Ordering::Relaxed) as f64
        * 100.0
        / sent as f64;
    let mut answered = 0;
    let mut failed = 0;
    for t in tasks {
        match t.await {
            Ok(r) if r.answered && r.outcome.result != "system" => answered += 1,
            Ok(r) => {
                failed += 1;
                if failed <= 3 {
                    eprintln!(
                        "{name}: failed call: {} {:?} {:?}",
                        r.outcome.result, r.sip_status, r.reason
                    );
                }
            }
            Err(_) => failed += 1,
        }
    }
    LoadFigures {
        calls: n,
        cpu_per_call_pct: cpu / wall / n as f64 * 100.0,
        sys_share_pct: sys / cpu.max(1e-9) * 100.0,
        p50_us: p50,
        p99_us: p99,
        mem_per_call_kb: rss1.saturating_sub(rss0) as f64 / n as f64,
        answered,
        failed,
        up_during_window: up_min,
        early_pct,
        p999_us: probe.quantile_us(0.999),
        peer_cpu_pct: peer_cpu,
    }
}

fn print(name: &str, f: &LoadFigures) {
    println!(
        "{name:<28} calls {:>5}  up during window {:>5}  answered {:>5}  failed {:>3}  CPU/call {:.4} % of a core ({:.1} % total, {:.0} % of it in the kernel)  RTP lateness p50 {:.2} ms p99 {:.2} ms p99.9 {:.2} ms (sent ≤1 ms early: {:.0} %)  memory/call {:.1} KiB{}",
        f.calls,
        f.up_during_window,
        f.answered,
        f.failed,
        f.cpu_per_call_pct,
        f.cpu_per_call_pct * f.calls as f64,
        f.sys_share_pct,
        f.p50_us as f64 / 1000.0,
        f.p99_us as f64 / 1000.0,
        f.p999_us as f64 / 1000.0,
        f.early_pct,
        f.mem_per_call_kb,
        f.peer_cpu_pct
            .map(|p| format!("  (peer sipp: {p:.1} % of a core)"))
            .unwrap_or_default()
    );
}

fn sipp_uas(port: u16, media_port: u16) -> Killer {
    Killer(
        Command::new("sipp")
            .args(["-sn", "uas", "-i", "127.0.0.1", "-p", &port.to_string()])
            .args([
                "-mi",
                "127.0.0.1",
                "-mp",
                &media_port.to_string(),
                "-rtp_echo",
            ])
            .args(["-nostdin", "-timeout", "120s", "-max_socket", "4096"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sipp (install with scripts/setup.sh --test)"),
    )
}

fn make_stream(dir: &Path) {
    // Raw µ-law of the survey question for sipp's rtp_stream.
    let ok = Command::new("sox")
        .args(["-D"])
        .arg(root().join("examples/survey/question.wav"))
        .args(["-r", "8000", "-c", "1", "-t", "ul"])
        .arg(dir.join("stream.ul"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "sox is needed (scripts/setup.sh)");
}

/// One row of the closing table: our SIP calls and sipp's own streaming at one load.
#[derive(Default)]
struct Row {
    calls: usize,
    ours: Option<LoadFigures>,
    /// sipp as the caller (rtp_stream), % of a core.
    sipp_pct: Option<f64>,
}

fn main() {
    // `LOAD_CALLS=1000,2000` (the default): each load in turn, then a table of them all.
    let loads: Vec<usize> = std::env::var("LOAD_CALLS")
        .unwrap_or_else(|_| "1000,2000".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let only = std::env::var("LOAD_ONLY").unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut rows = Vec::new();
    for &n in &loads {
        rows.push(run_load(&rt, n, &only));
    }
    print_table(&rows);
}

/// The per-call figures at each load side by side with sipp's own RTP streaming.
fn print_table(rows: &[Row]) {
    println!();
    println!("| calls | ours: CPU % of a core (per call; kernel share) | RTP lateness p50 / p99 ms | up / failed | sipp as caller: CPU % (per call) | ours / sipp | peer echo CPU % |");
    println!("|---:|---|---|---|---|---:|---:|");
    let cell = |v: Option<String>| v.unwrap_or_else(|| "—".into());
    for r in rows {
        let ours = r.ours.as_ref();
        let total = ours.map(|f| f.cpu_per_call_pct * r.calls as f64);
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.calls,
            cell(ours.map(|f| format!(
                "{:.1} ({:.4})",
                f.cpu_per_call_pct * r.calls as f64,
                f.cpu_per_call_pct
            ))),
            cell(ours.map(|f| format!(
                "{:.2} / {:.2}",
                f.p50_us as f64 / 1000.0,
                f.p99_us as f64 / 1000.0
            ))),
            cell(ours.map(|f| format!("{} / {}", f.up_during_window, f.failed))),
            cell(
                r.sipp_pct
                    .map(|p| format!("{p:.1} ({:.4})", p / r.calls as f64))
            ),
            cell(
                total
                    .zip(r.sipp_pct)
                    .map(|(o, p)| format!("{:.2}", o / p.max(0.01)))
            ),
            cell(ours.and_then(|f| f.peer_cpu_pct).map(|p| format!("{p:.1}"))),
        );
    }
}

/// `LOAD_ONLY` (a list: `sip,sipp`) names the part, or is empty for all.
fn wants(only: &str, part: &str) -> bool {
    only.is_empty() || only.split(',').any(|o| o.trim() == part)
}

fn run_load(rt: &tokio::runtime::Runtime, n: usize, only: &str) -> Row {
    let mut row = Row {
        calls: n,
        ..Default::default()
    };
    println!("live_load: {n} concurrent calls, 10 s measuring window, 2 worker threads");

    if wants(only, "sim") {
        let f = rt.block_on(async {
            let cfg = SimConfig {
                ring_min_s: 0.5,
                ring_max_s: 1.5,
                numbers: (0..n)
                    .map(|i| (format!("+7999300{i:04}"), "silent".to_string()))
                    .collect(),
                ..Default::default()
            };
            let trunk: Arc<dyn Trunk> =
                Arc::new(SimTrunk::new(cfg, &root().join("prompts/sim")).expect("sim"));
            load("sim trunk (both ends)", trunk, n, true, None).await
        });
        print("sim trunk (both ends)", &f);
    }

    if wants(only, "sip") {
        let (port, mport) = (free_port(), free_port());
        let uas = sipp_uas(port, mport);
        std::thread::sleep(Duration::from_millis(500));
        let f = rt.block_on(async {
            let cfg = SipConfig {
                server: format!("127.0.0.1:{port}"),
                listen: "127.0.0.1:0".into(),
                rtp_port_min: 40_000,
                rtp_port_max: 44_999,
                max_calls: n + 10,
                ..Default::default()
            };
            let sip = Arc::new(SipTrunk::start(cfg).await.expect("sip trunk"));
            let trunk: Arc<dyn Trunk> = sip.clone();
            // AMD off: sipp echoes our own prompt back, which AMD would rightly call a machine.
            let f = load(
                "sip trunk vs sipp uas",
                trunk,
                n,
                false,
                Some(uas.0.id().to_string()),
            )
            .await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            println!(
                "after {n} SIP calls ended: {} dialogs left in the SIP stack, RSS {} KiB",
                sip.dialogs(),
                rss_kb()
            );
            f
        });
        print("sip trunk vs sipp uas echo", &f);
        drop(uas);
        row.ours = Some(f);
    }

    if wants(only, "sipp") {
        let dir = tempfile::tempdir().expect("tmp");
        make_stream(dir.path());
        let (port, mport) = (free_port(), free_port());
        let uas = sipp_uas(port, mport);
        std::thread::sleep(Duration::from_millis(500));
        let (cport, cmport) = (free_port(), free_port());
        let uac = Killer(
            Command::new("sipp")
                .current_dir(dir.path())
                .arg("-sf")
                .arg(root().join("benches/peers/uac_stream.xml"))
                .arg(format!("127.0.0.1:{port}"))
                .args(["-i", "127.0.0.1", "-p", &cport.to_string()])
                .args(["-mi", "127.0.0.1", "-mp", &cmport.to_string()])
                .args(["-l", &n.to_string(), "-m", &n.to_string(), "-r", "1000"])
                .args([
                    "-d",
                    "20000",
                    "-nostdin",
                    "-timeout",
                    "60s",
                    "-max_socket",
                    "4096",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("sipp"),
        );
        let pid = uac.0.id().to_string();
        std::thread::sleep(Duration::from_secs(5));
        let uas_pid = uas.0.id().to_string();
        let (c0, u0, t0) = (cpu_seconds(&pid), cpu_seconds(&uas_pid), Instant::now());
        std::thread::sleep(WINDOW);
        let wall = t0.elapsed().as_secs_f64();
        let sipp_pct = (cpu_seconds(&pid) - c0) / wall * 100.0;
        let uas_pct = (cpu_seconds(&uas_pid) - u0) / wall * 100.0;
        println!(
            "{:<28} calls {n:>5}  CPU/call {:.4} % of a core ({sipp_pct:.1} % total)  (peer sipp echo: {uas_pct:.1} % of a core)",
            "sipp as caller (rtp_stream)",
            sipp_pct / n as f64
        );
        row.sipp_pct = Some(sipp_pct);
        if let Some(f) = &row.ours {
            let ratio = f.cpu_per_call_pct * n as f64 / sipp_pct.max(0.01);
            println!("CPU ratio, our SIP calls (full robot: DSP, AMD, scenario) / sipp RTP streaming: {ratio:.2}");
        }
        drop(uac);
        drop(uas);
    }
    row
}
