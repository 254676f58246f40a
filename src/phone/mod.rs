//! Phone numbers (docs/campaigns.md "Only Russian numbers"): normalisation to E.164 with
//! libphonenumber's metadata (the `phonenumber` crate), Russian numbers only — Kazakhstan's +7
//! 6xx/7xx ranges, other countries, short numbers and garbage are refused with a reason — and, for
//! geographic (ABC) numbers, the callee's time zone. Mobile numbers in their usual shapes take a
//! fast path (an import is mostly those) that answers exactly what the metadata path answers; a
//! test holds the two together over every three-digit code, so a metadata update cannot split them
//! unnoticed. Also owns telling an extension typed after a number (`доб. 123`) from the number.
//!
//! A `+7` number of ten digits is judged by the numbering plan's patterns directly, not by the
//! crate's parser: that parser strips a leading `8` (the national prefix) even after `+7`, so it
//! read `+7 812 …` (St Petersburg), `+7 843 …` (Kazan) and `8-800-…` (toll-free) as nine-digit
//! numbers and refused every 8xx code.
pub mod registry;

use chrono_tz::Tz;
use phonenumber::country::Id;

/// What a number is for, as the import's column headers say ("Телефон сотовый", "Телефон
/// рабочий", "Телефон домашний", "mobile", "work", "home") or, without a hint, as the number
/// itself says: mobile ranges (DEF, `+7 9xx`) are mobile, other numbers `other`. A project may
/// give each type its own calling windows (docs/campaigns.md).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum NumberKind {
    Mobile,
    Work,
    Home,
    Other,
}

impl NumberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NumberKind::Mobile => "mobile",
            NumberKind::Work => "work",
            NumberKind::Home => "home",
            NumberKind::Other => "other",
        }
    }

    /// The Russian label for reports and exports.
    pub fn label_ru(self) -> &'static str {
        match self {
            NumberKind::Mobile => "мобильный",
            NumberKind::Work => "рабочий",
            NumberKind::Home => "домашний",
            NumberKind::Other => "другой",
        }
    }

    /// The type a column header names, if it names one.
    /// The type from its Russian label as exports write it (`мобильный`, `рабочий`,
    /// `домашний`, `другой`).
    pub fn from_label_ru(label: &str) -> Option<Self> {
        match label.to_lowercase().as_str() {
            "мобильный" => Some(NumberKind::Mobile),
            "рабочий" => Some(NumberKind::Work),
            "домашний" => Some(NumberKind::Home),
            "другой" => Some(NumberKind::Other),
            _ => None,
        }
    }

    pub fn of_header(header: &str) -> Option<Self> {
        let h = header.to_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| h.contains(w));
        if has(&["сотов", "мобил", "mobile", "cell"]) {
            Some(NumberKind::Mobile)
        } else if has(&["рабоч", "work", "office", "служеб"]) {
            Some(NumberKind::Work)
        } else if has(&["домаш", "home"]) {
            Some(NumberKind::Home)
        } else {
            None
        }
    }
}

/// The type of a 10-digit national number without a column to say: mobile ranges are mobile.
fn kind_of(national: &str) -> NumberKind {
    if national.starts_with('9') {
        NumberKind::Mobile
    } else {
        NumberKind::Other
    }
}

impl std::str::FromStr for NumberKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim() {
            "mobile" => Ok(NumberKind::Mobile),
            "work" => Ok(NumberKind::Work),
            "home" => Ok(NumberKind::Home),
            "other" => Ok(NumberKind::Other),
            _ => Err(()),
        }
    }
}

/// Why a value is not a dialable Russian number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("empty")]
    Empty,
    #[error("not a phone number")]
    Garbage,
    #[error("not a valid number (wrong length or unassigned range)")]
    Invalid,
    #[error("a Kazakhstan number (+7 6xx/7xx): only Russian numbers are dialed")]
    Kazakhstan,
    #[error("a number of another country ({0}): only Russian numbers are dialed")]
    OtherCountry(String),
    #[error(
        "a premium-rate number (8-803, 8-809): the caller pays extra for every minute and no \
         person answers it, so it is not dialed"
    )]
    PremiumRate,
}

