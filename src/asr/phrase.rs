//! Phrase matching tolerant of case, ё/е, punctuation and Russian word endings.
//! A phrase matches when its words appear contiguously, in order, in the recognised text, each
//! word equal to the text's word or sharing its stem (a light suffix-stripping stemmer). "не"
//! is glued to the next word on both sides, so "интересно" never matches "не интересно" and
//! "не интересно" matches "неинтересно".

/// Endings stripped by the stemmer, longest first within each length.
const SUFFIXES: &[&str] = &[
    "ями", "ами", "ого", "его", "ому", "ему", "ыми", "ими", "ешь", "ишь", "ете", "ите", "ует",
    "уют", "ают", "яют", "ить", "ать", "ять", "еть", "уть", "ов", "ев", "ей", "ой", "ый", "ий",
    "ая", "яя", "ое", "ее", "ые", "ие", "ую", "юю", "ом", "ем", "ам", "ям", "ах", "ях", "ет", "ит",
    "ут", "ют", "ат", "ят", "ла", "ло", "ли", "ю", "у", "а", "я", "о", "е", "ы", "и", "ь", "й",
];
/// A stem shorter than this is not trusted (too many words would share it).
const MIN_STEM_CHARS: usize = 3;

/// Lower-case, ё→е, punctuation stripped, single spaces.
pub fn normalize(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| match c {
            'ё' | 'Ё' => 'е',
            c if c.is_alphanumeric() => c,
            '-' => ' ',
            _ => ' ',
        })
        .flat_map(char::to_lowercase)
        .collect();
    mapped.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Words of a normalised text with "не" glued to the following word.
fn words(text: &str) -> Vec<String> {
    let n = normalize(text);
    let mut out: Vec<String> = Vec::new();
    let mut pending_ne = false;
    for w in n.split(' ').filter(|w| !w.is_empty()) {
        if w == "не" {
            pending_ne = true;
            continue;
        }
        if pending_ne {
            out.push(format!("не{w}"));
            pending_ne = false;
        } else {
            out.push(w.to_string());
        }
    }
    if pending_ne {
        out.push("не".into());
    }
    out
}

/// The word without its inflectional ending (reflexive -ся/-сь first).
pub fn stem(word: &str) -> String {
    let mut w: Vec<char> = word.chars().collect();
    for refl in ["ся", "сь"] {
        let r: Vec<char> = refl.chars().collect();
        if w.len() > r.len() + MIN_STEM_CHARS && w.ends_with(&r) {
            w.truncate(w.len() - r.len());
            break;
        }
    }
    for suf in SUFFIXES {
        let s: Vec<char> = suf.chars().collect();
        if w.len() >= s.len() + MIN_STEM_CHARS && w.ends_with(&s) {
            w.truncate(w.len() - s.len());
            break;
        }
    }
    w.into_iter().collect()
}

fn word_matches(p: &str, t: &str) -> bool {
    if p == t {
        return true;
    }
    let (sp, st) = (stem(p), stem(t));
    sp.chars().count() >= MIN_STEM_CHARS && sp == st
}

/// Whether recognised `text` contains `phrase` (tolerant of word forms).
pub fn matches(phrase: &str, text: &str) -> bool {
    let p = words(phrase);
    let t = words(text);
    if p.is_empty() || p.len() > t.len() {
        return false;
    }
    t.windows(p.len())
        .any(|win| win.iter().zip(&p).all(|(tw, pw)| word_matches(pw, tw)))
}

/// The index of the best matching phrase: the longest one that matches.
pub fn best_match(phrases: &[&str], text: &str) -> Option<usize> {
    phrases
        .iter()
        .enumerate()
        .filter(|(_, p)| matches(p, text))
        .max_by_key(|(_, p)| words(p).len() * 1000 + p.chars().count())
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_yo_and_punctuation_do_not_matter() {
        assert!(matches("да", "Да!"));
        assert!(matches("ещё раз", "ЕЩЕ, раз"));
        assert_eq!(normalize("  Всё — хорошо?! "), "все хорошо");
    }

    #[test]
    fn word_endings_are_tolerated() {
        assert!(matches("запишите", "запишу"));
        assert!(matches("хочу", "да хочется"));
        assert!(matches("перезвоните", "перезвонить позже"));
        assert!(matches("не звоните", "больше не звонить"));
    }

    #[test]
    fn negation_is_respected() {
        assert!(!matches("интересно", "не интересно"));
        assert!(matches("не интересно", "мне не интересно"));
        assert!(matches("не интересно", "неинтересно"));
        assert!(!matches("да", "нет"));
        assert_eq!(
            best_match(&["интересно", "не интересно"], "нет не интересно"),
            Some(1)
        );
    }

    #[test]
    fn words_must_be_contiguous_and_in_order() {
        assert!(matches(
            "оставьте сообщение",
            "пожалуйста оставьте сообщение после сигнала"
        ));
        assert!(!matches("оставьте сообщение", "сообщение оставьте"));
        assert!(!matches("да", ""));
        assert!(!matches("", "да"));
    }

    #[test]
    fn short_words_need_exact_match() {
        assert!(!matches("да", "дай"));
        assert!(!matches("нет", "ответ"));
    }
}
