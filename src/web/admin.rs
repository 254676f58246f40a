//! What the admin pages (import, agents, stop list, users, account, settings) share: times and
//! sizes written for people, errors next to their fields, htmx requests told apart, answers
//! that must not be cached.
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use std::collections::BTreeMap;

/// Form errors by field name, in Russian, shown next to their fields.
pub type FieldErrors = BTreeMap<&'static str, String>;

/// Whether the request was made by htmx (it swaps a fragment in; a plain form gets a page).
pub fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

/// `dd.mm.yyyy HH:MM` of a unix-seconds moment in Moscow time (users have no zone of their
/// own in this version, as on the agent desk).
pub fn when_text(unix_s: i64) -> String {
    use chrono::TimeZone;
    chrono_tz::Europe::Moscow
        .timestamp_opt(unix_s, 0)
        .single()
        .map(|t| t.format("%d.%m.%Y %H:%M").to_string())
        .unwrap_or_default()
}

/// As `when_text`, of unix milliseconds, with seconds.
pub fn when_ms_text(ms: i64) -> String {
    use chrono::TimeZone;
    chrono_tz::Europe::Moscow
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%d.%m.%Y %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// `H:MM:SS`.
pub fn duration_text(ms: u64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// A size for people: `640 Б`, `12,5 КБ`, `3,2 МБ`, `2 ГБ`.
pub fn bytes_text(n: u64) -> String {
    const UNITS: [&str; 4] = ["КБ", "МБ", "ГБ", "ТБ"];
    if n < 1024 {
        return format!("{n} Б");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    let text = if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    };
    format!("{} {}", text.replace('.', ","), UNITS[unit])
}

/// A count with spaces between thousands (`1 234 567`).
pub fn count_text(n: impl Into<i128>) -> String {
    let n: i128 = n.into();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    out
}

/// A refused value's kind (`rejected_by_reason`'s keys, `PhoneError::kind`) in words.
pub fn reject_label(kind: &str) -> &'static str {
    match kind {
        "not_a_phone_number" => "не номер телефона",
        "invalid_number" => "неверный номер",
        "kazakhstan" => "номер Казахстана (+7 6xx, 7xx): звоним только на российские",
        "other_country" => "номер другой страны: звоним только на российские",
        "premium_rate" => "платный номер (8-803, 8-809)",
        "empty" => "пустое значение",
        "no_phone_number" => "в строке нет номера",
        "scientific_notation" => {
            "Excel сохранил номер в экспоненциальной записи, цифры потеряны: сделайте колонку \
             текстовой и выгрузите снова"
        }
        "spreadsheet_error" => "ошибка формулы таблицы (#N/A и т. п.), а не номер",
        "bad_priority" => "приоритет не целое число (взят 0)",
        "unreadable_row" => "строку не удалось прочитать",
        _ => "не принято",
    }
}

/// Marks an answer as never to be cached (a page that shows a token once).
pub fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The field an API error names (`details.field`, or the message's first word before `:`).
pub fn field_of(e: &crate::api::error::ApiError) -> Option<String> {
    if let Some(f) = e.details.get("field").and_then(|f| f.as_str()) {
        return Some(f.to_string());
    }
    let head = e.message.split([':', ' ']).next()?;
    (!head.is_empty() && head.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .then(|| head.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_counts_read_as_russian_writes_them() {
        assert_eq!(bytes_text(640), "640 Б");
        assert_eq!(bytes_text(64 << 20), "64 МБ");
        assert_eq!(bytes_text(1536), "1,5 КБ");
        assert_eq!(count_text(1_234_567), "1\u{a0}234\u{a0}567");
        assert_eq!(count_text(12), "12");
        assert_eq!(count_text(-1000), "-1\u{a0}000");
        assert_eq!(duration_text(3_723_000), "1:02:03");
    }

    #[test]
    fn an_api_error_names_its_field() {
        use crate::api::error::ApiError;
        let e = ApiError::invalid("sip_user \"a b\": 1–64 characters");
        assert_eq!(field_of(&e).as_deref(), Some("sip_user"));
        let e = ApiError::invalid("x").with_details(serde_json::json!({"field": "password"}));
        assert_eq!(field_of(&e).as_deref(), Some("password"));
        assert_eq!(field_of(&ApiError::invalid("The thing")), None);
    }
}
