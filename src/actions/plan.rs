//! A finished call's scenario actions resolved into outbox rows (the SMS text with its
//! variables filled in, the numbers to list, the call's JSON for a webhook; what a row *is*
//! lives with the store, in `store/action.rs`), and the retry rule (exponential backoff with
//! jitter). Pure.
use crate::scenario::{template, Action};
pub use crate::store::{ActionKind, NewAction, Payload};
use std::collections::BTreeMap;

/// What a call knew when it ended: what its actions are resolved from.
#[derive(Debug, Clone)]
pub struct CallFacts<'a> {
    pub call_id: i64,
    pub project_id: i64,
    pub project_name: &'a str,
    /// The project's `callback_project_id`, by name: where a transfer that names no
    /// `callback_project` puts a caller who never reached an agent.
    pub callback_project: Option<&'a str>,
    pub contact_name: Option<&'a str>,
    /// The contact's fields (the import's other columns).
    pub fields: &'a BTreeMap<String, String>,
    /// The number the call reached.
    pub number: &'a str,
    /// All the contact's numbers, in order.
    pub numbers: &'a [String],
    /// The first key or utterance heard, if any.
    pub reaction: Option<Reaction<'a>>,
    pub captured: &'a BTreeMap<String, String>,
    /// The call's final JSON (webhooks).
    pub call_json: &'a serde_json::Value,
}

/// A reaction, for the stop list's reason.
#[derive(Debug, Clone, Copy)]
pub enum Reaction<'a> {
    Key(char),
    Said(&'a str),
}

/// The values an SMS template may use: `name`, `phone`, the contact's fields, the captured
/// values (a captured value wins over a field of the same name).
pub fn template_values(f: &CallFacts<'_>) -> BTreeMap<String, String> {
    let mut v = f.fields.clone();
    v.insert(
        "name".into(),
        f.contact_name.unwrap_or_default().to_string(),
    );
    v.insert("phone".into(), f.number.to_string());
    v.extend(f.captured.iter().map(|(k, x)| (k.clone(), x.clone())));
    v
}

/// The place of the project's own webhook among a call's actions (its idempotency key is
/// `call-N-action-1000`): fixed, so that the scenario's actions — numbered 0, 1, … in the order
/// the scenario took them, and written as soon as it decided them — never take it.
pub const PROJECT_WEBHOOK_IDX: u32 = 1_000;

/// The place of the project's `transfer.started` webhook among a call's actions (posted the
/// moment a transfer begins, not at the call's end).
pub const TRANSFER_STARTED_IDX: u32 = 1_001;

/// The place of a call back an agent asked for in a transferred call's wrap-up (docs/agents.md,
/// "Wrap-up"): written once per call.
pub const WRAP_UP_CALLBACK_IDX: u32 = 1_002;

/// The outbox row of a call back an agent asked for: the contact copied into the callback
/// project named `project`, the reached number first, not dialed before `at` (unix s).
pub fn wrap_up_callback(project: &str, number: &str, at: i64) -> NewAction {
    NewAction {
        idx: WRAP_UP_CALLBACK_IDX,
        payload: Payload::AddToProject {
            project: project.to_string(),
            first_number: number.to_string(),
            not_before: Some(at),
        },
        transfer_callback: false,
    }
}

/// The `transfer.started` webhook of a project with a `webhook_url` (`None` without one).
pub fn transfer_started(
    project_webhook: Option<&str>,
    project_id: i64,
    body: serde_json::Value,
) -> Option<NewAction> {
    let url = project_webhook.filter(|u| !u.trim().is_empty())?;
    Some(NewAction {
        transfer_callback: false,
        idx: TRANSFER_STARTED_IDX,
        payload: Payload::Webhook {
            url: url.to_string(),
            secret_from: project_id,
            call: body,
        },
    })
}