impl PhoneError {
    /// A stable code for the kind of problem (the import report counts problems by it).
    pub fn kind(&self) -> &'static str {
        match self {
            PhoneError::Empty => "empty",
            PhoneError::Garbage => "not_a_phone_number",
            PhoneError::Invalid => "invalid_number",
            PhoneError::Kazakhstan => "kazakhstan",
            PhoneError::OtherCountry(_) => "other_country",
            PhoneError::PremiumRate => "premium_rate",
        }
    }
}

/// A normalised Russian number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuNumber {
    /// E.164: `+7` and the 10-digit national number, e.g. `+79123456789`.
    pub e164: String,
    /// The callee's time zone where the number's region is known (geographic ABC codes).
    pub tz: Option<Tz>,
    /// Mobile (DEF 9xx) or not.
    pub mobile: bool,
    /// What it is for: from the number (mobile or other) unless the import's column says.
    pub kind: NumberKind,
}

/// Normalises what a user typed: `8 (912) 345-67-89`, `+7 912 3456789`, `79123456789`.
///
/// Mobile numbers in the three usual shapes (most of any contact base) take a fast path that
/// gives exactly the answer of the metadata path below: every `+7` followed by `9` and nine more digits is a valid
/// Russian mobile number in libphonenumber's metadata (`9\d{9}`), never a Kazakh one (KZ's
/// leading digit is 7) and never geographic. Everything else goes through libphonenumber.
pub fn normalize_ru(raw: &str) -> Result<RuNumber, PhoneError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(PhoneError::Empty);
    }
    if let Some(n) = mobile_fast_path(s) {
        return Ok(n);
    }
    normalize_with_metadata(s)
}

/// Separators a typed number may contain besides its digits.
const SEPARATORS: &str = " +-().\u{a0}";

/// `+7 9XX…`, `8 9XX…` or `7 9XX…` with ASCII separators: the E.164 mobile number, or `None`
/// to leave the value to the metadata path (which alone decides anything else).
fn mobile_fast_path(s: &str) -> Option<RuNumber> {
    let mut digits = [0u8; 11];
    let mut len = 0;
    for b in s.bytes() {
        match b {
            b'0'..=b'9' => {
                *digits.get_mut(len)? = b;
                len += 1;
            }
            // Only ASCII separators here: a no-break space or junk takes the slow path.
            b' ' | b'+' | b'-' | b'(' | b')' | b'.' => {}
            _ => return None,
        }
    }
    // The same candidate the metadata path builds: an 11-digit 7/8… without a leading '+' is
    // the +7 form; with a leading '+' the digits are the whole international number.
    let prefix_ok = if s.starts_with('+') {
        digits[0] == b'7'
    } else {
        matches!(digits[0], b'7' | b'8')
    };
    if len != 11 || !prefix_ok || digits[1] != b'9' {
        return None;
    }
    let mut e164 = String::with_capacity(12);
    e164.push_str("+7");
    // ASCII digits only (checked above).
    e164.extend(digits[1..].iter().map(|&d| char::from(d)));
    Some(RuNumber {
        e164,
        tz: None,
        mobile: true,
        kind: NumberKind::Mobile,
    })
}

