//! End-to-end calls through the one call runner: real scenario loading, real prompt decoding,
//! real DTMF/VAD/tones/AMD, real Vosk (Korean test model) on generated callee audio.
mod common;
use autoinformer::asr::vosk_backend::VoskModel;
use autoinformer::asr::SpeechModel;
use autoinformer::call::{replay, CallConfig, CallEvent, CallOutcome, EndedBy};
use autoinformer::media::amd::Verdict;
use autoinformer::scenario::{load_file, LoadOptions, Scenario};
use common::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const OFFER: &str = r#"
name = "Салон"
results = ["Хочу записаться", "Не интересно"]
start = "offer"

[steps.offer]
play = ["offer.wav"]
listen = { dtmf = true, wait_s = 5 }

[[steps.offer.on]]
dtmf = "1"
result = "Хочу записаться"
actions = [{ transfer = "agents", callback_project = "Перезвон" }]

[[steps.offer.on]]
dtmf = "2"
result = "Не интересно"
actions = [{ sms = "Спасибо!" }]
"#;

fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scenario_dir(toml: &str, prompts: &[(&str, &str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("scenario.toml"), toml).expect("write scenario");
    for (name, voice, text) in prompts {
        let s = speech(dir.path(), &format!("gen-{name}"), voice, text);
        write_wav(&dir.path().join(format!("{name}.wav")), &s);
    }
    dir
}

/// The folder's scenario, loaded as a call loads it, and the call settings (AMD on).
fn load(dir: &Path, speech: Option<Arc<dyn SpeechModel>>) -> (Arc<Scenario>, CallConfig) {
    let prompts_dir = project_root().join("prompts");
    let opts = LoadOptions {
        prompts_dir: prompts_dir.clone(),
        speech: speech.as_deref(),
    };
    let scenario = load_file(&dir.join("scenario.toml"), &opts).unwrap_or_else(|p| panic!("{p}"));
    let cfg = CallConfig {
        prompts_dir,
        speech,
        amd: true,
        greetings: None,
    };
    (Arc::new(scenario), cfg)
}

fn run(dir: &Path, callee: &[i16], speech: Option<Arc<dyn SpeechModel>>) -> CallOutcome {
    let (scenario, cfg) = load(dir, speech);
    replay::run(scenario, cfg, callee, None).expect("call runs")
}

fn offer_dir() -> tempfile::TempDir {
    scenario_dir(
        OFFER,
        &[(
            "offer",
            "ru",
            "Здравствуйте! Нажмите один, чтобы записаться, или два, если не интересно.",
        )],
    )
}

#[test]
fn person_presses_1_after_the_message() {
    let dir = offer_dir();
    let hello = speech(dir.path(), "hello", "ru", "Алло?");
    let callee = concat(&[
        &silence(0.4),
        &hello,
        &silence(9.0),
        &keys("1"),
        &silence(3.0),
    ]);
    let o = run(dir.path(), &callee, None);
    assert_eq!(o.result, "Хочу записаться", "{o:?}");
    assert_eq!(o.amd.verdict, Verdict::Human, "{o:?}");
    let digits: Vec<char> = o
        .events
        .iter()
        .filter_map(|e| match e {
            CallEvent::Dtmf { digit, .. } => Some(*digit),
            _ => None,
        })
        .collect();
    assert_eq!(digits, vec!['1']);
    // The message played whole, before the key.
    assert_eq!(o.prompts.len(), 1, "{o:?}");
    assert!(o.prompts[0].end_ms - o.prompts[0].at_ms > 2_000, "{o:?}");
    let json = serde_json::to_value(&o).expect("json");
    assert_eq!(json["prompts"][0]["name"], "offer.wav");
    assert_eq!(json["actions"][0]["kind"], "transfer");
    assert_eq!(json["actions"][0]["to"], "agents");
    assert_eq!(o.ended_by, EndedBy::Robot);
}

#[test]
fn key_during_the_message_barges_in() {
    let dir = offer_dir();
    let hello = speech(dir.path(), "hello", "ru", "Да, слушаю.");
    let callee = concat(&[
        &silence(0.3),
        &hello,
        &silence(2.5),
        &keys("2"),
        &silence(10.0),
    ]);
    let o = run(dir.path(), &callee, None);
    assert_eq!(o.result, "Не интересно", "{o:?}");
    assert!(
        o.duration_ms < 8_000,
        "the robot ended the call right after the key: {o:?}"
    );
    // The timeline: the message, cut off where the key was heard; the result set then.
    let key_ms = o
        .events
        .iter()
        .find_map(|e| match e {
            CallEvent::Dtmf { at_ms, .. } => Some(*at_ms),
            _ => None,
        })
        .expect("a key");
    assert_eq!(o.prompts.len(), 1, "{o:?}");
    let p = &o.prompts[0];
    assert_eq!(p.name, "offer.wav");
    assert!(
        p.at_ms < key_ms && p.end_ms >= key_ms && p.end_ms <= key_ms + 200,
        "the message is cut off at the key: {o:?}"
    );
    assert!(o.result_at_ms.is_some_and(|r| r >= key_ms), "{o:?}");
}

#[test]
fn silence_after_the_message_is_not_listened() {
    let dir = offer_dir();
    let hello = speech(dir.path(), "hello", "ru", "Алло?");
    let callee = concat(&[&silence(0.3), &hello, &silence(25.0)]);
    let o = run(dir.path(), &callee, None);
    assert_eq!(o.result, "not_listened", "{o:?}");
    assert!(o.events.is_empty());
}

#[test]
fn hanging_up_during_the_message_is_not_listened() {
    let dir = offer_dir();
    let hello = speech(dir.path(), "hello", "ru", "Алло?");
    let callee = concat(&[&silence(0.3), &hello, &silence(2.5)]);
    let o = run(dir.path(), &callee, None);
    assert_eq!(o.result, "not_listened", "{o:?}");
    assert_eq!(o.ended_by, EndedBy::Callee);
}

/// A polite person greets at length in one breath, then waits: the robot does not hang up, it
/// starts its message in a pause of the callee's (never over a word), and the person answers.
#[test]
fn a_long_one_breath_greeting_is_a_person_and_the_robot_starts_in_a_pause() {
    let dir = offer_dir();
    let greeting = speech(
        dir.path(),
        "one-breath",
        "ru",
        "Алло, здравствуйте, добрый день, я вас слушаю, говорите, пожалуйста, кто звонит?",
    );
    let greeting_end_ms = 300 + greeting.len() as u64 / 8;
    assert!(greeting_end_ms > 4_300, "the greeting lasts past 4 s");
    let callee = concat(&[
        &silence(0.3),
        &greeting,
        &silence(3.0),
        &keys("1"),
        &silence(3.0),
    ]);
    let (scenario, cfg) = load(dir.path(), None);
    let mut runner = autoinformer::call::CallRunner::new(scenario, cfg);
    let mut first_robot_ms = None;
    let mut out = [0i16; autoinformer::media::FRAME_SAMPLES];
    for (i, chunk) in callee
        .chunks(autoinformer::media::FRAME_SAMPLES)
        .enumerate()
    {
        let mut frame = [0i16; autoinformer::media::FRAME_SAMPLES];
        frame[..chunk.len()].copy_from_slice(chunk);
        let status = runner.on_frame(&frame, &mut out);
        if first_robot_ms.is_none() && out.iter().any(|&v| v != 0) {
            first_robot_ms = Some(i as u64 * 20);
        }
        if status == autoinformer::call::FrameStatus::Hangup {
            break;
        }
    }
    let o = runner.into_outcome().expect("outcome");
    assert_eq!(o.amd.verdict, Verdict::Human, "{o:?}");
    assert_eq!(o.result, "Хочу записаться", "{o:?}");
    let started = first_robot_ms.expect("the robot spoke") as usize;
    // No verdict in the first 4 s of talk (a length rule said "machine" at ~3 s here); the
    // robot, past its 4 s wait, starts at a pause in the callee's talk, not over a word.
    assert!(o.amd.decided_at_ms > 4_000, "{o:?}");
    assert!(
        (4_000..greeting_end_ms as usize).contains(&started),
        "{started} ms"
    );
    // (the 200 ms before its first frame; a syllable may begin on that very frame)
    let last_word = callee[(started - 200) * 8..(started - 20) * 8]
        .iter()
        .map(|&v| v.unsigned_abs())
        .max()
        .unwrap_or(0);
    let loudest = greeting
        .iter()
        .map(|&v| v.unsigned_abs())
        .max()
        .unwrap_or(0);
    assert!(
        last_word < loudest / 4,
        "the robot started at {started} ms over a word ({last_word} of {loudest})"
    );
}

#[test]
fn carrier_voicemail_is_dropped_as_answering_machine() {
    let dir = offer_dir();
    let greeting = speech(dir.path(), "vm", "ru", "Здравствуйте. Абонент сейчас не может ответить на ваш звонок. Оставьте, пожалуйста, сообщение после звукового сигнала.");
    let callee = concat(&[
        &silence(0.3),
        &greeting,
        &silence(0.5),
        &beep(1000.0, 500, -12.0),
        &silence(10.0),
    ]);
    let o = run(dir.path(), &callee, None);
    assert_eq!(o.result, "answering_machine", "{o:?}");
    assert_eq!(o.amd.verdict, Verdict::Machine);
    // Known by talking past the monologue limit from its first word, or by its beep at the
    // end, whichever comes first (docs/amd.md): never by the length of a greeting alone.
    assert!(o.amd.decided_at_ms <= 8_500, "{o:?}");
}

const METER: &str = r##"
name = "Показания"
results = ["Показания приняты"]
start = "reading"

[steps.reading]
play = ["ask.wav"]
listen = { dtmf = true, wait_s = 10 }
capture = { var = "cold_water", kind = "number", max_digits = 8, end = "#" }
next = "confirm"

[steps.confirm]
play = ["you_said.wav", "{cold_water}"]
result = "Показания приняты"
"##;

/// The meter scenario's folder and a callee who keys in 12345#.
fn meter() -> (tempfile::TempDir, Vec<i16>) {
    let dir = scenario_dir(
        METER,
        &[
            (
                "ask",
                "ru",
                "Наберите показания счётчика и нажмите решётку.",
            ),
            ("you_said", "ru", "Вы назвали"),
        ],
    );
    let hello = speech(dir.path(), "hello", "ru", "Алло?");
    let callee = concat(&[
        &silence(0.3),
        &hello,
        &silence(5.0),
        &keys("12345#"),
        &silence(12.0),
    ]);
    (dir, callee)
}

/// Replays a loaded scenario; answers the outcome and the robot's frames that were not silent.
fn replay_counting_robot_frames(
    scenario: autoinformer::scenario::Scenario,
    prompts_dir: PathBuf,
    callee: &[i16],
) -> (CallOutcome, usize) {
    let mut robot_frames = 0usize;
    let cfg = CallConfig {
        prompts_dir,
        speech: None,
        amd: true,
        greetings: None,
    };
    let mut rec = |_c: &autoinformer::media::Frame, r: &autoinformer::media::Frame| {
        if r.iter().any(|&s| s != 0) {
            robot_frames += 1;
        }
    };
    let o = replay::run(Arc::new(scenario), cfg, callee, Some(&mut rec)).expect("call");
    (o, robot_frames)
}

#[test]
fn meter_reading_by_keys_is_captured_and_read_back() {
    let (dir, callee) = meter();
    let prompts_dir = project_root().join("prompts");
    let opts = LoadOptions {
        prompts_dir: prompts_dir.clone(),
        speech: None,
    };
    let scenario =
        load_file(&dir.path().join("scenario.toml"), &opts).unwrap_or_else(|p| panic!("{p}"));
    let (o, robot_frames) = replay_counting_robot_frames(scenario, prompts_dir, &callee);
    assert_eq!(o.result, "Показания приняты", "{o:?}");
    assert_eq!(
        o.captured.get("cold_water").map(String::as_str),
        Some("12345")
    );
    // "Вы назвали" + "двенадцать тысяч триста сорок пять" was played after the capture.
    assert!(robot_frames > 100, "robot spoke {robot_frames} frames");
}

#[test]
fn a_call_plays_what_was_loaded_with_the_scenario_even_once_the_files_are_gone() {
    let (dir, callee) = meter();
    let file = dir.path().join("scenario.toml");
    let with_repo_prompts = {
        let opts = LoadOptions {
            prompts_dir: project_root().join("prompts"),
            speech: None,
        };
        let s = load_file(&file, &opts).unwrap_or_else(|p| panic!("{p}"));
        replay_counting_robot_frames(s, project_root().join("prompts"), &callee).1
    };
    // No prompts folder: the number words are the bundled ones.
    let nowhere = dir.path().join("no-prompts-folder");
    let opts = LoadOptions {
        prompts_dir: nowhere.clone(),
        speech: None,
    };
    let scenario = load_file(&file, &opts).unwrap_or_else(|p| panic!("{p}"));
    dir.close()
        .expect("remove the scenario's folder and its prompts");
    let (o, robot_frames) = replay_counting_robot_frames(scenario, nowhere, &callee);
    assert_eq!(o.result, "Показания приняты", "{o:?}");
    assert_eq!(
        robot_frames, with_repo_prompts,
        "the same audio, read back in full"
    );
}

fn korean_model() -> Arc<dyn SpeechModel> {
    let path = project_root().join("models/test-ko");
    assert!(
        path.join("am").exists(),
        "models/test-ko is missing: run scripts/setup.sh --test"
    );
    Arc::new(VoskModel::load(&path).expect("Korean test model loads"))
}

#[test]
fn spoken_answer_is_recognised_by_vosk_and_matched() {
    let toml = r#"
name = "Voice"
results = ["yes", "no"]
start = "ask"

[steps.ask]
play = ["ask.wav"]
listen = { dtmf = true, voice = true, wait_s = 8 }

[[steps.ask.on]]
dtmf = "1"
voice = ["네"]
result = "yes"

[[steps.ask.on]]
dtmf = "2"
voice = ["아니요"]
result = "no"
"#;
    let model = korean_model();
    let dir = scenario_dir(toml, &[("ask", "ko", "안녕하세요. 예약하시겠습니까?")]);
    for (word, expected) in [("네", "yes"), ("아니요", "no")] {
        let hello = speech(dir.path(), "hello", "ko", "여보세요");
        let answer = speech(dir.path(), "answer", "ko", word);
        let callee = concat(&[&silence(0.3), &hello, &silence(6.0), &answer, &silence(4.0)]);
        let o = run(dir.path(), &callee, Some(model.clone()));
        assert_eq!(o.result, expected, "{o:?}");
        assert!(
            o.events
                .iter()
                .any(|e| matches!(e, CallEvent::Speech { text, .. } if text == word)),
            "{o:?}"
        );
    }
}

#[test]
fn hangup_ends_the_call_at_the_reaction_without_following_next() {
    // Key 2 is «Не интересно» with `hangup = true` and a `next` that would play a long prompt:
    // the robot hangs up at the key; the next step never plays.
    let toml = r#"
name = "Отказ"
results = ["Не интересно"]
start = "offer"

[steps.offer]
play = ["offer.wav"]
listen = { dtmf = true, wait_s = 5 }

[[steps.offer.on]]
dtmf = "2"
result = "Не интересно"
actions = [{ hangup = true }]
next = "bye"

[steps.bye]
play = ["bye.wav"]
"#;
    let dir = scenario_dir(
        toml,
        &[
            ("offer", "ru", "Нажмите два, если не интересно."),
            (
                "bye",
                "ru",
                "Очень жаль. Мы расскажем вам о наших новых предложениях в следующий раз, \
                 а пока желаем вам хорошего дня и всего доброго.",
            ),
        ],
    );
    let hello = speech(dir.path(), "hello", "ru", "Алло?");
    let callee = concat(&[
        &silence(0.4),
        &hello,
        &silence(5.0),
        &keys("2"),
        &silence(15.0),
    ]);
    let at_key_ms = ((0.4 + 5.0) * 1000.0) as u64 + (hello.len() as u64 * 1000 / 8000);
    let o = run(dir.path(), &callee, None);
    assert_eq!(o.result, "Не интересно", "{o:?}");
    assert_eq!(o.ended_by, EndedBy::Robot, "{o:?}");
    assert!(
        o.duration_ms < at_key_ms + 1_000,
        "the robot hung up at the key ({at_key_ms} ms), not after the next step: {o:?}"
    );
}
