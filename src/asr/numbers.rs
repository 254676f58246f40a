//! Russian number words to digits, for meter readings and other captures.
//!
//! Rule: the text is read as a sequence of numbers; each number is built the usual way
//! (hundreds, tens, units, with тысяча/миллион multipliers) as long as the words keep
//! descending in magnitude; a word that cannot continue the current number starts the next one,
//! and the numbers are written one after another. So "двенадцать тысяч триста сорок пять" →
//! "12345", "двенадцать тридцать четыре" → "1234" (dictation in pairs), "ноль семь три" → "073".
//! Digits already written as digits are kept. Words that are not numbers are skipped.

/// Every number word this module understands (for recogniser grammars).
pub fn number_words() -> &'static [&'static str] {
    NUMBER_WORDS
}

const NUMBER_WORDS: &[&str] = &[
    "ноль",
    "нуль",
    "один",
    "одна",
    "одно",
    "одну",
    "два",
    "две",
    "три",
    "четыре",
    "пять",
    "шесть",
    "семь",
    "восемь",
    "девять",
    "десять",
    "одиннадцать",
    "двенадцать",
    "тринадцать",
    "четырнадцать",
    "пятнадцать",
    "шестнадцать",
    "семнадцать",
    "восемнадцать",
    "девятнадцать",
    "двадцать",
    "тридцать",
    "сорок",
    "пятьдесят",
    "шестьдесят",
    "семьдесят",
    "восемьдесят",
    "девяносто",
    "сто",
    "двести",
    "триста",
    "четыреста",
    "пятьсот",
    "шестьсот",
    "семьсот",
    "восемьсот",
    "девятьсот",
    "тысяча",
    "тысячи",
    "тысяч",
    "тысячу",
    "миллион",
    "миллиона",
    "миллионов",
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    Zero,
    Unit(u64),
    Teen(u64),
    Ten(u64),
    Hundred(u64),
    Mult(u64),
    Digits,
}

fn classify(w: &str) -> Option<Tok> {
    use Tok::*;
    Some(match w {
        "ноль" | "нуль" | "ноля" | "нуля" => Zero,
        "один" | "одна" | "одно" | "одну" | "одного" | "одной" => {
            Unit(1)
        }
        "два" | "две" | "двух" => Unit(2),
        "три" | "трех" => Unit(3),
        "четыре" | "четырех" => Unit(4),
        "пять" | "пяти" => Unit(5),
        "шесть" | "шести" => Unit(6),
        "семь" | "семи" => Unit(7),
        "восемь" | "восьми" => Unit(8),
        "девять" | "девяти" => Unit(9),
        "десять" => Teen(10),
        "одиннадцать" => Teen(11),
        "двенадцать" => Teen(12),
        "тринадцать" => Teen(13),
        "четырнадцать" => Teen(14),
        "пятнадцать" => Teen(15),
        "шестнадцать" => Teen(16),
        "семнадцать" => Teen(17),
        "восемнадцать" => Teen(18),
        "девятнадцать" => Teen(19),
        "двадцать" => Ten(20),
        "тридцать" => Ten(30),
        "сорок" => Ten(40),
        "пятьдесят" => Ten(50),
        "шестьдесят" => Ten(60),
        "семьдесят" => Ten(70),
        "восемьдесят" => Ten(80),
        "девяносто" => Ten(90),
        "сто" => Hundred(100),
        "двести" => Hundred(200),
        "триста" => Hundred(300),
        "четыреста" => Hundred(400),
        "пятьсот" => Hundred(500),
        "шестьсот" => Hundred(600),
        "семьсот" => Hundred(700),
        "восемьсот" => Hundred(800),
        "девятьсот" => Hundred(900),
        "тысяча" | "тысячи" | "тысяч" | "тысячу" => Mult(1_000),
        "миллион" | "миллиона" | "миллионов" => Mult(1_000_000),
        w if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) => Digits,
        _ => return None,
    })
}

/// One number being built.
#[derive(Default)]
struct Acc {
    /// Completed multiplier parts (e.g. 12 000).
    big: u64,
    /// The current group below 1000.
    small: u64,
    /// Smallest multiplier used so far (the next one must be smaller).
    last_mult: Option<u64>,
    /// What the small group already has: 3 = hundreds, 2 = tens, 1 = units/teens.
    filled: u8,
    any: bool,
}

