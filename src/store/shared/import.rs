//! The import, the copies and the contact rows written once above the SQL (both backends'
//! `import.rs`, `import_watch.rs`, `contact_copy.rs` and `contact_rows.rs` hold only their
//! statements and transactions):
//! - the import's batches: the parser on its own thread packing contacts and refused values
//!   into `Packed` batches, the figures it keeps (`Progress`), and the planning of a batch —
//!   which contacts merge into numbers the project has, which numbers each new contact keeps,
//!   and each new contact's plan (`plan_batch`);
//! - `copy`: what a copied contact becomes (its numbers, gate, `pick_key`, wait, decision-log
//!   line);
//! - `rows`: a contact row as the dialer reads and writes it (the next-callable walk's JSON
//!   rows, a plan's columns, status texts).
use crate::import::{
    read_contacts, ContactSink, ImportError, ImportLimits, ImportReport, ImportedContact,
    RowProblem,
};
use crate::phone::registry::Registry;
use crate::rules::attempts::ContactAttempts;
use crate::rules::plan::{plan, NumberFacts, OrderFacts, Plan, ProjectFacts};
use crate::store::admin::MAX_KEPT_REJECTS;
use crate::store::{ProjectRow, StoreError};
use chrono_tz::Tz;
use std::collections::HashSet;
use std::io::Read;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Contacts written per transaction during an import: enough to amortise a transaction's fixed
/// work (the commit, the check of existing numbers; SQLite's write lock), few enough that a
/// batch's locks are held for tens of milliseconds (the dialer's writes wait for them) and that
/// the batches in memory (one filling, one queued, one being written) stay about a MB each.
pub const IMPORT_BATCH: usize = 5_000;

/// A batch is also sent once its text reaches this (rows may be long: up to
/// `ImportLimits::max_row_bytes` each), so the batches in memory stay a few MB each.
pub const IMPORT_BATCH_BYTES: usize = 4 << 20;

/// How often a running import's figures are written to its row.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Parsed contacts packed for writing: their text (names, fields as JSON, numbers) in one
/// buffer, so a batch is a few allocations however many contacts it holds.
#[derive(Default)]
pub struct Packed {
    buf: String,
    contacts: Vec<PackedContact>,
    numbers: Vec<PackedNumber>,
    /// The values refused since the previous batch, to keep (`import_rejects`).
    pub problems: Vec<RowProblem>,
}

/// A contact in a `Packed` batch: ranges of its text and of its numbers.
struct PackedContact {
    name: Option<Range<usize>>,
    /// The other columns as a JSON object (the `fields` column).
    fields: Range<usize>,
    priority: i32,
    numbers: Range<usize>,
}

/// A number in a `Packed` batch.
struct PackedNumber {
    kind: crate::phone::NumberKind,
    e164: Range<usize>,
    tz: Option<Tz>,
}

impl Packed {
    pub fn push(&mut self, c: &ImportedContact) {
        let name = c.name.as_deref().map(|n| self.add(n));
        let json = serde_json::to_string(&c.fields).unwrap_or_else(|_| "{}".into());
        let fields = self.add(&json);
        let first = self.numbers.len();
        for n in &c.numbers {
            let e164 = self.add(&n.e164);
            self.numbers.push(PackedNumber {
                e164,
                tz: n.tz,
                kind: n.kind,
            });
        }
        self.contacts.push(PackedContact {
            name,
            fields,
            priority: c.priority,
            numbers: first..self.numbers.len(),
        });
    }

    fn add(&mut self, s: &str) -> Range<usize> {
        let start = self.buf.len();
        self.buf.push_str(s);
        start..self.buf.len()
    }

    fn text(&self, r: &Range<usize>) -> &str {
        // Ranges come from `add`, on character boundaries of this buffer.
        self.buf.get(r.clone()).unwrap_or_default()
    }

    /// Contacts in the batch.
    pub fn len(&self) -> usize {
        self.contacts.len()
    }

    /// Whether the batch holds a contact (it may hold only refused values).
    pub fn has_contacts(&self) -> bool {
        !self.contacts.is_empty()
    }

