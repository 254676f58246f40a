//! Benchmark: the whole per-call pipeline without ASR (DTMF receiver, tone detectors, VAD, AMD,
//! scenario interpreter, prompt playback), as × real time on one core. Target ≥ 5,000×.
//! Callee audio: espeak-ng Russian speech, pauses, a DTMF key, noise; generated at start.
mod common;
use autoinformer::call::{replay, CallConfig};
use autoinformer::scenario::{Action, Listen, PlayRef, Prompt, Reaction, Scenario, Step};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

fn tone_pair(lo: f64, hi: f64, ms: usize) -> Vec<i16> {
    (0..ms * 8)
        .map(|i| {
            let t = i as f64 / 8000.0;
            (6000.0
                * ((2.0 * std::f64::consts::PI * lo * t).sin()
                    + (2.0 * std::f64::consts::PI * hi * t).sin())) as i16
        })
        .collect()
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let prompt_samples = common::espeak_8k(dir.path(), "offer", "ru", "Здравствуйте! Это автоинформатор. Нажмите один, чтобы записаться, или два, если вам не интересно.");
    let prompt_path = dir.path().join("offer.wav");
    let greeting = common::espeak_8k(dir.path(), "hello", "ru", "Алло? Да, слушаю вас.");

    // One callee: greeting, 6 s of pauses and mumbling, key 1 after the prompt, then silence.
    let mut callee: Vec<i16> = vec![0; 4000];
    callee.extend(&greeting);
    callee.extend(std::iter::repeat_n(0i16, 8000 * 2));
    let mut rng = 12345u32;
    for _ in 0..8000 * 4 {
        rng = rng.wrapping_mul(1664525).wrapping_add(1013904223);
        callee.push(((rng >> 16) as i16) >> 8);
    }
    let key_at = callee.len().max(8000 * 2 + prompt_samples.len() + 8000);
    callee.resize(key_at, 0);
    callee.extend(tone_pair(697.0, 1209.0, 100));
    callee.extend(std::iter::repeat_n(0i16, 8000));

    let on = |k: char, r: &str| Reaction {
        dtmf: Some(k),
        voice: vec![],
        timeout: false,
        result: Some(r.into()),
        actions: vec![Action::Hangup],
        next: None,
    };
    let mut steps = BTreeMap::new();
    steps.insert(
        "offer".to_string(),
        Step {
            play: vec![PlayRef::Prompt(
                Prompt::file(&prompt_path).expect("the bench prompt"),
            )],
            listen: Listen {
                dtmf: true,
                voice: false,
                wait_s: 10,
            },
            barge_in: true,
            on: vec![on('1', "yes"), on('2', "no")],
            capture: None,
            result: None,
            actions: vec![],
            next: None,
        },
    );
    let scenario = Arc::new(Scenario {
        name: "bench".into(),
        results: vec!["yes".into(), "no".into()],
        start: "offer".into(),
        steps,
        fields: vec![],
        transfer_prompt: Default::default(),
        queue_prompt: Default::default(),
        on_assistant: None,
        notes: vec![],
        number_words: Default::default(),
    });
    let cfg = CallConfig {
        prompts_dir: dir.path().to_path_buf(),
        speech: None,
        amd: true,
        greetings: None,
    };

    // Check the call does what we measure; it ends at the key, so the audio analysed is the
    // call's duration, not the whole file.
    let o = replay::run(scenario.clone(), cfg.clone(), &callee, None).expect("replay");
    assert_eq!(
        o.result, "yes",
        "the benchmark call must go the whole way: {o:?}"
    );
    let audio_s = o.duration_ms as f64 / 1000.0;
    println!(
        "pipeline: one call = {audio_s:.1} s of callee audio analysed (greeting, pauses, noise, key 1); result {:?}, amd {:?} at {} ms",
        o.result, o.amd.verdict, o.amd.decided_at_ms
    );

    let mut best = f64::MAX;
    let calls = 40;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..calls {
            let o = replay::run(scenario.clone(), cfg.clone(), &callee, None).expect("replay");
            std::hint::black_box(o);
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    let rt = audio_s * calls as f64 / best;
    println!("pipeline: {calls} calls, {:.1} s of audio in {:.3} s on one thread: {rt:.0}x real time per core (target >= 5000x)", audio_s * calls as f64, best);
    println!(
        "pipeline: that is {:.0} concurrent calls' media analysis per core",
        rt
    );
    learned_greetings(&scenario, &cfg, &callee, audio_s, best / calls as f64);
}

/// Resident memory of this process (bytes), from /proc.
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// The learned greetings' share (docs/amd.md, "Learned greetings"): the fingerprint alone,
/// the same calls matching an empty book and one of 10,000 greetings, the memory a greeting
/// takes, beside the pipeline above.
fn learned_greetings(
    scenario: &Arc<Scenario>,
    cfg: &CallConfig,
    callee: &[i16],
    audio_s: f64,
    plain_s: f64,
) {
    use autoinformer::call::greetings::GreetingBook;
    use autoinformer::media::fingerprint::{Fingerprinter, Landmark};
    use autoinformer::media::greetings::{Greeting, Library, MAX_LANDMARKS};
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..40 {
            let mut f = Fingerprinter::new();
            let mut out = Vec::new();
            for frame in callee.chunks(160) {
                f.push(frame, false, &mut out);
            }
            std::hint::black_box(out);
        }
        best = best.min(t.elapsed().as_secs_f64() / 40.0);
    }
    let all_s = callee.len() as f64 / 8000.0;
    println!(
        "greetings: the fingerprint alone: {:.0}x real time per core ({:.1} µs per second of audio)",
        all_s / best,
        best / all_s * 1e6
    );
    // 10,000 greetings of MAX_LANDMARKS landmarks each, hashes spread as a fingerprint's are.
    let before = rss();
    let mut library = Library::new(2);
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for id in 1..=10_000 {
        let landmarks: Vec<Landmark> = (0..MAX_LANDMARKS as u32)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                Landmark {
                    hash: (x as u32) & 0x7_ffff,
                    t: i / 2,
                }
            })
            .collect();
        library.add(Greeting {
            id,
            landmarks,
            numbers: vec![1, 2, 3],
            numbers_seen: 3,
            times_seen: 3,
            first_seen: 0,
            last_seen: 0,
            label: None,
            not_machine: false,
            uploaded: false,
        });
    }
    let per = (rss().saturating_sub(before)) as f64 / 10_000.0;
    println!(
        "greetings: 10,000 learned greetings of {MAX_LANDMARKS} landmarks: {:.1} KB each in memory ({:.0} MB in all; {} postings)",
        per / 1024.0,
        per * 10_000.0 / 1e6,
        library.index.postings()
    );
    for (what, lib) in [
        ("an empty book", Library::new(2)),
        ("10,000 greetings", library),
    ] {
        let mut cfg = cfg.clone();
        cfg.greetings = Some(GreetingBook::new(lib));
        let mut best = f64::MAX;
        for _ in 0..5 {
            let t = Instant::now();
            for i in 0..40 {
                let o = replay::run_to(
                    scenario.clone(),
                    cfg.clone(),
                    Some(&format!("+7999000{i:04}")),
                    callee,
                    None,
                )
                .expect("replay");
                std::hint::black_box(o);
            }
            best = best.min(t.elapsed().as_secs_f64() / 40.0);
        }
        println!(
            "greetings: the pipeline matching {what}: {:.0}x real time per core; {:.2} ms per call against {:.2} ms without (+{:.0} %)",
            audio_s / best,
            best * 1e3,
            plain_s * 1e3,
            (best / plain_s - 1.0) * 100.0
        );
    }
}
