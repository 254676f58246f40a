//! The read side's rows and totals, read the same from both backends (`sqlite/reports.rs`,
//! `call_search.rs`, `action_reports.rs`, `auth.rs` and their `postgres/` twins): calls and
//! projects as the API shows them, last results, stats from the tallies, transfers, decisions,
//! the calls page's paging, actions in short and their logs, action totals, a token's owner.
//! Each backend runs its own SQL and hands the rows here; a mapper reads the columns its
//! comment lists, in that order, whatever the database.
use super::Cols;
use crate::rules::money::Kopecks;
use crate::store::{
    local_datetime, recording_url, result_label, status_label, ActionBrief, ActionStats,
    ActionView, AmdView, AttemptLog, CallPage, CallTotals, CallView, Decision, HourCalls,
    LastResult, Mode, ProjectStats, ProjectView, TokenOwner, TransferStats, WrapUpView, MAX_PAGE,
};
use std::collections::{BTreeMap, HashMap};

/// The columns `call_view` reads (`k` the call, `c` its contact); valid SQL in both backends.
pub const CALL_COLUMNS: &str = "k.id, k.project_id, k.contact_id, c.name, k.number, k.state, \
     k.started_at, k.answered_at, k.ended_at, k.sip_status, k.result, k.reaction, k.transcript, \
     k.captured, k.amd_verdict, k.amd_reason, k.amd_ms, k.recording, k.cost_kop, k.ring_ms, k.talk_ms, \
     k.end_reason, (SELECT n.kind FROM contact_numbers n WHERE n.contact_id = k.contact_id \
     AND n.e164 = k.number), k.transfer, k.disposition, k.note, k.callback_at, k.wrap_up_agent_id, \
     k.wrapped_up_at_ms, k.recording_error";

/// A call from the columns of `CALL_COLUMNS`, starting at column `at`.
pub fn call_view(r: &impl Cols, at: usize) -> CallView {
    let started_at: i64 = r.get(at + 6);
    let answered_at: Option<i64> = r.get(at + 7);
    let ended_at: Option<i64> = r.get(at + 8);
    let result: Option<String> = r.get(at + 10);
    let captured = r
        .get::<Option<String>>(at + 13)
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_else(|| serde_json::json!({}));
    let amd = r.get::<Option<String>>(at + 14).map(|verdict| AmdView {
        verdict,
        reason: r.get(at + 15),
        decided_at_ms: r.get(at + 16),
    });
    CallView {
        id: r.get(at),
        project_id: r.get(at + 1),
        contact_id: r.get(at + 2),
        contact_name: r.get(at + 3),
        number: r.get(at + 4),
        state: r.get(at + 5),
        started_at,
        answered_at,
        ended_at,
        duration_s: ended_at.map(|e| (e - started_at).max(0)),
        talk_s: answered_at.zip(ended_at).map(|(a, e)| (e - a).max(0)),
        ring_ms: r.get(at + 19),
        talk_ms: r.get(at + 20),
        end_reason: r.get(at + 21),
        number_type: r.get(at + 22),
        sip_status: r.get(at + 9),
        result_label: result.as_deref().map(result_label),
        result,
        reaction: r.get(at + 11),
        transcript: r.get(at + 12),
        captured,
        amd,
        // The route that streams it: the file's place on the server is nobody's business.
        recording: r
            .get::<Option<String>>(at + 17)
            .map(|_| recording_url(r.get(at))),
        recording_error: r.get(at + 29),
        cost: Kopecks(r.get(at + 18)),
        actions: Vec::new(),
        transfer: r
            .get::<Option<String>>(at + 23)
            .and_then(|j| serde_json::from_str(&j).ok()),
        wrap_up: r.get::<Option<i64>>(at + 28).map(|at_ms| WrapUpView {
            disposition: r.get::<Option<String>>(at + 24).unwrap_or_default(),
            note: r.get::<Option<String>>(at + 25).unwrap_or_default(),
            callback_at: r.get(at + 26),
            agent_id: r.get(at + 27),
            at_ms,
        }),
    }
}

fn parse_json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

/// Every column `project_view` reads, from `projects` (a caller adds its WHERE / ORDER BY);
/// valid SQL in both backends.
pub const PROJECT_SELECT: &str = "SELECT id, name, scenario_id, status, time_zone, schedule, lines, \
     max_calls_per_number, retry_rules, ordering, callback_project_id, tariff, created_at, starts_at, \
     ends_at, type_windows, finished_at, status_reason, webhook_url, webhook_secret, transfer_settings, \
     mode, pacing_settings FROM projects";

