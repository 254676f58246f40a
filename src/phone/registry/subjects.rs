//! Russia's 89 federal subjects and their IANA zones, and the tolerant matching of the region
//! spellings the numbering-plan registry uses ("Свердловская обл.", "Республика Саха /Якутия/",
//! "г. Москва и Московская область"). Pure data and string work: must never read files, and
//! never guess a subject for a name it does not recognise.
use chrono_tz::{Asia, Europe, Tz};
use std::cmp::Reverse;

/// A word of a normalised region name that identifies a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    /// The word starts with this stem (covers "-ая/-ой", "обл." and declension).
    P(&'static str),
    /// The word is exactly this (short names that are prefixes of others: Алтай, Саха, Коми).
    E(&'static str),
}
use Key::{E, P};

impl Key {
    fn matches(self, word: &str) -> Option<usize> {
        match self {
            P(k) if word.starts_with(k) => Some(k.len()),
            E(k) if word == k => Some(k.len()),
            _ => None,
        }
    }
}

/// A federal subject of Russia and the zone its numbers are dialed in.
#[derive(Debug, PartialEq, Eq)]
pub struct Subject {
    /// The official name (Constitution art. 65 as amended).
    pub name: &'static str,
    pub zone: Tz,
    keys: &'static [Key],
}

const fn s(name: &'static str, zone: Tz, keys: &'static [Key]) -> Subject {
    Subject { name, zone, keys }
}

/// All 89 subjects. Where a subject spans zones, the capital's zone is used (Yakutia: Yakutsk,
/// though its eastern uluses are UTC+10/+11; Sakhalin: its Kuril districts share UTC+11).
/// The four regions annexed in 2022 keep Moscow time; the tz database has no zone of their own.
#[rustfmt::skip]
static SUBJECTS: [Subject; 89] = [
    // Republics
    s("Республика Адыгея", Europe::Moscow, &[P("адыге")]),
    s("Республика Алтай", Asia::Barnaul, &[E("алтай")]),
    s("Республика Башкортостан", Asia::Yekaterinburg, &[P("башкорт"), P("башкир")]),
    s("Республика Бурятия", Asia::Irkutsk, &[P("бурят")]),
    s("Республика Дагестан", Europe::Moscow, &[P("дагестан")]),
    s("Донецкая Народная Республика", Europe::Moscow, &[P("донецк"), E("днр")]),
    s("Республика Ингушетия", Europe::Moscow, &[P("ингуш")]),
    s("Кабардино-Балкарская Республика", Europe::Moscow, &[P("кабардин"), P("балкар"), E("кбр")]),
    s("Республика Калмыкия", Europe::Moscow, &[P("калмык")]),
    s("Карачаево-Черкесская Республика", Europe::Moscow, &[P("карачаев"), P("черкес"), E("кчр")]),
    s("Республика Карелия", Europe::Moscow, &[P("карел")]),
    s("Республика Коми", Europe::Moscow, &[E("коми")]),
    s("Республика Крым", Europe::Simferopol, &[P("крым")]),
    s("Луганская Народная Республика", Europe::Moscow, &[P("луганск"), E("лнр")]),
    s("Республика Марий Эл", Europe::Moscow, &[P("марий")]),
    s("Республика Мордовия", Europe::Moscow, &[P("мордов")]),
    s("Республика Саха (Якутия)", Asia::Yakutsk, &[E("саха"), P("якут")]),
    s("Республика Северная Осетия — Алания", Europe::Moscow, &[P("осети"), P("алани")]),
    s("Республика Татарстан", Europe::Moscow, &[P("татарстан"), E("татария")]),
    s("Республика Тыва", Asia::Krasnoyarsk, &[E("тыва"), E("тува"), P("тувинск")]),
    s("Удмуртская Республика", Europe::Samara, &[P("удмурт")]),
    s("Республика Хакасия", Asia::Krasnoyarsk, &[P("хакас")]),
    s("Чеченская Республика", Europe::Moscow, &[P("чечен"), P("чечн")]),
    s("Чувашская Республика — Чувашия", Europe::Moscow, &[P("чуваш")]),
    // Krais
    s("Алтайский край", Asia::Barnaul, &[P("алтайск")]),
    s("Забайкальский край", Asia::Chita, &[P("забайкал"), P("читинск")]),
    s("Камчатский край", Asia::Kamchatka, &[P("камчат")]),
    s("Краснодарский край", Europe::Moscow, &[P("краснодар"), P("кубан")]),
    s("Красноярский край", Asia::Krasnoyarsk, &[P("красноярск")]),
    s("Пермский край", Asia::Yekaterinburg, &[P("пермск"), E("пермь")]),
    s("Приморский край", Asia::Vladivostok, &[P("приморск"), E("приморье")]),
    s("Ставропольский край", Europe::Moscow, &[P("ставрополь")]),
    s("Хабаровский край", Asia::Vladivostok, &[P("хабаровск")]),
    // Oblasts
    s("Амурская область", Asia::Yakutsk, &[P("амурск")]),
    s("Архангельская область", Europe::Moscow, &[P("архангельск")]),
    s("Астраханская область", Europe::Astrakhan, &[P("астрахан")]),
    s("Белгородская область", Europe::Moscow, &[P("белгород")]),
    s("Брянская область", Europe::Moscow, &[P("брянск")]),
    s("Владимирская область", Europe::Moscow, &[P("владимирск")]),
    s("Волгоградская область", Europe::Volgograd, &[P("волгоград")]),
    s("Вологодская область", Europe::Moscow, &[P("вологод")]),
    s("Воронежская область", Europe::Moscow, &[P("воронеж")]),
    s("Запорожская область", Europe::Moscow, &[P("запорож")]),
    s("Ивановская область", Europe::Moscow, &[P("ивановск")]),
    s("Иркутская область", Asia::Irkutsk, &[P("иркутск")]),
    s("Калининградская область", Europe::Kaliningrad, &[P("калининград")]),
    s("Калужская область", Europe::Moscow, &[P("калуж")]),
    s("Кемеровская область — Кузбасс", Asia::Novokuznetsk, &[P("кемеров"), P("кузбас")]),
    // Europe/Kirov is Moscow time today; it is the tz database's zone for the oblast.
    s("Кировская область", Europe::Kirov, &[P("кировск")]),
    s("Костромская область", Europe::Moscow, &[P("костром")]),
    s("Курганская область", Asia::Yekaterinburg, &[P("курган")]),
    s("Курская область", Europe::Moscow, &[P("курск")]),
    s("Ленинградская область", Europe::Moscow, &[P("ленинградск")]),
    s("Липецкая область", Europe::Moscow, &[P("липецк")]),
    s("Магаданская область", Asia::Magadan, &[P("магадан")]),
    s("Московская область", Europe::Moscow, &[P("московск")]),
    s("Мурманская область", Europe::Moscow, &[P("мурманск")]),
    s("Нижегородская область", Europe::Moscow, &[P("нижегород")]),
    s("Новгородская область", Europe::Moscow, &[P("новгородск")]),
    s("Новосибирская область", Asia::Novosibirsk, &[P("новосибирск")]),
    s("Омская область", Asia::Omsk, &[P("омск")]),
    s("Оренбургская область", Asia::Yekaterinburg, &[P("оренбург")]),
    s("Орловская область", Europe::Moscow, &[P("орловск")]),
    s("Пензенская область", Europe::Moscow, &[P("пенз")]),
    s("Псковская область", Europe::Moscow, &[P("псков")]),
    s("Ростовская область", Europe::Moscow, &[P("ростовск")]),
    s("Рязанская область", Europe::Moscow, &[P("рязан")]),
    s("Самарская область", Europe::Samara, &[P("самар")]),
    s("Саратовская область", Europe::Saratov, &[P("саратов")]),
    s("Сахалинская область", Asia::Sakhalin, &[P("сахалин")]),
    s("Свердловская область", Asia::Yekaterinburg, &[P("свердлов")]),
    s("Смоленская область", Europe::Moscow, &[P("смоленск")]),
    s("Тамбовская область", Europe::Moscow, &[P("тамбов")]),
    s("Тверская область", Europe::Moscow, &[P("тверск")]),
    s("Томская область", Asia::Tomsk, &[P("томск")]),
    s("Тульская область", Europe::Moscow, &[P("тульск")]),
    s("Тюменская область", Asia::Yekaterinburg, &[P("тюмен")]),
    s("Ульяновская область", Europe::Ulyanovsk, &[P("ульяновск")]),
    s("Херсонская область", Europe::Moscow, &[P("херсон")]),
    s("Челябинская область", Asia::Yekaterinburg, &[P("челябинск")]),
    s("Ярославская область", Europe::Moscow, &[P("ярослав")]),
    // Federal cities
    s("Москва", Europe::Moscow, &[P("москв")]),
    s("Санкт-Петербург", Europe::Moscow, &[P("петербург"), E("спб")]),
    s("Севастополь", Europe::Simferopol, &[P("севастопол")]),
    // The autonomous oblast and okrugs
    s("Еврейская автономная область", Asia::Vladivostok, &[P("еврейск"), E("еао")]),
    s("Ненецкий автономный округ", Europe::Moscow, &[P("ненецк"), E("нао")]),
    s("Ханты-Мансийский автономный округ — Югра", Asia::Yekaterinburg, &[P("ханты"), P("мансийск"), P("югр"), E("хмао")]),
    // Asia/Anadyr, the tz database's zone for Chukotka (UTC+12, the same as Kamchatka), as in
    // `phone::ABC_ZONES` for code 427.
    s("Чукотский автономный округ", Asia::Anadyr, &[P("чукот")]),
    s("Ямало-Ненецкий автономный округ", Asia::Yekaterinburg, &[P("ямал"), E("янао")]),
];

// Ranges store a subject as a `u8` index.
const _: () = assert!(SUBJECTS.len() <= u8::MAX as usize);

/// All federal subjects, in the Constitution's order.
pub fn subjects() -> &'static [Subject] {
    &SUBJECTS
}

