//! Talk-off: the DTMF receiver must report no digit on speech or music. Material: over 30
//! minutes of Russian speech from espeak-ng (six voices, three speeds, pitches), the same with
//! added noise, and 6 minutes of generated music-like audio (chords with harmonics, melodies with
//! vibrato, sweeps, near-DTMF tone pairs, drums). Speech is cached under target/ (rebuildable).
mod common;
use autoinformer::media::dtmf::DtmfReceiver;
use autoinformer::media::g711::{alaw_round_trip, ulaw_round_trip};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::f64::consts::PI;

const TEXTS: &[&str] = &[
    "Добрый день. Сегодня мы поговорим о погоде в Москве и в Подмосковье. Завтра ожидается небольшой снег, температура около минус пяти градусов. В выходные потеплеет до нуля, возможен дождь со снегом. Водителей просят быть внимательными на дорогах, особенно утром и вечером, когда движение наиболее плотное.",
    "Уважаемые жильцы! Напоминаем, что до двадцать пятого числа необходимо передать показания счётчиков холодной и горячей воды. Это можно сделать по телефону, через личный кабинет или в приложении. Если показания не будут переданы, начисление будет произведено по среднему расходу за последние три месяца.",
    "Алло, здравствуйте! Да, я слушаю. Нет, сейчас не очень удобно, перезвоните, пожалуйста, через час. Хорошо, договорились. А кто это говорит? Из какой компании? Я ничего не заказывал. Спасибо, не надо. Всего доброго, до свидания.",
    "Один, два, три, четыре, пять, шесть, семь, восемь, девять, десять. Двенадцать тысяч триста сорок пять. Номер моего счёта ноль семь три пять девять один два. Девятьсот девяносто девять рублей сорок копеек. Сто двадцать три, четыреста пятьдесят шесть, семьсот восемьдесят девять.",
    "Жил-был у бабушки серенький козлик. Вот как, вот как, серенький козлик. Бабушка козлика очень любила, вот как, вот как, очень любила. Вздумалось козлику в лес погуляти, вздумалось серому в лес погуляти. Напали на козлика серые волки.",
    "Внимание! Уважаемые пассажиры, поезд до станции Новогиреево отправляется с третьего пути. Будьте осторожны, двери закрываются. Следующая станция Площадь Ильича. Просим вас не оставлять свои вещи без присмотра и сообщать о подозрительных предметах сотрудникам полиции.",
    "Ну что вы, какие проблемы, всё будет сделано в лучшем виде! Я вам сейчас всё подробно расскажу. Значит так: сначала вы заходите в отделение, берёте талончик, ждёте своей очереди, а потом подходите к окошку и говорите, что хотите переоформить договор. Ммм, ааа, эээ, ну вот, как-то так.",
    "Шла Саша по шоссе и сосала сушку. Карл у Клары украл кораллы, а Клара у Карла украла кларнет. Ехал Грека через реку, видит Грека в реке рак. Сунул Грека руку в реку, рак за руку Греку цап! Щётка, щука, щавель, счастье, ёжик, йогурт, эхо, юла, ящерица.",
];
const VOICES: &[(&str, u32, u32)] = &[
    ("ru", 120, 50),
    ("ru+f2", 160, 70),
    ("ru+f4", 200, 85),
    ("ru+m3", 140, 30),
    ("ru+m7", 180, 45),
    ("ru+f5", 220, 99),
    ("ru", 100, 20),
    ("ru+f2", 110, 90),
    ("ru+f4", 130, 60),
    ("ru+m3", 100, 75),
    ("ru+m7", 115, 10),
    ("ru+f5", 125, 40),
    ("ru+m1", 105, 55),
    ("ru+f1", 110, 65),
    ("ru+m2", 120, 35),
];