    /// No contact and no refused value.
    pub fn is_empty(&self) -> bool {
        self.contacts.is_empty() && self.problems.is_empty()
    }

    /// Whether the batch should be written now: enough contacts, text or refused values.
    pub fn is_full(&self) -> bool {
        self.contacts.len() >= IMPORT_BATCH
            || self.buf.len() >= IMPORT_BATCH_BYTES
            || self.problems.len() >= IMPORT_BATCH
    }

    pub fn clear(&mut self) {
        self.buf.clear();
        self.contacts.clear();
        self.numbers.clear();
        self.problems.clear();
    }

    /// Every number of the batch, in file order (repeats included): what the store looks up
    /// among the project's numbers and the stop list.
    pub fn numbers(&self) -> Vec<&str> {
        self.numbers.iter().map(|n| self.text(&n.e164)).collect()
    }
}

/// What every batch of one import shares.
pub struct BatchContext<'a> {
    pub project_id: i64,
    pub import_id: i64,
    /// Contacts are created when their import starts.
    pub created_at: i64,
    pub project: &'a ProjectRow,
    pub registry: Option<&'a Registry>,
}

/// A batch decided (`plan_batch`): the contacts it adds, with their numbers and plans, and how
/// many merged into contacts the project has.
pub struct NewContacts<'b> {
    /// Contacts that merged into existing ones.
    pub merged: u64,
    /// The contacts to add, in file order.
    pub contacts: Vec<NewContact<'b>>,
    /// Their numbers, contact by contact, each contact's in its order.
    pub numbers: Vec<NewNumber<'b>>,
}

/// A contact a batch adds, with its plan.
pub struct NewContact<'b> {
    /// Its place in the project's import order.
    pub seq: i64,
    pub name: Option<&'b str>,
    /// The `fields` column (a JSON object).
    pub fields: &'b str,
    pub priority: i32,
    /// Its attempts column when the plan changed them (a number on the stop list); `None`
    /// stands for "never called".
    pub attempts: Option<String>,
    pub plan: Plan,
}

impl NewContact<'_> {
    /// The `status` column.
    pub fn status(&self) -> &'static str {
        rows::status_text(self.plan.status)
    }

    /// The `next_idx` and `gate` columns (0 and '' for a contact closed at once).
    pub fn next(&self) -> (i64, &str) {
        self.plan
            .next
            .as_ref()
            .map_or((0, ""), |n| (n.idx as i64, n.gate.as_str()))
    }
}

/// A number of a contact a batch adds.
pub struct NewNumber<'b> {
    /// Which contact (an index into `NewContacts::contacts`).
    pub contact: usize,
    /// Its order among the contact's numbers: 0, 1, … over the numbers it keeps.
    pub idx: i64,
    pub e164: &'b str,
    pub zone: Option<Tz>,
    pub kind: crate::phone::NumberKind,
}

impl NewContacts<'_> {
    /// Decision-log lines of the contacts closed at once (every number on the stop list):
    /// (contact index, decision, reason).
    pub fn closed_notes(&self) -> impl Iterator<Item = (usize, &'static str, &str)> {
        self.contacts
            .iter()
            .enumerate()
            .filter(|(_, c)| c.plan.next.is_none())
            .flat_map(|(i, c)| c.plan.notes.iter().map(move |(d, r)| (i, *d, r.as_str())))
    }
}

