//! The wrap-up an agent writes after a transferred call (docs/agents.md, "Wrap-up"): a
//! disposition from the project's list, a note, and maybe a call back at a time to come, read
//! in the project's time zone. This file checks what was sent and names each problem with its
//! field, in Russian for the agent desk and in English for the API. Pure: the time is passed in.
use chrono::TimeZone;

/// The longest note, characters.
pub const MAX_NOTE_CHARS: usize = 2000;
/// A call back is asked for at most this far ahead (seconds).
pub const MAX_CALLBACK_AHEAD_S: i64 = 366 * 86_400;
/// A call back "now" typed a little late is still taken (the form has minutes only).
const PAST_SLACK_S: i64 = 120;

/// What was sent.
#[derive(Debug, Clone, Default)]
pub struct WrapUpForm<'a> {
    pub disposition: &'a str,
    pub note: &'a str,
    /// Empty: no call back. RFC 3339 (`2026-12-01T10:00:00+03:00`), or a local date-time in
    /// the project's zone (`2026-12-01 10:00`, `2026-12-01T10:00` as a browser sends it).
    pub callback_at: &'a str,
}

/// What the project allows.
#[derive(Debug, Clone, Copy)]
pub struct WrapUpRules<'a> {
    pub dispositions: &'a [String],
    /// Where a call back goes; `None`: the project has no callback project.
    pub callback_project: Option<&'a str>,
    pub time_zone: &'a str,
    /// Now, unix s.
    pub now: i64,
}

/// A wrap-up that passed its checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrapUp {
    pub disposition: String,
    pub note: String,
    /// The call back's time, unix s.
    pub callback_at: Option<i64>,
}

/// One thing wrong with a wrap-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    NoDisposition,
    UnknownDisposition(String),
    NoteTooLong(usize),
    /// The time does not read as a date-time.
    BadTime(String),
    /// A local time the clocks skip in the project's zone.
    NoSuchLocalTime(String),
    PastTime,
    TooFarAhead,
    NoCallbackProject,
}

impl Problem {
    /// The form field it is about.
    pub fn field(&self) -> &'static str {
        match self {
            Problem::NoDisposition | Problem::UnknownDisposition(_) => "disposition",
            Problem::NoteTooLong(_) => "note",
            _ => "callback_at",
        }
    }

    /// For the agent desk.
    pub fn ru(&self) -> String {
        match self {
            Problem::NoDisposition => "Выберите итог разговора.".into(),
            Problem::UnknownDisposition(d) => {
                format!("«{d}» нет среди итогов проекта; выберите из списка.")
            }
            Problem::NoteTooLong(n) => {
                format!("Заметка длиной {n} знаков; можно не больше {MAX_NOTE_CHARS}.")
            }
            Problem::BadTime(t) => {
                format!("«{t}» — не дата и время; пример: 2026-12-01 10:30.")
            }
            Problem::NoSuchLocalTime(t) => {
                format!("Времени {t} в часовом поясе проекта нет (перевод часов).")
            }
            Problem::PastTime => "Это время уже прошло.".into(),
            Problem::TooFarAhead => "Перезвонить можно не позже чем через год.".into(),
            Problem::NoCallbackProject => {
                "У проекта нет проекта для перезвонов: попросите менеджера его указать.".into()
            }
        }
    }

    /// For the API.
    pub fn en(&self) -> String {
        match self {
            Problem::NoDisposition => {
                "disposition: empty; one of the project's dispositions".into()
            }
            Problem::UnknownDisposition(d) => {
                format!("disposition {d:?} is not among the project's transfer.dispositions")
            }
            Problem::NoteTooLong(n) => {
                format!("note: {n} characters; at most {MAX_NOTE_CHARS}")
            }
            Problem::BadTime(t) => format!(
                "callback_at {t:?}: not a date-time (RFC 3339, or \"YYYY-MM-DD HH:MM\" in the \
                 project's time zone)"
            ),
            Problem::NoSuchLocalTime(t) => {
                format!("callback_at {t:?}: the clocks skip this time in the project's time zone")
            }
            Problem::PastTime => "callback_at: the time has passed".into(),
            Problem::TooFarAhead => "callback_at: at most a year ahead".into(),
            Problem::NoCallbackProject => {
                "callback_at: the project has no callback project (callback_project_id)".into()
            }
        }
    }
}

/// Checks a wrap-up against the project's rules: every problem, or the wrap-up.
pub fn check(form: &WrapUpForm<'_>, rules: &WrapUpRules<'_>) -> Result<WrapUp, Vec<Problem>> {
    let mut problems = Vec::new();
    let disposition = form.disposition.trim();
    if disposition.is_empty() {
        problems.push(Problem::NoDisposition);
    } else if !rules.dispositions.iter().any(|d| d.trim() == disposition) {
        problems.push(Problem::UnknownDisposition(disposition.to_string()));
    }
    let note = form.note.trim();
    let chars = note.chars().count();
    if chars > MAX_NOTE_CHARS {
        problems.push(Problem::NoteTooLong(chars));
    }
    let text = form.callback_at.trim();
    let mut callback_at = None;
    if !text.is_empty() {
        match read_time(text, rules.time_zone) {
            Err(p) => problems.push(p),
            Ok(t) if t < rules.now - PAST_SLACK_S => problems.push(Problem::PastTime),
            Ok(t) if t > rules.now + MAX_CALLBACK_AHEAD_S => problems.push(Problem::TooFarAhead),
            Ok(t) => callback_at = Some(t),
        }
        if rules.callback_project.is_none() {
            problems.push(Problem::NoCallbackProject);
        }
    }
    if problems.is_empty() {
        Ok(WrapUp {
            disposition: disposition.to_string(),
            note: note.to_string(),
            callback_at,
        })
    } else {
        Err(problems)
    }
}

