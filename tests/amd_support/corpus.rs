//! The generated AMD corpus: callee recordings from the moment of answer, built from espeak-ng
//! Russian speech (several voices, speeds, pitches), beeps, SIT-free carrier greetings, noise
//! (white, pink, babble) and levels from −10 to −30 dBm0, each through a µ-law round trip as a
//! telephone line delivers it. Among the people: polite greetings of 3–6 s said in one breath
//! (commas, no sentence pause) before the person waits — the shape a length rule takes for a
//! machine; among the machines: greetings spoken sentence by sentence with 0.6–0.9 s pauses.
//! `amr_round_trip` passes a recording through the AMR-NB codec (sox) as a mobile leg does.
//! Speech is cached under target/amd-corpus (rebuildable). Deterministic for a seed.
use autoinformer::media::amd::Verdict;
use autoinformer::media::g711::ulaw_round_trip;
use autoinformer::media::level::sine_peak_for_dbm0;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

pub struct Recording {
    pub category: &'static str,
    pub expected: Verdict,
    pub samples: Vec<i16>,
    pub label: String,
    /// A machine that ends its greeting in a beep (voicemail about to record).
    pub beeps: bool,
}

impl Recording {
    fn person(category: &'static str, samples: Vec<i16>, label: String) -> Self {
        Self {
            category,
            expected: Verdict::Human,
            samples,
            label,
            beeps: false,
        }
    }

    fn machine(category: &'static str, samples: Vec<i16>, label: String, beeps: bool) -> Self {
        Self {
            category,
            expected: Verdict::Machine,
            samples,
            label,
            beeps,
        }
    }
}

const VOICES: &[&str] = &["ru", "ru+f2", "ru+f4", "ru+m3", "ru+m7", "ru+f5", "ru+m1"];
const SHORT: &[&str] = &[
    "Алло?",
    "Да?",
    "Слушаю.",
    "Да, говорите.",
    "Алло, да.",
    "Слушаю вас.",
    "Алло.",
    "Да, алло?",
];
const LONG_HUMAN: &[&str] = &[
    "Алло, здравствуйте, Иван слушает, говорите.",
    "Да, добрый день, я вас слушаю.",
    "Алло, здравствуйте, слушаю вас внимательно.",
    "Да-да, алло, кто это?",
    "Добрый день, компания Ромашка, слушаю.",
    "Алло, да, здравствуйте, говорите, пожалуйста.",
];
/// Greetings a polite person says in one breath (3–6 s), then waits for an answer.
const ONE_BREATH: &[&str] = &[
    "Алло, здравствуйте, добрый день, я вас слушаю, говорите, кто звонит?",
    "Да, алло, здравствуйте, слушаю вас внимательно, кто это мне звонит?",
    "Алло, добрый вечер, да, я слушаю, говорите, пожалуйста, я вас слушаю",
    "Здравствуйте, да, это я, слушаю вас, говорите, что вы хотели?",
    "Алло, алло, да, слушаю, здравствуйте, а кто это, откуда вы звоните?",
    "Добрый день, Мария Ивановна слушает, говорите, пожалуйста, я вас слушаю",
    "Алло, здравствуйте, да, я вас слышу, говорите, пожалуйста, по какому вы вопросу?",
    "Да, здравствуйте, добрый день, Петров слушает, а кто звонит и по какому поводу?",
];
/// Machine greetings as separate sentences, read with sentence pauses between them.
const SENTENCES: &[&[&str]] = &[
    &[
        "Здравствуйте.",
        "Вы позвонили Андрею.",
        "Оставьте сообщение после сигнала.",
    ],
    &[
        "Алло.",
        "Меня сейчас нет на месте.",
        "Перезвоните позже или оставьте сообщение.",
    ],
    &[
        "Абонент не может ответить.",
        "Оставьте сообщение после звукового сигнала.",
    ],
    &[
        "Добрый день.",
        "Вы позвонили в компанию Ромашка.",
        "Оставьте сообщение, и мы вам перезвоним.",
    ],
    &[
        "Привет, это Оля.",
        "Не могу сейчас говорить.",
        "Оставь сообщение, я перезвоню.",
    ],
    &[
        "Алло.",
        "Вы позвонили Сергею Петровичу.",
        "Говорите после сигнала.",
    ],
];
const CARRIER: &[&str] = &[
    "Абонент временно недоступен. Оставьте сообщение после звукового сигнала.",
    "Здравствуйте. Вы позвонили на голосовую почту абонента. Пожалуйста, оставьте ваше сообщение после сигнала.",
    "Абонент не может ответить на ваш звонок. Вы можете оставить голосовое сообщение. Говорите после сигнала.",
    "Здравствуйте. Абонент сейчас не может подойти к телефону. Оставьте, пожалуйста, сообщение, и вам перезвонят.",
    "Вас приветствует служба голосовой почты. Абонент, которому вы звоните, недоступен. Оставьте сообщение.",
];
const PERSONAL_TAIL: &[&str] = &[
    "Я сейчас не могу ответить, оставьте сообщение после сигнала.",
    "Это Наталья. Меня нет дома, перезвоните позже или оставьте сообщение.",
    "Вы позвонили Сергею. Я перезвоню вам, как только смогу, говорите после гудка.",
    "Сейчас не могу подойти к телефону. Скажите, что передать, и я перезвоню.",
];
const SECRETARY: &[&str] = &[
    "Здравствуйте, я виртуальный секретарь абонента. Представьтесь, пожалуйста, и скажите, что передать.",
    "Здравствуйте, это Ева, секретарь абонента. Абонент не может ответить. Что ему передать?",
    "Добрый день. Вы позвонили абоненту, я его помощник. Пожалуйста, представьтесь и назовите цель звонка.",
];
const BABBLE: &[&str] = &[
    "Ну и что ты ему сказал, а он что ответил, вот это да",
    "Передай, пожалуйста, соль и хлеб, спасибо большое",
    "Сегодня на работе было совещание до самого вечера",
    "Давай завтра сходим в кино, там новый фильм",
];

