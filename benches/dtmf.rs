//! Benchmark: our DTMF receiver next to spandsp's `dtmf_rx` (Debian libspandsp, linked only into
//! this bench: LGPL, never in the shipped binary) on the same signals in the same run.
//! Prints channel-seconds per CPU-second for both, the ratio, and accuracy on the same signals,
//! including the rows spandsp fails (±3.5 % reject, 10 ms dropouts).
mod common;
use autoinformer::media::dtmf::{key_frequencies, DtmfReceiver};
use autoinformer::media::level::sine_peak_for_dbm0;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::f64::consts::PI;
use std::ffi::{c_char, c_int, c_void};
use std::time::Instant;

#[link(name = "spandsp")]
extern "C" {
    fn dtmf_rx_init(s: *mut c_void, callback: *const c_void, user_data: *mut c_void)
        -> *mut c_void;
    fn dtmf_rx(s: *mut c_void, amp: *const i16, samples: c_int) -> c_int;
    fn dtmf_rx_get(s: *mut c_void, digits: *mut c_char, max: c_int) -> usize;
    fn dtmf_rx_free(s: *mut c_void) -> c_int;
}

const KEYS: &[u8] = b"123A456B789C*0#D";

fn spandsp_detect(x: &[i16]) -> String {
    let mut out = String::new();
    // SAFETY: spandsp allocates its own state (NULL), we pass valid sample slices and a
    // correctly sized digit buffer, and free the state once.
    unsafe {
        let s = dtmf_rx_init(std::ptr::null_mut(), std::ptr::null(), std::ptr::null_mut());
        assert!(!s.is_null(), "dtmf_rx_init failed");
        let mut buf = [0 as c_char; 128];
        for c in x.chunks(160) {
            dtmf_rx(s, c.as_ptr(), c.len() as c_int);
            let n = dtmf_rx_get(s, buf.as_mut_ptr(), 127);
            out.extend(buf[..n].iter().map(|&b| b as u8 as char));
        }
        dtmf_rx_free(s);
    }
    out
}

fn ours_detect(x: &[i16]) -> String {
    let mut rx = DtmfReceiver::new();
    let mut out = String::new();
    for c in x.chunks(160) {
        rx.process(c, |d| out.push(d.digit));
    }
    out
}

fn tone(rng: &mut StdRng, key: u8, ms: f64, dbm0: f64, lo_scale: f64) -> Vec<i16> {
    let (lo, hi) = key_frequencies(key as char).expect("key");
    let a = sine_peak_for_dbm0(dbm0);
    let (p1, p2) = (rng.gen_range(0.0..2.0 * PI), rng.gen_range(0.0..2.0 * PI));
    (0..(ms * 8.0) as usize)
        .map(|i| {
            let t = i as f64 / 8000.0;
            (a * ((2.0 * PI * lo as f64 * lo_scale * t + p1).sin()
                + (2.0 * PI * hi as f64 * t + p2).sin())) as i16
        })
        .collect()
}

fn speech() -> Vec<i16> {
    let dir = tempfile::tempdir().expect("tmp");
    let text = "Уважаемые жильцы! Напоминаем, что до двадцать пятого числа необходимо передать показания счётчиков холодной и горячей воды. Алло, здравствуйте, да, я слушаю, перезвоните позже, пожалуйста.";
    common::espeak_8k(dir.path(), "s", "ru", text)
}

fn time(f: impl Fn() -> String, reps: usize) -> (f64, String) {
    let mut best = f64::MAX;
    let mut out = String::new();
    for _ in 0..reps {
        let t = Instant::now();
        out = f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, out)
}

fn accuracy(expected: &str, got: &str) -> String {
    if expected == got {
        format!("{}/{} exact", got.len(), expected.len())
    } else {
        format!(
            "{} digits for {} expected (differs)",
            got.len(),
            expected.len()
        )
    }
}

fn main() {
    let mut rng = StdRng::seed_from_u64(42);
    let sp = speech();
    // 10 minutes: digit bursts (random keys, levels −5…−30 dBm0, 50–80 ms on, 50–100 ms off)
    // between stretches of speech and silence.
    let mut x: Vec<i16> = Vec::new();
    let mut expected = String::new();
    while x.len() < 8000 * 600 {
        for _ in 0..rng.gen_range(3..10) {
            let k = KEYS[rng.gen_range(0..16)];
            let level = rng.gen_range(-30.0..-5.0);
            let ms = rng.gen_range(50.0..80.0);
            x.extend(tone(&mut rng, k, ms, level, 1.0));
            x.extend(std::iter::repeat_n(0i16, rng.gen_range(400..800)));
            expected.push(k as char);
        }
        let start = rng.gen_range(0..sp.len() / 2);
        x.extend(&sp[start..start + rng.gen_range(8000..sp.len() / 2)]);
        x.extend(std::iter::repeat_n(0i16, 2000));
    }
    let seconds = x.len() as f64 / 8000.0;
    let (t_ours, d_ours) = time(|| ours_detect(&x), 5);
    let (t_span, d_span) = time(|| spandsp_detect(&x), 5);
    let (r_ours, r_span) = (seconds / t_ours, seconds / t_span);
    println!("dtmf: {seconds:.0} s of mixed audio (digits −5…−30 dBm0, Russian speech, silence), {} digits", expected.len());
    println!(
        "dtmf: ours    {r_ours:>9.0} channel-s per CPU-s; accuracy {}",
        accuracy(&expected, &d_ours)
    );
    println!(
        "dtmf: spandsp {r_span:>9.0} channel-s per CPU-s; accuracy {}",
        accuracy(&expected, &d_span)
    );
    println!(
        "dtmf: speed ratio ours/spandsp = {:.2} (target >= 1.0)",
        r_ours / r_span
    );

    // The rows spandsp is known to fail.
    let mut reject_o = 0;
    let mut reject_s = 0;
    let mut n = 0;
    for &k in KEYS {
        for scale in [0.965, 1.035] {
            for _ in 0..10 {
                let mut s = vec![0i16; rng.gen_range(0..102)];
                s.extend(tone(&mut rng, k, 60.0, -10.0, scale));
                s.extend(vec![0i16; 800]);
                n += 1;
                reject_o += usize::from(ours_detect(&s).is_empty());
                reject_s += usize::from(spandsp_detect(&s).is_empty());
            }
        }
    }
    println!(
        "dtmf: low tone off by ±3.5 %: rejected by ours {reject_o}/{n}, by spandsp {reject_s}/{n}"
    );
    let (mut split_o, mut split_s, mut m) = (0, 0, 0);
    for _ in 0..400 {
        let k = KEYS[rng.gen_range(0..16)];
        let first = rng.gen_range(30.0..60.0);
        let mut s = vec![0i16; rng.gen_range(0..102)];
        s.extend(tone(&mut rng, k, first, -10.0, 1.0));
        s.extend(vec![0i16; rng.gen_range(64..=80)]);
        s.extend(tone(&mut rng, k, 100.0 - first, -10.0, 1.0));
        s.extend(vec![0i16; 800]);
        m += 1;
        split_o += usize::from(ours_detect(&s).len() != 1);
        split_s += usize::from(spandsp_detect(&s).len() != 1);
    }
    println!("dtmf: 8–10 ms dropout inside a digit: not exactly one digit: ours {split_o}/{m}, spandsp {split_s}/{m}");
}
