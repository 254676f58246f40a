//! Echo guard for live calls: tells when what the callee side carries is only the echo of the
//! robot's own prompt (line or handset echo), so VAD, AMD and the recogniser do not mistake
//! the robot for a talking callee — which would make AMD revise a person to "machine" or let
//! the robot barge in on itself.
//!
//! Method: the energy envelopes (10 ms blocks, in dB) of the robot's output and of the callee
//! input are compared over the last 300 ms at every delay up to 300 ms. Echo follows the
//! robot's envelope closely at one delay and is no louder than the robot; a person talking
//! (alone or over the echo) does not. Costs ~1,300 multiply-adds per voiced 20 ms frame,
//! all delays side by side (vectorised).
use super::{Frame, FRAME_SAMPLES};

/// Envelope block length in samples (10 ms).
const BLOCK: usize = FRAME_SAMPLES / 2;
/// Blocks compared (400 ms).
const WINDOW: usize = 40;
/// Largest echo delay searched, in blocks (300 ms).
const MAX_LAG: usize = 30;
/// Robot history kept.
const HISTORY: usize = WINDOW + MAX_LAG;
/// Delays searched (0..=MAX_LAG).
const LAGS: usize = MAX_LAG + 1;
/// Envelope floor (dBm0-like scale): quieter blocks count as this.
const FLOOR_DB: f32 = -70.0;
/// The robot counts as talking when a block in the window is above this.
const ROBOT_TALK_DB: f32 = -45.0;
/// Envelope correlation above which the callee side is the robot's echo.
pub const MIN_ECHO_CORRELATION: f32 = 0.8;
/// Echo is at most this much louder than the robot at the matching delay (dB).
const MAX_ECHO_GAIN_DB: f32 = 3.0;
/// Consecutive frames that must find the echo at the same delay (±10 ms) before it counts:
/// an echo path has one delay, a chance likeness of a person's speech hops around.
const STABLE_FRAMES: u32 = 3;

fn block_db(s: &[i16]) -> f32 {
    let e = s.iter().map(|&x| i64::from(x) * i64::from(x)).sum::<i64>() as f64 / s.len() as f64;
    // 0 dBm0 ≈ RMS 5,300 for 16-bit linear (µ-law full scale +3.14 dBm0).
    let db = 10.0 * (e.max(1e-9) / (5_300.0f64 * 5_300.0)).log10();
    (db as f32).max(FLOOR_DB)
}

/// The echo guard of one call.
#[derive(Debug, Clone)]
pub struct EchoGuard {
    robot: [f32; HISTORY],
    callee: [f32; WINDOW],
    /// Blocks seen so far (saturating at HISTORY).
    filled: usize,
    /// The delay (blocks) of the last match and how many frames in a row found it.
    last_lag: Option<usize>,
    streak: u32,
}

impl Default for EchoGuard {
    fn default() -> Self {
        Self {
            robot: [FLOOR_DB; HISTORY],
            callee: [FLOOR_DB; WINDOW],
            filled: 0,
            last_lag: None,
            streak: 0,
        }
    }
}

impl EchoGuard {
    /// A guard with no history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one 20 ms period: the robot frame sent and the callee frame received in it.
    /// Returns true when the callee frame is (only) echo of the robot.
    pub fn process(&mut self, robot: &Frame, callee: &Frame) -> bool {
        self.push(robot, callee);
        self.is_echo()
    }

    /// Records one 20 ms period without judging it (cheap: when the callee side is not voiced
    /// there is nothing to judge).
    pub fn push(&mut self, robot: &Frame, callee: &Frame) {
        for half in 0..2 {
            let r = &robot[half * BLOCK..(half + 1) * BLOCK];
            let c = &callee[half * BLOCK..(half + 1) * BLOCK];
            self.robot.copy_within(1.., 0);
            self.robot[HISTORY - 1] = block_db(r);
            self.callee.copy_within(1.., 0);
            self.callee[WINDOW - 1] = block_db(c);
        }
        self.filled = (self.filled + 2).min(HISTORY);
    }

    /// Whether the latest pushed callee frame is only echo (searches the delays).
    pub fn is_echo(&mut self) -> bool {
        match self.best_lag() {
            Some(lag) => {
                let same = self.last_lag.is_some_and(|l| l.abs_diff(lag) <= 1);
                self.streak = if same { self.streak + 1 } else { 1 };
                self.last_lag = Some(lag);
            }
            None => self.streak = 0,
        }
        self.streak >= STABLE_FRAMES
    }

