//! Learned greetings' fingerprints (docs/amd.md, "Learned greetings"): a recorded greeting is
//! known again through what telephony does to it — µ-law, A-law, AMR-NB at 12.2, 7.4 and
//! 4.75 kbit/s, ±10 dB, line noise at 15 dB SNR, joined up to 1.5 s late or early, a lost
//! 20 ms frame — within 1.2 s of greeting; people saying the same words (other voices, other
//! takes of one voice) never match each other; the robot's own prompt heard back as echo is
//! never learned, and a learned greeting is known while the robot talks over it.
mod amd_support;
mod common;
use amd_support::campaign::{self, GREETINGS};
use amd_support::corpus::{add_noise, amr_round_trip_mode, set_level, speak, take};
use autoinformer::media::fingerprint::{fingerprint, Fingerprinter, Landmark};
use autoinformer::media::g711::{alaw_round_trip, ulaw_round_trip};
use autoinformer::media::greetings::{GreetingIndex, Matcher};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The milliseconds of greeting heard when the match became sure, if it did (and its id).
fn first_sure(index: &GreetingIndex, samples: &[i16], skip: Option<i64>) -> Option<(i64, u64)> {
    let mut fp = Fingerprinter::new();
    let mut m = Matcher::new();
    if let Some(s) = skip {
        m = m.excluding(s);
    }
    let mut out: Vec<Landmark> = Vec::new();
    for (i, frame) in samples.chunks(160).enumerate() {
        out.clear();
        fp.push(frame, false, &mut out);
        m.add(index, &out);
        if let Some(hit) = m.sure(index) {
            return Some((hit.id, (i as u64 + 1) * 20));
        }
    }
    None
}

fn to_f64(s: &[i16]) -> Vec<f64> {
    s.iter().map(|&v| f64::from(v)).collect()
}

