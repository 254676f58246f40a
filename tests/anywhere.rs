//! The binary runs from any folder (issue 10 §1): `replay`, `call` and `serve` started with a
//! fresh temporary folder as the working directory — no `prompts/`, no `models/` around, no
//! `AUTOINFORMER_*` variable but the ones a test sets — find the bundled prompts (number words,
//! the sim carrier's audio, the demo survey) in the binary itself.
mod common;
#[path = "common/http.rs"]
mod http;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "anywhere-admin-token-0123456789";

/// The binary in `dir`, with an empty environment (nothing set by the developer leaks in).
fn bin_in(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_autoinformer"));
    c.current_dir(dir)
        .env_clear()
        .env("AUTOINFORMER_LOG", "warn");
    c
}

fn example(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The demo survey copied into `dir` as `offer.toml` with its prompts.
fn copy_survey(dir: &Path) {
    std::fs::copy(
        example("examples/survey/scenario.toml"),
        dir.join("offer.toml"),
    )
    .unwrap();
    for f in ["question.wav", "thanks.wav"] {
        std::fs::copy(example(&format!("examples/survey/{f}")), dir.join(f)).unwrap();
    }
}

const READ_BACK: &str = r##"name = "Показания"
results = ["Принято"]
start = "reading"

[steps.reading]
play = ["question.wav"]
listen = { dtmf = true, wait_s = 10 }
capture = { var = "n", kind = "number", max_digits = 4, end = "#" }
next = "confirm"

[steps.confirm]
play = ["{n}"]
result = "Принято"
"##;

#[test]
fn replay_runs_from_a_folder_without_prompts_reading_numbers_back_from_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    copy_survey(dir.path());
    std::fs::copy(
        example("examples/callee/press1.wav"),
        dir.path().join("callee.wav"),
    )
    .unwrap();
    let out = bin_in(dir.path())
        .args([
            "replay",
            "--json",
            "--scenario",
            "offer.toml",
            "--callee",
            "callee.wav",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["result"], "Доволен", "{v}");

    // Read-back plays the bundled number words: the robot talks after the keys.
    std::fs::write(dir.path().join("read.toml"), READ_BACK).unwrap();
    let keys_at = 6.0;
    write_wav(
        &dir.path().join("keys.wav"),
        &concat(&[&silence(keys_at), &keys("42#"), &silence(5.0)]),
    );
    let out = bin_in(dir.path())
        .args([
            "replay",
            "--json",
            "--scenario",
            "read.toml",
            "--callee",
            "keys.wav",
        ])
        .args(["--record", "call.wav"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["result"], "Принято", "{v}");
    assert_eq!(v["captured"]["n"], "42", "{v}");
    let (_, robot) = split_stereo(&read_wav(&dir.path().join("call.wav")));
    // The keys end by 6.6 s; the question stopped at the first one.
    let after_keys = &robot[((keys_at + 0.6) * 8000.0) as usize..];
    let loud = after_keys
        .chunks(160)
        .filter(|f| f.iter().any(|s| s.unsigned_abs() > 1000))
        .count();
    assert!(
        loud > 15,
        "«сорок два» was read back: {loud} loud frames of {} in {v}",
        after_keys.len() / 160
    );
}

#[test]
fn call_runs_from_a_folder_without_prompts_on_the_sim_carriers_bundled_audio() {
    let dir = tempfile::tempdir().unwrap();
    copy_survey(dir.path());
    let out = bin_in(dir.path())
        .args([
            "call",
            "+79161234565",
            "--scenario",
            "./offer.toml",
            "--json",
        ])
        .env("AUTOINFORMER_TRUNK_SIM_RING_MIN_S", "0.2")
        .env("AUTOINFORMER_TRUNK_SIM_RING_MAX_S", "0.4")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The last digit 5: a person says «Алло?» (bundled sim audio) and presses 1.
    assert_eq!(v["result"], "Доволен", "{v}");
    assert_eq!(v["sip_status"], 200, "{v}");
    assert!(
        dir.path().join("data/recordings").is_dir(),
        "`data` is relative to the folder"
    );
}

#[test]
fn a_missing_scenario_or_callee_names_the_option() {
    let dir = tempfile::tempdir().unwrap();
    copy_survey(dir.path());
    let out = bin_in(dir.path())
        .args([
            "replay",
            "--scenario",
            "nope.toml",
            "--callee",
            "callee.wav",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--scenario") && err.contains("nope.toml"),
        "{err}"
    );
    let out = bin_in(dir.path())
        .args([
            "replay",
            "--scenario",
            "offer.toml",
            "--callee",
            "absent.wav",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--callee") && err.contains("absent.wav"),
        "{err}"
    );
    // A prompt that is nowhere: the places looked in, and what sets the prompts folder.
    std::fs::write(
        dir.path().join("bad.toml"),
        "name = \"x\"\nresults = [\"a\"]\nstart = \"s\"\n[steps.s]\nplay = [\"gone.wav\"]\nresult = \"a\"\n",
    )
    .unwrap();
    let out = bin_in(dir.path())
        .args(["check-scenario", "bad.toml"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("bundled prompts") && err.contains("AUTOINFORMER_PROMPTS"),
        "{err}"
    );
}

async fn get(addr: std::net::SocketAddr, path: &str) -> Value {
    let a = http::request(addr, "GET", path, Some(TOKEN), None, b"").await;
    assert_eq!(a.status, 200, "{path}: {}", a.text());
    a.json()
}

/// Kills the server if the test fails before it stops it.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_from_a_folder_without_prompts_and_the_demo_project_dials() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let data = dir.path().join("data");
    let child = bin_in(dir.path())
        .arg("serve")
        .arg("--data")
        .arg(&data)
        .args(["--listen", &addr.to_string()])
        .env("AUTOINFORMER_ADMIN_TOKEN", TOKEN)
        .env("AUTOINFORMER_TRUNK_SIM_RING_MIN_S", "0.2")
        .env("AUTOINFORMER_TRUNK_SIM_RING_MAX_S", "0.6")
        .env("AUTOINFORMER_DIALER_PASS_MS", "200")
        .env("AUTOINFORMER_DIALER_SHUTDOWN_GRACE_S", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Running(child);
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("serve exited early: {status}");
        }
        if tokio::net::TcpStream::connect(addr).await.is_ok()
            && http::request(addr, "GET", "/healthz", None, None, b"")
                .await
                .status
                == 200
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no /healthz in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let projects = get(addr, "/api/v1/projects").await;
    let id = projects["items"][0]["id"]
        .as_i64()
        .expect("the demo project");
    // Answered calls of the demo survey: its bundled prompts and the sim's bundled audio.
    let answered = loop {
        let s = get(addr, &format!("/api/v1/projects/{id}/stats")).await;
        let r = &s["results"];
        if r["Доволен"].as_i64().unwrap_or(0) > 0 && r["Недоволен"].as_i64().unwrap_or(0) > 0
        {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "no survey answers: {s}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(answered["calls"].as_i64().unwrap_or(0) >= 2, "{answered}");
    let pid = server.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let stopped = Instant::now();
    let status = loop {
        if let Some(s) = server.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(30),
            "no stop 30 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut err = String::new();
    if let Some(mut e) = server.0.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    assert!(status.success(), "{status}: {err}");
    assert!(data.join("autoinformer.db").is_file());
}
