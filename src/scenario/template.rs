//! SMS templates (docs/scenarios.md, "SMS"): `{name}`, `{phone}`, any contact field
//! (`{Лицевой счет}`) and any captured value (`{cold_water}`) are filled in when the call ends;
//! `{{` and `}}` are literal braces. Pure: parsing (the variables a template uses, for
//! validation), rendering (with the call's values), and the segment count SMSC bills by —
//! GSM-7 texts 160 characters in one part, 153 per part when split (the extension characters
//! `{ } [ ] ~ ^ | \ €` count double); anything else (any Cyrillic) is UCS-2: 70, then 67 per
//! part.
use std::collections::BTreeMap;

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("a `{{` at character {0} is not closed: write `{{{{` for a literal brace")]
    Unclosed(usize),
    #[error("a `}}` at character {0} has no `{{`: write `}}}}` for a literal brace")]
    Unopened(usize),
    #[error("an empty variable `{{}}` at character {0}")]
    Empty(usize),
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Var(String),
}

/// Splits a template into text and variables.
pub fn parse(template: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut out = Vec::new();
    let mut text = String::new();
    let chars: Vec<char> = template.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' if chars.get(i + 1) == Some(&'{') => {
                text.push('{');
                i += 2;
            }
            '}' if chars.get(i + 1) == Some(&'}') => {
                text.push('}');
                i += 2;
            }
            '{' => {
                let start = i;
                let Some(len) = chars[i + 1..].iter().position(|&c| c == '}') else {
                    return Err(TemplateError::Unclosed(start + 1));
                };
                let name: String = chars[i + 1..i + 1 + len].iter().collect();
                let name = name.trim().to_string();
                if name.is_empty() {
                    return Err(TemplateError::Empty(start + 1));
                }
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                out.push(Piece::Var(name));
                i += len + 2;
            }
            '}' => return Err(TemplateError::Unopened(i + 1)),
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

/// The variables a template uses, in order, once each.
pub fn variables(template: &str) -> Result<Vec<String>, TemplateError> {
    let mut seen = Vec::new();
    for p in parse(template)? {
        if let Piece::Var(v) = p {
            if !seen.contains(&v) {
                seen.push(v);
            }
        }
    }
    Ok(seen)
}

/// Fills a template in. A variable without a value (a contact without that field) becomes
/// empty; validation makes sure every variable is one that can have a value.
pub fn render(template: &str, values: &BTreeMap<String, String>) -> Result<String, TemplateError> {
    let mut out = String::new();
    for p in parse(template)? {
        match p {
            Piece::Text(t) => out.push_str(&t),
            Piece::Var(v) => out.push_str(values.get(&v).map(String::as_str).unwrap_or("")),
        }
    }
    Ok(out)
}

/// GSM 03.38's basic character set (what a GSM-7 part carries at one septet each).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// Its extension table: each costs two septets.
const GSM7_EXTENDED: &str = "^{}\\[~]|€\u{c}";

/// How a text is encoded and into how many billed parts it splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    /// `true`: GSM-7; `false`: UCS-2.
    pub gsm7: bool,
    /// Characters as the network counts them (septets for GSM-7, UTF-16 units for UCS-2).
    pub units: usize,
    pub parts: usize,
}

/// Counts a text's parts as SMSC bills them.
pub fn segments(text: &str) -> Segments {
    let mut units = 0;
    let mut gsm7 = true;
    for c in text.chars() {
        if GSM7_BASIC.contains(c) {
            units += 1;
        } else if GSM7_EXTENDED.contains(c) {
            units += 2;
        } else {
            gsm7 = false;
            break;
        }
    }
    if !gsm7 {
        units = text.encode_utf16().count();
    }
    let (single, each) = if gsm7 { (160, 153) } else { (70, 67) };
    let parts = match units {
        0 => 1,
        n if n <= single => 1,
        n => n.div_ceil(each),
    };
    Segments { gsm7, units, parts }
}

/// Above this many parts validation warns (a long SMS costs that many messages).
pub const WARN_ABOVE_PARTS: usize = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_found_once_each_and_braces_can_be_literal() {
        assert_eq!(
            variables("Здравствуйте, {name}! Показания {cold_water} приняты, {name}.").unwrap(),
            ["name", "cold_water"]
        );
        assert_eq!(
            variables("{{не переменная}}").unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(variables("{ Лицевой счет }").unwrap(), ["Лицевой счет"]);
        assert_eq!(parse("Код {a"), Err(TemplateError::Unclosed(5)));
        assert_eq!(parse("Код }"), Err(TemplateError::Unopened(5)));
        assert_eq!(parse("Код {}"), Err(TemplateError::Empty(5)));
    }

    #[test]
    fn rendering_fills_values_and_leaves_missing_ones_empty() {
        let mut v = BTreeMap::new();
        v.insert("name".to_string(), "Анна".to_string());
        assert_eq!(
            render("{name}, скидка {{10%}} {nope}!", &v).unwrap(),
            "Анна, скидка {10%} !"
        );
    }

    #[test]
    fn parts_are_counted_as_gsm7_or_ucs2() {
        assert_eq!(segments("").parts, 1);
        let latin = "a".repeat(160);
        assert_eq!(
            segments(&latin),
            Segments {
                gsm7: true,
                units: 160,
                parts: 1
            }
        );
        assert_eq!(segments(&"a".repeat(161)).parts, 2);
        assert_eq!(segments(&"a".repeat(306)).parts, 2);
        assert_eq!(segments(&"a".repeat(307)).parts, 3);
        // Extension characters count double.
        assert_eq!(segments(&"{".repeat(80)).units, 160);
        assert_eq!(segments(&"{".repeat(81)).parts, 2);
        // Any Cyrillic makes it UCS-2.
        let ru = "я".repeat(70);
        assert_eq!(
            segments(&ru),
            Segments {
                gsm7: false,
                units: 70,
                parts: 1
            }
        );
        assert_eq!(segments(&"я".repeat(71)).parts, 2);
        assert_eq!(segments(&"я".repeat(134)).parts, 2);
        assert_eq!(segments(&"я".repeat(135)).parts, 3);
    }
}