/// A date-time as unix s: RFC 3339 with its offset, or local in `zone`.
fn read_time(text: &str, zone: &str) -> Result<i64, Problem> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp());
    }
    let local = [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(text, f).ok())
    .ok_or_else(|| Problem::BadTime(text.to_string()))?;
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Europe::Moscow);
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.timestamp())
        .ok_or_else(|| Problem::NoSuchLocalTime(text.to_string()))
}

/// A unix time as the `datetime-local` value of the project's zone (`2026-12-01T10:30`).
pub fn local_input_value(t: i64, zone: &str) -> String {
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Europe::Moscow);
    tz.timestamp_opt(t, 0)
        .single()
        .map(|t| t.format("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-01 09:00 in Moscow (06:00 UTC).
    const NOW: i64 = 1_796_104_800;

    fn rules(list: &[String]) -> WrapUpRules<'_> {
        WrapUpRules {
            dispositions: list,
            callback_project: Some("Перезвон"),
            time_zone: "Europe/Moscow",
            now: NOW,
        }
    }

    fn list() -> Vec<String> {
        vec!["Договорились".into(), "Перезвонить".into()]
    }

    #[test]
    fn a_disposition_from_the_list_a_note_and_a_local_call_back_time_pass() {
        let l = list();
        let w = check(
            &WrapUpForm {
                disposition: " Перезвонить ",
                note: " просит после обеда ",
                callback_at: "2026-12-01T14:30",
            },
            &rules(&l),
        )
        .unwrap();
        assert_eq!(w.disposition, "Перезвонить");
        assert_eq!(w.note, "просит после обеда");
        assert_eq!(w.callback_at, Some(NOW + 5 * 3600 + 1800), "14:30 MSK");
        assert_eq!(
            local_input_value(NOW + 5 * 3600 + 1800, "Europe/Moscow"),
            "2026-12-01T14:30"
        );
        // RFC 3339 with its own offset, and no call back at all.
        let w = check(
            &WrapUpForm {
                disposition: "Договорились",
                callback_at: "2026-12-01T12:00:00Z",
                ..Default::default()
            },
            &rules(&l),
        )
        .unwrap();
        assert_eq!(w.callback_at, Some(NOW + 6 * 3600));
        let w = check(
            &WrapUpForm {
                disposition: "Договорились",
                ..Default::default()
            },
            &rules(&l),
        )
        .unwrap();
        assert_eq!(w.callback_at, None);
    }

    #[test]
    fn every_problem_is_named_with_its_field() {
        let l = list();
        let long = "я".repeat(MAX_NOTE_CHARS + 1);
        let p = check(
            &WrapUpForm {
                disposition: "Продал слона",
                note: &long,
                callback_at: "завтра",
            },
            &rules(&l),
        )
        .unwrap_err();
        assert_eq!(
            p,
            vec![
                Problem::UnknownDisposition("Продал слона".into()),
                Problem::NoteTooLong(MAX_NOTE_CHARS + 1),
                Problem::BadTime("завтра".into()),
            ]
        );
        assert_eq!(
            p.iter().map(Problem::field).collect::<Vec<_>>(),
            ["disposition", "note", "callback_at"]
        );
        assert!(p[0].ru().contains("Продал слона") && p[0].en().contains("dispositions"));
        let past = check(
            &WrapUpForm {
                disposition: "",
                callback_at: "2026-12-01 08:00",
                ..Default::default()
            },
            &rules(&l),
        )
        .unwrap_err();
        assert_eq!(past, vec![Problem::NoDisposition, Problem::PastTime]);
        let far = check(
            &WrapUpForm {
                disposition: "Договорились",
                callback_at: "2028-01-01 10:00",
                ..Default::default()
            },
            &rules(&l),
        )
        .unwrap_err();
        assert_eq!(far, vec![Problem::TooFarAhead]);
        // A call back without a callback project.
        let mut r = rules(&l);
        r.callback_project = None;
        let p = check(
            &WrapUpForm {
                disposition: "Договорились",
                callback_at: "2026-12-02 10:00",
                ..Default::default()
            },
            &r,
        )
        .unwrap_err();
        assert_eq!(p, vec![Problem::NoCallbackProject]);
    }

    #[test]
    fn a_local_time_the_clocks_skip_is_refused() {
        let l = list();
        let r = WrapUpRules {
            time_zone: "Europe/Berlin",
            now: 1_774_000_000, // March 2026
            ..rules(&l)
        };
        let p = check(
            &WrapUpForm {
                disposition: "Договорились",
                callback_at: "2026-03-29 02:30",
                ..Default::default()
            },
            &r,
        )
        .unwrap_err();
        assert_eq!(p, vec![Problem::NoSuchLocalTime("2026-03-29 02:30".into())]);
    }
}
