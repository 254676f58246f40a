//! Setting campaigns up, the part both backends share (`sqlite/` and `postgres/` files
//! `campaigns`, `project_edit`, `replan`): the refusals of an activation, the checks of a
//! webhook change, a project's stored settings read back from its row, an edit turned into the
//! settings it writes, and the re-plan of an edited project's open contacts — everything but
//! the SQL and the transactions, which are each backend's.
use super::Cols;
use crate::rules::attempts::ContactAttempts;
use crate::rules::plan::{plan, Plan};
use crate::rules::schedule::{Schedule, TypeWindows};
use crate::store::project_edit::CheckedSettings;
use crate::store::{
    check_settings, local_datetime, DeleteCount, DueContact, Mode, NewProject, ProjectEdit,
    ProjectRow, StoreError,
};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Projects (`campaigns`).

/// The zone a project's times are shown in when its stored zone does not parse.
fn zone(name: &str) -> chrono_tz::Tz {
    name.parse().unwrap_or(chrono_tz::Europe::Moscow)
}

/// Why project `name`, which ended at `ends_at` (unix s, in `time_zone`), cannot be activated.
pub fn ended_refusal(name: &str, ends_at: i64, time_zone: &str) -> StoreError {
    StoreError::Invalid(format!(
        "project {name:?} ended at {}: it cannot run again",
        local_datetime(ends_at, zone(time_zone))
    ))
}

/// Whether project `name` has something to call: any contact at all (`contacts`), and any
/// still open (`open`).
pub fn check_contacts_to_call(name: &str, contacts: bool, open: bool) -> Result<(), StoreError> {
    if !contacts {
        return Err(StoreError::Invalid(format!(
            "project {name:?} has no contacts to call"
        )));
    }
    if !open {
        return Err(StoreError::Invalid(format!(
            "project {name:?} has no contacts left to call: import new contacts to run it again"
        )));
    }
    Ok(())
}

/// A failed write of a project named `name`: a clash with another project's name is a
/// conflict, anything else the database's.
pub fn name_taken(e: sqlx::Error, name: &str) -> StoreError {
    if super::is_unique_violation(&e) {
        StoreError::Conflict(format!("a project named {:?} exists", name.trim()))
    } else {
        e.into()
    }
}

