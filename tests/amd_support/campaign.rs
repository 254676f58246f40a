//! The campaign corpus (docs/amd.md, "Learned greetings"): 400 calls in the order a campaign
//! makes them, each to its own number. 100 are machines playing one of 8 recorded greetings
//! (carrier voicemails with and without a beep, two voice assistants, an IVR menu, personal
//! voicemails), each met through its own level (±10 dB), line noise (none, 25 dB or 15 dB
//! SNR), start (joined up to 1.5 s late, or after a pickup pause), sometimes a lost 20 ms
//! frame; 300 are people, many saying the same words in several voices and takes, some
//! greeting at length in one breath, some saying «Алло?» twice. The whole campaign goes
//! through one line type: µ-law, or AMR-NB at a mode chosen per call. Deterministic for a seed.
use super::corpus::{add_noise, amr_round_trip_mode, beep, set_level, silence, speak};
use autoinformer::media::g711::ulaw_round_trip;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// The recorded greetings: (category, text, voice, speed, pitch, ends in a beep).
pub const GREETINGS: &[(&str, &str, &str, u32, u32, bool)] = &[
    (
        "carrier voicemail + beep",
        "Абонент не может ответить на ваш звонок. Оставьте сообщение после сигнала.",
        "ru+f2",
        150,
        50,
        true,
    ),
    (
        "carrier voicemail",
        "Аппарат абонента занят. Вы можете оставить голосовое сообщение.",
        "ru+m7",
        150,
        35,
        false,
    ),
    (
        "assistant",
        "Здравствуйте, я голосовой помощник. Представьтесь и скажите, зачем звоните.",
        "ru+f4",
        160,
        60,
        false,
    ),
    (
        "assistant",
        "Добрый день. Я виртуальный ассистент банка. Чем могу помочь?",
        "ru+f2",
        165,
        55,
        false,
    ),
    (
        "ivr",
        "Вы позвонили в компанию. Для связи с оператором нажмите ноль.",
        "ru+m3",
        155,
        40,
        false,
    ),
    (
        "voicemail + beep",
        "Здравствуйте. Вас приветствует автоответчик. Говорите после сигнала.",
        "ru",
        145,
        45,
        true,
    ),
    (
        "voicemail",
        "Привет, это секретарь Олега. Он сейчас занят, что ему передать?",
        "ru+f5",
        170,
        70,
        false,
    ),
    (
        "voicemail + beep",
        "Оставьте ваше сообщение, и вам обязательно перезвонят.",
        "ru+m1",
        140,
        50,
        true,
    ),
];

const VOICES: &[&str] = &["ru", "ru+f2", "ru+f4", "ru+m3", "ru+m7", "ru+f5", "ru+m1"];
const SHORT: &[&str] = &[
    "Алло?",
    "Да?",
    "Алло, да, слушаю.",
    "Да, говорите.",
    "Алло, здравствуйте.",
    "Слушаю вас.",
    "Да, алло, кто это?",
    "Добрый день, слушаю.",
];
const LONG: &[&str] = &[
    "Алло, здравствуйте, добрый день, я вас слушаю, говорите, кто звонит",
    "Да, здравствуйте, это Иван, слушаю вас внимательно, говорите пожалуйста",
    "Алло, добрый вечер, я на работе, говорите быстрее, что вы хотели",
];

/// Seconds of every call's audio.
pub const CALL_S: u64 = 12;

/// The line every call of a run goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    Ulaw,
    /// AMR-NB at 12.2, 7.4 or 4.75 kbit/s, chosen per call.
    Amr,
}

pub struct Call {
    pub number: String,
    pub category: &'static str,
    /// The greeting a machine plays (index in `GREETINGS`).
    pub greeting: Option<usize>,
    pub beeps: bool,
    pub samples: Vec<i16>,
    /// Where the greeting's sound starts in `samples` (ms).
    pub onset_ms: u64,
}

impl Call {
    pub fn machine(&self) -> bool {
        self.greeting.is_some()
    }
}

fn to_f64(s: &[i16]) -> Vec<f64> {
    s.iter().map(|&v| f64::from(v)).collect()
}

/// A greeting as recorded (−18 dBm0).
pub fn recording(i: usize) -> Vec<f64> {
    let (_, text, voice, speed, pitch, _) = GREETINGS[i];
    let mut x = to_f64(&speak(text, voice, speed, pitch));
    set_level(&mut x, -18.0);
    x
}

