//! Validation of a step's or reaction's `actions` (docs/scenarios.md, "Actions"): each action's
//! shape, SMS templates (every variable one that can have a value, the parts it will be billed
//! as), the contact fields a scenario declares for its templates.
use super::context::{off, Ctx};
use super::model::Action;
use super::raw::{RawAction, RawScenario};
use super::template::{self, Piece, WARN_ABOVE_PARTS};
use std::collections::BTreeSet;
use toml::Spanned;

/// Variables every template may use.
pub const BUILT_IN_VARS: [&str; 2] = ["name", "phone"];

/// What a template variable may name.
pub(super) struct Known<'a> {
    /// The scenario's captures.
    pub vars: &'a BTreeSet<String>,
    /// The contact fields the scenario declares (`fields = [...]`).
    pub fields: &'a [String],
}

impl Known<'_> {
    fn has(&self, v: &str) -> bool {
        BUILT_IN_VARS.contains(&v) || self.vars.contains(v) || self.fields.iter().any(|f| f == v)
    }

    fn listing(&self) -> String {
        let mut all: Vec<String> = BUILT_IN_VARS.iter().map(|v| format!("{{{v}}}")).collect();
        all.extend(self.vars.iter().map(|v| format!("{{{v}}} (a capture)")));
        all.extend(self.fields.iter().map(|v| format!("{{{v}}} (a field)")));
        all.join(", ")
    }
}

/// The scenario's `fields`: each once, none named like a built-in variable or a capture.
pub(super) fn declared_fields(
    cx: &mut Ctx<'_>,
    raw: &RawScenario,
    vars: &BTreeSet<String>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in &raw.fields {
        let v = f.get_ref().trim().to_string();
        let why = if v.is_empty() {
            Some("an empty field name".to_string())
        } else if out.contains(&v) {
            Some(format!("the field \"{v}\" is declared twice"))
        } else if BUILT_IN_VARS.contains(&v.as_str()) {
            Some(format!(
                "\"{v}\" is built in (the contact's {v}); declare only the import's other columns"
            ))
        } else if vars.contains(&v) {
            Some(format!(
                "\"{v}\" is also a capture: name the field or the capture differently"
            ))
        } else {
            None
        };
        match why {
            Some(m) => cx.add(off(f), None, "fields", m),
            None => out.push(v),
        }
    }
    out
}

/// The actions of one step or reaction, every problem reported at the action's place.
pub(super) fn build_actions(
    cx: &mut Ctx<'_>,
    raw: &[Spanned<RawAction>],
    s: Option<&str>,
    field: &str,
    known: &Known<'_>,
) -> Vec<Action> {
    let mut out = Vec::new();
    for a in raw {
        let r = a.get_ref();
        let at = off(a);
        let before = out.len();
        if let Some(to) = &r.transfer {
            if to.trim().is_empty() {
                cx.add(at, s, field, "transfer needs a target (e.g. \"agents\")");
            }
            out.push(Action::Transfer {
                to: to.trim().to_string(),
                callback_project: r.callback_project.clone(),
            });
        } else if r.callback_project.is_some() {
            cx.add(at, s, field, "callback_project goes with transfer");
        }
        if let Some(n) = &r.transfer_external {
            if !is_russian_e164(n) {
                cx.add(
                    at,
                    s,
                    field,
                    format!(
                        "transfer_external \"{n}\" is not a Russian number in E.164 (+7 and ten digits)"
                    ),
                );
            }
            out.push(Action::TransferExternal { to: n.clone() });
        }
        if let Some(t) = &r.sms {
            check_sms(cx, at, s, field, t, known);
            out.push(Action::Sms {
                template: t.clone(),
            });
        }
        if let Some(p) = &r.add_to_project {
            if p.trim().is_empty() {
                cx.add(
                    at,
                    s,
                    field,
                    "add_to_project needs the name of a project to copy the contact into",
                );
            }
            out.push(Action::AddToProject {
                project: p.trim().to_string(),
            });
        }
        if r.hangup == Some(true) {
            out.push(Action::Hangup);
        }
        if let Some(u) = &r.webhook {
            if let Err(why) = check_webhook_url(u) {
                cx.add(at, s, field, format!("webhook: {why}"));
            }
            out.push(Action::Webhook { url: u.clone() });
        }
        match (r.stop_list, r.add_all_numbers) {
            (Some(true), all) => out.push(Action::StopList {
                add_all_numbers: all == Some(true),
            }),
            (_, Some(_)) => cx.add(at, s, field, "add_all_numbers goes with stop_list = true"),
            _ => {}
        }
        if out.len() == before {
            cx.add(
                at,
                s,
                field,
                "empty action: use transfer, transfer_external, sms, add_to_project, stop_list, \
                 hangup or webhook",
            );
        }
    }
    out
}

/// An SMS template: it parses, every variable can have a value; its parts are noted.
fn check_sms(
    cx: &mut Ctx<'_>,
    at: Option<usize>,
    s: Option<&str>,
    field: &str,
    t: &str,
    known: &Known<'_>,
) {
    if t.trim().is_empty() {
        cx.add(at, s, field, "empty SMS template");
        return;
    }
    let pieces = match template::parse(t) {
        Ok(p) => p,
        Err(e) => {
            cx.add(at, s, field, format!("SMS template: {e}"));
            return;
        }
    };
    for p in &pieces {
        if let Piece::Var(v) = p {
            if !known.has(v) {
                cx.add(
                    at,
                    s,
                    field,
                    format!(
                        "SMS template: unknown variable {{{v}}} (it may use {}; a column of the \
                         contacts' import must be declared first: fields = [\"{v}\"])",
                        known.listing()
                    ),
                );
            }
        }
    }
    let fixed: String = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Text(t) => Some(t.as_str()),
            Piece::Var(_) => None,
        })
        .collect();
    let seg = template::segments(&fixed);
    let per = if seg.gsm7 {
        "GSM-7: 160 characters in one part, 153 per part when split"
    } else {
        "UCS-2 (Cyrillic): 70 characters in one part, 67 per part when split"
    };
    let with_vars = if pieces.iter().any(|p| matches!(p, Piece::Var(_))) {
        " before its variables are filled in"
    } else {
        ""
    };
    let message = format!(
        "SMS: at least {} part(s), {} characters{with_vars}; {per}",
        seg.parts, seg.units
    );
    if seg.parts > WARN_ABOVE_PARTS {
        cx.note(
            at,
            s,
            field,
            format!("warning: {message}; each part is billed, consider a shorter text"),
        );
    } else {
        cx.note(at, s, field, message);
    }
}

/// A webhook address: `http://` or `https://` and a host (where it points is checked when it
/// is sent, as names resolve then).
pub fn check_webhook_url(url: &str) -> Result<(), String> {
    let u = url.trim();
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .ok_or_else(|| format!("\"{u}\" is not an http:// or https:// address"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!("\"{u}\" has no host"));
    }
    Ok(())
}

fn is_russian_e164(n: &str) -> bool {
    n.len() == 12
        && n.starts_with("+7")
        && n[2..].bytes().all(|b| b.is_ascii_digit())
        && !matches!(n.as_bytes()[2], b'6' | b'7')
}
