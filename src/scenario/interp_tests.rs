//! Interpreter behaviour, with an injected clock (ms since answer).
use super::*;
use crate::scenario::{load_str, Format, LoadOptions};

fn scenario(toml: &str) -> (Arc<Scenario>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    for f in ["a.wav", "b.wav", "ask.wav", "you_said.wav", "bye.wav"] {
        crate::media::prompt::write_test_wav(&dir.path().join(f), 20);
    }
    let opts = LoadOptions {
        prompts_dir: dir.path().to_path_buf(),
        speech: None,
    };
    // Voice steps need a model at validation; these tests exercise the interpreter alone.
    let s = match load_str(toml, Format::Toml, "test", Some(dir.path()), &opts) {
        Ok(s) => s,
        Err(p)
            if p.problems
                .iter()
                .all(|x| x.message.contains("speech model")) =>
        {
            let opts = LoadOptions {
                prompts_dir: dir.path().to_path_buf(),
                speech: Some(&AnyWords),
            };
            load_str(toml, Format::Toml, "test", Some(dir.path()), &opts)
                .unwrap_or_else(|p| panic!("{p}"))
        }
        Err(p) => panic!("{p}"),
    };
    (Arc::new(s), dir)
}

/// A vocabulary that knows every word (validation only; no recognition happens here).
struct AnyWords;
impl crate::asr::SpeechModel for AnyWords {
    fn recognizer(
        &self,
        _: &[String],
    ) -> Result<Box<dyn crate::asr::Recognizer>, crate::asr::AsrError> {
        Err(crate::asr::AsrError::Recognizer("not used".into()))
    }
    fn knows_word(&self, _: &str) -> bool {
        true
    }
}

const OFFER: &str = r#"
name = "Салон"
results = ["Хочу записаться", "Не интересно"]
start = "offer"
[steps.offer]
play = ["a.wav"]
listen = { dtmf = true, voice = true, wait_s = 10 }
[[steps.offer.on]]
dtmf = "1"
voice = ["да", "хочу", "запишите"]
result = "Хочу записаться"
actions = [{ transfer = "agents", callback_project = "Перезвон" }]
[[steps.offer.on]]
dtmf = "2"
voice = ["нет", "не интересно"]
result = "Не интересно"
actions = [{ sms = "Спасибо" }]
"#;

fn finish(cmds: &[Command]) -> Option<&Outcome> {
    cmds.iter().find_map(|c| match c {
        Command::Finish(o) => Some(o),
        _ => None,
    })
}

#[test]
fn answer_plays_the_start_step_and_listens() {
    let (s, _d) = scenario(OFFER);
    let mut i = Interpreter::new(s);
    let c = i.handle(Input::Answered, 0);
    assert!(
        matches!(&c[0], Command::Listen { dtmf: true, voice: true, phrases } if phrases.len() == 5)
    );
    assert!(matches!(&c[1], Command::Play(items) if items.len() == 1));
    assert_eq!(i.next_deadline(), None, "no window while playing");
    i.handle(Input::PromptsFinished, 6_000);
    assert_eq!(i.next_deadline(), Some(16_000));
}

#[test]
fn key_after_the_message_gives_its_result_and_actions() {
    let (s, _d) = scenario(OFFER);
    let mut i = Interpreter::new(s);
    i.handle(Input::Answered, 0);
    i.handle(Input::PromptsFinished, 6_000);
    let c = i.handle(Input::Dtmf('1'), 7_000);
    let o = finish(&c).unwrap();
    assert_eq!(o.result, "Хочу записаться");
    assert_eq!(
        o.actions,
        vec![Action::Transfer {
            to: "agents".into(),
            callback_project: Some("Перезвон".into())
        }]
    );
}

#[test]
fn barge_in_stops_the_prompt() {
    let (s, _d) = scenario(OFFER);
    let mut i = Interpreter::new(s);
    i.handle(Input::Answered, 0);
    let c = i.handle(Input::Dtmf('2'), 1_000);
    assert_eq!(c[0], Command::StopPlayback);
    assert_eq!(finish(&c).unwrap().result, "Не интересно");
}

#[test]
fn without_barge_in_input_during_the_prompt_is_ignored() {
    let (s, _d) = scenario(&OFFER.replace("listen = {", "barge_in = false\nlisten = {"));
    let mut i = Interpreter::new(s);
    i.handle(Input::Answered, 0);
    assert!(i.handle(Input::Dtmf('2'), 1_000).is_empty());
    i.handle(Input::PromptsFinished, 5_000);
    assert_eq!(
        finish(&i.handle(Input::Dtmf('1'), 5_500)).unwrap().result,
        "Хочу записаться"
    );
}