/// espeak-ng speech at 8 kHz, trimmed and peak-normalised to −3 dBFS (cached).
pub fn speak(text: &str, voice: &str, speed: u32, pitch: u32) -> Vec<i16> {
    crate::common::cached_speech(
        "amd-corpus",
        text,
        voice,
        speed,
        pitch,
        &[
            "silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse",
            "gain", "-n", "-3",
        ],
    )
}

fn random_speech(rng: &mut StdRng, text: &str) -> Vec<f64> {
    let voice = VOICES.choose(rng).expect("voice");
    let speed = rng.gen_range(130..190);
    let pitch = rng.gen_range(25..85);
    speak(text, voice, speed, pitch)
        .into_iter()
        .map(f64::from)
        .collect()
}

/// Scales so the speech's active level (frames above −50 dBm0) is `dbm0`.
/// One person's take of what espeak said: espeak says a phrase the same way every time,
/// consonants and all, at one pitch and speed, as no person does. A take runs it through a
/// vocal tract `factor` times as long (every frequency scaled) at a pace that drifts as a
/// person's does (±`drift` around it, over a period of 0.4–1.2 s): a resampling whose rate
/// wanders.
pub fn take(rng: &mut StdRng, x: &[f64], factor: f64, drift: f64) -> Vec<f64> {
    let period = rng.gen_range(3_200.0..9_600.0);
    let phase = rng.gen_range(0.0..std::f64::consts::TAU);
    let mut out = Vec::with_capacity((x.len() as f64 * factor * 1.1) as usize);
    let mut t = 0.0f64;
    let mut i = 0usize;
    while (t as usize) + 1 < x.len() {
        let k = t.floor() as usize;
        let f = t - k as f64;
        out.push(x[k] + (x[k + 1] - x[k]) * f);
        let rate =
            factor * (1.0 + drift * (std::f64::consts::TAU * i as f64 / period + phase).sin());
        t += 1.0 / rate;
        i += 1;
    }
    out
}

pub fn set_level(x: &mut [f64], target: f64) {
    let frames: Vec<f64> = x
        .chunks(160)
        .map(|c| c.iter().map(|v| v * v).sum::<f64>() / c.len() as f64)
        .collect();
    let p0 = sine_peak_for_dbm0(0.0).powi(2) / 2.0;
    let active: Vec<f64> = frames.into_iter().filter(|&p| p > p0 * 1e-5).collect();
    if active.is_empty() {
        return;
    }
    let level = 10.0 * (active.iter().sum::<f64>() / active.len() as f64 / p0).log10();
    let g = 10f64.powf((target - level) / 20.0);
    x.iter_mut().for_each(|v| *v *= g);
}

pub fn silence(ms: u64) -> Vec<f64> {
    vec![0.0; (ms * 8) as usize]
}