/// A project as the API shows it, from the columns of `PROJECT_SELECT`.
pub fn project_view(r: &impl Cols) -> ProjectView {
    let zone: String = r.get(4);
    ProjectView {
        id: r.get(0),
        name: r.get(1),
        scenario_id: r.get(2),
        status: r.get(3),
        schedule: parse_json(&r.get::<String>(5)),
        lines: r.get(6),
        max_calls_per_number: r.get(7),
        retry_rules: parse_json(&r.get::<String>(8)),
        ordering: parse_json(&r.get::<String>(9)),
        callback_project_id: r.get(10),
        tariff: parse_json(&r.get::<String>(11)),
        created_at: r.get(12),
        starts_at: local(r.get(13), &zone),
        ends_at: local(r.get(14), &zone),
        time_zone: zone,
        type_windows: parse_json(&r.get::<String>(15)),
        finished_at: r.get(16),
        status_reason: r.get(17),
        webhook_url: r.get(18),
        webhook_secret: r.get::<Option<String>>(19).map(|s| mask_secret(&s)),
        transfer: serde_json::from_str(&r.get::<String>(20)).unwrap_or_default(),
        mode: Mode::parse(&r.get::<String>(21)).unwrap_or_default(),
        pacing: serde_json::from_str(&r.get::<String>(22)).unwrap_or_default(),
    }
}

/// A secret as the API shows it: its kind and last four characters, never the rest.
fn mask_secret(s: &str) -> String {
    let tail: String = s
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if s.starts_with("whsec_") {
        format!("whsec_…{tail}")
    } else {
        format!("…{tail}")
    }
}

/// A stored unix time as the project's local date-time.
fn local(t: Option<i64>, zone: &str) -> Option<String> {
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Europe::Moscow);
    t.map(|t| local_datetime(t, tz))
}

/// A contact's import columns as stored (JSON); damaged text reads as none.
pub fn contact_fields(text: &str) -> BTreeMap<String, String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// How reports show a contact set aside because its row cannot be read: a `system` result
/// «damaged row» with the reason, in place of a call. `damaged_row` is the words the dialer
/// sets such a contact aside with (`contact_rows::DAMAGED_ROW`).
fn damaged_view(
    contact_id: i64,
    project_id: i64,
    damaged_row: &str,
    why: &str,
    at: i64,
) -> CallView {
    CallView {
        id: 0,
        project_id,
        contact_id,
        contact_name: None,
        number: String::new(),
        state: "done".into(),
        started_at: at,
        answered_at: None,
        ended_at: None,
        duration_s: None,
        talk_s: None,
        ring_ms: None,
        talk_ms: None,
        end_reason: Some(format!("{damaged_row}: {why}")),
        number_type: None,
        sip_status: None,
        result: Some(crate::scenario::system_result::SYSTEM.into()),
        result_label: Some(result_label(crate::scenario::system_result::SYSTEM)),
        reaction: None,
        transcript: None,
        captured: serde_json::json!({}),
        amd: None,
        recording: None,
        recording_error: None,
        cost: Kopecks::ZERO,
        actions: Vec::new(),
        transfer: None,
        wrap_up: None,
    }
}

/// One contact of the last results, from its columns — id, name, status, fields, priority,
/// its numbers as `e164:kind` separated by spaces in their order (NULL: none), its number of
/// calls, `damaged`, `damaged_at` — followed by its newest call's `CALL_COLUMNS` (NULL: none).
pub fn last_result(r: &impl Cols, project_id: i64, damaged_row: &str) -> LastResult {
    let status: String = r.get(2);
    let has_call = r.get::<Option<i64>>(9).is_some();
    let listed: String = r.get::<Option<String>>(5).unwrap_or_default();
    let numbers: Vec<(&str, &str)> = listed
        .split(' ')
        .filter(|x| !x.is_empty())
        .map(|x| x.split_once(':').unwrap_or((x, "other")))
        .collect();
    let damaged: Option<String> = r.get(7);
    let last_call = match (has_call, &damaged) {
        (true, _) => Some(call_view(r, 9)),
        // A row set aside as damaged shows as a `system` «damaged row».
        (false, Some(why)) => Some(damaged_view(
            r.get(0),
            project_id,
            damaged_row,
            why,
            r.get::<Option<i64>>(8).unwrap_or(0),
        )),
        (false, None) => None,
    };
    LastResult {
        contact_id: r.get(0),
        name: r.get(1),
        status_label: status_label(&status),
        status,
        fields: contact_fields(&r.get::<String>(3)),
        priority: r.get(4),
        numbers: numbers.iter().map(|(n, _)| n.to_string()).collect(),
        number_types: numbers.iter().map(|(_, k)| k.to_string()).collect(),
        calls: r.get(6),
        last_call,
    }
}

/// The last results' calls, taken out to have their actions filled in (`fill_briefs`) and
/// given back with `put_last_calls`: every view of a call shows its actions.
pub fn take_last_calls(out: &mut [LastResult]) -> Vec<CallView> {
    out.iter_mut().filter_map(|l| l.last_call.take()).collect()
}