/// Level, noise, start and a lost frame, as one call meets a recording or a person.
fn line_effects(
    rng: &mut StdRng,
    mut x: Vec<f64>,
    level_shift_db: f64,
    late_ok: bool,
) -> (Vec<f64>, u64) {
    let g = 10f64.powf(level_shift_db / 20.0);
    x.iter_mut().for_each(|v| *v *= g);
    let onset_ms = if late_ok && rng.gen_bool(0.5) {
        // Joined late: the first 0–1.5 s of the greeting were never heard.
        let cut = (rng.gen_range(0..=75) * 160).min(x.len() / 3);
        x.drain(..cut);
        0
    } else {
        let pause = rng.gen_range(100..800);
        x.splice(0..0, silence(pause));
        pause
    };
    if rng.gen_bool(0.2) && x.len() > 16_000 {
        let at = rng.gen_range(8_000..x.len() - 8_000);
        x.drain(at..at + 160);
    }
    (x, onset_ms)
}

fn finish(rng: &mut StdRng, mut x: Vec<f64>, speech_db: f64, line: Line) -> Vec<i16> {
    x.resize((CALL_S * 8000) as usize, 0.0);
    match rng.gen_range(0..4) {
        0 => add_noise(rng, &mut x, "pink", speech_db - 15.0),
        1 => add_noise(rng, &mut x, "pink", speech_db - 25.0),
        _ => {}
    }
    add_noise(rng, &mut x, "white", -62.0);
    let s: Vec<i16> = x
        .into_iter()
        .map(|v| v.round().clamp(-32768.0, 32767.0) as i16)
        .collect();
    match line {
        Line::Ulaw => s.into_iter().map(ulaw_round_trip).collect(),
        Line::Amr => {
            let mode = *[7u8, 4, 0].choose(rng).expect("mode");
            amr_round_trip_mode(&s, mode)
        }
    }
}

fn machine(rng: &mut StdRng, g: usize, line: Line) -> Call {
    let (category, .., beeps) = GREETINGS[g];
    let shift = rng.gen_range(-10.0..10.0);
    let mut x = recording(g);
    if beeps {
        x.extend(silence(rng.gen_range(300..700)));
        x.extend(beep(rng, -18.0));
    }
    let (x, onset_ms) = line_effects(rng, x, shift, true);
    Call {
        number: String::new(),
        category,
        greeting: Some(g),
        beeps,
        samples: finish(rng, x, -18.0 + shift, line),
        onset_ms,
    }
}

fn person(rng: &mut StdRng, n: usize, line: Line) -> Call {
    let voice = VOICES[rng.gen_range(0..VOICES.len())];
    let speed = rng.gen_range(130..190);
    let pitch = rng.gen_range(25..85);
    let level = rng.gen_range(-28.0..-12.0);
    let (category, x) = match n % 10 {
        0..=6 => {
            let w = SHORT[rng.gen_range(0..SHORT.len())];
            ("person: short", to_f64(&speak(w, voice, speed, pitch)))
        }
        7 | 8 => {
            let w = LONG[rng.gen_range(0..LONG.len())];
            ("person: long", to_f64(&speak(w, voice, speed, pitch)))
        }
        _ => {
            let a = to_f64(&speak("Алло?", voice, speed, pitch));
            let mut x = a.clone();
            x.extend(silence(rng.gen_range(1_500..2_500)));
            x.extend(a);
            ("person: twice", x)
        }
    };
    // A person's own voice and pace (espeak says a phrase the same way every time).
    let factor = rng.gen_range(0.94..1.06);
    let mut x = super::corpus::take(rng, &x, factor, 0.08);
    set_level(&mut x, level);
    let (x, onset_ms) = line_effects(rng, x, 0.0, false);
    Call {
        number: String::new(),
        category,
        greeting: None,
        beeps: false,
        samples: finish(rng, x, level, line),
        onset_ms,
    }
}

/// The 400 calls, in order.
pub fn build(seed: u64, line: Line) -> Vec<Call> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut kinds: Vec<Option<usize>> = (0..100).map(|i| Some(i % GREETINGS.len())).collect();
    kinds.extend((0..300).map(|_| None));
    kinds.shuffle(&mut rng);
    let mut people = 0;
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, k)| {
            let mut c = match k {
                Some(g) => machine(&mut rng, g, line),
                None => {
                    people += 1;
                    person(&mut rng, people, line)
                }
            };
            c.number = format!("+7999500{i:04}");
            c
        })
        .collect()
}