/// The subject a registry region names: "Свердловская обл.", "Республика Саха /Якутия/",
/// "г. Москва и Московская область" (→ Москва). Of a `|`-separated list the first part that
/// names a subject decides (the regulator writes the subject first, finer territories after),
/// and within a part the first word that names one (so "Мурманская обл., г. Кировск" is
/// Murmansk).
pub fn subject_of_region(name: &str) -> Option<&'static Subject> {
    locate(name).and_then(|i| SUBJECTS.get(usize::from(i)))
}

/// The zone of a registry region name; see `subject_of_region`.
pub fn zone_of_region(name: &str) -> Option<Tz> {
    subject_of_region(name).map(|s| s.zone)
}

pub(super) fn locate(name: &str) -> Option<u8> {
    name.split('|').find_map(subject_in)
}

/// The first word of `part` that names a subject; the longest key wins on one word.
fn subject_in(part: &str) -> Option<u8> {
    for word in part.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let word = normalise_word(word);
        let best = SUBJECTS
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.keys
                    .iter()
                    .filter_map(|k| k.matches(&word))
                    .max()
                    .map(|l| (l, i))
            })
            .max_by_key(|&(l, i)| (l, Reverse(i)));
        if let Some((_, i)) = best {
            return u8::try_from(i).ok();
        }
    }
    None
}

