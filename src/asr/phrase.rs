//! Phrase matching tolerant of case, ё/е and word endings. (interface fixed by the skeleton)

/// Lower-case, ё→е, punctuation stripped, single spaces.
pub fn normalize(text: &str) -> String {
    text.to_lowercase().replace('ё', "е")
}

/// Whether recognised `text` contains `phrase` (tolerant of word forms).
pub fn matches(phrase: &str, text: &str) -> bool {
    normalize(text).contains(&normalize(phrase))
}