/// Decides a batch: which of its contacts are new and what they hold, given the numbers
/// among the batch's that the project already has (`existing`) and those on the stop list
/// (`listed`), `seq_before` the import order before the batch.
///
/// Merging is decided exactly as inserting one number at a time with `INSERT OR IGNORE` did:
/// in file order, a number the project already has (or an earlier contact of the batch took)
/// is dropped from the contact, and a contact left without numbers merges into the existing
/// one (counted as a duplicate); the kept numbers are indexed 0, 1, …. Each new contact is
/// planned from its kept numbers (its first number that is not on the stop list, its gate, its
/// place in the project's order; see `dialer::plan`).
pub fn plan_batch<'b>(
    ctx: &BatchContext<'_>,
    batch: &'b Packed,
    seq_before: i64,
    existing: &HashSet<String>,
    listed: &HashSet<String>,
) -> NewContacts<'b> {
    let mut taken: HashSet<&str> = HashSet::with_capacity(batch.numbers.len());
    let mut out = NewContacts {
        merged: 0,
        contacts: Vec::with_capacity(batch.len()),
        numbers: Vec::with_capacity(batch.numbers.len()),
    };
    for (i, c) in batch.contacts.iter().enumerate() {
        let first = out.numbers.len();
        for n in &batch.numbers[c.numbers.clone()] {
            let e164 = batch.text(&n.e164);
            if !existing.contains(e164) && taken.insert(e164) {
                out.numbers.push(NewNumber {
                    contact: out.contacts.len(),
                    idx: (out.numbers.len() - first) as i64,
                    e164,
                    zone: n.tz.or_else(|| ctx.registry.and_then(|r| r.zone(e164))),
                    kind: n.kind,
                });
            }
        }
        let kept = &out.numbers[first..];
        if kept.is_empty() {
            out.merged += 1;
            continue;
        }
        let seq = seq_before + 1 + i as i64;
        let facts: Vec<NumberFacts> = kept
            .iter()
            .map(|n| NumberFacts {
                e164: n.e164,
                zone: n.zone,
                kind: n.kind,
                stop_listed: listed.contains(n.e164),
            })
            .collect();
        let mut attempts = ContactAttempts::new(facts.len());
        let p = plan(
            &mut attempts,
            &facts,
            ProjectFacts {
                rules: &ctx.project.rules,
                schedule: None,
                types: None,
                ordering: &ctx.project.ordering,
            },
            OrderFacts {
                seq,
                priority: c.priority,
            },
            ctx.created_at,
        );
        let blocked = attempts.numbers.iter().any(|n| n.stop_listed);
        out.contacts.push(NewContact {
            seq,
            name: c.name.as_ref().map(|r| batch.text(r)),
            fields: batch.text(&c.fields),
            priority: c.priority,
            attempts: blocked.then(|| super::json(&attempts)),
            plan: p,
        });
    }
    out
}

/// What a written batch changed.
#[derive(Debug, Default)]
pub struct WrittenBatch {
    /// Contacts that merged into existing ones.
    pub merged: u64,
    /// The lowest and highest ids of the contacts it added, if any.
    pub ids: Option<(i64, i64)>,
}

/// An import's figures so far, shared by the reader, the parser and the writer.
#[derive(Debug, Default)]
pub struct Progress {
    bytes: AtomicU64,
    rows: AtomicU64,
    /// Contacts the parser handed on (some may yet merge in the store).
    accepted: AtomicU64,
    /// Rows merged within the file.
    duplicates: AtomicU64,
    rejected: AtomicU64,
}

/// A running import's figures as its row holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    pub rows_read: i64,
    pub bytes_read: i64,
    pub imported: i64,
    pub duplicates: i64,
    pub rejected: i64,
}

impl Progress {
    pub fn rows(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }

    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The figures to write to the running import's row; `merged` contacts merged in the
    /// store so far count as duplicates, not imported.
    pub fn figures(&self, merged: u64) -> Figures {
        let accepted = self.accepted.load(Ordering::Relaxed);
        Figures {
            rows_read: self.rows() as i64,
            bytes_read: self.bytes() as i64,
            imported: accepted.saturating_sub(merged) as i64,
            duplicates: (self.duplicates.load(Ordering::Relaxed) + merged) as i64,
            rejected: self.rejected.load(Ordering::Relaxed) as i64,
        }
    }
}