/// Lower case, ё → е, and Latin look-alikes → Cyrillic in a word that has any Cyrillic (a
/// typed "Kрасноярский" with a Latin K).
fn normalise_word(word: &str) -> String {
    let cyrillic = word
        .chars()
        .any(|c| matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё'));
    word.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'ё' => 'е',
            c if cyrillic => lookalike(c),
            c => c,
        })
        .collect()
}

/// The Cyrillic letter a lower-case Latin one stands for (after lower-casing: B → b → в).
pub(super) fn lookalike(c: char) -> char {
    match c {
        'a' => 'а',
        'b' => 'в',
        'c' => 'с',
        'e' => 'е',
        'h' => 'н',
        'k' => 'к',
        'm' => 'м',
        'o' => 'о',
        'p' => 'р',
        't' => 'т',
        'x' => 'х',
        'y' => 'у',
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subject_name_in_the_table_maps_to_itself() {
        assert_eq!(subjects().len(), 89);
        for (i, s) in subjects().iter().enumerate() {
            assert_eq!(subject_of_region(s.name), Some(s), "{}", s.name);
            assert_eq!(zone_of_region(s.name), Some(s.zone));
            assert!(
                subjects()[..i].iter().all(|o| o.name != s.name),
                "{} twice",
                s.name
            );
            for spelling in [s.name.to_uppercase(), s.name.replace(" область", " обл.")] {
                assert_eq!(subject_of_region(&spelling), Some(s), "{spelling}");
            }
        }
    }

    #[test]
    fn registry_spellings_map_to_their_subject() {
        let cases = [
            ("Свердловская обл.", "Свердловская область"),
            ("Респ. Татарстан", "Республика Татарстан"),
            ("Республика Татарстан (Татарстан)", "Республика Татарстан"),
            ("Республика Саха /Якутия/", "Республика Саха (Якутия)"),
            ("Якутия", "Республика Саха (Якутия)"),
            ("Сахалинская обл.", "Сахалинская область"),
            ("г. Москва и Московская область", "Москва"),
            ("Московская обл.", "Московская область"),
            (
                "г. Санкт-Петербург и Ленинградская область|Ленинградская обл.",
                "Санкт-Петербург",
            ),
            ("Ленинградская обл.|Кировский р-н", "Ленинградская область"),
            ("Мурманская обл., г. Кировск", "Мурманская область"),
            (
                "Ханты-Мансийский автономный округ - Югра",
                "Ханты-Мансийский автономный округ — Югра",
            ),
            (
                "Ханты - Мансийский Автономный округ - Югра АО",
                "Ханты-Мансийский автономный округ — Югра",
            ),
            ("ХМАО", "Ханты-Мансийский автономный округ — Югра"),
            ("Ямало-Ненецкий АО", "Ямало-Ненецкий автономный округ"),
            ("Ненецкий АО", "Ненецкий автономный округ"),
            (
                "Кемеровская область - Кузбасс",
                "Кемеровская область — Кузбасс",
            ),
            ("Кемеровская обл.", "Кемеровская область — Кузбасс"),
            (
                "Чувашская Республика - Чувашия",
                "Чувашская Республика — Чувашия",
            ),
            ("Чувашская Респ.", "Чувашская Республика — Чувашия"),
            (
                "Республика Северная Осетия-Алания",
                "Республика Северная Осетия — Алания",
            ),
            ("Алтайский край", "Алтайский край"),
            ("Респ. Алтай", "Республика Алтай"),
            ("Нижегородская обл.", "Нижегородская область"),
            ("Новгородская обл.", "Новгородская область"),
            ("Курская обл.", "Курская область"),
            ("Курганская обл.", "Курганская область"),
            ("Омская обл.", "Омская область"),
            ("Томская обл.", "Томская область"),
            ("Орловская обл.", "Орловская область"),
            ("Республика Тыва", "Республика Тыва"),
            ("Респ. Коми", "Республика Коми"),
            ("Kрасноярский край", "Красноярский край"),
            ("г.Севастополь", "Севастополь"),
            ("Еврейская автономная обл.", "Еврейская автономная область"),
            ("Чукотский АО", "Чукотский автономный округ"),
            (
                "Кабардино-Балкарская Респ.",
                "Кабардино-Балкарская Республика",
            ),
            (
                "Карачаево-Черкесская Респ.",
                "Карачаево-Черкесская Республика",
            ),
            ("Донецкая Народная Респ.", "Донецкая Народная Республика"),
        ];
        for (raw, name) in cases {
            assert_eq!(subject_of_region(raw).map(|s| s.name), Some(name), "{raw}");
        }
        for raw in [
            "",
            "Нарния",
            "Республика Казахстан",
            "Минская обл.",
            "обл.",
            "г.",
        ] {
            assert_eq!(subject_of_region(raw), None, "{raw}");
        }
    }

    #[test]
    fn zones_of_the_subjects_off_moscow_time() {
        let cases = [
            ("Республика Крым", "Europe/Simferopol"),
            ("г. Севастополь", "Europe/Simferopol"),
            ("Калининградская обл.", "Europe/Kaliningrad"),
            ("Самарская обл.", "Europe/Samara"),
            ("Удмуртская Республика", "Europe/Samara"),
            ("Ульяновская обл.", "Europe/Ulyanovsk"),
            ("Астраханская обл.", "Europe/Astrakhan"),
            ("Саратовская обл.", "Europe/Saratov"),
            ("Волгоградская обл.", "Europe/Volgograd"),
            ("Республика Башкортостан", "Asia/Yekaterinburg"),
            ("Пермский край", "Asia/Yekaterinburg"),
            ("Омская обл.", "Asia/Omsk"),
            ("Новосибирская обл.", "Asia/Novosibirsk"),
            ("Томская обл.", "Asia/Tomsk"),
            ("Алтайский край", "Asia/Barnaul"),
            ("Красноярский край", "Asia/Krasnoyarsk"),
            ("Иркутская обл.", "Asia/Irkutsk"),
            ("Республика Бурятия", "Asia/Irkutsk"),
            ("Забайкальский край", "Asia/Chita"),
            ("Амурская обл.", "Asia/Yakutsk"),
            ("Республика Саха (Якутия)", "Asia/Yakutsk"),
            ("Приморский край", "Asia/Vladivostok"),
            ("Хабаровский край", "Asia/Vladivostok"),
            ("Магаданская обл.", "Asia/Magadan"),
            ("Сахалинская обл.", "Asia/Sakhalin"),
            ("Камчатский край", "Asia/Kamchatka"),
            ("Чукотский автономный округ", "Asia/Anadyr"),
        ];
        for (raw, z) in cases {
            assert_eq!(zone_of_region(raw).map(Tz::name), Some(z), "{raw}");
        }
    }
}
