//! The command line as a user runs it: `check-scenario` and `replay --json`.
mod common;
use common::*;
use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_autoinformer"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.env("AUTOINFORMER_MODEL", "/nonexistent-model");
    c
}

const BAD: &str = r#"name = "Плохой"
results = ["Да"]
start = "offer"

[steps.offer]
play = ["missing.wav"]
listen = { dtmf = true }

[[steps.offer.on]]
dtmf = "1"
result = "Нет"
next = "nowhere"
"#;

#[test]
fn check_scenario_lists_every_problem_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    std::fs::write(&f, BAD).unwrap();
    let out = bin().arg("check-scenario").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("missing.wav"), "{err}");
    assert!(err.contains("Нет"), "{err}");
    assert!(err.contains("nowhere"), "{err}");
    assert!(
        err.contains("bad.toml:6:") || err.contains("bad.toml: 6:") || err.contains(":6:"),
        "line of the missing prompt: {err}"
    );
}

#[test]
fn replay_prints_the_outcome_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = r#"name = "Опрос"
results = ["Да", "Нет"]
start = "q"
[steps.q]
play = ["q.wav"]
listen = { dtmf = true, wait_s = 5 }
[[steps.q.on]]
dtmf = "1"
result = "Да"
[[steps.q.on]]
dtmf = "2"
result = "Нет"
"#;
    std::fs::write(dir.path().join("s.toml"), scenario).unwrap();
    let q = speech(
        dir.path(),
        "q-gen",
        "ru",
        "Вам удобно говорить? Нажмите один или два.",
    );
    write_wav(&dir.path().join("q.wav"), &q);
    let hello = speech(dir.path(), "hello", "ru", "Алло");
    let callee = write_wav(
        &dir.path().join("callee.wav"),
        &concat(&[
            &silence(0.3),
            &hello,
            &silence(7.0),
            &keys("2"),
            &silence(2.0),
        ]),
    );
    let out = bin()
        .args(["replay", "--json", "--scenario"])
        .arg(dir.path().join("s.toml"))
        .arg("--callee")
        .arg(&callee)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["result"], "Нет", "{v}");
    assert_eq!(v["amd"]["verdict"], "human");
    assert!(v["amd"]["decided_at_ms"].as_u64().is_some());
    assert_eq!(v["events"][0]["kind"], "dtmf");
    assert_eq!(v["events"][0]["digit"], "2");
    assert!(v["captured"].is_object());
}

#[test]
fn replay_with_unreadable_audio_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = "name = \"x\"\nresults = [\"a\"]\nstart = \"s\"\n[steps.s]\nplay = [\"p.wav\"]\nresult = \"a\"\n";
    std::fs::write(dir.path().join("s.toml"), scenario).unwrap();
    write_wav(&dir.path().join("p.wav"), &beep(440.0, 200, -20.0));
    let bad = dir.path().join("garbage.wav");
    std::fs::write(&bad, b"RIFF\x10\x00\x00\x00WAVEnot really").unwrap();
    let out = bin()
        .args(["replay", "--scenario"])
        .arg(dir.path().join("s.toml"))
        .arg("--callee")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("garbage.wav"), "{err}");
}

#[test]
fn bundled_examples_run_as_the_readme_says() {
    for (callee, result, verdict) in [
        ("press1", "Доволен", "human"),
        ("silent", "not_listened", "human"),
        ("voicemail", "answering_machine", "machine"),
    ] {
        let out = bin()
            .args([
                "replay",
                "--json",
                "--scenario",
                "examples/survey/scenario.toml",
                "--callee",
            ])
            .arg(format!("examples/callee/{callee}.wav"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["result"], result, "{callee}: {v}");
        assert_eq!(v["amd"]["verdict"], verdict, "{callee}: {v}");
    }
    let out = bin()
        .args(["check-scenario", "examples/survey/scenario.toml"])
        .output()
        .unwrap();
    assert!(out.status.success());
    // Voice scenarios need a model and say how to get one.
    for f in [
        "examples/salon/scenario.toml",
        "examples/meter/scenario.toml",
    ] {
        let out = bin().args(["check-scenario", f]).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("scripts/fetch-model.sh"),
            "{f}"
        );
    }
}