/// A reader that counts the bytes read through it.
struct Counted {
    inner: Box<dyn Read + Send>,
    progress: Arc<Progress>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The parser's side of an import: contacts and refused values packed into batches, each
/// batch sent to the writer when full; the figures after each row into `progress`. Once the
/// writer has stopped (an error) nothing more is kept.
struct BatchSink {
    batch: Packed,
    /// Written batches coming back to be reused.
    back: std::sync::mpsc::Receiver<Packed>,
    tx: tokio::sync::mpsc::Sender<Packed>,
    open: bool,
    progress: Arc<Progress>,
    /// Refused values kept so far (at most `MAX_KEPT_REJECTS`).
    kept: u64,
}

impl BatchSink {
    fn send_if_full(&mut self) {
        if !self.batch.is_full() {
            return;
        }
        let fresh = match self.back.try_recv() {
            Ok(mut used) => {
                used.clear();
                used
            }
            Err(_) => Packed::default(),
        };
        let full = std::mem::replace(&mut self.batch, fresh);
        self.open = self.tx.blocking_send(full).is_ok();
    }
}

// On a borrow, so the import keeps the sink (its last batch, its channel) after the read.
impl ContactSink for &mut BatchSink {
    fn contact(&mut self, c: ImportedContact) -> bool {
        // The writer decides new vs merged.
        if self.open {
            self.batch.push(&c);
            self.send_if_full();
        }
        true
    }

    fn wants_every_problem(&self) -> bool {
        true
    }

    fn problem(&mut self, p: RowProblem) {
        if self.open && self.kept < MAX_KEPT_REJECTS {
            self.kept += 1;
            self.batch.problems.push(p);
            self.send_if_full();
        }
    }

    fn row_read(&mut self, rows: u64, report: &ImportReport) {
        let p = &self.progress;
        p.rows.store(rows, Ordering::Relaxed);
        p.accepted.store(report.imported, Ordering::Relaxed);
        p.duplicates.store(report.duplicates, Ordering::Relaxed);
        p.rejected.store(report.rejected_total, Ordering::Relaxed);
    }
}

/// The parser of an import, running on its own thread: full batches come out of `batches`,
/// written ones go back (`give_back`), and its report once it has finished (`report`).
pub struct Parser {
    /// Full batches, in file order; closed once the parser has finished (or stopped).
    pub batches: tokio::sync::mpsc::Receiver<Packed>,
    back: std::sync::mpsc::Sender<Packed>,
    task: tokio::task::JoinHandle<Result<ImportReport, ImportError>>,
}

/// Starts reading `input` on a blocking thread, counting its bytes and rows into `progress`.
///
/// The parser fills whole batches on its own thread while the previous one is written. Each
/// contact is packed into the batch and dropped at once, on the thread that allocated it (the
/// system allocator is slow at freeing another thread's memory in bulk); written batches come
/// back to be reused, so a batch costs no allocation.
pub fn spawn_parser(
    input: Box<dyn Read + Send>,
    limits: ImportLimits,
    progress: &Arc<Progress>,
) -> Parser {
    let (tx, batches) = tokio::sync::mpsc::channel::<Packed>(1);
    let (back, back_rx) = std::sync::mpsc::channel::<Packed>();
    let input = Counted {
        inner: input,
        progress: progress.clone(),
    };
    let progress = progress.clone();
    let task = tokio::task::spawn_blocking(move || {
        let mut sink = BatchSink {
            batch: Packed::default(),
            back: back_rx,
            tx,
            open: true,
            progress,
            kept: 0,
        };
        let report = read_contacts(input, limits, &mut sink);
        if sink.open && report.is_ok() && !sink.batch.is_empty() {
            // A closed channel here means the writer failed; its error is what is returned.
            let _ = sink.tx.blocking_send(std::mem::take(&mut sink.batch));
        }
        report
    });
    Parser {
        batches,
        back,
        task,
    }
}

impl Parser {
    /// Hands a written batch back to be reused.
    pub fn give_back(&self, batch: Packed) {
        // The parser may have finished already; then the batch is dropped here.
        let _ = self.back.send(batch);
    }

    /// The parser's report once it has finished, with the `merged` contacts that merged in
    /// the store counted as duplicates rather than imported; a whole-file failure (a limit
    /// hit, unreadable input) as the store's error.
    pub async fn report(self, merged: u64) -> Result<ImportReport, StoreError> {
        let mut report = self
            .task
            .await
            .map_err(|e| StoreError::Db(format!("import task: {e}")))?
            .map_err(|e| match e {
                ImportError::TooLarge(n) => StoreError::TooLarge(n),
                other => StoreError::Invalid(other.to_string()),
            })?;
        report.imported -= merged;
        report.duplicates += merged;
        Ok(report)
    }
}

/// Copying contacts into another project: what the copy becomes, once the store has read the
/// source contact and its numbers that may go.
pub mod copy {
    use crate::rules::attempts::{ContactAttempts, ContactStatus};
    use crate::rules::gate::Gate;
    use crate::rules::plan::pick_key;
    use crate::store::shared::Cols;
    use crate::store::ProjectRow;

