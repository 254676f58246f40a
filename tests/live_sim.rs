//! Live calls through the built-in simulated carrier: the real live driver, media session,
//! G.711, jitter buffer, RFC 4733 and the one call runner, on tokio's paused clock (the sim's
//! ring delays and the 40 s ring timeout cost no wall time). Every default behaviour of the sim
//! gives the result the rules give; recordings hold what each side sent.
mod common;
use autoinformer::call::live::{run_call, LiveReport, LiveSettings, PacingProbe};
use autoinformer::call::{CallConfig, EndedBy};
use autoinformer::media::audio::decode_file_8k;
use autoinformer::scenario::{load_file, LoadOptions};
use autoinformer::telephony::sim::{SimConfig, SimTrunk};
use autoinformer::telephony::trunk::{DialRequest, Trunk};
use common::*;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn trunk(numbers: &[(&str, &str)]) -> SimTrunk {
    trunk_with_echo(numbers, 0.0)
}

fn trunk_with_echo(numbers: &[(&str, &str)], echo_return_loss_db: f64) -> SimTrunk {
    let cfg = SimConfig {
        echo_return_loss_db,
        numbers: numbers
            .iter()
            .map(|(n, b)| (n.to_string(), b.to_string()))
            .collect(),
        ..Default::default()
    };
    SimTrunk::new(cfg, &root().join("prompts/sim")).expect("sim trunk")
}

async fn call_with(
    trunk: &dyn Trunk,
    number: &str,
    rec: Option<PathBuf>,
    probe: Option<&PacingProbe>,
) -> LiveReport {
    let prompts_dir = root().join("prompts");
    let opts = LoadOptions {
        prompts_dir: prompts_dir.clone(),
        speech: None,
    };
    let scenario = load_file(&root().join("examples/survey/scenario.toml"), &opts)
        .unwrap_or_else(|p| panic!("{p}"));
    let cfg = CallConfig {
        prompts_dir,
        speech: None,
        amd: true,
        greetings: None,
    };
    let settings = LiveSettings {
        recordings: rec,
        ..Default::default()
    };
    let req = DialRequest {
        call_id: format!("t{}", number.trim_start_matches('+')),
        number: number.into(),
        caller_id: None,
    };
    run_call(trunk, req, Arc::new(scenario), cfg, &settings, probe).await
}

async fn call(number: &str) -> LiveReport {
    call_with(&trunk(&[]), number, None, None).await
}

#[tokio::test(start_paused = true)]
async fn an_in_band_key_press_gives_the_scenario_result_and_the_recording_holds_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let t = trunk(&[]);
    let probe = PacingProbe::default();
    let r = call_with(
        &t,
        "+79990000005",
        Some(dir.path().to_path_buf()),
        Some(&probe),
    )
    .await;
    assert_eq!(r.outcome.result, "Доволен", "{r:?}");
    assert_eq!(digits(&r), "1");
    assert_eq!(r.sip_status, Some(200));
    assert!(r.answered && r.outcome.ended_by == EndedBy::Robot);
    assert_eq!(
        r.outcome.amd.verdict,
        autoinformer::media::amd::Verdict::Human
    );
    // The sim rang for a deterministic 2–12 s.
    assert!((2_000..=12_100).contains(&r.ring_ms), "{}", r.ring_ms);

    let path = PathBuf::from(r.recording.expect("recording"));
    let (left, right) = split_stereo(&read_wav(&path));
    assert_eq!(left.len(), right.len());
    // Right: the robot's question prompt, through G.711 (it is in the recording before encoding).
    let question = decode_file_8k(&root().join("examples/survey/question.wav")).unwrap();
    let c = best_correlation(&right, loud_part(&question, 2_400));
    assert!(c > 0.99, "robot channel vs prompt: {c}");
    // Left: the simulated person's "Алло?" after G.711 and the jitter buffer.
    let allo = decode_file_8k(&root().join("prompts/sim/allo.wav")).unwrap();
    let c = best_correlation(&left, loud_part(&allo, 2_400));
    assert!(c > 0.95, "callee channel vs sim audio: {c}");
    assert!(probe.frames_sent.load(std::sync::atomic::Ordering::Relaxed) > 500);
}

