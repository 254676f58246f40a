//! Reading numbers back from bundled Russian number prompts (`prompts/numbers/<name>.wav`,
//! made by `scripts/gen-number-prompts.sh`), with correct agreement: одна тысяча / две тысячи /
//! пять тысяч, один миллион / два миллиона / пять миллионов. Values with leading zeros (kind
//! "digits", e.g. an account "073") are read digit by digit.

/// Names of every prompt `number_prompts` can return.
pub fn all_prompt_names() -> Vec<String> {
    let mut v: Vec<String> = (0..=20).map(|n| n.to_string()).collect();
    v.extend((3..=9).map(|t| (t * 10).to_string()));
    v.extend((1..=9).map(|h| (h * 100).to_string()));
    v.extend(
        [
            "1f",
            "2f",
            "тысяча",
            "тысячи",
            "тысяч",
            "миллион",
            "миллиона",
            "миллионов",
        ]
        .map(String::from),
    );
    v
}

/// Prompt names that say `digits` ("12345" → 12 тысяч 300 40 5). Non-digits are ignored.
pub fn number_prompts(digits: &str) -> Vec<String> {
    let d: String = digits.chars().filter(char::is_ascii_digit).collect();
    if d.is_empty() {
        return Vec::new();
    }
    if (d.len() > 1 && d.starts_with('0')) || d.len() > 9 {
        return d.chars().map(|c| c.to_string()).collect();
    }
    let n: u64 = d.parse().unwrap_or(0);
    if n == 0 {
        return vec!["0".into()];
    }
    let mut out = Vec::new();
    let millions = n / 1_000_000;
    let thousands = (n / 1000) % 1000;
    let rest = n % 1000;
    if millions > 0 {
        below_1000(millions, false, &mut out);
        out.push(plural(millions, "миллион", "миллиона", "миллионов").into());
    }
    if thousands > 0 {
        below_1000(thousands, true, &mut out);
        out.push(plural(thousands, "тысяча", "тысячи", "тысяч").into());
    }
    if rest > 0 {
        below_1000(rest, false, &mut out);
    }
    out
}

/// Russian plural form for a count: 1 → one, 2–4 → few, else many (11–14 are "many").
fn plural<'a>(n: u64, one: &'a str, few: &'a str, many: &'a str) -> &'a str {
    let (d1, d2) = (n % 10, n % 100);
    if (11..=14).contains(&d2) {
        many
    } else if d1 == 1 {
        one
    } else if (2..=4).contains(&d1) {
        few
    } else {
        many
    }
}

fn below_1000(n: u64, feminine: bool, out: &mut Vec<String>) {
    let (h, r) = (n / 100, n % 100);
    if h > 0 {
        out.push((h * 100).to_string());
    }
    let unit = if r <= 20 {
        r
    } else {
        out.push((r / 10 * 10).to_string());
        r % 10
    };
    match unit {
        0 => {}
        1 if feminine => out.push("1f".into()),
        2 if feminine => out.push("2f".into()),
        u => out.push(u.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(d: &str) -> String {
        number_prompts(d).join(" ")
    }

    #[test]
    fn agreement_and_composition() {
        assert_eq!(say("0"), "0");
        assert_eq!(say("1"), "1");
        assert_eq!(say("2"), "2");
        assert_eq!(say("11"), "11");
        assert_eq!(say("21"), "20 1");
        assert_eq!(say("22"), "20 2");
        assert_eq!(say("100"), "100");
        assert_eq!(say("101"), "100 1");
        assert_eq!(say("1000"), "1f тысяча");
        assert_eq!(say("1001"), "1f тысяча 1");
        assert_eq!(say("2000"), "2f тысячи");
        assert_eq!(say("2021"), "2f тысячи 20 1");
        assert_eq!(say("5000"), "5 тысяч");
        assert_eq!(say("12345"), "12 тысяч 300 40 5");
        assert_eq!(say("21000"), "20 1f тысяча");
        assert_eq!(say("14000"), "14 тысяч");
        assert_eq!(say("1000000"), "1 миллион");
        assert_eq!(say("12345678"), "12 миллионов 300 40 5 тысяч 600 70 8");
        assert_eq!(say("3000000"), "3 миллиона");
    }

    #[test]
    fn leading_zeros_are_read_digit_by_digit() {
        assert_eq!(say("073"), "0 7 3");
    }

    #[test]
    fn every_name_has_a_bundled_prompt() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts/numbers");
        for n in all_prompt_names() {
            assert!(
                dir.join(format!("{n}.wav")).is_file(),
                "prompts/numbers/{n}.wav is missing"
            );
        }
        for d in ["12345678", "2021", "073", "999999"] {
            for n in number_prompts(d) {
                assert!(all_prompt_names().contains(&n), "{n}");
            }
        }
    }
}
