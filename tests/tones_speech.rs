//! The tone detectors must not fire on speech: Russian espeak-ng speech in several voices,
//! speeds and pitches, clean and with noise, at two levels.
mod common;
use autoinformer::media::tones::{ToneDetector, ToneEvent};
use autoinformer::media::{FRAME_MS, FRAME_SAMPLES};

const TEXTS: &[&str] = &[
    "Алло, здравствуйте! Да, я слушаю вас внимательно. Нет, сейчас неудобно, перезвоните позже.",
    "Здравствуйте, вы позвонили в компанию Ромашка. Оставайтесь на линии, вам ответит первый освободившийся оператор.",
    "Ааааа, ммм, эээ, ну, ооо, да-да-да, угу, ага. Ииии, уууу, ну вот как-то так получается.",
    "Двенадцать тысяч триста сорок пять. Ноль семь три. Девятьсот девяносто девять.",
    "Абонент временно недоступен. Оставьте сообщение после звукового сигнала.",
];

fn events(x: &[i16]) -> Vec<ToneEvent> {
    let mut d = ToneDetector::new();
    let mut out = vec![];
    for (i, c) in x.chunks(FRAME_SAMPLES).enumerate() {
        let mut f = [0i16; FRAME_SAMPLES];
        f[..c.len()].copy_from_slice(c);
        out.extend(d.process_frame(&f, i as u64 * FRAME_MS));
    }
    out
}

#[test]
fn no_beeps_sit_or_cadences_on_speech() {
    let dir = tempfile::tempdir().unwrap();
    let mut total_s = 0.0;
    let mut false_events = vec![];
    for (i, text) in TEXTS.iter().enumerate() {
        for voice in ["ru", "ru+f2", "ru+f4", "ru+m3", "ru+m7"] {
            let s = common::speech(dir.path(), &format!("t{i}{voice}"), voice, text);
            for gain in [1.0f64, 4.0] {
                let x: Vec<i16> = s
                    .iter()
                    .map(|&v| (f64::from(v) * gain).clamp(-32768.0, 32767.0) as i16)
                    .collect();
                total_s += x.len() as f64 / 8000.0;
                let e = events(&x);
                if !e.is_empty() {
                    false_events.push(format!("{voice} «{text}» ×{gain}: {e:?}"));
                }
            }
        }
    }
    println!(
        "tones on speech: {:.1} min, {} false event(s)",
        total_s / 60.0,
        false_events.len()
    );
    assert!(false_events.is_empty(), "{false_events:#?}");
}
