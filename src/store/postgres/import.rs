//! The PostgreSQL store's contact import writer (the twin of `sqlite/import.rs`): the parser's
//! contacts packed into batches on its own thread, each batch written in one transaction,
//! numbers the project already has merged, and the import registered while it runs so that a
//! failure, a cancelled request or a crash removes what it wrote (its contacts are never
//! dialed before it has finished). What is not SQL — the batches, the parser's thread, the
//! planning of a batch's contacts — is `store::shared::import`'s, as for SQLite.
//!
//! Where it differs from SQLite's:
//! - Contact ids come from the `contacts.id` identity's sequence
//!   (`nextval(pg_get_serial_sequence('contacts', 'id'))`, one call per contact of the batch in
//!   one statement), not `MAX(id) + 1`: PostgreSQL has no single writer that would keep that
//!   maximum true, and rows numbered by the sequence later (a copy) would collide with ids
//!   chosen beside it. Other sessions may draw from the sequence meanwhile, so a batch's ids
//!   are ascending in file order but not always one unbroken range: the range recorded per
//!   batch is its lowest to its highest id, and every statement over a range also asks for
//!   `import_id` (as SQLite's already did), so a foreign contact inside it is never touched.
//!   The floor (the highest contact id when the import began) stays below every id the
//!   import draws later, as with SQLite.
//! - A batch is one statement per table over arrays (`INSERT … SELECT … FROM UNNEST($n::T[],
//!   …)`; the checks of existing and stop-listed numbers `= ANY($n)`), instead of SQLite's
//!   multi-row VALUES cut to its limit of bound values.
//! - Concurrency: SQLite's `BEGIN IMMEDIATE` made a batch's check of the numbers the project
//!   has, and its inserts, one serialised step. Here a batch takes its project's advisory lock
//!   (`contact_rows::lock_project`, also taken by copies into the project) before it checks,
//!   so another writer cannot add one of those numbers before it commits (which would fail
//!   the import on `UNIQUE (project_id, e164)`). The release of a finished import's contacts
//!   takes the same lock per range (`lock_key::PROJECT_BASE`: "an import's end"). The stop
//!   list is read without a lock: a number listed while a batch is written may be missed by
//!   the batch and by the list's re-plan both; the dialer checks the list again before it
//!   dials (as after a crash between a listing and its re-plan in SQLite).
//! - Registration is the same INSERT, refused by the partial unique index `imports_running`
//!   (`is_unique_violation`) while another import runs in the project, its id `RETURNING id`.
use super::contact_rows::lock_project;
use super::import_watch::{drop_older_rejects, keep_rejects, write_progress};
use super::{lock_key, PgStore};
use crate::import::{ImportLimits, ImportReport};
use crate::store::shared::import::{
    plan_batch, spawn_parser, BatchContext, Packed, Progress, WrittenBatch, PROGRESS_EVERY,
};
use crate::store::shared::is_unique_violation;
use crate::store::{ImportWatch, StoreError};
use sqlx::{Connection, PgConnection, Row};
use std::collections::HashSet;
use std::io::Read;
use std::sync::Arc;

impl PgStore {
    /// `CampaignStore::import_contacts` for any reader (tests, benchmarks, the demo).
    pub async fn import_csv(
        &self,
        project_id: i64,
        input: impl Read + Send + 'static,
        limits: ImportLimits,
    ) -> Result<ImportReport, StoreError> {
        // Boxed here, so the import below is compiled once rather than for every reader type.
        self.run_import(project_id, Box::new(input), limits, ImportWatch::default())
            .await
    }