fn to_i16(x: &[f64]) -> Vec<i16> {
    x.iter()
        .map(|v| v.round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

/// The greetings' level (dBm0 of their speech).
const LEVEL: f64 = -18.0;

fn recording(i: usize) -> Vec<i16> {
    to_i16(&campaign::recording(i))
}

/// What a call hears of a recording: `how` names the path.
fn through(rng: &mut StdRng, rec: &[i16], how: &str) -> Vec<i16> {
    let mut x = to_f64(rec);
    match how {
        "ulaw" | "alaw" | "amr12.2" | "amr7.4" | "amr4.75" => {}
        "+10dB" => x.iter_mut().for_each(|v| *v *= 10f64.powf(0.5)),
        "-10dB" => x.iter_mut().for_each(|v| *v *= 10f64.powf(-0.5)),
        "noise15dB" => add_noise(rng, &mut x, "pink", LEVEL - 15.0),
        "late" => {
            let cut = rng.gen_range(1..=75) * 160;
            x.drain(..cut.min(x.len() / 2));
        }
        "early" => {
            let pad = rng.gen_range(1..=75) * 160;
            x.splice(0..0, std::iter::repeat_n(0.0, pad));
        }
        "lost-frame" => {
            let at = rng.gen_range(8_000..(x.len() - 8_000).max(8_001));
            x.drain(at..(at + 160).min(x.len()));
        }
        other => panic!("no path {other}"),
    }
    // A quiet line is never digitally silent.
    add_noise(rng, &mut x, "white", -62.0);
    let s = to_i16(&x);
    match how {
        "alaw" => s.into_iter().map(alaw_round_trip).collect(),
        "amr12.2" => amr_round_trip_mode(&s, 7),
        "amr7.4" => amr_round_trip_mode(&s, 4),
        "amr4.75" => amr_round_trip_mode(&s, 0),
        _ => s.into_iter().map(ulaw_round_trip).collect(),
    }
}

/// The first column where the recording has sound (its greeting starts).
fn onset_ms(s: &[i16]) -> u64 {
    s.chunks(160)
        .position(|f| f.iter().any(|v| v.unsigned_abs() > 300))
        .unwrap_or(0) as u64
        * 20
}

#[test]
fn a_recording_is_known_again_through_what_telephony_does_to_it() {
    let mut rng = StdRng::seed_from_u64(18);
    let mut index = GreetingIndex::default();
    let recs: Vec<Vec<i16>> = (0..GREETINGS.len()).map(recording).collect();
    // Learned as a call heard it: through µ-law.
    for (i, r) in recs.iter().enumerate() {
        let heard: Vec<i16> = r.iter().map(|&v| ulaw_round_trip(v)).collect();
        let lm = fingerprint(&heard);
        let secs = r.len() as f64 / 8000.0;
        println!(
            "greeting {i}: {:.1} s, {} landmarks ({:.0}/s)",
            secs,
            lm.len(),
            lm.len() as f64 / secs
        );
        index.insert(i as i64, &lm);
    }
    let paths = [
        "ulaw",
        "alaw",
        "amr12.2",
        "amr7.4",
        "amr4.75",
        "+10dB",
        "-10dB",
        "noise15dB",
        "late",
        "early",
        "lost-frame",
    ];
    let mut worst = 0;
    let mut times = Vec::new();
    let mut misses = Vec::new();
    for how in paths {
        let mut line = format!("{how:>10}:");
        for (i, r) in recs.iter().enumerate() {
            let heard = through(&mut rng, r, how);
            let onset = onset_ms(&heard);
            match first_sure(&index, &heard, None) {
                Some((id, at)) if id == i as i64 => {
                    let ms = at.saturating_sub(onset);
                    worst = worst.max(ms);
                    times.push(ms);
                    line += &format!(" {ms:>5}");
                }
                Some((id, at)) => panic!("{how}: greeting {i} taken for {id} at {at} ms"),
                None => {
                    misses.push(format!("{how} {i}"));
                    line += "     —";
                }
            }
        }
        println!("{line}  (ms of greeting to a sure match)");
    }
    times.sort_unstable();
    println!(
        "known again: {} of {}; median {} ms, worst {} ms",
        times.len(),
        times.len() + misses.len(),
        times[times.len() / 2],
        worst
    );
    // What holds today (docs/amd.md, "Limits"): every path but AMR-NB at 4.75 kbit/s knows
    // every greeting again, the median within 1.2 s; at 4.75 kbit/s most.
    assert!(
        misses.iter().all(|m| m.starts_with("amr4.75")) && misses.len() <= 3,
        "not known again: {misses:?}"
    );
    assert!(
        times[times.len() / 2] <= 1_200,
        "the median match took {} ms of greeting",
        times[times.len() / 2]
    );
}

/// People: the same words in other voices and in other takes of one voice.
const WORDS: &[&str] = &[
    "Алло?",
    "Алло, да, слушаю.",
    "Да, говорите.",
    "Алло, здравствуйте.",
    "Слушаю вас внимательно.",
    "Да, алло, кто это?",
    "Добрый день, слушаю.",
    "Алло, говорите, вас плохо слышно.",
];
const VOICES: &[&str] = &["ru", "ru+f2", "ru+f4", "ru+m3", "ru+m7", "ru+f5", "ru+m1"];

#[test]
fn people_saying_the_same_words_never_match_each_other() {
    let mut rng = StdRng::seed_from_u64(1812);
    // 200 recordings: 8 phrases, each in several voices, each voice in several takes. A take
    // is the voice at its own pitch and pace (espeak says a phrase the same way at the same
    // pitch and speed, as no person does): no two recordings of a voice share a pitch.
    let mut people: Vec<(String, Vec<i16>)> = Vec::new();
    let mut pitches: Vec<Vec<u32>> = vec![(0..33).map(|k| 2 + 3 * k).collect(); VOICES.len()];
    for p in pitches.iter_mut() {
        use rand::seq::SliceRandom;
        p.shuffle(&mut rng);
    }
    while people.len() < 200 {
        let n = people.len();
        let words = WORDS[n % WORDS.len()];
        let v = (n / WORDS.len()) % VOICES.len();
        let voice = VOICES[v];
        let take_no = n / (WORDS.len() * VOICES.len());
        let pitch = pitches[v].pop().unwrap_or(50);
        let speed = rng.gen_range(125..195);
        let factor = rng.gen_range(0.94..1.06);
        let mut x = take(
            &mut rng,
            &to_f64(&speak(words, voice, speed, pitch)),
            factor,
            0.08,
        );
        set_level(&mut x, rng.gen_range(-28.0..-12.0));
        add_noise(&mut rng, &mut x, "white", -62.0);
        let s: Vec<i16> = to_i16(&x).into_iter().map(ulaw_round_trip).collect();
        people.push((
            format!(
                "{words} / {voice} / take {take_no} (pitch {pitch}, speed {speed}, x{factor:.3})"
            ),
            s,
        ));
    }
    let mut index = GreetingIndex::default();
    let fps: Vec<Vec<Landmark>> = people.iter().map(|(_, s)| fingerprint(s)).collect();
    for (i, lm) in fps.iter().enumerate() {
        index.insert(i as i64, lm);
    }
    let mut best = 0;
    let mut matches = Vec::new();
    for (i, (label, s)) in people.iter().enumerate() {
        if let Some((id, at)) = first_sure(&index, s, Some(i as i64)) {
            matches.push(format!("{label} ~ {} at {at} ms", people[id as usize].0));
        }
        // The closest any other recording came, for the margin.
        let mut fp = Fingerprinter::new();
        let mut out = Vec::new();
        fp.push(s, false, &mut out);
        fp.finish(&mut out);
        let mut m = Matcher::new().excluding(i as i64);
        m.add(&index, &out);
        if let Some(b) = m.best(&index) {
            best = best.max(b.score);
        }
    }
    let total: usize = fps.iter().map(Vec::len).sum();
    println!(
        "200 people: {} landmarks each on average; the closest two share {best} aligned landmarks \
         (a match needs {})",
        total / fps.len(),
        autoinformer::media::greetings::MIN_SCORE
    );
    assert!(matches.is_empty(), "people matched: {matches:#?}");
}

/// A scenario that answers a voice assistant with its own step.
const ASSISTANT_SCENARIO: &str = r#"
name = "С помощником"
results = ["Прослушал", "Помощник"]
start = "m"
on_assistant = "assistant"

[steps.m]
play = ["transfer/connecting.wav"]
listen = { dtmf = true, wait_s = 8 }

[[steps.m.on]]
timeout = true
result = "Прослушал"

[steps.assistant]
play = ["transfer/connecting.wav"]
result = "Помощник"
"#;

#[test]
fn a_known_assistant_goes_to_the_scenarios_own_step_and_a_bad_step_is_refused() {
    use autoinformer::call::greetings::GreetingBook;
    use autoinformer::call::replay::run_to;
    use autoinformer::call::CallConfig;
    use autoinformer::media::greetings::{Greeting, Label, Library};
    use autoinformer::scenario::{load_str, Format, LoadOptions};
    use std::sync::Arc;
    let prompts = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("prompts");
    let opts = LoadOptions {
        prompts_dir: prompts.clone(),
        speech: None,
    };
    let scenario = Arc::new(
        load_str(ASSISTANT_SCENARIO, Format::Toml, "t", None, &opts)
            .unwrap_or_else(|p| panic!("{p}")),
    );
    // The assistant's opening, uploaded as known.
    let rec = recording(2);
    let mut library = Library::new(2);
    library.add(Greeting {
        id: 1,
        landmarks: fingerprint(&rec),
        numbers: vec![],
        numbers_seen: 0,
        times_seen: 0,
        first_seen: 0,
        last_seen: 0,
        label: Some(Label::Assistant),
        not_machine: false,
        uploaded: true,
    });
    let cfg = CallConfig {
        prompts_dir: prompts,
        speech: None,
        amd: true,
        greetings: Some(GreetingBook::new(library)),
    };
    let mut rng = StdRng::seed_from_u64(3);
    let mut callee = through(&mut rng, &rec, "amr12.2");
    callee.resize(12 * 8000, 0);
    let o = run_to(scenario, cfg, Some("+79990001122"), &callee, None).expect("the call runs");
    assert_eq!(o.amd.reason, "assistant", "{:?}", o.amd);
    assert_eq!(o.result, "Помощник", "{o:?}");
    assert!(o.amd.decided_at_ms <= 2_000, "{:?}", o.amd);

    let bad = ASSISTANT_SCENARIO.replace("on_assistant = \"assistant\"", "on_assistant = \"нет\"");
    let problems = load_str(&bad, Format::Toml, "t", None, &opts).expect_err("refused");
    assert!(problems.to_string().contains("on_assistant"), "{problems}");
}

/// One call through the ear as the call runner drives it: the callee's line carries `callee`
/// plus the robot's `prompt` (from `robot_from_ms`) coming back as echo `echo_db` down and
/// `delay_ms` late. Answers when a learned greeting decided (ms), and what the call heard.
fn ear_call(
    book: &std::sync::Arc<autoinformer::call::greetings::GreetingBook>,
    number: &str,
    callee: &[i16],
    prompt: &[i16],
    robot_from_ms: u64,
    (echo_db, delay_ms): (f64, u64),
) -> (Option<u64>, autoinformer::call::greetings::HeardGreeting) {
    use autoinformer::call::greetings::GreetingEar;
    use autoinformer::media::greetings::number_key;
    use autoinformer::media::{Frame, FrameAnalyzer, FRAME_SAMPLES};
    let n: usize = 7 * 8000;
    let robot_from = (robot_from_ms * 8) as usize;
    let robot: Vec<i16> = (0..n)
        .map(|i: usize| {
            i.checked_sub(robot_from)
                .and_then(|k| prompt.get(k))
                .copied()
                .unwrap_or(0)
        })
        .collect();
    let g = 10f64.powf(-echo_db / 20.0);
    let delay = (delay_ms * 8) as usize;
    let line: Vec<i16> = (0..n)
        .map(|i: usize| {
            let echo = i
                .checked_sub(delay)
                .map_or(0.0, |k| f64::from(robot[k]) * g);
            let own = callee.get(i).copied().map_or(0.0, f64::from);
            (own + echo).round().clamp(-32768.0, 32767.0) as i16
        })
        .collect();
    let line: Vec<i16> = line.into_iter().map(ulaw_round_trip).collect();
    let mut ear = GreetingEar::new(book.clone(), number_key(number));
    let mut an = FrameAnalyzer::new();
    let mut decided = None;
    for (i, (c, r)) in line
        .chunks(FRAME_SAMPLES)
        .zip(robot.chunks(FRAME_SAMPLES))
        .enumerate()
    {
        let at_ms = i as u64 * 20;
        let mut f: Frame = [0; FRAME_SAMPLES];
        f[..c.len()].copy_from_slice(c);
        let (features, _) = an.analyze(&f, at_ms);
        // As the runner does: whether the robot's previous frame carried sound.
        let robot_talked = i > 0
            && robot[(i - 1) * FRAME_SAMPLES..][..r.len()]
                .iter()
                .any(|&s| s != 0);
        if ear.hear(&f, robot_talked, features.voiced, at_ms).is_some() && decided.is_none() {
            decided = Some(at_ms + 20);
        }
    }
    (decided, ear.heard(false))
}

#[test]
fn the_robots_prompt_coming_back_as_echo_is_never_learned_and_a_greeting_under_it_is_known() {
    use autoinformer::call::greetings::GreetingBook;
    use autoinformer::call::replay::GreetingsFile;
    use autoinformer::media::greetings::{number_key, Library};
    // The robot's prompt is the same audio on every call: heard back as echo on a line where
    // a person says a word and then listens, it would be "learned" after two numbers and
    // then take every person for a machine.
    let mut prompt = to_f64(&speak(
        "Здравствуйте! Это автоинформатор управляющей компании. Завтра с десяти до шестнадцати часов в вашем доме не будет горячей воды.",
        "ru+m3",
        160,
        45,
    ));
    set_level(&mut prompt, LEVEL);
    let prompt = to_i16(&prompt);
    let book = GreetingBook::new(Library::new(2));
    let mut rng = StdRng::seed_from_u64(77);
    for call in 0..8 {
        let voice = ["ru", "ru+f2", "ru+m7", "ru+f4"][call % 4];
        let mut word = to_f64(&speak("Алло?", voice, 150, 40 + call as u32 * 5));
        set_level(&mut word, LEVEL);
        let mut callee = vec![0.0; 2400];
        callee.extend(word);
        callee.resize(7 * 8000, 0.0);
        add_noise(&mut rng, &mut callee, "white", -62.0);
        let echo = (rng.gen_range(12.0..20.0), rng.gen_range(20..120));
        let number = format!("+7999300{call:04}");
        let (decided, heard) = ear_call(&book, &number, &to_i16(&callee), &prompt, 1_200, echo);
        assert_eq!(decided, None, "call {call}: a person decided machine");
        let mut library = book.library.write().expect("the book");
        GreetingsFile::learn(&mut library, &heard, call as i64);
    }
    {
        let library = book.library.read().expect("the book");
        let deciding: Vec<_> = library
            .greetings
            .values()
            .filter(|g| g.decides(number_key("+79993999999"), 2))
            .map(|g| (g.id, g.numbers_seen, g.landmarks.len()))
            .collect();
        assert!(
            deciding.is_empty(),
            "the robot's echo was learned: {deciding:?}"
        );
    }
    // A greeting already learned is known while the robot talks over it: the prompt starts at
    // 0.4 s (the first verdict came early) and comes back as echo on the greeting.
    let rec = recording(1);
    for (k, number) in ["+79993100001", "+79993100002"].iter().enumerate() {
        let callee = through(&mut rng, &rec, "ulaw");
        let (_, heard) = ear_call(&book, number, &callee, &prompt, 4_000, (60.0, 60));
        let mut library = book.library.write().expect("the book");
        GreetingsFile::learn(&mut library, &heard, 100 + k as i64);
    }
    let callee = through(&mut rng, &rec, "ulaw");
    let (decided, _) = ear_call(&book, "+79993100003", &callee, &prompt, 400, (15.0, 60));
    let at = decided.expect("the learned greeting is known under the robot's prompt");
    assert!(at <= 3_000, "known at {at} ms");
}