/// Checks a change of a project's webhook (`Some(None)` removes a value, `None` keeps it).
pub fn check_webhook_change(
    url: &Option<Option<String>>,
    secret: &Option<Option<String>>,
) -> Result<(), StoreError> {
    if let Some(Some(u)) = url {
        crate::scenario::check_webhook_url(u)
            .map_err(|e| StoreError::Invalid(format!("webhook_url: {e}")))?;
    }
    if let Some(Some(s)) = secret {
        super::check_webhook_secret(s)
            .map_err(|e| StoreError::Invalid(format!("webhook_secret: {e}")))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Edits and deletions (`project_edit`).

/// Contacts deleted per transaction: the locks are let go between batches.
pub const DELETE_BATCH: i64 = 500;

/// How long an edit waits for its project's open contacts to be planned again before it
/// answers (a larger base goes on in the background: a browser or a client would give up).
pub const EDIT_WAIT: Duration = Duration::from_secs(20);

/// The columns `settings_row` reads, in order, of `projects` (the backends add their
/// `WHERE id = …`).
pub const SETTINGS_COLUMNS: &str = "name, scenario_id, time_zone, schedule, lines, \
     max_calls_per_number, retry_rules, ordering, callback_project_id, tariff, starts_at, \
     ends_at, type_windows, webhook_url, webhook_secret, transfer_settings, mode, \
     pacing_settings";

/// A JSON column of a project row, `None` (and its field noted as damaged) when it does not
/// parse.
fn column<T: serde::de::DeserializeOwned>(
    r: &impl Cols,
    i: usize,
    field: &'static str,
    damaged: &mut Vec<&'static str>,
) -> Option<T> {
    let v = r
        .try_get::<String>(i)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    if v.is_none() {
        damaged.push(field);
    }
    v
}

/// A project's settings as stored (a row of `SETTINGS_COLUMNS`), as a creation gives them
/// (start and end as local date-times in its zone), and the fields whose stored value does not
/// parse (their defaults stand in: an edit must give them).
pub fn settings_row(r: &impl Cols) -> (NewProject, Vec<&'static str>) {
    let mut damaged = Vec::new();
    let d = NewProject::default();
    let schedule = column(r, 3, "schedule", &mut damaged);
    let retry = column(r, 6, "retry_rules", &mut damaged);
    let ordering = column(r, 7, "ordering", &mut damaged);
    let tariff = column(r, 9, "tariff", &mut damaged);
    let types = column(r, 12, "type_windows", &mut damaged);
    let transfer = column(r, 15, "transfer", &mut damaged);
    let pacing = column(r, 17, "pacing", &mut damaged);
    let time_zone: String = r.get(2);
    let tz = zone(&time_zone);
    let local = |t: Option<i64>| t.map(|t| local_datetime(t, tz));
    let p = NewProject {
        name: r.get(0),
        scenario_id: r.get(1),
        time_zone,
        schedule: schedule.unwrap_or(d.schedule),
        lines: r.get::<i64>(4).clamp(0, i64::from(u32::MAX)) as u32,
        max_calls_per_number: r.get::<i64>(5).clamp(0, 9) as u32,
        retry_rules: retry.unwrap_or_default(),
        ordering: ordering.unwrap_or(d.ordering),
        callback_project_id: r.get(8),
        tariff: tariff.unwrap_or_default(),
        starts_at: local(r.get(10)),
        ends_at: local(r.get(11)),
        type_windows: types.unwrap_or_default(),
        webhook_url: r.get(13),
        webhook_secret: r.get(14),
        transfer: transfer.unwrap_or_default(),
        mode: Mode::parse(&r.get::<String>(16)).unwrap_or_default(),
        pacing: pacing.unwrap_or_default(),
    };
    (p, damaged)
}

/// An edit made into what the store writes.
pub struct Edited {
    /// The settings after the edit.
    pub next: NewProject,
    /// What checking them yields (the rules with their defaults, start and end in unix s).
    pub checked: CheckedSettings,
    /// Whether the project's open contacts are planned again.
    pub replans: bool,
    /// The decision log's line.
    pub reason: String,
}

/// Applies `edit` to the stored settings `current` (with their `damaged` fields, which the
/// edit must give) and checks the result as a creation is checked. The references (scenario,
/// callback project) are the store's to check.
pub fn edited(
    current: NewProject,
    damaged: &[&'static str],
    edit: &ProjectEdit,
) -> Result<Edited, StoreError> {
    let given = edit.fields();
    if let Some(field) = damaged.iter().find(|f| !given.contains(f)) {
        return Err(StoreError::Invalid(format!(
            "{field}: the stored value is damaged; give a new one with this change"
        )));
    }
    let next = edit.apply(current);
    let checked = check_settings(&next)?;
    // A damaged value stood in by its default: the contacts were planned without it.
    let replans = edit.replans() || !damaged.is_empty();
    let what = if replans {
        "; its open contacts are planned again under them"
    } else {
        ""
    };
    let reason = format!("settings changed: {}{what}", given.join(", "));
    Ok(Edited {
        next,
        checked,
        replans,
        reason,
    })
}

/// The decision log's line for contacts of `status` deleted.
pub fn deleted_reason(count: &DeleteCount, status: &str) -> String {
    format!(
        "deleted {} contacts of status {status} ({} of them kept hidden for their calls' history)",
        count.deleted, count.kept_for_history
    )
}

// ---------------------------------------------------------------------------------------------
// Re-plans (`replan`).

/// Contacts planned again per transaction: a batch holds its locks for tens of milliseconds,
/// so the dialer and the API go on between batches even on a base of millions.
pub const REPLAN_BATCH: i64 = 1_000;

/// After each batch the re-plan waits as long as the batch took (within these bounds) before
/// taking its locks again: a writer waiting for them gets its turn (SQLite's busy handler
/// sleeps between tries, and one that never found the write lock free would wait for the whole
/// re-plan).
const REPLAN_PAUSE_MIN: Duration = Duration::from_millis(5);
const REPLAN_PAUSE_MAX: Duration = Duration::from_millis(100);

/// How long to wait after a batch begun at `started`.
pub fn replan_pause(started: Instant) -> Duration {
    started.elapsed().clamp(REPLAN_PAUSE_MIN, REPLAN_PAUSE_MAX)
}

/// The per-project locks of the re-plans, shared by every handle on a store.
pub type ReplanLockMap = Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>;

/// The lock that lets one re-plan of project `id` run at a time in this process.
pub fn replan_lock(locks: &ReplanLockMap, id: i64) -> Arc<tokio::sync::Mutex<()>> {
    locks
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(id)
        .or_default()
        .clone()
}

/// The end of re-plan task `task` of project `id`: how many contacts it planned.
pub async fn replan_joined(
    id: i64,
    task: tokio::task::JoinHandle<Result<u64, StoreError>>,
) -> Result<u64, StoreError> {
    task.await
        .map_err(|e| StoreError::Db(format!("re-planning project {id}: {e}")))?
}

/// As `replan_joined`, waiting at most `limit`: a re-plan not done by then goes on in the
/// background (its end is in the decision log). Answers whether it was done.
pub async fn replan_joined_within(
    id: i64,
    limit: Duration,
    task: tokio::task::JoinHandle<Result<u64, StoreError>>,
) -> Result<bool, StoreError> {
    match tokio::time::timeout(limit, task).await {
        Ok(done) => {
            done.map_err(|e| StoreError::Db(format!("re-planning project {id}: {e}")))??;
            Ok(true)
        }
        Err(_) => {
            tracing::info!(
                project_id = id,
                "an edited project's contacts are still being planned again, in the background"
            );
            Ok(false)
        }
    }
}

/// The decision log's line at the end of a re-plan of `total` contacts.
pub fn replan_done_reason(total: u64) -> String {
    format!(
        "{total} open contacts planned again under the edited settings \
         (those in a call are planned when their call ends)"
    )
}

/// The decision log's line of a contact planned again at its call's end.
pub const REPLAN_ONE_REASON: &str =
    "planned again under the project's edited settings (the call began before the edit)";

/// One open contact as the re-plan reads it: `text` is the JSON array the backends' SQL builds
/// (`contact_rows::due_contact` parses it: `parse`).
pub enum OpenRow {
    /// A contact to plan.
    Contact(DueContact),
    /// Contact `0`'s row does not parse (`1`: why): it is set aside.
    Damaged(i64, String),
}

/// Reads one open contact of project `project_id` (see `OpenRow`); a row without even an id is
/// an error.
pub fn open_row(
    project_id: i64,
    text: &str,
    parse: impl FnOnce(serde_json::Value) -> Result<DueContact, (Option<i64>, String)>,
) -> Result<OpenRow, StoreError> {
    let row: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| StoreError::Db(format!("project {project_id}: a contact row: {e}")))?;
    match parse(row) {
        Ok(c) => Ok(OpenRow::Contact(c)),
        Err((Some(id), why)) => Ok(OpenRow::Damaged(id, why)),
        Err((None, why)) => Err(StoreError::Db(format!(
            "project {project_id}: a contact row without an id: {why}"
        ))),
    }
}

/// The numbers of `contacts` whose stop-list entries the re-plan reads.
pub fn numbers_of(contacts: &[(DueContact, bool)]) -> Vec<&str> {
    contacts
        .iter()
        .flat_map(|(c, _)| c.numbers.iter().map(|n| n.e164.as_str()))
        .collect()
}

/// A contact planned again under a project's settings.
pub struct Replanned {
    pub attempts: ContactAttempts,
    pub plan: Plan,
}

impl Replanned {
    /// Whether the contact is to be kept back after its plan is written: an import still
    /// running keeps its contacts back until it has finished.
    pub fn held_back(&self, by_import: bool) -> bool {
        by_import && self.plan.next.is_some()
    }

    /// The decision log's lines of contact `c` (number, decision, reason): a hold is the
    /// dialer's everyday business; a number stopped or a contact closed by the new settings is
    /// worth a line.
    pub fn notes<'a>(
        &'a self,
        c: &'a DueContact,
    ) -> impl Iterator<Item = (Option<&'a str>, &'static str, &'a str)> + 'a {
        let number = c.numbers.get(c.next_idx).map(|n| n.e164.as_str());
        self.plan
            .notes
            .iter()
            .filter(|(d, _)| *d != "hold")
            .map(move |(d, r)| (number, *d, r.as_str()))
    }
}

/// Plans contact `c` again under project `p`'s settings (`schedule` and `types` are `p`'s,
/// parsed once per batch), as if the project had always had them; `listed` are its numbers
/// on the stop list.
pub fn replan_contact(
    p: &ProjectRow,
    schedule: Option<&Schedule>,
    types: Option<&TypeWindows>,
    c: &DueContact,
    listed: &HashSet<String>,
    registry: Option<&crate::phone::registry::Registry>,
    at: i64,
) -> Replanned {
    let mut attempts = c.attempts.clone();
    attempts.apply_rules(&p.rules);
    let plan = plan(
        &mut attempts,
        &c.number_facts(listed, registry),
        p.facts(schedule, types),
        c.order_facts(),
        at,
    );
    Replanned { attempts, plan }
}