    /// Imports contacts into a project: good rows are stored in batches, bad values
    /// reported by row; numbers already in the project merge (counted as duplicates). The
    /// import is all or nothing for whole-file failures (a limit hit while streaming, an I/O
    /// or database error): the contacts it added are removed again and the error returned.
    /// Its contacts are dialed only once it has finished. One import at a time per project
    /// (a second one meanwhile is a conflict). While it runs, its figures are written to its
    /// row about once a second (`import_watch`); every refused value is kept with the batches.
    pub(super) async fn run_import(
        &self,
        project_id: i64,
        input: Box<dyn Read + Send>,
        limits: ImportLimits,
        watch: ImportWatch,
    ) -> Result<ImportReport, StoreError> {
        let name = self.project_name(project_id).await?;
        let mut import = PendingImport::begin(self, project_id, &name, watch.size).await?;
        if let Some(tx) = watch.begun {
            let _ = tx.send(import.id);
        }
        let progress = Arc::new(Progress::default());
        let result = match self
            .write_import(project_id, &mut import, input, limits, &progress)
            .await
        {
            Ok(report) => self
                .finish_import(project_id, import.id, &report, &import.ranges, &progress)
                .await
                .map(|()| report),
            Err(e) => Err(e),
        };
        import.finished();
        if let Err(e) = &result {
            let why = e.to_string();
            if let Err(undo) = self
                .discard_import(import.id, Some((&import.ranges, import.floor)), &why)
                .await
            {
                // Its contacts stay hidden from the dialer; the next open removes them.
                tracing::error!(import = import.id, error = %undo, "removing a failed import");
            }
        }
        result
    }

    /// Streams the file into the project batch by batch; answers the report.
    async fn write_import(
        &self,
        project_id: i64,
        import: &mut PendingImport,
        input: Box<dyn Read + Send>,
        limits: ImportLimits,
        progress: &Arc<Progress>,
    ) -> Result<ImportReport, StoreError> {
        let mut parser = spawn_parser(input, limits, progress);
        // One connection for the whole import: its prepared statements are the batches'.
        let mut conn = self.pool.acquire().await?;
        // Imports into one project never overlap (`imports_running`), so the import order
        // continues from here without reading it again per batch.
        let mut seq: i64 =
            sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM contacts WHERE project_id = $1")
                .bind(project_id)
                .fetch_one(&mut *conn)
                .await?
                .get(0);
        let mut merged = 0u64;
        let project = self
            .projects_of(false, Some(project_id))
            .await?
            .0
            .into_iter()
            .find(|p| p.id == project_id)
            .ok_or_else(|| StoreError::NotFound(format!("project {project_id}")))?;
        let ctx = BatchContext {
            project_id,
            import_id: import.id,
            created_at: self.now(),
            project: &project,
            registry: self.registry.as_deref(),
        };
        let mut tick = tokio::time::interval(PROGRESS_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let batch = tokio::select! {
                b = parser.batches.recv() => match b {
                    Some(b) => b,
                    None => break,
                },
                _ = tick.tick() => {
                    write_progress(&mut conn, progress, import.id, merged).await?;
                    continue;
                }
            };
            let written = write_batch(&mut conn, &ctx, seq, &batch).await?;
            seq += batch.len() as i64;
            merged += written.merged;
            if let Some(range) = written.ids {
                import.ranges.push(range);
            }
            parser.give_back(batch);
        }
        drop(conn);
        parser.report(merged).await
    }