impl Acc {
    fn value(&self) -> u64 {
        self.big + self.small
    }
}

/// "двенадцать тысяч триста сорок пять" → "12345"; "ноль семь три" → "073". None if no number.
pub fn words_to_digits(text: &str) -> Option<String> {
    let norm = super::phrase::normalize(text);
    let mut out = String::new();
    let mut acc = Acc::default();
    let mut found = false;
    let flush = |acc: &mut Acc, out: &mut String| {
        if acc.any {
            out.push_str(&acc.value().to_string());
        }
        *acc = Acc::default();
    };
    for w in norm.split(' ') {
        let Some(tok) = classify(w) else { continue };
        found = true;
        match tok {
            Tok::Zero => {
                flush(&mut acc, &mut out);
                out.push('0');
            }
            Tok::Digits => {
                flush(&mut acc, &mut out);
                out.push_str(w);
            }
            Tok::Unit(v) | Tok::Teen(v) | Tok::Ten(v) | Tok::Hundred(v) => {
                let (rank, blocked) = match tok {
                    Tok::Unit(_) => (1, acc.filled == 1),
                    Tok::Teen(_) => (1, acc.filled == 1 || acc.filled == 2),
                    Tok::Ten(_) => (2, acc.filled == 1 || acc.filled == 2),
                    _ => (3, acc.filled != 0),
                };
                if acc.any && blocked {
                    flush(&mut acc, &mut out);
                }
                acc.small += v;
                acc.filled = rank;
                acc.any = true;
            }
            Tok::Mult(m) => {
                if acc.last_mult.is_some_and(|lm| lm <= m) {
                    // "пять тысяч | две тысячи": the small group starts the next number.
                    out.push_str(&acc.big.to_string());
                    acc = Acc {
                        small: acc.small,
                        ..Acc::default()
                    };
                }
                let k = if acc.small == 0 { 1 } else { acc.small };
                acc.big += k * m;
                acc.small = 0;
                acc.filled = 0;
                acc.last_mult = Some(m);
                acc.any = true;
            }
        }
    }
    flush(&mut acc, &mut out);
    (found && !out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Option<String> {
        words_to_digits(s)
    }

    #[test]
    fn compound_numbers() {
        assert_eq!(
            d("двенадцать тысяч триста сорок пять").as_deref(),
            Some("12345")
        );
        assert_eq!(d("сто двадцать три").as_deref(), Some("123"));
        assert_eq!(d("две тысячи двадцать один").as_deref(), Some("2021"));
        assert_eq!(d("тысяча один").as_deref(), Some("1001"));
        assert_eq!(d("тысячу").as_deref(), Some("1000"));
        assert_eq!(d("двенадцать тысяч пять").as_deref(), Some("12005"));
        assert_eq!(d("один миллион двести тысяч").as_deref(), Some("1200000"));
        assert_eq!(d("сорок").as_deref(), Some("40"));
        assert_eq!(d("пятьсот").as_deref(), Some("500"));
    }

    #[test]
    fn digit_by_digit_keeps_leading_zeros() {
        assert_eq!(d("ноль семь три").as_deref(), Some("073"));
        assert_eq!(d("нуль нуль один").as_deref(), Some("001"));
        assert_eq!(d("один два три").as_deref(), Some("123"));
    }

    #[test]
    fn dictation_in_groups_concatenates() {
        assert_eq!(d("двенадцать тридцать четыре").as_deref(), Some("1234"));
        assert_eq!(
            d("сто двадцать три четыреста пятьдесят шесть").as_deref(),
            Some("123456")
        );
        assert_eq!(d("двадцать двадцать").as_deref(), Some("2020"));
        assert_eq!(d("пять тысяч две тысячи").as_deref(), Some("50002000"));
    }

    #[test]
    fn other_words_and_written_digits() {
        assert_eq!(
            d("показания двенадцать тысяч, пожалуйста").as_deref(),
            Some("12000")
        );
        assert_eq!(d("12 345").as_deref(), Some("12345"));
        assert_eq!(d("Одна тысяча ДВЕСТИ").as_deref(), Some("1200"));
        assert_eq!(d("да, хочу"), None);
        assert_eq!(d(""), None);
    }

    #[test]
    fn every_listed_word_is_understood() {
        for w in number_words() {
            assert!(classify(w).is_some(), "{w}");
        }
    }
}
