//! Benchmark: Vosk's real-time factor with a grammar, on the Korean test model (models/test-ko,
//! installed by scripts/setup.sh --test) and 8 kHz espeak-ng Korean speech: 60 s of utterances
//! fed the way calls feed it (one utterance at a time, then `finish`).
mod common;
use autoinformer::asr::vosk_backend::VoskModel;
use autoinformer::asr::SpeechModel;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/test-ko");
    let t = Instant::now();
    let model = VoskModel::load(&path).expect("models/test-ko (scripts/setup.sh --test)");
    println!("vosk: model load {:.2} s", t.elapsed().as_secs_f64());
    let dir = tempfile::tempdir().expect("tmp");
    let candidates = [
        "네",
        "아니요",
        "예",
        "감사합니다",
        "좋아요",
        "네 감사합니다",
        "아니요 감사합니다",
        "안녕하세요",
    ];
    let words: Vec<&str> = candidates
        .iter()
        .copied()
        .filter(|p| p.split(' ').all(|w| model.knows_word(w)))
        .collect();
    println!("vosk: phrases in the model's vocabulary: {words:?}");
    let utts: Vec<Vec<i16>> = words
        .iter()
        .enumerate()
        .map(|(i, w)| common::espeak_8k(dir.path(), &i.to_string(), "ko", w))
        .collect();
    let grammar: Vec<String> = words.iter().map(|s| s.to_string()).collect();
    let mut total_audio = 0.0;
    let mut correct = 0;
    let mut n = 0;
    let t = Instant::now();
    let mut rec = model.recognizer(&grammar).expect("recogniser");
    while total_audio < 60.0 {
        for (u, &w) in utts.iter().zip(&words) {
            for c in u.chunks(160) {
                rec.accept(c).expect("accept");
            }
            let r = rec.finish().expect("finish");
            n += 1;
            if r.text != w && n <= 4 {
                println!("vosk: heard {:?} for {w:?}", r.text);
            }
            correct += usize::from(r.text == w);
            total_audio += u.len() as f64 / 8000.0;
        }
    }
    let cpu = t.elapsed().as_secs_f64();
    println!("vosk: {total_audio:.1} s of speech in {cpu:.2} s: real-time factor {:.3} ({:.0}x real time), {correct}/{n} utterances exact", cpu / total_audio, total_audio / cpu);
}