fn speech_material() -> Vec<Vec<i16>> {
    let jobs: Vec<(&str, &str, u32, u32)> = TEXTS
        .iter()
        .flat_map(|t| VOICES.iter().map(move |&(v, s, p)| (*t, v, s, p)))
        .collect();
    let chunks: Vec<Vec<_>> = jobs
        .chunks(jobs.len().div_ceil(4))
        .map(<[_]>::to_vec)
        .collect();
    std::thread::scope(|s| {
        let hs: Vec<_> = chunks
            .into_iter()
            .map(|c| {
                s.spawn(move || {
                    c.into_iter()
                        .map(|(t, v, sp, p)| {
                            common::cached_speech(
                                "talkoff-cache",
                                t,
                                v,
                                sp,
                                p,
                                &["gain", "-n", "-3"],
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter()
            .flat_map(|h| h.join().expect("speech thread"))
            .collect()
    })
}

fn with_noise(x: &[i16], snr_db: f64, rng: &mut StdRng) -> Vec<i16> {
    let p: f64 = x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64;
    let sigma = (p / 10f64.powf(snr_db / 10.0)).sqrt();
    x.iter()
        .map(|&v| {
            (f64::from(v) + sigma * (rng.gen::<f64>() - 0.5) * 3.46).clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

/// Music-like material: chords with harmonics, vibrato melodies, sweeps, near-DTMF pairs, drums.
fn music(rng: &mut StdRng, seconds: usize) -> Vec<i16> {
    let mut out = Vec::with_capacity(seconds * 8000);
    let notes: Vec<f64> = (0..48)
        .map(|n| 110.0 * 2f64.powf(n as f64 / 12.0))
        .collect();
    while out.len() < seconds * 8000 {
        let kind = rng.gen_range(0..5);
        let len = rng.gen_range(1600..12000);
        let amp = rng.gen_range(1500.0..9000.0);
        let start = out.len();
        match kind {
            0 => {
                let chord: Vec<f64> = (0..3)
                    .map(|_| notes[rng.gen_range(0..notes.len())])
                    .collect();
                for i in 0..len {
                    let t = i as f64 / 8000.0;
                    let v: f64 = chord
                        .iter()
                        .map(|f| {
                            (1..=4)
                                .map(|h| (2.0 * PI * f * h as f64 * t).sin() / h as f64)
                                .sum::<f64>()
                        })
                        .sum();
                    out.push((amp * v / 4.0) as i16);
                }
            }
            1 => {
                let f = notes[rng.gen_range(12..notes.len())];
                let vib = rng.gen_range(4.0..7.0);
                let mut ph = 0.0;
                for i in 0..len {
                    let t = i as f64 / 8000.0;
                    ph += 2.0 * PI * f * (1.0 + 0.01 * (2.0 * PI * vib * t).sin()) / 8000.0;
                    out.push(
                        (amp * (ph.sin() + 0.4 * (2.0 * ph).sin() + 0.2 * (3.0 * ph).sin())) as i16,
                    );
                }
            }
            2 => {
                let (f0, f1) = (rng.gen_range(300.0..1800.0), rng.gen_range(300.0..1800.0));
                let mut ph = 0.0;
                for i in 0..len {
                    ph += 2.0 * PI * (f0 + (f1 - f0) * i as f64 / len as f64) / 8000.0;
                    out.push((amp * ph.sin()) as i16);
                }
            }
            3 => {
                // Two tones near a DTMF pair but at least 5 % from every DTMF frequency: not a digit.
                let near = |rng: &mut StdRng, group: &[f64; 4]| loop {
                    let f = group[rng.gen_range(0..4)]
                        * (1.0 + rng.gen_range(0.05..0.12) * if rng.gen() { 1.0 } else { -1.0 });
                    if group.iter().all(|g| (f / g - 1.0).abs() >= 0.05) {
                        break f;
                    }
                };
                let lo = near(rng, &[697.0, 770.0, 852.0, 941.0]);
                let hi = near(rng, &[1209.0, 1336.0, 1477.0, 1633.0]);
                for i in 0..len {
                    let t = i as f64 / 8000.0;
                    out.push(
                        (amp * ((2.0 * PI * lo * t).sin() + (2.0 * PI * hi * t).sin()) / 2.0)
                            as i16,
                    );
                }
            }
            _ => {
                for i in 0..len {
                    let env = (-(i % 2000) as f64 / 300.0).exp();
                    out.push((amp * env * (rng.gen::<f64>() - 0.5) * 2.0) as i16);
                }
            }
        }
        debug_assert!(out.len() > start);
    }
    out
}

fn count_digits(x: &[i16], map: impl Fn(i16) -> i16) -> (usize, String) {
    let mut rx = DtmfReceiver::new();
    let mut got = String::new();
    let y: Vec<i16> = x.iter().map(|&v| map(v)).collect();
    rx.process(&y, |d| got.push(d.digit));
    (got.len(), got)
}

#[test]
fn no_digits_on_speech_or_music() {
    let mut rng = StdRng::seed_from_u64(2026);
    let speech = speech_material();
    let speech_s: f64 = speech.iter().map(|s| s.len() as f64 / 8000.0).sum();
    let mut total_s = 0.0;
    let mut false_digits = Vec::new();
    for (i, s) in speech.iter().enumerate() {
        for (label, x) in [
            ("clean", s.clone()),
            ("noise 20 dB", with_noise(s, 20.0, &mut rng)),
            ("noise 10 dB", with_noise(s, 10.0, &mut rng)),
        ] {
            let map: fn(i16) -> i16 = match i % 3 {
                0 => |v| v,
                1 => alaw_round_trip,
                _ => ulaw_round_trip,
            };
            let (n, d) = count_digits(&x, map);
            total_s += x.len() as f64 / 8000.0;
            if n > 0 {
                false_digits.push(format!("speech #{i} ({label}): {d}"));
            }
        }
    }
    let m = music(&mut rng, 360);
    let (n, d) = count_digits(&m, |v| v);
    total_s += m.len() as f64 / 8000.0;
    if n > 0 {
        false_digits.push(format!("music: {d}"));
    }
    println!("talk-off: {:.1} min of speech material ({:.1} min distinct speech × clean/20 dB/10 dB noise) + 6 min music: {} false digit(s)", total_s / 60.0 - 6.0, speech_s / 60.0, false_digits.len());
    assert!(
        speech_s >= 30.0 * 60.0,
        "only {:.1} min of distinct speech",
        speech_s / 60.0
    );
    assert!(false_digits.is_empty(), "false digits: {false_digits:?}");
}