    /// Where a copy comes from, for its decision-log line and its columns.
    pub struct Source<'a> {
        pub project_id: i64,
        pub project_name: &'a str,
        /// The call that set it off (an action), if any.
        pub call_id: Option<i64>,
        /// The number to put first (the one that reached the person), if any.
        pub first_number: Option<&'a str>,
        /// Not dialed before this (unix s): a call back an agent asked for.
        pub not_before: Option<i64>,
    }

    /// The source contact's `name, fields, priority` (the columns in that order).
    pub fn source_row(r: &impl Cols) -> (Option<String>, String, i32) {
        // Written from an i32; a value out of its range (a hand edit) is taken at its bound.
        let priority: i64 = r.get(2);
        let priority =
            i32::try_from(priority).unwrap_or(if priority < 0 { i32::MIN } else { i32::MAX });
        (r.get(0), r.get(1), priority)
    }

    /// A number of the source that may go: `(e164, time_zone, kind)`, the columns in that
    /// order.
    pub type CopyNumber = (String, Option<String>, String);

    /// The numbers a copy takes, from the rows of `e164, time_zone, kind` (the number that
    /// reached the person first, then the others in their order), each once.
    pub fn copy_numbers<R: Cols>(rows: &[R]) -> Vec<CopyNumber> {
        let mut numbers: Vec<CopyNumber> = rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        numbers.dedup_by(|x, y| x.0 == y.0);
        numbers
    }

    /// The columns and the decision-log line of a copy.
    pub struct CopyPlan {
        /// Its gate (`Gate::key`) from its first number.
        pub gate: String,
        pub pick_key: Vec<u8>,
        /// The `ready` column: 0 while it waits for a call back's time.
        pub ready: i64,
        /// The `next_at` column.
        pub next_at: i64,
        /// Its attempts column: the wait, so a re-plan (an edit of the target project) keeps
        /// it; `None` (never called) for a copy that does not wait.
        pub attempts: Option<String>,
        /// The decision-log line ("added").
        pub reason: String,
    }

    /// What a copy into `target` becomes: a new contact, not yet called, numbered `seq` in
    /// the target's order, with `numbers` (at least one) — ready now, or, a call back, when
    /// its time comes (`promote_due` makes it ready then).
    pub fn plan_copy(
        target: &ProjectRow,
        from: &Source<'_>,
        priority: i32,
        seq: i64,
        numbers: &[CopyNumber],
        now: i64,
    ) -> CopyPlan {
        let gate = numbers.first().map_or_else(
            || Gate {
                zone: None,
                kind: crate::phone::NumberKind::Other,
            },
            |(_, zone, kind)| Gate {
                zone: zone.as_deref().and_then(|z| z.parse().ok()),
                kind: kind.parse().unwrap_or(crate::phone::NumberKind::Other),
            },
        );
        let key = pick_key(&target.ordering, ContactStatus::NotCalled, priority, seq, 0);
        let wait_until = from.not_before.filter(|t| *t > now);
        let mut reason = match from.call_id {
            Some(call) => format!("added from project {:?}, call {call}", from.project_name),
            None => format!("copied from project {:?}", from.project_name),
        };
        if let Some(t) = wait_until {
            let tz: chrono_tz::Tz = target
                .time_zone
                .parse()
                .unwrap_or(chrono_tz::Europe::Moscow);
            let at = chrono::DateTime::from_timestamp(t, 0)
                .unwrap_or_default()
                .with_timezone(&tz);
            reason.push_str(&format!(
                "; call back not before {} {}",
                at.format("%d.%m %H:%M"),
                tz.name()
            ));
        }
        CopyPlan {
            gate: gate.key(),
            pick_key: key,
            ready: i64::from(wait_until.is_none()),
            next_at: wait_until.unwrap_or(0),
            attempts: wait_until
                .map(|t| super::super::json(&ContactAttempts::waiting(numbers.len(), t))),
            reason,
        }
    }
}