/// The general path: libphonenumber's metadata decides validity and country.
fn normalize_with_metadata(s: &str) -> Result<RuNumber, PhoneError> {
    let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    let junk = s
        .chars()
        .any(|c| !(c.is_ascii_digit() || SEPARATORS.contains(c)));
    if digits.is_empty() || junk {
        return Err(PhoneError::Garbage);
    }
    // An 11-digit number starting with 7 or 8 without '+' is the Russian +7 form.
    let candidate = if !s.starts_with('+') && digits.len() == 11 && digits.starts_with(['7', '8']) {
        format!("+7{}", &digits[1..])
    } else if s.starts_with('+') {
        format!("+{digits}")
    } else {
        digits.clone()
    };
    if let Some(national) = candidate.strip_prefix("+7").filter(|n| n.len() == 10) {
        return russian(national);
    }
    let n = phonenumber::parse(Some(Id::RU), &candidate).map_err(|_| PhoneError::Invalid)?;
    let region = n.country().id();
    if n.code().value() != 7 {
        return Err(PhoneError::OtherCountry(format!(
            "+{}{}",
            n.code().value(),
            region.map(|r| format!(" {r:?}")).unwrap_or_default()
        )));
    }
    if region == Some(Id::KZ) {
        return Err(PhoneError::Kazakhstan);
    }
    if !phonenumber::is_valid(&n) || region != Some(Id::RU) {
        return Err(PhoneError::Invalid);
    }
    let e164 = n.format().mode(phonenumber::Mode::E164).to_string();
    let national = &e164[2..];
    Ok(RuNumber {
        tz: zone_of(national),
        mobile: national.starts_with('9'),
        kind: kind_of(national),
        e164,
    })
}

/// A `+7` number's ten national digits, judged by libphonenumber's patterns for the numbering
/// plan: `7…` is Kazakhstan's (its leading digit there), anything else Russia's, valid when it
/// is of a type a person can be reached at — fixed line, mobile, toll-free (8-800, 8-804: the
/// callee's line is free to call for the caller too, so it is dialed like any other) or a
/// personal number (8-808). Premium-rate numbers (8-803, 8-809) are refused by rule: each
/// minute costs the caller extra and they are information services, never a contact.
fn russian(national: &str) -> Result<RuNumber, PhoneError> {
    if national.starts_with('7') {
        return Err(PhoneError::Kazakhstan);
    }
    let meta = phonenumber::metadata::DATABASE
        .by_id("RU")
        .ok_or(PhoneError::Invalid)?;
    let d = meta.descriptors();
    let matches =
        |t: Option<&phonenumber::metadata::Descriptor>| t.is_some_and(|d| d.is_match(national));
    if matches(d.premium_rate()) {
        return Err(PhoneError::PremiumRate);
    }
    let dialable = [
        d.fixed_line(),
        d.mobile(),
        d.toll_free(),
        d.personal_number(),
        d.shared_cost(),
        d.voip(),
        d.uan(),
    ];
    if !dialable.into_iter().any(matches) {
        return Err(PhoneError::Invalid);
    }
    Ok(RuNumber {
        e164: format!("+7{national}"),
        tz: zone_of(national),
        mobile: national.starts_with('9'),
        kind: kind_of(national),
    })
}

/// Words that put an extension after a number, lower case: `доб. 123`, `ext 123`, `x123`,
/// `#123`. Longer first (`добавочный` before `доб`).
const EXTENSION_MARKERS: &[&str] = &["добавочный", "доб", "вн", "extension", "ext", "x", "#"];

/// Longest extension taken (PBX extensions are a few digits).
const MAX_EXTENSION_DIGITS: usize = 7;

/// Splits an extension off the end of a typed number: `+7 (495) 123-45-68 доб. 123` →
/// (`+7 (495) 123-45-68`, `Some("123")`). The marker (see `EXTENSION_MARKERS`, any case) may
/// be followed by `.`, `:` and spaces, then 1–7 digits end the value; the part before must
/// hold a digit. Anything else comes back whole, with no extension.
pub fn split_extension(raw: &str) -> (&str, Option<&str>) {
    let s = raw.trim();
    let whole = (s, None);
    let head_len = s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let ext = &s[head_len..];
    if ext.is_empty() || ext.len() > MAX_EXTENSION_DIGITS {
        return whole;
    }
    let head = s[..head_len].trim_end_matches([' ', '.', ':', '\u{a0}']);
    for marker in EXTENSION_MARKERS {
        let n = marker.chars().count();
        let Some((at, _)) = head.char_indices().rev().nth(n - 1) else {
            continue;
        };
        if head[at..].to_lowercase() != *marker {
            continue;
        }
        let number = head[..at].trim_end_matches([' ', ',', '\u{a0}']);
        // A letter before the marker means a word (`fax123`), not a marker.
        let before_ok = number.len() < head[..at].len()
            || number
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_digit() || c == ')');
        if before_ok && number.bytes().any(|b| b.is_ascii_digit()) {
            return (number, Some(ext));
        }
        return whole;
    }
    whole
}