    /// The delay (blocks) at which the callee envelope best follows the robot's, if it does.
    fn best_lag(&self) -> Option<usize> {
        self.best().map(|(lag, _)| lag)
    }

    /// `best_lag` with its correlation.
    fn best(&self) -> Option<(usize, f32)> {
        if self.filled < WINDOW {
            return None;
        }
        // Nothing to echo: the robot has been quiet for the whole search span.
        if self.robot.iter().all(|&d| d < ROBOT_TALK_DB) {
            return None;
        }
        let c = &self.callee;
        let c_mean = c.iter().sum::<f32>() / WINDOW as f32;
        let c_var: f32 = c.iter().map(|x| (x - c_mean) * (x - c_mean)).sum();
        if c_var < 1.0 {
            // A flat callee envelope (silence or steady noise) carries no echo worth hiding.
            return None;
        }
        // Every delay at once, each delay's sums in the same order as one delay alone would
        // take them (the results are bit for bit those of a loop over delays), but the delays
        // side by side, so the work vectorises instead of waiting on one long chain of adds.
        // Window `s` of the robot history starts at block `s`: delay `HISTORY - WINDOW - s`.
        let r = &self.robot;
        let mut r_sum = [-0.0f32; LAGS];
        for i in 0..WINDOW {
            for (s, sum) in r_sum.iter_mut().enumerate() {
                *sum += r[s + i];
            }
        }
        let r_mean = r_sum.map(|x| x / WINDOW as f32);
        let mut cov = [0.0f32; LAGS];
        let mut r_var = [0.0f32; LAGS];
        let mut louder = [false; LAGS];
        for (i, &x) in c.iter().enumerate() {
            let dx = x - c_mean;
            let loud = x > FLOOR_DB + 10.0;
            for s in 0..LAGS {
                let y = r[s + i];
                let dy = y - r_mean[s];
                cov[s] += dx * dy;
                r_var[s] += dy * dy;
                louder[s] |= loud && x > y + MAX_ECHO_GAIN_DB;
            }
        }
        let mut best: Option<(usize, f32)> = None;
        let max_lag = MAX_LAG.min(self.filled - WINDOW);
        for lag in 0..=max_lag {
            let s = HISTORY - WINDOW - lag;
            if r_var[s] < 1.0 || louder[s] {
                continue;
            }
            let corr = cov[s] / (c_var * r_var[s]).sqrt();
            if corr >= MIN_ECHO_CORRELATION && best.is_none_or(|(_, b)| corr > b) {
                best = Some((lag, corr));
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real speech (espeak-ng recordings bundled with the project).
    fn speech(rel: &str) -> Vec<i16> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
        crate::media::audio::decode_file_8k(&p).expect("bundled audio")
    }

    fn robot_prompt() -> Vec<i16> {
        let mut s = speech("examples/survey/question.wav");
        s.truncate(6 * 8000);
        s
    }

    fn person() -> Vec<i16> {
        let mut s = speech("prompts/sim/voicemail.wav");
        s.extend(speech("prompts/sim/unreachable.wav"));
        s.truncate(6 * 8000);
        s
    }

    fn run(robot: &[i16], callee: &[i16]) -> (usize, usize) {
        let mut g = EchoGuard::new();
        let mut echo = 0;
        let mut frames = 0;
        for (r, c) in robot.chunks(160).zip(callee.chunks(160)) {
            let (mut rf, mut cf) = ([0i16; 160], [0i16; 160]);
            rf[..r.len()].copy_from_slice(r);
            cf[..c.len()].copy_from_slice(c);
            if g.process(&rf, &cf) {
                echo += 1;
            }
            frames += 1;
        }
        (echo, frames)
    }

    fn delayed(s: &[i16], delay: usize, gain_db: f32) -> Vec<i16> {
        let g = 10f32.powf(gain_db / 20.0);
        let mut out = vec![0i16; delay];
        out.extend(s.iter().map(|&x| (f32::from(x) * g) as i16));
        out.truncate(s.len());
        out
    }

    #[test]
    fn the_robots_own_echo_is_recognised_at_any_delay_and_level() {
        let robot = robot_prompt();
        for (delay_ms, gain) in [(0, 0.0), (60, 0.0), (130, -6.0), (250, -20.0)] {
            let callee = delayed(&robot, delay_ms * 8, gain);
            let (echo, frames) = run(&robot, &callee);
            eprintln!(
                "echo guard: delay {delay_ms} ms, gain {gain} dB: {echo}/{frames} frames flagged"
            );
            // All but the first window and silent stretches.
            assert!(
                echo * 100 >= frames * 60,
                "delay {delay_ms} ms gain {gain}: {echo}/{frames}"
            );
        }
    }

    #[test]
    fn a_person_talking_alone_or_over_the_echo_is_not_echo() {
        let robot = robot_prompt();
        let person = person();
        let (echo, frames) = run(&robot, &person);
        eprintln!(
            "echo guard: a person alone while the robot talks: {echo}/{frames} frames flagged"
        );
        assert!(echo * 100 <= frames * 3, "person alone: {echo}/{frames}");
        let echo_part = delayed(&robot, 480, -12.0);
        let mix: Vec<i16> = person
            .iter()
            .zip(&echo_part)
            .map(|(a, b)| a.saturating_add(*b))
            .collect();
        let (echo, frames) = run(&robot, &mix);
        eprintln!("echo guard: double talk (echo at -12 dB): {echo}/{frames} frames flagged");
        assert!(echo * 100 <= frames * 5, "double talk: {echo}/{frames}");
    }

    #[test]
    fn nothing_is_echo_while_the_robot_is_quiet() {
        let person = person();
        let (echo, _) = run(&vec![0; person.len()], &person);
        assert_eq!(echo, 0);
    }

    /// The search as first written, one delay after another: the vectorised one must give
    /// the very same delays and correlations, bit for bit.
    fn best_reference(g: &EchoGuard) -> Option<(usize, f32)> {
        if g.filled < WINDOW || g.robot.iter().all(|&d| d < ROBOT_TALK_DB) {
            return None;
        }
        let c = &g.callee;
        let c_mean = c.iter().sum::<f32>() / WINDOW as f32;
        let c_var: f32 = c.iter().map(|x| (x - c_mean) * (x - c_mean)).sum();
        if c_var < 1.0 {
            return None;
        }
        let mut best: Option<(usize, f32)> = None;
        for lag in 0..=MAX_LAG.min(g.filled - WINDOW) {
            let start = HISTORY - WINDOW - lag;
            let r = &g.robot[start..start + WINDOW];
            let r_mean = r.iter().sum::<f32>() / WINDOW as f32;
            let (mut cov, mut r_var, mut louder) = (0.0, 0.0, false);
            for (x, y) in c.iter().zip(r) {
                cov += (x - c_mean) * (y - r_mean);
                r_var += (y - r_mean) * (y - r_mean);
                if *x > FLOOR_DB + 10.0 && *x > y + MAX_ECHO_GAIN_DB {
                    louder = true;
                }
            }
            if r_var < 1.0 || louder {
                continue;
            }
            let corr = cov / (c_var * r_var).sqrt();
            if corr >= MIN_ECHO_CORRELATION && best.is_none_or(|(_, b)| corr > b) {
                best = Some((lag, corr));
            }
        }
        best
    }

    #[test]
    fn the_vectorised_search_gives_what_the_plain_one_gave_bit_for_bit() {
        let robot = robot_prompt();
        let person = person();
        let mix: Vec<i16> = person
            .iter()
            .zip(&delayed(&robot, 480, -12.0))
            .map(|(a, b)| a.saturating_add(*b))
            .collect();
        let mut found = 0;
        for callee in [
            delayed(&robot, 0, 0.0),
            delayed(&robot, 1040, -6.0),
            delayed(&robot, 2000, -20.0),
            person.clone(),
            mix,
        ] {
            let mut g = EchoGuard::new();
            for (r, c) in robot.chunks(160).zip(callee.chunks(160)) {
                let (mut rf, mut cf) = ([0i16; 160], [0i16; 160]);
                rf[..r.len()].copy_from_slice(r);
                cf[..c.len()].copy_from_slice(c);
                g.push(&rf, &cf);
                let (new, old) = (g.best(), best_reference(&g));
                assert_eq!(
                    new.map(|(l, c)| (l, c.to_bits())),
                    old.map(|(l, c)| (l, c.to_bits()))
                );
                found += usize::from(new.is_some());
            }
        }
        assert!(found > 200, "{found}");
    }
}