    /// Marks an import done with its report, then releases its contacts to the dialer batch
    /// by batch (each release its own short transaction under the project's lock, so the
    /// dialer's bookkeeping of the project never waits long). A stop between the two is
    /// finished when the store opens.
    async fn finish_import(
        &self,
        project_id: i64,
        import_id: i64,
        r: &ImportReport,
        ranges: &[(i64, i64)],
        progress: &Progress,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE imports SET state = 'done', finished_at = $1, imported = $2, duplicates = $3, \
             rejected = $4, rows_read = $5, bytes_read = $6 WHERE id = $7",
        )
        .bind(self.now())
        .bind(r.imported as i64)
        .bind(r.duplicates as i64)
        .bind(r.rejected_total as i64)
        .bind(progress.rows() as i64)
        .bind(progress.bytes() as i64)
        .bind(import_id)
        .execute(&self.pool)
        .await?;
        for &(lo, hi) in ranges {
            let mut tx = self.write_tx().await?;
            super::lock(&mut tx, lock_key::PROJECT_BASE + project_id).await?;
            sqlx::query(
                "UPDATE contacts SET ready = 1, next_at = 0, version = version + 1 \
                 WHERE id BETWEEN $1 AND $2 \
                 AND import_id = $3 AND status = 'not_called' AND ready = 0 AND next_at IS NULL",
            )
            .bind(lo)
            .bind(hi)
            .bind(import_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Removes every contact an unfinished import added (with their numbers) and marks it
    /// failed. `known` are the id ranges its batches recorded and the highest contact id
    /// before it began, if known (the ranges are removed each in its own transaction, so no
    /// transaction is long); unknown (after a crash), the table is searched. The last removal
    /// sweeps every id above the floor — a batch that committed just as the import was
    /// cancelled, before its range was recorded, goes too — and is one transaction with the
    /// mark: the import's contacts never become dialable.
    async fn discard_import(
        &self,
        import_id: i64,
        known: Option<(&[(i64, i64)], i64)>,
        why: &str,
    ) -> Result<(), StoreError> {
        // Numbers go with their contact (ON DELETE CASCADE).
        // Every range but the last in its own transaction; the last goes with the sweep and the
        // mark, so "no contact of the import left" also means "the import is marked failed".
        if let Some((ranges, _)) = known {
            for &(lo, hi) in ranges.iter().take(ranges.len().saturating_sub(1)) {
                sqlx::query("DELETE FROM contacts WHERE id BETWEEN $1 AND $2 AND import_id = $3")
                    .bind(lo)
                    .bind(hi)
                    .bind(import_id)
                    .execute(&self.pool)
                    .await?;
            }
        }
        let mut tx = self.write_tx().await?;
        match known {
            Some((_, floor)) => {
                sqlx::query("DELETE FROM contacts WHERE id > $1 AND import_id = $2")
                    .bind(floor)
                    .bind(import_id)
                    .execute(&mut *tx)
                    .await?;
            }
            None => {
                sqlx::query("DELETE FROM contacts WHERE import_id = $1")
                    .bind(import_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        sqlx::query(
            "UPDATE imports SET state = 'failed', finished_at = $1, error = $2 WHERE id = $3",
        )
        .bind(self.now())
        .bind(why)
        .bind(import_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes imports a crash interrupted (at open: no import of this process runs yet).
    /// Every running import counts as interrupted: with several nodes on one database, one
    /// another node is running is taken too (the imports' leases of migration 0002 are not
    /// used yet).
    pub(super) async fn discard_interrupted_imports(&self) -> Result<(), StoreError> {
        // Alone on the database (no node): every running import was this process's and a
        // stop cut it off. A node: those of nodes whose lease ran out (its own previous run's
        // included), never another live node's.
        let ids: Vec<i64> = sqlx::query(
            "SELECT id FROM imports WHERE state = 'running' AND ($1::BIGINT IS NULL \
             OR owner_node IS NULL OR (owner_node <> $1 AND lease_until < db_now_ms()))",
        )
        .bind(self.lease_binds().0)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
        for id in ids {
            tracing::warn!(
                import = id,
                "removing the contacts of an import interrupted by a stop"
            );
            self.discard_import(id, None, "interrupted by a stop of the server")
                .await?;
        }
        Ok(())
    }
}

/// Writes one batch in one transaction, one statement per table (`plan_batch` decides what
/// merges and what each new contact holds). The batch's refused values are kept in the same
/// transaction (`import_rejects`).
async fn write_batch(
    conn: &mut PgConnection,
    ctx: &BatchContext<'_>,
    seq_before: i64,
    batch: &Packed,
) -> Result<WrittenBatch, StoreError> {
    let mut tx = conn.begin().await?;
    let written = if batch.has_contacts() {
        write_contacts(&mut tx, ctx, seq_before, batch).await?
    } else {
        WrittenBatch::default()
    };
    keep_rejects(&mut tx, ctx.import_id, &batch.problems).await?;
    tx.commit().await?;
    Ok(written)
}

/// The contacts of a batch, inside its transaction (`write_batch`), under the project's lock
/// so the numbers found free stay free until it commits.
async fn write_contacts(
    tx: &mut PgConnection,
    ctx: &BatchContext<'_>,
    seq_before: i64,
    batch: &Packed,
) -> Result<WrittenBatch, StoreError> {
    let (project_id, import_id, created_at) = (ctx.project_id, ctx.import_id, ctx.created_at);
    lock_project(&mut *tx, project_id).await?;
    let all = batch.numbers();
    let existing: HashSet<String> = sqlx::query_scalar(
        "SELECT e164 FROM contact_numbers WHERE project_id = $1 AND e164 = ANY($2::TEXT[])",
    )
    .bind(project_id)
    .bind(&all[..])
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let listed: HashSet<String> =
        sqlx::query_scalar("SELECT e164 FROM stop_list WHERE e164 = ANY($1::TEXT[])")
            .bind(&all[..])
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
    let new = plan_batch(ctx, batch, seq_before, &existing, &listed);
    let n = new.contacts.len();
    if n == 0 {
        return Ok(WrittenBatch {
            merged: new.merged,
            ids: None,
        });
    }
    // Ids are drawn here so the numbers can name their contact without reading the ids back;
    // in ascending order, the i-th new contact of the file takes the i-th.
    let mut ids: Vec<i64> = sqlx::query_scalar(
        "SELECT nextval(pg_get_serial_sequence('contacts', 'id')) FROM generate_series(1, $1)",
    )
    .bind(n as i64)
    .fetch_all(&mut *tx)
    .await?;
    ids.sort_unstable();
    let (Some(&lo), Some(&hi), true) = (ids.first(), ids.last(), ids.len() == n) else {
        return Err(StoreError::Db(format!(
            "drew {} contact ids for {n} contacts",
            ids.len()
        )));
    };
    let mut seqs = Vec::with_capacity(n);
    let mut names = Vec::with_capacity(n);
    let mut fields = Vec::with_capacity(n);
    let mut priorities = Vec::with_capacity(n);
    let mut statuses = Vec::with_capacity(n);
    let mut attempts = Vec::with_capacity(n);
    let mut next_idxs = Vec::with_capacity(n);
    let mut gates = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    for c in &new.contacts {
        let (idx, gate) = c.next();
        seqs.push(c.seq);
        names.push(c.name);
        fields.push(c.fields);
        priorities.push(i64::from(c.priority));
        statuses.push(c.status());
        attempts.push(c.attempts.as_deref());
        next_idxs.push(idx);
        gates.push(gate);
        keys.push(c.plan.pick_key.as_slice());
    }
    sqlx::query(
        "INSERT INTO contacts (id, project_id, seq, name, fields, priority, created_at, \
         import_id, status, attempts, next_idx, gate, pick_key) \
         SELECT u.id, $1, u.seq, u.name, u.fields, u.priority, $2, $3, u.status, u.attempts, \
                u.next_idx, u.gate, u.pick_key \
         FROM UNNEST($4::BIGINT[], $5::BIGINT[], $6::TEXT[], $7::TEXT[], $8::BIGINT[], \
                     $9::TEXT[], $10::TEXT[], $11::BIGINT[], $12::TEXT[], $13::BYTEA[]) \
              AS u(id, seq, name, fields, priority, status, attempts, next_idx, gate, pick_key)",
    )
    .bind(project_id)
    .bind(created_at)
    .bind(import_id)
    .bind(&ids)
    .bind(&seqs)
    .bind(&names)
    .bind(&fields)
    .bind(&priorities)
    .bind(&statuses)
    .bind(&attempts)
    .bind(&next_idxs)
    .bind(&gates)
    .bind(&keys)
    .execute(&mut *tx)
    .await?;
    // Contacts closed at once (every number on the stop list) say so in the decision log, in
    // the order SQLite writes them.
    let (mut who, mut decisions, mut reasons) = (Vec::new(), Vec::new(), Vec::new());
    for (i, decision, reason) in new.closed_notes() {
        who.push(ids[i]);
        decisions.push(decision);
        reasons.push(reason);
    }
    if !who.is_empty() {
        sqlx::query(
            "INSERT INTO decisions (at, project_id, contact_id, decision, reason) \
             SELECT $1, $2, u.contact_id, u.decision, u.reason \
             FROM UNNEST($3::BIGINT[], $4::TEXT[], $5::TEXT[]) \
                  WITH ORDINALITY AS u(contact_id, decision, reason, k) \
             ORDER BY u.k",
        )
        .bind(created_at)
        .bind(project_id)
        .bind(&who)
        .bind(&decisions)
        .bind(&reasons)
        .execute(&mut *tx)
        .await?;
    }
    let m = new.numbers.len();
    let (mut owners, mut idxs, mut e164s, mut zones, mut kinds) = (
        Vec::with_capacity(m),
        Vec::with_capacity(m),
        Vec::with_capacity(m),
        Vec::with_capacity(m),
        Vec::with_capacity(m),
    );
    for num in &new.numbers {
        owners.push(ids[num.contact]);
        idxs.push(num.idx);
        e164s.push(num.e164);
        zones.push(num.zone.map(|z| z.name()));
        kinds.push(num.kind.as_str());
    }
    sqlx::query(
        "INSERT INTO contact_numbers (contact_id, project_id, idx, e164, time_zone, kind) \
         SELECT u.contact_id, $1, u.idx, u.e164, u.time_zone, u.kind \
         FROM UNNEST($2::BIGINT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[], $6::TEXT[]) \
              AS u(contact_id, idx, e164, time_zone, kind)",
    )
    .bind(project_id)
    .bind(&owners)
    .bind(&idxs)
    .bind(&e164s)
    .bind(&zones)
    .bind(&kinds)
    .execute(&mut *tx)
    .await?;
    Ok(WrittenBatch {
        merged: new.merged,
        ids: Some((lo, hi)),
    })
}

/// A registered import while it runs: the id ranges it wrote, and (if it is dropped unfinished,
/// e.g. the request was cancelled) the removal of its contacts.
struct PendingImport {
    store: PgStore,
    id: i64,
    ranges: Vec<(i64, i64)>,
    /// The highest contact id when it began: all its contacts lie above (their ids are drawn
    /// from the sequence later).
    floor: i64,
    done: bool,
}

impl PendingImport {
    /// Registers an import into a project; refused while another one runs there.
    async fn begin(
        store: &PgStore,
        project_id: i64,
        name: &str,
        size: Option<u64>,
    ) -> Result<Self, StoreError> {
        // The import is this node's, under a lease its heartbeat renews (nodes.rs): another
        // node removes it only once the lease ran out.
        let (node, lease_ms, _) = store.lease_binds();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO imports (project_id, started_at, bytes_total, owner_node, lease_until, \
             lease_id) VALUES ($1, $2, $3, $4, \
             CASE WHEN $4::BIGINT IS NULL THEN NULL ELSE db_now_ms() + $5 END, \
             CASE WHEN $4::BIGINT IS NULL THEN NULL ELSE nextval('lease_ids') END) \
             RETURNING id",
        )
        .bind(project_id)
        .bind(store.now())
        .bind(size.map(|n| n as i64))
        .bind(node)
        .bind(lease_ms)
        .fetch_one(&store.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict(format!(
                    "an import into project {name:?} is running; try again when it ends"
                ))
            } else {
                e.into()
            }
        })?;
        drop_older_rejects(store, project_id, id).await?;
        let floor: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM contacts")
            .fetch_one(&store.pool)
            .await?;
        Ok(Self {
            store: store.clone(),
            id,
            ranges: Vec::new(),
            floor,
            done: false,
        })
    }

    /// Finished or failed, either way handled by the caller.
    fn finished(&mut self) {
        self.done = true;
    }
}

impl Drop for PendingImport {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Cancelled midway (the future was dropped): remove what it wrote in the background.
        // Without a runtime (shutting down) the next open removes it.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (store, id, ranges, floor) = (
                self.store.clone(),
                self.id,
                std::mem::take(&mut self.ranges),
                self.floor,
            );
            rt.spawn(async move {
                let known = Some((&ranges[..], floor));
                if let Err(e) = store
                    .discard_import(id, known, "cancelled: the upload stopped")
                    .await
                {
                    tracing::error!(import = id, error = %e, "removing a cancelled import");
                }
            });
        }
    }
}
