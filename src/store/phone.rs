//! Phone numbers (spec §2 "Only Russian numbers"): normalisation to E.164 with libphonenumber's
//! metadata (the `phonenumber` crate), Russian numbers only — Kazakhstan's +7 6xx/7xx ranges,
//! other countries, short numbers and garbage are refused with a reason — and, for geographic
//! (ABC) numbers, the callee's time zone.
use chrono_tz::Tz;
use phonenumber::country::Id;

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
}

/// Normalises what a user typed: `8 (912) 345-67-89`, `+7 912 3456789`, `79123456789`.
pub fn normalize_ru(raw: &str) -> Result<RuNumber, PhoneError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(PhoneError::Empty);
    }
    let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    let junk = s
        .chars()
        .any(|c| !(c.is_ascii_digit() || " +-().\u{a0}".contains(c)));
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
        e164,
    })
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
}