pub fn beep(rng: &mut StdRng, level: f64) -> Vec<f64> {
    let f = [440.0, 600.0, 850.0, 1000.0, 1200.0, 1400.0, 1700.0, 2000.0]
        .choose(rng)
        .copied()
        .expect("freq");
    let ms = rng.gen_range(250..900);
    let a = sine_peak_for_dbm0(level);
    (0..ms * 8)
        .map(|i| a * (2.0 * std::f64::consts::PI * f * i as f64 / 8000.0).sin())
        .collect()
}

pub fn gauss(rng: &mut StdRng) -> f64 {
    let (u1, u2): (f64, f64) = (rng.gen_range(1e-12..1.0), rng.gen());
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Adds noise at `level` dBm0: white, pink (Voss-McCartney-like), or babble.
pub fn add_noise(rng: &mut StdRng, x: &mut [f64], kind: &str, level: f64) {
    let sigma = sine_peak_for_dbm0(level) / 2f64.sqrt();
    match kind {
        "babble" => {
            let mut b: Vec<f64> = vec![0.0; x.len()];
            for t in BABBLE {
                let s = random_speech(rng, t);
                let off = rng.gen_range(0..s.len());
                for (i, v) in b.iter_mut().enumerate() {
                    *v += s[(i + off) % s.len()];
                }
            }
            set_level(&mut b, level);
            x.iter_mut().zip(b).for_each(|(v, n)| *v += n);
        }
        "pink" => {
            let mut rows = [0.0f64; 8];
            for (i, v) in x.iter_mut().enumerate() {
                let k = (i + 1).trailing_zeros() as usize;
                if k < rows.len() {
                    rows[k] = gauss(rng);
                }
                *v += sigma * (rows.iter().sum::<f64>() + gauss(rng)) / 3.0;
            }
        }
        _ => x.iter_mut().for_each(|v| *v += sigma * gauss(rng)),
    }
}

fn finish(mut x: Vec<f64>, rng: &mut StdRng, total_ms: u64) -> Vec<i16> {
    x.resize((total_ms * 8) as usize, 0.0);
    // A quiet line is never digitally silent.
    add_noise(rng, &mut x, "white", -62.0);
    x.into_iter()
        .map(|v| ulaw_round_trip(v.round().clamp(-32768.0, 32767.0) as i16))
        .collect()
}

/// A one-breath greeting of 3–6 s: the speed is adjusted until the speech lasts that long.
fn breath_greeting(rng: &mut StdRng, text: &str, level: f64) -> Vec<f64> {
    let voice = VOICES.choose(rng).expect("voice");
    let pitch = rng.gen_range(25..85);
    let want_ms = rng.gen_range(3_000.0..6_000.0);
    let mut speed = 160.0;
    let mut s = speak(text, voice, speed as u32, pitch);
    for _ in 0..3 {
        let ms = s.len() as f64 / 8.0;
        if (ms - want_ms).abs() < 350.0 {
            break;
        }
        speed = (speed * ms / want_ms).clamp(80.0, 260.0);
        s = speak(text, voice, speed as u32, pitch);
    }
    let mut x: Vec<f64> = s.into_iter().map(f64::from).collect();
    set_level(&mut x, level);
    x
}

/// Sentences in one voice with pauses of 0.6–0.9 s between them.
fn sentences(rng: &mut StdRng, parts: &[&str], level: f64) -> Vec<f64> {
    let voice = VOICES.choose(rng).expect("voice");
    let speed = rng.gen_range(130..190);
    let pitch = rng.gen_range(25..85);
    let mut x = Vec::new();
    for (i, t) in parts.iter().enumerate() {
        if i > 0 {
            x.extend(silence(rng.gen_range(600..900)));
        }
        x.extend(speak(t, voice, speed, pitch).into_iter().map(f64::from));
    }
    set_level(&mut x, level);
    x
}

/// The recording through the AMR-NB codec and back (sox), as on a mobile leg: at sox's default
/// mode, which is 4.75 kbit/s (the lowest; `amr_round_trip_mode` picks one).
pub fn amr_round_trip(samples: &[i16]) -> Vec<i16> {
    amr_through(samples, None)
}

/// The recording through AMR-NB at one of its modes (sox `-C`: 0 is 4.75 kbit/s, 4 is 7.4,
/// 7 is 12.2) and back.
pub fn amr_round_trip_mode(samples: &[i16], mode: u8) -> Vec<i16> {
    amr_through(samples, Some(mode))
}

/// Through AMR-NB at `mode` (sox's default without one) and back; cached under
/// target/amd-corpus/amr (default) or amr-modes.
fn amr_through(samples: &[i16], mode: Option<u8>) -> Vec<i16> {
    use std::ffi::OsStr;
    let (cache, mode_text) = match mode {
        None => ("amd-corpus/amr", None),
        Some(m) => ("amd-corpus/amr-modes", Some(m.to_string())),
    };
    let key = (samples, mode);
    let make = |dir: &std::path::Path, stem: &str, tmp: &std::path::Path| {
        let src = crate::common::write_wav(
            &dir.join(format!("{stem}.{}.src.wav", std::process::id())),
            samples,
        );
        let amr = dir.join(format!("{stem}.{}.amr-nb", std::process::id()));
        let mut encode = vec![src.as_os_str()];
        if let Some(m) = &mode_text {
            encode.extend([OsStr::new("-C"), OsStr::new(m)]);
        }
        encode.extend([
            OsStr::new("-r"),
            OsStr::new("8000"),
            OsStr::new("-c"),
            OsStr::new("1"),
        ]);
        encode.push(amr.as_os_str());
        let ok = crate::common::sox(&encode)
            && crate::common::sox(&[
                amr.as_os_str(),
                OsStr::new("-r"),
                OsStr::new("8000"),
                OsStr::new("-c"),
                OsStr::new("1"),
                tmp.as_os_str(),
            ]);
        assert!(
            ok,
            "sox cannot write AMR-NB (libsox-fmt-all: scripts/setup.sh)"
        );
        let _ = std::fs::remove_file(src);
        let _ = std::fs::remove_file(amr);
    };
    let mut back = match mode {
        // The default's cache keeps its old key (the samples alone).
        None => crate::common::cached_wav(cache, samples, make),
        Some(_) => crate::common::cached_wav(cache, key, make),
    };
    back.resize(samples.len(), 0);
    back
}

fn speech_at(rng: &mut StdRng, text: &str, level: f64) -> Vec<f64> {
    let mut s = random_speech(rng, text);
    set_level(&mut s, level);
    s
}

/// Builds the corpus for one seed: 168 recordings in 11 categories.
pub fn build(seed: u64) -> Vec<Recording> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    let lvl = |rng: &mut StdRng| rng.gen_range(-30.0..-10.0);
    for i in 0..18 {
        let t = SHORT[i % SHORT.len()];
        let l = lvl(&mut rng);
        let mut x = silence(rng.gen_range(200..900));
        x.extend(speech_at(&mut rng, t, l));
        out.push(Recording::person(
            "human_short",
            finish(x, &mut rng, 9000),
            format!("{t} @{l:.0}"),
        ));
    }
    for i in 0..16 {
        let t = LONG_HUMAN[i % LONG_HUMAN.len()];
        let l = lvl(&mut rng);
        let mut x = silence(rng.gen_range(200..700));
        x.extend(speech_at(&mut rng, t, l));
        if i % 3 == 0 {
            // People say "алло?" again when nobody answers.
            x.extend(silence(rng.gen_range(1500..2500)));
            x.extend(speech_at(&mut rng, "Алло?", l));
        }
        out.push(Recording::person(
            "human_long",
            finish(x, &mut rng, 9000),
            format!("{t} @{l:.0}"),
        ));
    }
    for i in 0..16 {
        let t = SHORT[(i * 3) % SHORT.len()];
        let l = lvl(&mut rng);
        let kind = ["white", "pink", "babble"][i % 3];
        let snr = rng.gen_range(8.0..20.0);
        let mut x = silence(rng.gen_range(300..900));
        x.extend(speech_at(&mut rng, t, l));
        x.resize(9000 * 8, 0.0);
        add_noise(&mut rng, &mut x, kind, l - snr);
        out.push(Recording::person(
            "human_noisy",
            finish(x, &mut rng, 9000),
            format!("{t} @{l:.0} {kind} snr {snr:.0}"),
        ));
    }
    for i in 0..14 {
        let t = SHORT[(i * 5) % SHORT.len()];
        let l = lvl(&mut rng);
        let wait = rng.gen_range(1500..4000);
        let mut x = silence(wait);
        x.extend(speech_at(&mut rng, t, l));
        out.push(Recording::person(
            "human_late",
            finish(x, &mut rng, 10000),
            format!("{t} after {wait} ms @{l:.0}"),
        ));
    }
    for i in 0..16 {
        let t = CARRIER[i % CARRIER.len()];
        let l = lvl(&mut rng);
        let mut x = silence(rng.gen_range(100..600));
        x.extend(speech_at(&mut rng, t, l));
        if i % 4 != 3 {
            x.extend(silence(rng.gen_range(200..600)));
            x.extend(beep(&mut rng, l));
        }
        out.push(Recording::machine(
            "machine_carrier",
            finish(x, &mut rng, 12000),
            format!("{t} @{l:.0}"),
            i % 4 != 3,
        ));
    }
    for i in 0..14 {
        let t = PERSONAL_TAIL[i % PERSONAL_TAIL.len()];
        let l = lvl(&mut rng);
        let mut x = silence(rng.gen_range(200..600));
        x.extend(speech_at(&mut rng, ["Алло.", "Да.", "Слушаю."][i % 3], l));
        x.extend(silence(rng.gen_range(800..1600)));
        x.extend(speech_at(&mut rng, t, l));
        if i % 2 == 0 {
            x.extend(silence(rng.gen_range(200..500)));
            x.extend(beep(&mut rng, l));
        }
        out.push(Recording::machine(
            "machine_personal",
            finish(x, &mut rng, 12000),
            format!("Алло. … {t} @{l:.0}"),
            i % 2 == 0,
        ));
    }
    for i in 0..10 {
        let t = SECRETARY[i % SECRETARY.len()];
        let l = lvl(&mut rng);
        let mut x = silence(rng.gen_range(100..500));
        x.extend(speech_at(&mut rng, t, l));
        out.push(Recording::machine(
            "machine_secretary",
            finish(x, &mut rng, 12000),
            format!("{t} @{l:.0}"),
            false,
        ));
    }
    for _ in 0..8 {
        let l = lvl(&mut rng);
        let mut x = silence(rng.gen_range(300..1500));
        let b = beep(&mut rng, l);
        let label = format!("beep {} ms @{l:.0}", b.len() / 8);
        x.extend(b);
        out.push(Recording::machine(
            "machine_beep",
            finish(x, &mut rng, 8000),
            label,
            true,
        ));
    }
    for i in 0..20 {
        let t = ONE_BREATH[i % ONE_BREATH.len()];
        let l = lvl(&mut rng);
        let mut x = silence(rng.gen_range(200..900));
        x.extend(breath_greeting(&mut rng, t, l));
        let ms = x.len() / 8;
        if i % 4 == 1 {
            // Nobody answers: "алло?" again.
            x.extend(silence(rng.gen_range(2000..3000)));
            x.extend(speech_at(&mut rng, "Алло?", l));
        }
        out.push(Recording::person(
            "human_one_breath",
            finish(x, &mut rng, 12000),
            format!("{t} ({ms} ms) @{l:.0}"),
        ));
    }
    for i in 0..20 {
        let t = ONE_BREATH[(i * 3 + 1) % ONE_BREATH.len()];
        let l = lvl(&mut rng);
        let kind = ["babble", "babble", "pink"][i % 3];
        let snr = rng.gen_range(10.0..18.0);
        let mut x = silence(rng.gen_range(300..900));
        x.extend(breath_greeting(&mut rng, t, l));
        let ms = x.len() / 8;
        x.resize(12000 * 8, 0.0);
        add_noise(&mut rng, &mut x, kind, l - snr);
        out.push(Recording::person(
            "human_breath_noisy",
            finish(x, &mut rng, 12000),
            format!("{t} ({ms} ms) @{l:.0} {kind} snr {snr:.0}"),
        ));
    }
    for i in 0..16 {
        let parts = SENTENCES[i % SENTENCES.len()];
        let l = lvl(&mut rng);
        let mut x = silence(rng.gen_range(100..600));
        x.extend(sentences(&mut rng, parts, l));
        let beeps = i % 4 != 3;
        if beeps {
            x.extend(silence(rng.gen_range(200..600)));
            x.extend(beep(&mut rng, l));
        }
        let label = format!(
            "{}{} @{l:.0}",
            parts.join(" … "),
            if beeps { " + beep" } else { "" }
        );
        out.push(Recording::machine(
            "machine_sentences",
            finish(x, &mut rng, 14000),
            label,
            beeps,
        ));
    }
    out
}