/// Geographic (ABC) codes of Russia → IANA zone. Mobile (DEF 9xx) ranges are not tied to a
/// region by their code; their zone comes from the numbering registry when it is loaded.
const ABC_ZONES: &[(&str, &str)] = &[
    // Kaliningrad, UTC+2
    ("401", "Europe/Kaliningrad"),
    // Moscow time, UTC+3
    ("495", "Europe/Moscow"),
    ("499", "Europe/Moscow"),
    ("496", "Europe/Moscow"),
    ("498", "Europe/Moscow"),
    ("812", "Europe/Moscow"),
    ("813", "Europe/Moscow"),
    ("811", "Europe/Moscow"),
    ("814", "Europe/Moscow"),
    ("815", "Europe/Moscow"),
    ("816", "Europe/Moscow"),
    ("817", "Europe/Moscow"),
    ("818", "Europe/Moscow"),
    ("820", "Europe/Moscow"),
    ("821", "Europe/Moscow"),
    ("831", "Europe/Moscow"),
    ("833", "Europe/Moscow"),
    ("834", "Europe/Moscow"),
    ("835", "Europe/Moscow"),
    ("836", "Europe/Moscow"),
    ("841", "Europe/Moscow"),
    ("843", "Europe/Moscow"),
    ("844", "Europe/Volgograd"),
    ("847", "Europe/Moscow"),
    ("855", "Europe/Moscow"),
    ("861", "Europe/Moscow"),
    ("862", "Europe/Moscow"),
    ("863", "Europe/Moscow"),
    ("865", "Europe/Moscow"),
    ("866", "Europe/Moscow"),
    ("867", "Europe/Moscow"),
    ("869", "Europe/Simferopol"),
    ("365", "Europe/Simferopol"),
    ("871", "Europe/Moscow"),
    ("872", "Europe/Moscow"),
    ("873", "Europe/Moscow"),
    ("877", "Europe/Moscow"),
    ("878", "Europe/Moscow"),
    ("879", "Europe/Moscow"),
    ("471", "Europe/Moscow"),
    ("472", "Europe/Moscow"),
    ("473", "Europe/Moscow"),
    ("474", "Europe/Moscow"),
    ("475", "Europe/Moscow"),
    ("481", "Europe/Moscow"),
    ("482", "Europe/Moscow"),
    ("483", "Europe/Moscow"),
    ("484", "Europe/Moscow"),
    ("485", "Europe/Moscow"),
    ("486", "Europe/Moscow"),
    ("487", "Europe/Moscow"),
    ("491", "Europe/Moscow"),
    ("492", "Europe/Moscow"),
    ("493", "Europe/Moscow"),
    ("494", "Europe/Moscow"),
    // UTC+4
    ("842", "Europe/Ulyanovsk"),
    ("845", "Europe/Saratov"),
    ("846", "Europe/Samara"),
    ("848", "Europe/Samara"),
    ("851", "Europe/Astrakhan"),
    ("341", "Europe/Samara"),
    // UTC+5
    ("342", "Asia/Yekaterinburg"),
    ("343", "Asia/Yekaterinburg"),
    ("345", "Asia/Yekaterinburg"),
    ("346", "Asia/Yekaterinburg"),
    ("347", "Asia/Yekaterinburg"),
    ("349", "Asia/Yekaterinburg"),
    ("351", "Asia/Yekaterinburg"),
    ("352", "Asia/Yekaterinburg"),
    ("353", "Asia/Yekaterinburg"),
    // UTC+6
    ("381", "Asia/Omsk"),
    // UTC+7
    ("382", "Asia/Tomsk"),
    ("383", "Asia/Novosibirsk"),
    ("384", "Asia/Novokuznetsk"),
    ("385", "Asia/Barnaul"),
    ("388", "Asia/Barnaul"),
    ("390", "Asia/Krasnoyarsk"),
    ("391", "Asia/Krasnoyarsk"),
    ("394", "Asia/Krasnoyarsk"),
    // UTC+8
    ("301", "Asia/Irkutsk"),
    ("395", "Asia/Irkutsk"),
    // UTC+9
    ("302", "Asia/Chita"),
    ("411", "Asia/Yakutsk"),
    ("416", "Asia/Yakutsk"),
    // UTC+10
    ("421", "Asia/Vladivostok"),
    ("423", "Asia/Vladivostok"),
    ("426", "Asia/Vladivostok"),
    // UTC+11
    ("413", "Asia/Magadan"),
    ("424", "Asia/Sakhalin"),
    // UTC+12
    ("415", "Asia/Kamchatka"),
    ("427", "Asia/Anadyr"),
];