/// Gives each contact of the last results its call back (see `take_last_calls`).
pub fn put_last_calls(out: &mut [LastResult], calls: Vec<CallView>) {
    let mut by_contact: HashMap<i64, CallView> =
        calls.into_iter().map(|c| (c.contact_id, c)).collect();
    for l in out {
        l.last_call = by_contact.remove(&l.contact_id);
    }
}

/// A project's stats from its status row (status, status_reason), its contact tallies
/// (status, n) and its call tallies (result, n, cost_kop): every status shows, 0 when none.
/// The backend adds the actions and transfers.
pub fn project_stats<R: Cols>(head: &R, contacts: &[R], calls: &[R]) -> ProjectStats {
    let mut s = ProjectStats {
        status: head.get(0),
        status_reason: head.get(1),
        ..Default::default()
    };
    for r in contacts {
        let (status, n): (String, i64) = (r.get(0), r.get(1));
        *s.contacts.entry(status).or_insert(0) += n as u64;
    }
    for k in ["not_called", "in_call", "retry", "reached", "not_reached"] {
        s.contacts.entry(k.to_string()).or_insert(0);
    }
    for r in calls {
        let (result, n, cost): (String, i64, i64) = (r.get(0), r.get(1), r.get(2));
        s.calls += n as u64;
        s.cost += Kopecks(cost);
        s.results.insert(result, n as u64);
    }
    s
}

/// A project's transfers from its finished transferred calls' columns: result, whether the
/// transfer was answered (1: yes), its queue wait and its talk time (ms; NULL: 0).
pub fn transfer_stats(rows: &[impl Cols]) -> TransferStats {
    let mut t = TransferStats::default();
    let mut waits: Vec<i64> = Vec::with_capacity(rows.len());
    let mut talk_ms: i64 = 0;
    for r in rows {
        let result: Option<String> = r.get(0);
        let answered: Option<i64> = r.get(1);
        t.transfers += 1;
        match result.as_deref() {
            Some(crate::scenario::system_result::QUEUE_ABANDONED) => t.abandoned += 1,
            Some(crate::scenario::system_result::QUEUE_TIMEOUT) => t.timed_out += 1,
            _ => {}
        }
        if answered == Some(1) {
            t.answered += 1;
        }
        waits.push(r.get::<Option<i64>>(2).unwrap_or(0));
        talk_ms += r.get::<Option<i64>>(3).unwrap_or(0);
    }
    if !waits.is_empty() {
        waits.sort_unstable();
        let n = waits.len();
        t.queue_avg_s = (waits.iter().sum::<i64>() as f64 / n as f64 / 100.0).round() / 10.0;
        let p90 = waits[((n * 9).div_ceil(10)).saturating_sub(1).min(n - 1)];
        t.queue_p90_s = (p90 as f64 / 100.0).round() / 10.0;
    }
    t.talk_s = (talk_ms / 1000).max(0) as u64;
    t
}

/// The field names of contacts' `fields` (one column per row, in id order), in first-seen
/// order.
pub fn field_names(rows: &[impl Cols]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for r in rows {
        for k in contact_fields(&r.get::<String>(0)).into_keys() {
            if !names.contains(&k) {
                names.push(k);
            }
        }
    }
    names
}

/// A line of the dialer's decision log: id, at, contact_id, number, decision, reason.
pub fn decision(r: &impl Cols) -> Decision {
    Decision {
        id: r.get(0),
        at: r.get(1),
        contact_id: r.get(2),
        number: r.get(3),
        decision: r.get(4),
        reason: r.get(5),
    }
}

/// The metrics' call totals: `up` calls now, and per result (NULL reads as ''; a later row
/// of the same key wins) the finished calls and of them those without audio.
pub fn call_totals(up: i64, rows: &[impl Cols]) -> CallTotals {
    let mut t = CallTotals {
        up,
        ..Default::default()
    };
    for r in rows {
        t.by_result
            .insert(r.get::<Option<String>>(0).unwrap_or_default(), r.get(1));
        t.without_audio += r.get::<i64>(2);
    }
    t
}

/// `hours` hours of calls from rows of (hour from the start, calls, answered); an hour
/// without a row has none.
pub fn calls_by_hour(rows: &[impl Cols], hours: u32) -> Vec<HourCalls> {
    let mut out = vec![HourCalls::default(); hours as usize];
    for r in rows {
        if let Some(h) = usize::try_from(r.get::<i64>(0))
            .ok()
            .and_then(|i| out.get_mut(i))
        {
            h.calls = r.get::<i64>(1) as u64;
            h.answered = r.get::<i64>(2) as u64;
        }
    }
    out
}

/// How many calls and what cost, from (COUNT, SUM of cost_kop).
pub fn calls_and_cost(r: &impl Cols) -> (u64, Kopecks) {
    (r.get::<i64>(0).max(0) as u64, Kopecks(r.get(1)))
}