#[test]
fn silence_in_the_window_is_not_listened() {
    let (s, _d) = scenario(OFFER);
    let mut i = Interpreter::new(s);
    i.handle(Input::Answered, 0);
    i.handle(Input::PromptsFinished, 6_000);
    assert!(i.handle(Input::Tick, 15_999).is_empty());
    assert_eq!(
        finish(&i.handle(Input::Tick, 16_000)).unwrap().result,
        "not_listened"
    );
}

#[test]
fn hang_up_during_the_message_is_not_listened() {
    let (s, _d) = scenario(OFFER);
    let mut i = Interpreter::new(s);
    i.handle(Input::Answered, 0);
    assert_eq!(
        finish(&i.handle(Input::CalleeHungUp, 2_000))
            .unwrap()
            .result,
        "not_listened"
    );
    assert!(
        i.handle(Input::Dtmf('1'), 2_100).is_empty(),
        "nothing after the end"
    );
}

#[test]
fn speech_matches_tolerantly_and_prefers_the_longer_phrase() {
    let (s, _d) = scenario(OFFER);
    let mut i = Interpreter::new(s.clone());
    i.handle(Input::Answered, 0);
    i.handle(Input::PromptsFinished, 5_000);
    assert_eq!(
        finish(&i.handle(
            Input::Speech {
                text: "Запишите меня"
            },
            6_000
        ))
        .unwrap()
        .result,
        "Хочу записаться"
    );
    let mut i = Interpreter::new(s);
    i.handle(Input::Answered, 0);
    i.handle(Input::PromptsFinished, 5_000);
    assert_eq!(
        finish(&i.handle(
            Input::Speech {
                text: "мне не интересно"
            },
            6_000
        ))
        .unwrap()
        .result,
        "Не интересно"
    );
}

#[test]
fn unmatched_speech_reprompts_once_then_counts_as_no_reaction() {
    let (s, _d) = scenario(OFFER);
    let mut i = Interpreter::new(s);
    i.handle(Input::Answered, 0);
    i.handle(Input::PromptsFinished, 5_000);
    let c = i.handle(
        Input::Speech {
            text: "а кто это"
        },
        6_000,
    );
    assert!(c.iter().any(|c| matches!(c, Command::Play(_))), "{c:?}");
    i.handle(Input::PromptsFinished, 11_000);
    let c = i.handle(Input::Speech { text: "что" }, 12_000);
    assert_eq!(finish(&c).unwrap().result, "not_listened");
}

const METER: &str = r##"
name = "Показания"
results = ["Показания приняты"]
start = "reading"
[steps.reading]
play = ["ask.wav"]
listen = { dtmf = true, voice = true, wait_s = 10 }
capture = { var = "cold_water", kind = "number", max_digits = 8, end = "#" }
next = "confirm"
[steps.confirm]
play = ["you_said.wav", "{cold_water}"]
result = "Показания приняты"
"##;

fn meter() -> (Interpreter, tempfile::TempDir) {
    let (s, d) = scenario(METER);
    let mut i = Interpreter::new(s);
    i.handle(Input::Answered, 0);
    i.handle(Input::PromptsFinished, 4_000);
    (i, d)
}

#[test]
fn capture_by_keys_ends_on_the_end_key_and_reads_back() {
    let (mut i, _d) = meter();
    for (n, k) in "0123".chars().enumerate() {
        assert!(i.handle(Input::Dtmf(k), 5_000 + n as u64 * 300).is_empty());
    }
    let c = i.handle(Input::Dtmf('#'), 6_500);
    assert!(
        matches!(&c[0], Command::Play(items) if items[1] == PlayItem::Number("123".into())),
        "{c:?}"
    );
    let c = i.handle(Input::PromptsFinished, 9_000);
    let o = finish(&c).unwrap();
    assert_eq!(o.result, "Показания приняты");
    assert_eq!(
        o.captured["cold_water"], "123",
        "kind = number drops leading zeros"
    );
}

#[test]
fn capture_ends_at_max_digits() {
    let (mut i, _d) = meter();
    let mut last = vec![];
    for (n, k) in "123456789".chars().enumerate() {
        last = i.handle(Input::Dtmf(k), 5_000 + n as u64 * 200);
        if !last.is_empty() {
            assert_eq!(n, 7, "ends at the 8th digit");
            break;
        }
    }
    assert!(
        matches!(&last[0], Command::Play(items) if items[1] == PlayItem::Number("12345678".into()))
    );
}

#[test]
fn capture_ends_after_silence_following_the_last_digit() {
    let (mut i, _d) = meter();
    i.handle(Input::Dtmf('4'), 5_000);
    i.handle(Input::Dtmf('2'), 5_400);
    assert_eq!(i.next_deadline(), Some(10_400));
    let c = i.handle(Input::Tick, 10_400);
    assert!(matches!(&c[0], Command::Play(items) if items[1] == PlayItem::Number("42".into())));
}

