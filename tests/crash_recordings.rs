//! A crash keeps what the call knew. The real `autoinformer serve` (a child process on the sim
//! carrier, recording every answered call) is killed with SIGKILL many times at random moments
//! mid-campaign and started again; then the campaign is paused, its calls run out and it stops.
//! Every call is closed; every recording the database names opens as a WAV and is as long as
//! the call was up (±0.5 s): for a call a kill cut, from its answer to the kill; answered calls
//! cut by a kill keep their answer time, recording and cost; no recording on disk is unnamed.
#[path = "common/child.rs"]
mod child;
#[path = "common/http.rs"]
mod http;

use child::{free_addr, next, root, start, unix_ms, wait_healthy};
use serde_json::{json, Value};
use sqlx::Row;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const TOKEN: &str = "crash-test-token-0123456789";
/// SIGKILLs in one run.
const KILLS: usize = 7;

async fn call(addr: SocketAddr, method: &str, path: &str, ct: Option<&str>, body: &[u8]) -> Value {
    child::call(addr, TOKEN, method, path, ct, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_call_many_times_every_recording_named_is_valid_and_as_long_as_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            "demo = false\nprompts = {:?}\nmodel = {:?}\n\
             [calls]\nring_timeout_s = 10\nrecord = true\n\
             [dialer]\npass_ms = 200\nshutdown_grace_s = 30\n\
             [trunk.sim]\nring_min_s = 0.3\nring_max_s = 1.5\n",
            root().join("prompts"),
            dir.path().join("no-model"),
        ),
    )
    .unwrap();
    let addr = free_addr();
    let mut serve = start(&data, addr, &config, TOKEN);
    wait_healthy(addr).await;
    let sc = child::survey(addr, TOKEN).await;
    let quick = json!({"attempts": 2, "interval_s": 1});
    let p = call(
        addr,
        "POST",
        "/api/v1/projects",
        Some("application/json"),
        json!({
            "name": "Краш-тест", "scenario_id": sc, "schedule": ["daily 00:00-24:00"],
            "lines": 30,
            "retry_rules": {"system": quick, "no_answer": quick, "busy": quick}
        })
        .to_string()
        .as_bytes(),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    // People who stay silent (calls of ~15 s) and people who press 1 after the question.
    let mut csv = String::from("Имя;Телефон\n");
    for i in 0..300 {
        let last = if i % 3 == 0 { 5 } else { 8 };
        csv.push_str(&format!("Абонент {i};+7999{i:06}{last}\n"));
    }
    call(
        addr,
        "POST",
        &format!("/api/v1/projects/{p}/contacts"),
        Some("text/csv"),
        csv.as_bytes(),
    )
    .await;
    call(
        addr,
        "POST",
        &format!("/api/v1/projects/{p}/activate"),
        None,
        b"",
    )
    .await;

    let mut seed = 0x5eed_u64;
    let mut kills: Vec<i64> = Vec::new();
    for _ in 0..KILLS {
        let run_ms = 2_000 + next(&mut seed) % 14_000;
        tokio::time::sleep(Duration::from_millis(run_ms)).await;
        kills.push(unix_ms());
        serve.kill();
        serve = start(&data, addr, &config, TOKEN);
        wait_healthy(addr).await;
    }
    // The last run: calls start, then a pause lets them end normally, then a graceful stop.
    tokio::time::sleep(Duration::from_secs(3)).await;
    call(
        addr,
        "POST",
        &format!("/api/v1/projects/{p}/pause"),
        None,
        b"",
    )
    .await;
    let t = Instant::now();
    loop {
        let calls = call(
            addr,
            "GET",
            &format!("/api/v1/calls?project_id={p}&limit=100"),
            None,
            b"",
        )
        .await;
        let up = calls["items"]
            .as_array()
            .map_or(0, |a| a.iter().filter(|c| c["state"] == "dialing").count());
        if up == 0 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "calls never ended");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    serve.terminate();

    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}?mode=ro",
        data.join("autoinformer.db").display()
    ))
    .await
    .unwrap();
    let rows = sqlx::query(
        "SELECT id, state, answered_at_ms, talk_ms, recording, end_reason, cost_kop FROM calls",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let (mut interrupted, mut interrupted_answered, mut valid, mut named) = (0, 0, 0, 0);
    let mut completed = 0;
    let mut worst_ms = 0i64;
    let mut problems = Vec::new();
    let mut named_files = std::collections::HashSet::new();
    for r in &rows {
        let id: i64 = r.get(0);
        let state: String = r.get(1);
        let answered: Option<i64> = r.get(2);
        let talk: Option<i64> = r.get(3);
        let recording: Option<String> = r.get(4);
        let reason: Option<String> = r.get(5);
        let cost: i64 = r.get(6);
        if state != "done" {
            problems.push(format!("call {id} left {state}"));
        }
        let cut = reason
            .as_deref()
            .is_some_and(|w| w.starts_with("interrupted"));
        completed += usize::from(!cut && answered.is_some());
        interrupted += usize::from(cut);
        // After the answer, or after the scenario decided (people who pressed 1 and were
        // hearing the thanks keep their result).
        let cut_answered = reason.as_deref().is_some_and(|w| {
            w == "interrupted by a stop after the answer"
                || w.starts_with("interrupted by a stop after the scenario decided")
        });
        interrupted_answered += usize::from(cut_answered);
        let Some(path) = recording else {
            if cut_answered {
                problems.push(format!(
                    "call {id}: answered, cut, and its recording is not named"
                ));
            }
            continue;
        };
        named += 1;
        named_files.insert(PathBuf::from(&path));
        let wav = match hound::WavReader::open(&path) {
            Ok(w) => w,
            Err(e) => {
                problems.push(format!("call {id}: {path}: {e}"));
                continue;
            }
        };
        let samples = wav.duration() as i64;
        // The data on disk must agree with the header, too.
        let on_disk = (std::fs::metadata(&path).unwrap().len() as i64 - 44) / 4;
        if on_disk != samples {
            problems.push(format!(
                "call {id}: header {samples} samples, file {on_disk}"
            ));
        }
        let dur_ms = samples * 1000 / 8000;
        let want = if cut_answered {
            let Some(a) = answered else {
                problems.push(format!(
                    "call {id}: cut after the answer without an answer time"
                ));
                continue;
            };
            let kill = kills.iter().copied().find(|&k| k > a).unwrap_or(a);
            if cost <= 0 && dur_ms >= 1_000 {
                problems.push(format!("call {id}: {dur_ms} ms of talk and no cost"));
            }
            kill - a
        } else {
            talk.unwrap_or(0)
        };
        let off = (dur_ms - want).abs();
        worst_ms = worst_ms.max(off);
        if off > 500 {
            problems.push(format!(
                "call {id}: recording {dur_ms} ms, the call was up {want} ms ({})",
                reason.as_deref().unwrap_or("ended normally")
            ));
        } else {
            valid += 1;
        }
    }
    let on_disk: Vec<PathBuf> = std::fs::read_dir(data.join("recordings"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    let unnamed: Vec<&PathBuf> = on_disk
        .iter()
        .filter(|p| !named_files.contains(*p))
        .collect();
    println!(
        "kill test: {KILLS} kills, {} calls, {completed} answered and completed, {interrupted} interrupted ({interrupted_answered} after the answer), \
         recordings valid {valid}/{named} (worst length error {worst_ms} ms), {} files on disk, {} unnamed",
        rows.len(),
        on_disk.len(),
        unnamed.len()
    );
    assert!(
        interrupted_answered > 0,
        "the kills cut no answered call: the test shows nothing"
    );
    assert!(
        completed > 0,
        "no call ended normally: the test shows nothing of them"
    );
    assert!(unnamed.is_empty(), "recordings no call names: {unnamed:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