#[tokio::test(start_paused = true)]
async fn an_rfc4733_key_press_is_heard_once() {
    let r = call("+79990000006").await;
    assert_eq!(r.outcome.result, "Недоволен", "{r:?}");
    assert_eq!(digits(&r), "2");
    assert_eq!(r.outcome.actions.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn several_rfc4733_keys_arrive_in_order() {
    let t = trunk(&[("+79991112233", "rfc4733:21")]);
    let r = call_with(&t, "+79991112233", None, None).await;
    // The first key settles the question; the second arrives during the thanks prompt.
    assert_eq!(r.outcome.result, "Недоволен", "{r:?}");
    assert!(digits(&r).starts_with('2'), "{}", digits(&r));
}

#[tokio::test(start_paused = true)]
async fn busy_rejected_and_not_found_like_failures_map_to_their_results() {
    let r = call("+79990000001").await;
    assert_eq!(
        (r.outcome.result.as_str(), r.sip_status),
        ("busy", Some(486))
    );
    let r = call("+79990000002").await;
    assert_eq!(
        (r.outcome.result.as_str(), r.sip_status),
        ("rejected", Some(603))
    );
    assert!(!r.answered && r.recording.is_none());
}

#[tokio::test(start_paused = true)]
async fn no_answer_is_cancelled_at_the_ring_timeout() {
    let r = call("+79990000000").await;
    assert_eq!(r.outcome.result, "no_answer", "{r:?}");
    assert_eq!(r.sip_status, Some(487));
    assert!((40_000..40_200).contains(&r.ring_ms), "{}", r.ring_ms);
}

#[tokio::test(start_paused = true)]
async fn sit_in_early_media_gives_system_at_once() {
    let r = call("+79990000003").await;
    assert_eq!(r.outcome.result, "system", "{r:?}");
    assert!(r.ring_ms < 2_500, "gave up after {} ms", r.ring_ms);
    assert!(r
        .reason
        .as_deref()
        .unwrap_or("")
        .contains("special information tones"));
}

#[tokio::test(start_paused = true)]
async fn carrier_voicemail_is_dropped_as_answering_machine() {
    let r = call("+79990000004").await;
    assert_eq!(r.outcome.result, "answering_machine", "{r:?}");
    // The sim's voicemail greets for 7.5 s, then beeps: found when its greeting passes 6.5 s
    // (docs/amd.md), never by the length of a shorter greeting.
    assert!(r.outcome.duration_ms < 8_000, "{}", r.outcome.duration_ms);
}

#[tokio::test(start_paused = true)]
async fn silence_and_hanging_up_mid_message_are_not_listened() {
    let r = call("+79990000008").await;
    assert_eq!(r.outcome.result, "not_listened", "{r:?}");
    assert_eq!(r.outcome.ended_by, EndedBy::Robot);
    let r = call("+79990000009").await;
    assert_eq!(r.outcome.result, "not_listened", "{r:?}");
    assert_eq!(r.outcome.ended_by, EndedBy::Callee);
}

#[tokio::test(start_paused = true)]
async fn many_concurrent_sim_calls_all_complete() {
    let t = Arc::new(trunk(&[]));
    let mut tasks = Vec::new();
    for i in 0..50 {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let n = format!("+7999100{:04}", i);
            let r = call_with(t.as_ref(), &n, None, None).await;
            (n, r.outcome.result)
        }));
    }
    let mut by_result = std::collections::BTreeMap::new();
    for task in tasks {
        let (_, result) = task.await.unwrap();
        *by_result.entry(result).or_insert(0) += 1;
    }
    // Five numbers per last digit: every default behaviour shows up.
    assert_eq!(by_result.get("busy"), Some(&5), "{by_result:?}");
    assert_eq!(by_result.get("Доволен"), Some(&5), "{by_result:?}");
    // 7 (says "да": no voice step in this scenario), 8 (silent), 9 (hangs up).
    assert_eq!(by_result.get("not_listened"), Some(&15), "{by_result:?}");
    let total: i32 = by_result.values().sum();
    assert_eq!(total, 50);
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn line_echo_of_the_robots_prompt_is_not_taken_for_a_talking_callee() {
    // The person says "Алло?" and then listens in silence; the line returns the robot's
    // 10 s question 6 dB (and 0 dB: a full echo) down. Without the echo guard AMD would
    // revise the person to a machine ("long speech") and drop the call.
    for loss in [6.0, 0.01] {
        let t = trunk_with_echo(&[("+79992223344", "silent")], loss);
        let r = call_with(&t, "+79992223344", None, None).await;
        assert_eq!(r.outcome.result, "not_listened", "ERL {loss} dB: {r:?}");
        assert_eq!(
            r.outcome.amd.verdict,
            autoinformer::media::amd::Verdict::Human,
            "ERL {loss} dB: {r:?}"
        );
        assert!(
            r.outcome.duration_ms > 20_000,
            "the whole message and the wait: {r:?}"
        );
    }
}