#[test]
fn replay_without_json_speaks_plainly() {
    let replay = |callee: &str| {
        let out = bin()
            .args([
                "replay",
                "--scenario",
                "examples/survey/scenario.toml",
                "--callee",
            ])
            .arg(format!("examples/callee/{callee}.wav"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = replay("press1");
    assert!(text.contains("result:   Доволен\n"), "{text}");
    assert!(
        text.contains(
            "amd:      человек / person, decided at 1.10 s: short greeting, then silence\n"
        ),
        "{text}"
    );
    assert!(text.contains("event:    at 6.10 s: pressed 1\n"), "{text}");
    assert!(text.contains("; the callee hung up\n"), "{text}");
    let text = replay("voicemail");
    assert!(
        text.contains(
            "result:   Обнаружен автоответчик (системный) / answering machine (system)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("amd:      автоответчик / answering machine, decided at"),
        "{text}"
    );
    assert!(text.contains("; the robot hung up\n"), "{text}");
    // No Rust names, no codes: those are in --json.
    for text in [replay("press1"), replay("silent"), replay("voicemail")] {
        for rust in ["Human", "Machine", "Robot", "Callee", "_"] {
            assert!(!text.contains(rust), "{rust:?} in {text}");
        }
    }
}

#[test]
fn replay_records_a_stereo_wav_with_the_callee_left_and_the_robot_right() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("call.wav");
    let out = bin()
        .args([
            "replay",
            "--scenario",
            "examples/survey/scenario.toml",
            "--callee",
            "examples/callee/press1.wav",
            "--record",
        ])
        .arg(&rec)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut r = hound::WavReader::open(&rec).unwrap();
    assert_eq!(r.spec().channels, 2);
    assert_eq!(r.spec().sample_rate, 8000);
    let s: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
    let callee = common::read_wav(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/callee/press1.wav"
    )));
    let left: Vec<i16> = s.iter().step_by(2).copied().collect();
    let right: Vec<i16> = s.iter().skip(1).step_by(2).copied().collect();
    // The last frame is padded to 20 ms with silence.
    assert!(left.len() >= callee.len() && left.len() < callee.len() + 160);
    assert_eq!(
        &left[..callee.len()],
        &callee[..],
        "left channel is the callee as heard"
    );
    assert!(left[callee.len()..].iter().all(|&v| v == 0));
    let robot_loud = right
        .chunks(160)
        .filter(|c| c.iter().any(|&v| v.unsigned_abs() > 1000))
        .count();
    assert!(
        robot_loud > 50,
        "the robot's prompt is on the right channel ({robot_loud} frames)"
    );
}

fn sim_config(dir: &std::path::Path) -> std::path::PathBuf {
    let cfg = dir.join("autoinformer.toml");
    std::fs::write(
        &cfg,
        format!(
            "data = {:?}\n[trunk.sim]\nring_min_s = 0.2\nring_max_s = 0.5\n[trunk.sim.numbers]\n\"+79160000001\" = \"keys:2\"\n",
            dir.join("data").display().to_string()
        ),
    )
    .unwrap();
    cfg
}

#[test]
fn call_places_a_live_call_through_the_sim_carrier_and_prints_json() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim_config(dir.path());
    let out = bin()
        .args([
            "call",
            "+79160000001",
            "--scenario",
            "examples/survey/scenario.toml",
            "--json",
            "--config",
        ])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["result"], "Недоволен", "{v}");
    assert_eq!(v["sip_status"], 200);
    assert_eq!(v["events"][0]["kind"], "dtmf");
    assert_eq!(v["events"][0]["digit"], "2");
    assert_eq!(v["actions"][0]["kind"], "add_to_project");
    assert!(v["duration_ms"].as_u64().unwrap_or(0) > 10_000, "{v}");
    let rec = v["recording"].as_str().expect("recording path");
    let r = hound::WavReader::open(rec).expect("a valid WAV");
    assert_eq!(r.spec().channels, 2);
    assert!(r.duration() > 8000 * 10);
}

#[test]
fn call_carries_out_a_transfer_to_a_simulated_agent_and_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("autoinformer.toml");
    std::fs::write(
        &cfg,
        format!(
            "data = {:?}\n[trunk.sim]\nring_min_s = 0.2\nring_max_s = 0.5\n[trunk.sim.numbers]\n\
             \"+79160000003\" = \"keys:3\"\n[agents]\nwrap_up_s = 0\n\
             [agents.sim]\ncount = 1\nanswer_min_s = 0.3\nanswer_max_s = 0.5\n\
             talk_min_s = 1.0\ntalk_max_s = 2.0\nno_answer_share = 0.0\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .unwrap();
    let run = |json: bool| {
        let mut cmd = bin();
        cmd.args([
            "call",
            "+79160000003",
            "--scenario",
            "examples/survey/demo.toml",
            "--config",
        ])
        .arg(&cfg);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let v: serde_json::Value = serde_json::from_str(&run(true)).expect("one JSON object");
    let t = &v["transfer"];
    assert_eq!(t["to"], "agents", "{v}");
    assert_eq!(t["answered"], true, "{v}");
    assert_eq!(t["agent_id"], 1, "{v}");
    let talk = t["talk_ms"].as_u64().unwrap_or(0);
    assert!((800..3_000).contains(&talk), "{v}");
    let text = run(false);
    assert!(
        text.contains("transfer: to agents, answered by agent 1"),
        "{text}"
    );
}

#[test]
fn call_reports_busy_with_its_sip_status_and_bad_config_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim_config(dir.path());
    let out = bin()
        .args([
            "call",
            "+79160000011",
            "--scenario",
            "examples/survey/scenario.toml",
            "--config",
        ])
        .arg(&cfg)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("result:   Занято / busy") && text.contains("sip:      486"),
        "{text}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[trunk]\nkind = \"sim\"\nrign = 1\n").unwrap();
    let out = bin()
        .args([
            "call",
            "+79160000011",
            "--scenario",
            "examples/survey/scenario.toml",
            "--config",
        ])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml") && err.contains("rign"), "{err}");

    let out = bin()
        .args([
            "call",
            "+79160000011",
            "--scenario",
            "examples/survey/scenario.toml",
        ])
        .env("AUTOINFORMER_TRUNK_KIND", "pigeon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("trunk.kind") && err.contains("pigeon"),
        "{err}"
    );
}