/// The zone of a national number (10 digits after +7) by its ABC code, if geographic.
pub fn zone_of(national: &str) -> Option<Tz> {
    let code = national.get(..3)?;
    ABC_ZONES
        .iter()
        .find(|(c, _)| *c == code)
        .and_then(|(_, z)| z.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_forms_all_become_the_same_e164() {
        for raw in [
            "8 (912) 345-67-89",
            "+7 912 3456789",
            "79123456789",
            "+7(912)345-67-89",
        ] {
            let n = normalize_ru(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(n.e164, "+79123456789", "{raw}");
            assert!(n.mobile && n.tz.is_none());
        }
    }

    #[test]
    fn kazakhstan_other_countries_short_numbers_and_garbage_are_refused() {
        assert_eq!(normalize_ru("+7 701 234 5678"), Err(PhoneError::Kazakhstan));
        assert_eq!(normalize_ru("87172123456"), Err(PhoneError::Kazakhstan));
        assert!(matches!(
            normalize_ru("+375 29 123-45-67"),
            Err(PhoneError::OtherCountry(_))
        ));
        assert_eq!(normalize_ru("112"), Err(PhoneError::Invalid));
        assert_eq!(normalize_ru("+7 912 345"), Err(PhoneError::Invalid));
        assert_eq!(normalize_ru("звоните вечером"), Err(PhoneError::Garbage));
        assert_eq!(normalize_ru("  "), Err(PhoneError::Empty));
    }

    /// What `normalize_ru` answered before the fast path existed.
    fn reference(raw: &str) -> Result<RuNumber, PhoneError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(PhoneError::Empty);
        }
        normalize_with_metadata(s)
    }

    /// Every shape a national number (10 digits, or a wrong length) is typed in.
    fn shapes(n: &str) -> Vec<String> {
        let (a, b) = n.split_at(3.min(n.len()));
        let (b, c) = b.split_at(3.min(b.len()));
        let (c, d) = c.split_at(2.min(c.len()));
        vec![
            format!("+7{n}"),
            format!("8{n}"),
            format!("7{n}"),
            format!("{n}"),
            format!("+8{n}"),
            format!("+{n}"),
            format!("+7 ({a}) {b}-{c}-{d}"),
            format!("8 ({a}) {b}-{c}-{d}"),
            format!(" 7-{a}-{b}-{c}-{d} "),
            format!("7.{a}.{b}.{c}{d}"),
            format!("+7\u{a0}{a}\u{a0}{b}{c}{d}"),
            format!("8+{n}"),
            format!("++7{n}"),
            format!("(8){a}{b}{c}{d}"),
            format!("8 {a} {b} {c} {d} доб. 1"),
            format!("+7{n}#"),
            format!("\t8{n}\t"),
        ]
    }

    #[test]
    fn the_fast_path_answers_exactly_what_the_metadata_path_answers() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let mut inputs = Vec::new();
        // Every three-digit code (mobile 9xx, ABC, 8xx, Kazakh 6xx/7xx, unassigned 0xx–5xx),
        // with random subscriber digits, at the right length and one digit short or long.
        for code in 0..1000 {
            for len in [10, 10, 9, 11] {
                let rest: String = (0..len - 3)
                    .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
                    .collect();
                inputs.extend(shapes(&format!("{code:03}{rest}")));
            }
        }
        let mut fast = 0;
        for raw in &inputs {
            if mobile_fast_path(raw.trim()).is_some() {
                fast += 1;
            }
            assert_eq!(normalize_ru(raw), reference(raw), "{raw:?}");
        }
        // The fast path really ran: the 9xx codes in their usual shapes.
        assert!(fast > 2_000, "{fast} of {}", inputs.len());
        // And no geographic code starts with 9 (the fast path answers no zone).
        assert!(ABC_ZONES.iter().all(|(code, _)| !code.starts_with('9')));
    }

    #[test]
    fn geographic_numbers_carry_their_zone() {
        let n = normalize_ru("8 (423) 222-33-44").unwrap();
        assert_eq!(n.e164, "+74232223344");
        assert_eq!(n.tz, Some(chrono_tz::Asia::Vladivostok));
        let n = normalize_ru("+7 495 123-45-67").unwrap();
        assert_eq!(n.tz, Some(chrono_tz::Europe::Moscow));
        assert!(!n.mobile);
        // Every zone name in the table is a real IANA zone.
        for (code, zone) in ABC_ZONES {
            assert!(zone.parse::<Tz>().is_ok(), "{code} {zone}");
        }
    }

    #[test]
    fn every_8xx_code_is_judged_by_the_numbering_plan() {
        // Toll-free: valid Russian numbers, dialed like any other.
        for raw in [
            "8-800-555-35-35",
            "+7 800 555 35 35",
            "88005553535",
            "8 (804) 333-22-11",
        ] {
            let n = normalize_ru(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert!(n.e164.starts_with("+780"), "{raw}: {n:?}");
            assert!(!n.mobile && n.tz.is_none());
        }
        // Geographic 8xx codes (they were read as nine digits before).
        let n = normalize_ru("8 (812) 123-45-67").unwrap();
        assert_eq!(n.e164, "+78121234567");
        assert_eq!(n.tz, Some(chrono_tz::Europe::Moscow));
        assert_eq!(
            normalize_ru("+7 843 222-33-44").unwrap().e164,
            "+78432223344"
        );
        // Premium rate: refused by rule; unassigned 8xx: invalid.
        assert_eq!(
            normalize_ru("8-809-505-11-22"),
            Err(PhoneError::PremiumRate)
        );
        assert_eq!(
            normalize_ru("8 803 123 45 67"),
            Err(PhoneError::PremiumRate)
        );
        assert_eq!(normalize_ru("8 801 123 45 67"), Err(PhoneError::Invalid));
        // Every ABC code of the zone table is a valid fixed-line code.
        for (code, _) in ABC_ZONES {
            let raw = format!("8{code}2223344");
            assert!(
                normalize_ru(&raw).is_ok(),
                "{raw}: {:?}",
                normalize_ru(&raw)
            );
        }
    }

    #[test]
    fn extensions_are_split_off_the_number() {
        for raw in [
            "+7 (916) 123-45-68 доб. 123",
            "+7 (916) 123-45-68 доб 123",
            "+7 (916) 123-45-68 Доб.123",
            "+7 (916) 123-45-68, добавочный 123",
            "+7 (916) 123-45-68 ext. 123",
            "+7 (916) 123-45-68 EXT 123",
            "+7 (916) 123-45-68 x123",
            "+7 (916) 123-45-68#123",
            "+7 (916) 123-45-68 вн. 123",
        ] {
            let (number, ext) = split_extension(raw);
            assert_eq!(ext, Some("123"), "{raw}");
            assert_eq!(normalize_ru(number).unwrap().e164, "+79161234568", "{raw}");
        }
        for raw in [
            "+7 916 123-45-68",
            "fax123",
            "доб. 123",
            "+7 916 123-45-68 x12345678",
            "+79161234568#",
        ] {
            assert_eq!(split_extension(raw), (raw, None), "{raw}");
        }
    }
}
