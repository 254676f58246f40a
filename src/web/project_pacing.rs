//! The project form's pacing part (docs/pacing.md): the mode and its settings, as text in and
//! out of the form, checked by the same rules as the API (`store::PacingOptions::validate`).
use super::project_form::{Choice, TransferField};
use crate::store::{Mode, PacingOptions};
use std::collections::BTreeMap;

/// The pacing settings the form has: name, label, hint.
pub const PACING: [(&str, &str, &str); 7] = [
    (
        "calls_per_agent",
        "Звонков на свободного оператора",
        "1–10, по умолчанию 1",
    ),
    (
        "queue_target_s",
        "Целевое ожидание в очереди, с",
        "5–600, по умолчанию 20",
    ),
    (
        "abandon_target",
        "Допустимая доля брошенных",
        "0,005–0,2, по умолчанию 0,03",
    ),
    (
        "max_wait_s",
        "Брошенный, если ждал дольше, с",
        "1–600, по умолчанию 10",
    ),
    ("talk_s", "Разговор (прогноз), с", "по умолчанию 60"),
    ("wrap_s", "После звонка (прогноз), с", "как «после звонка»"),
    ("answer_s", "До ответа (прогноз), с", "по умолчанию 20"),
];

/// A project's pacing settings as the form shows them.
pub fn values_of(o: &PacingOptions) -> BTreeMap<String, String> {
    let n = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
    let r = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    [
        ("calls_per_agent", r(o.calls_per_agent)),
        ("queue_target_s", n(o.queue_target_s)),
        ("abandon_target", r(o.abandon_target)),
        ("max_wait_s", n(o.max_wait_s)),
        ("talk_s", n(o.talk_s)),
        ("wrap_s", n(o.wrap_s)),
        ("answer_s", n(o.answer_s)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The form's pacing fields as entered.
pub fn from_form(one: impl Fn(&str) -> String) -> BTreeMap<String, String> {
    PACING
        .iter()
        .map(|(k, _, _)| (k.to_string(), one(k)))
        .collect()
}

/// The settings the form gives, or why not (the field is `pacing`).
pub fn options(v: &BTreeMap<String, String>) -> Result<PacingOptions, (&'static str, String)> {
    let text = |k: &str| {
        v.get(k)
            .map(|s| s.trim().replace(',', "."))
            .unwrap_or_default()
    };
    let whole = |k: &str| -> Result<Option<u32>, (&'static str, String)> {
        let t = text(k);
        if t.is_empty() {
            return Ok(None);
        }
        t.parse()
            .map(Some)
            .map_err(|_| ("pacing", format!("«{t}» — не целое число.")))
    };
    let real = |k: &str| -> Result<Option<f64>, (&'static str, String)> {
        let t = text(k);
        if t.is_empty() {
            return Ok(None);
        }
        t.parse()
            .map(Some)
            .map_err(|_| ("pacing", format!("«{t}» — не число.")))
    };
    Ok(PacingOptions {
        calls_per_agent: real("calls_per_agent")?,
        queue_target_s: whole("queue_target_s")?,
        abandon_target: real("abandon_target")?,
        max_wait_s: whole("max_wait_s")?,
        talk_s: whole("talk_s")?,
        wrap_s: whole("wrap_s")?,
        answer_s: whole("answer_s")?,
    })
}

/// The mode's select.
pub fn modes(picked: &str) -> Vec<Choice> {
    Mode::ALL
        .iter()
        .map(|m| Choice {
            value: m.as_str().to_string(),
            label: m.label_ru().to_string(),
            selected: m.as_str() == picked,
        })
        .collect()
}

/// The pacing settings' fields.
pub fn fields(v: &BTreeMap<String, String>) -> Vec<TransferField> {
    PACING
        .iter()
        .map(|(name, label, hint)| TransferField {
            name,
            label,
            hint,
            value: v.get(*name).cloned().unwrap_or_default(),
        })
        .collect()
}