/// A page's size as asked: 0 means the largest page.
pub fn page_size(limit: u32) -> u32 {
    if limit == 0 {
        MAX_PAGE
    } else {
        limit.min(MAX_PAGE)
    }
}

/// The calls page's search's id range: `lo..=hi` (what the dates leave) below the cursor
/// `before_id`; None when it is empty.
pub fn search_range(lo: i64, hi: i64, before_id: Option<i64>) -> Option<(i64, i64)> {
    let hi = match before_id {
        Some(b) => hi.min(b.saturating_sub(1)),
        None => hi,
    };
    (hi >= lo).then_some((lo, hi))
}

/// The lowest id the calls page's search looks at in `lo..=hi`: a filter checked call by call
/// (`windowed`) looks through one window of ids, from the top.
pub fn search_floor(lo: i64, hi: i64, windowed: bool) -> i64 {
    if windowed {
        lo.max(hi.saturating_sub(crate::store::SEARCH_WINDOW - 1))
    } else {
        lo
    }
}

/// A page of the calls page's search: its cursor is the last call's id when the page is
/// full, else the window's floor when the window stopped above `lo` (more may be below).
pub fn search_page(calls: Vec<CallView>, limit: u32, floor: i64, lo: i64) -> CallPage {
    let full = calls.len() as u32 == limit;
    let (next, window_ended) = match calls.last() {
        Some(c) if full => (Some(c.id), false),
        _ if floor > lo => (Some(floor), true),
        _ => (None, false),
    };
    CallPage {
        calls,
        next,
        window_ended,
    }
}

/// Fills in each call's actions from rows of (call_id, id, kind, status, attempts,
/// last_error, cost_kop) in each call's order.
pub fn fill_briefs(calls: &mut [CallView], rows: &[impl Cols]) {
    let mut by_call: HashMap<i64, Vec<ActionBrief>> = HashMap::new();
    for r in rows {
        by_call.entry(r.get(0)).or_default().push(ActionBrief {
            id: r.get(1),
            kind: r.get(2),
            status: r.get(3),
            attempts: r.get(4),
            last_error: r.get(5),
            cost: r.get::<Option<i64>>(6).map(Kopecks),
        });
    }
    for c in calls.iter_mut() {
        c.actions = by_call.remove(&c.id).unwrap_or_default();
    }
}

/// Fills in each action's delivery log from rows of (action_id, at, outcome, http_status,
/// error, duration_ms) in each action's order.
pub fn fill_logs(actions: &mut [ActionView], rows: &[impl Cols]) {
    let mut by_action: HashMap<i64, Vec<AttemptLog>> = HashMap::new();
    for r in rows {
        by_action.entry(r.get(0)).or_default().push(AttemptLog {
            at: r.get(1),
            outcome: r.get(2),
            http_status: r.get(3),
            error: r.get(4),
            duration_ms: r.get(5),
        });
    }
    for a in actions.iter_mut() {
        a.log = by_action.remove(&a.id).unwrap_or_default();
    }
}

/// A project's action totals from rows of (kind, status, COUNT, SUM of cost_kop, COUNT of
/// external_id) per kind and status.
pub fn action_stats(rows: &[impl Cols]) -> ActionStats {
    let mut s = ActionStats::default();
    for r in rows {
        let (kind, status): (String, String) = (r.get(0), r.get(1));
        let n = r.get::<i64>(2) as u64;
        let cost = Kopecks(r.get(3));
        let with_id = r.get::<i64>(4) as u64;
        match (kind.as_str(), status.as_str()) {
            ("sms", st) => {
                s.sms.cost += cost;
                match st {
                    "queued" | "sending" => s.sms.queued += n,
                    "sent" => s.sms.sent += n,
                    "delivered" => {
                        s.sms.sent += n;
                        s.sms.delivered += n;
                    }
                    "failed" => s.sms.failed += n,
                    _ => {}
                }
            }
            ("webhook", "done") => s.webhooks.delivered += n,
            ("webhook", "failed") => s.webhooks.failed += n,
            ("webhook", _) => s.webhooks.queued += n,
            // A copy whose contact was already there (or all of whose numbers are on the stop
            // list) is done without a new contact's id.
            ("add_to_project", "done") => s.added_to_projects += with_id,
            ("stop_list", "done") => s.opted_out += n,
            _ => {}
        }
    }
    s
}

/// Who a token acts as, from (name, role, user_id); a role this version does not know acts
/// as nobody.
pub fn token_owner(r: &impl Cols) -> Option<TokenOwner> {
    Some(TokenOwner {
        name: r.get(0),
        role: crate::users::Role::parse(&r.get::<String>(1))?,
        user_id: r.get(2),
    })
}
