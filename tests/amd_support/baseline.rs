//! Asterisk's app_amd decision logic with its default parameters, on 20 ms frames: the baseline
//! our detector must beat in every category. Silence per frame as Asterisk's DSP decides it:
//! mean absolute amplitude below the threshold (256).
use autoinformer::media::amd::Verdict;

pub const INITIAL_SILENCE: u64 = 2500;
pub const GREETING: u64 = 1500;
pub const AFTER_GREETING_SILENCE: u64 = 800;
pub const TOTAL_ANALYSIS_TIME: u64 = 5000;
pub const MIN_WORD_LENGTH: u64 = 100;
pub const BETWEEN_WORDS_SILENCE: u64 = 50;
pub const MAX_WORDS: u32 = 3;
pub const SILENCE_THRESHOLD: u32 = 256;
pub const MAX_WORD_LENGTH: u64 = 5000;

/// Runs app_amd over 8 kHz samples; returns (verdict, decided_at_ms, cause).
pub fn app_amd(samples: &[i16]) -> (Verdict, u64, String) {
    let (mut total, mut voice_dur, mut consecutive_voice) = (0u64, 0u64, 0u64);
    let (mut in_initial_silence, mut in_greeting, mut in_word, mut words) =
        (true, false, false, 0u32);
    let mut dsp_total_silence = 0u64;
    for frame in samples.chunks(160) {
        let ms = frame.len() as u64 / 8;
        total += ms;
        if total >= TOTAL_ANALYSIS_TIME {
            return (Verdict::Unknown, total, format!("TOOLONG-{total}"));
        }
        let avg = frame
            .iter()
            .map(|&s| u32::from(s.unsigned_abs()))
            .sum::<u32>()
            / frame.len().max(1) as u32;
        if avg < SILENCE_THRESHOLD {
            dsp_total_silence += ms;
        } else {
            dsp_total_silence = 0;
        }
        if dsp_total_silence > 0 {
            // app_amd's silenceDuration is the DSP's running silence (its reset on voice is
            // never read before being overwritten here).
            let silence_dur = dsp_total_silence;
            if silence_dur >= BETWEEN_WORDS_SILENCE {
                in_word = false;
                consecutive_voice = 0;
            }
            if in_initial_silence && silence_dur >= INITIAL_SILENCE {
                return (
                    Verdict::Machine,
                    total,
                    format!("INITIALSILENCE-{silence_dur}-{INITIAL_SILENCE}"),
                );
            }
            if silence_dur >= AFTER_GREETING_SILENCE && in_greeting {
                return (
                    Verdict::Human,
                    total,
                    format!("HUMAN-{silence_dur}-{AFTER_GREETING_SILENCE}"),
                );
            }
        } else {
            consecutive_voice += ms;
            voice_dur += ms;
            if consecutive_voice >= MIN_WORD_LENGTH && !in_word {
                words += 1;
                in_word = true;
            }
            if consecutive_voice >= MAX_WORD_LENGTH {
                return (
                    Verdict::Machine,
                    total,
                    format!("MAXWORDLENGTH-{consecutive_voice}"),
                );
            }
            if words >= MAX_WORDS {
                return (
                    Verdict::Machine,
                    total,
                    format!("MAXWORDS-{words}-{MAX_WORDS}"),
                );
            }
            if in_greeting && voice_dur >= GREETING {
                return (
                    Verdict::Machine,
                    total,
                    format!("LONGGREETING-{voice_dur}-{GREETING}"),
                );
            }
            if consecutive_voice >= MIN_WORD_LENGTH && !in_greeting {
                in_initial_silence = false;
                in_greeting = true;
            }
        }
    }
    (Verdict::Unknown, total, "HANGUP".into())
}