/// The outbox rows a call's actions become, in order (the scenario's actions are cumulative:
/// the n-th action is always row n), with the project's own webhook (if it has one) last.
/// Transfers and hang-ups act during the call; a transfer's callback project is a row held
/// until the transfer's end (`NewAction::transfer_callback`).
pub fn actions_for(
    actions: &[Action],
    project_webhook: Option<&str>,
    f: &CallFacts<'_>,
) -> Vec<NewAction> {
    let mut out = Vec::new();
    let mut push = |payload: Payload, transfer_callback: bool| {
        out.push(NewAction {
            idx: out.len() as u32,
            payload,
            transfer_callback,
        })
    };
    for a in actions.iter().take(PROJECT_WEBHOOK_IDX as usize) {
        match a {
            Action::Sms { template } => {
                // Validation refused templates that do not parse; an empty text is not sent.
                let text = template::render(template, &template_values(f)).unwrap_or_default();
                push(
                    Payload::Sms {
                        phone: f.number.to_string(),
                        text,
                    },
                    false,
                );
            }
            Action::AddToProject { project } => push(
                Payload::AddToProject {
                    project: project.clone(),
                    first_number: f.number.to_string(),
                    not_before: None,
                },
                false,
            ),
            Action::StopList { add_all_numbers } => {
                let numbers = if *add_all_numbers {
                    let mut all = vec![f.number.to_string()];
                    all.extend(f.numbers.iter().filter(|n| *n != f.number).cloned());
                    all
                } else {
                    vec![f.number.to_string()]
                };
                let how = match f.reaction {
                    Some(Reaction::Key(k)) => format!("key {k}"),
                    Some(Reaction::Said(t)) => format!("said «{t}»"),
                    None => "the scenario".to_string(),
                };
                push(
                    Payload::StopList {
                        numbers,
                        reason: format!(
                            "opt-out: {how}, project {:?}, call {}",
                            f.project_name, f.call_id
                        ),
                    },
                    false,
                );
            }
            Action::Webhook { url } => push(
                Payload::Webhook {
                    url: url.clone(),
                    secret_from: f.project_id,
                    call: f.call_json.clone(),
                },
                false,
            ),
            Action::Transfer {
                callback_project, ..
            } => {
                if let Some(project) = callback_project.as_deref().or(f.callback_project) {
                    push(
                        Payload::AddToProject {
                            project: project.to_string(),
                            first_number: f.number.to_string(),
                            not_before: None,
                        },
                        true,
                    );
                }
            }
            Action::TransferExternal { .. } | Action::Hangup => {}
        }
    }
    if let Some(url) = project_webhook.filter(|u| !u.trim().is_empty()) {
        out.push(NewAction {
            transfer_callback: false,
            idx: PROJECT_WEBHOOK_IDX,
            payload: Payload::Webhook {
                url: url.to_string(),
                secret_from: f.project_id,
                call: f.call_json.clone(),
            },
        });
    }
    out
}

/// The first retry waits this long; each next one twice as long.
pub const RETRY_BASE_MS: i64 = 5_000;
/// No retry waits longer.
pub const RETRY_CAP_MS: i64 = 30 * 60_000;

/// How long to wait before attempt `attempt + 1` after `attempt` failed (1-based): 5 s, 10 s,
/// 20 s … capped at 30 min, spread by `jitter` (0..1, drawn by the caller) over ±20 %, so that
/// many actions failing together do not retry together.
pub fn retry_delay_ms(attempt: u32, jitter: f64) -> i64 {
    let exp = attempt.saturating_sub(1).min(20);
    let base = RETRY_BASE_MS.saturating_mul(1 << exp).min(RETRY_CAP_MS) as f64;
    let spread = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    (base * spread) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_with_jitter_and_a_cap() {
        assert_eq!(retry_delay_ms(1, 0.5), 5_000);
        assert_eq!(retry_delay_ms(2, 0.5), 10_000);
        assert_eq!(retry_delay_ms(3, 0.5), 20_000);
        assert_eq!(retry_delay_ms(30, 0.5), RETRY_CAP_MS);
        assert_eq!(retry_delay_ms(1, 0.0), 4_000);
        assert_eq!(retry_delay_ms(1, 1.0), 6_000);
    }

    #[test]
    fn payloads_keep_their_kind_in_their_json() {
        let p = Payload::Sms {
            phone: "+79161234567".into(),
            text: "Спасибо".into(),
        };
        let j = serde_json::to_value(&p).unwrap();
        assert_eq!(j["kind"], "sms");
        assert_eq!(serde_json::from_value::<Payload>(j).unwrap(), p);
        assert_eq!(p.kind().as_str(), "sms");
        assert_eq!("stop_list".parse(), Ok(ActionKind::StopList));
    }
}