/// A contact row as the dialer reads and writes it: a row of the next-callable walk (a JSON
/// array), its plan's columns, status texts, number rows, the attempts column.
pub mod rows {
    use crate::rules::attempts::{ContactAttempts, ContactStatus};
    use crate::rules::plan::Plan;
    use crate::store::{ContactNumber, DueContact, StoreError};
    use std::collections::BTreeMap;

    /// One row of the next-callable walk's array.
    type DueJson = (
        i64,
        i64,
        i32,
        Option<String>,
        i64,
        Option<String>,
        BTreeMap<String, String>,
        Vec<(String, Option<String>, String)>,
        i64,
    );

    /// One row of the next-callable walk's array as a contact, or why it cannot be read.
    pub fn due_contact(row: serde_json::Value) -> Result<DueContact, (Option<i64>, String)> {
        let id = row.get(0).and_then(serde_json::Value::as_i64);
        let (id, seq, priority, attempts, next_idx, name, fields, numbers, version): DueJson =
            serde_json::from_value(row).map_err(|e| {
                let who = id.map_or_else(|| "a contact".to_string(), |i| format!("contact {i}"));
                (
                    id,
                    format!("{who}: its fields or numbers do not parse: {e}"),
                )
            })?;
        Ok(DueContact {
            attempts: parse_attempts(id, attempts.as_deref(), numbers.len())
                .map_err(|e| (Some(id), e.to_string()))?,
            id,
            seq,
            priority,
            next_idx: next_idx.max(0) as usize,
            numbers: numbers
                .into_iter()
                .map(|(e164, zone, kind)| contact_number(e164, zone, &kind))
                .collect(),
            name,
            fields,
            version,
        })
    }

    /// The contact columns a plan sets: status, next_idx, gate, pick_key, next_at, ready (an
    /// integer flag, as both schemas store it).
    pub fn plan_columns(
        plan: &Plan,
        now: i64,
    ) -> (&'static str, i64, &str, &[u8], Option<i64>, i64) {
        let status = status_text(plan.status);
        match &plan.next {
            Some(n) => (
                status,
                n.idx as i64,
                n.gate.as_str(),
                &plan.pick_key,
                Some(n.not_before),
                i64::from(n.not_before <= now),
            ),
            None => (status, 0, "", &plan.pick_key, None, 0),
        }
    }

    pub fn status_text(s: ContactStatus) -> &'static str {
        match s {
            ContactStatus::NotCalled => "not_called",
            ContactStatus::Retry => "retry",
            ContactStatus::Reached => "reached",
            ContactStatus::NotReached => "not_reached",
        }
    }

    /// A number row: its type stored as text (`other` if unreadable).
    pub fn contact_number(e164: String, zone: Option<String>, kind: &str) -> ContactNumber {
        ContactNumber {
            e164,
            zone,
            kind: kind.parse().unwrap_or(crate::phone::NumberKind::Other),
        }
    }

    /// A contact's attempts column (NULL: never called, one fresh state per number).
    pub fn parse_attempts(
        id: i64,
        text: Option<&str>,
        numbers: usize,
    ) -> Result<ContactAttempts, StoreError> {
        match text {
            Some(j) => serde_json::from_str(j)
                .map_err(|e| StoreError::Db(format!("contact {id}: attempts does not parse: {e}"))),
            None => Ok(ContactAttempts::new(numbers)),
        }
    }

    /// What a plan write is guarded by: the state the plan was made from.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Guard {
        /// The contact is still at this version and not in a call.
        Version(i64),
        /// The contact is parked for the call that is ending (only that call's end writes it).
        InCall,
    }

    /// How reports name a contact set aside because its row could not be read.
    pub const DAMAGED_ROW: &str = "damaged row";

    /// A contact in flight is parked here so no pass can pick it again.
    pub const IN_FLIGHT_NEXT_AT: i64 = i64::MAX;
}