#[test]
fn capture_by_voice_understands_russian_numbers() {
    let (mut i, _d) = meter();
    let c = i.handle(
        Input::Speech {
            text: "двенадцать тысяч триста сорок пять",
        },
        7_000,
    );
    assert!(
        matches!(&c[0], Command::Play(items) if items[1] == PlayItem::Number("12345".into())),
        "{c:?}"
    );
}

#[test]
fn capture_with_nothing_entered_is_not_listened() {
    let (mut i, _d) = meter();
    assert_eq!(
        finish(&i.handle(Input::Tick, 14_000)).unwrap().result,
        "not_listened"
    );
}

#[test]
fn reactions_chain_with_next_and_keep_the_result_on_hang_up() {
    let toml = r#"
name = "Опрос"
results = ["Доволен", "Недоволен"]
start = "q1"
[steps.q1]
play = ["a.wav"]
[[steps.q1.on]]
dtmf = "1"
result = "Доволен"
next = "q2"
[[steps.q1.on]]
dtmf = "2"
result = "Недоволен"
actions = [{ add_to_project = "Перезвон" }]
next = "q2"
[steps.q2]
play = ["b.wav"]
[[steps.q2.on]]
dtmf = "9"
actions = [{ hangup = true }]
[[steps.q2.on]]
timeout = true
next = "bye"
[steps.bye]
play = ["bye.wav"]
"#;
    let (s, _d) = scenario(toml);
    let mut i = Interpreter::new(s.clone());
    i.handle(Input::Answered, 0);
    i.handle(Input::PromptsFinished, 3_000);
    let c = i.handle(Input::Dtmf('2'), 4_000);
    // The result and the action are decided now (kept at once), and the call goes on.
    assert!(
        matches!(&c[..], [Command::Decided(o), Command::Listen { .. }, Command::Play(_)]
            if o.result == "Недоволен" && o.actions.len() == 1),
        "{c:?}"
    );
    assert_eq!(i.current_step(), "q2");
    let o = finish(&i.handle(Input::CalleeHungUp, 5_000))
        .unwrap()
        .clone();
    assert_eq!(o.result, "Недоволен");
    assert_eq!(
        o.actions,
        vec![Action::AddToProject {
            project: "Перезвон".into()
        }]
    );

    // Timeout reaction leads to the goodbye, which ends the call after its prompt.
    let mut i = Interpreter::new(s);
    i.handle(Input::Answered, 0);
    i.handle(Input::PromptsFinished, 3_000);
    i.handle(Input::Dtmf('1'), 4_000);
    i.handle(Input::PromptsFinished, 7_000);
    let c = i.handle(Input::Tick, 17_000);
    assert!(matches!(&c[..], [Command::Play(_)]), "{c:?}");
    assert_eq!(
        finish(&i.handle(Input::PromptsFinished, 19_000))
            .unwrap()
            .result,
        "Доволен"
    );
}

#[test]
fn a_decision_is_handed_out_the_moment_it_is_taken_and_grows_with_later_steps() {
    let toml = r#"
name = "t"
results = ["Да", "Записан"]
start = "q1"
[steps.q1]
play = ["a.wav"]
listen = { dtmf = true }
[[steps.q1.on]]
dtmf = "1"
result = "Да"
actions = [{ sms = "Спасибо" }]
next = "q2"
[steps.q2]
play = ["b.wav"]
listen = { dtmf = true }
[[steps.q2.on]]
dtmf = "5"
result = "Записан"
actions = [{ add_to_project = "Перезвон" }]
next = "bye"
[[steps.q2.on]]
dtmf = "0"
next = "bye"
[steps.bye]
play = ["bye.wav"]
"#;
    let (s, _d) = scenario(toml);
    let decided = |c: &[Command]| -> Option<Outcome> {
        c.iter().find_map(|c| match c {
            Command::Decided(o) => Some(o.clone()),
            _ => None,
        })
    };
    let mut i = Interpreter::new(s.clone());
    i.handle(Input::Answered, 0);
    assert!(decided(&i.handle(Input::PromptsFinished, 3_000)).is_none());
    let d = decided(&i.handle(Input::Dtmf('1'), 3_500)).expect("decided at the key");
    assert_eq!(d.result, "Да");
    assert_eq!(d.actions.len(), 1);
    i.handle(Input::PromptsFinished, 6_000);
    let d = decided(&i.handle(Input::Dtmf('5'), 6_500)).expect("decided again");
    assert_eq!(d.result, "Записан");
    assert_eq!(d.actions.len(), 2, "every action so far: {:?}", d.actions);
    // A reaction that sets nothing decides nothing.
    let mut i = Interpreter::new(s);
    i.handle(Input::Answered, 0);
    i.handle(Input::PromptsFinished, 3_000);
    i.handle(Input::Dtmf('1'), 3_500);
    i.handle(Input::PromptsFinished, 6_000);
    assert!(decided(&i.handle(Input::Dtmf('0'), 6_500)).is_none());
}
