//! The calls page's search (`store::search`): each filter mix walks the one index that holds
//! its calls newest first — a number's calls, a project's calls of one result, a project's,
//! one result's, or the table itself by id — and stops at the page size. Dates become an id
//! range (ids grow with start times; `calls_started` finds the ends), so a month long ago
//! costs what today does. Only the contact's status, which `calls` does not hold, is checked
//! call by call, and then within `SEARCH_WINDOW` ids per page.
use super::reports::{call_view, CALL_COLUMNS};
use super::SqliteStore;
use crate::rules::money::Kopecks;
use crate::store::shared::reports as shared;
use crate::store::{CallPage, CallSearch, StoreError, MAX_PAGE};
use sqlx::Row;

impl SqliteStore {
    /// The first id of a call started at or after `t`, or the last one started before it.
    async fn id_at(&self, t: i64, first_after: bool) -> Result<Option<i64>, StoreError> {
        let sql = if first_after {
            "SELECT id FROM calls INDEXED BY calls_started WHERE started_at >= ? \
             ORDER BY started_at, id LIMIT 1"
        } else {
            "SELECT id FROM calls INDEXED BY calls_started WHERE started_at < ? \
             ORDER BY started_at DESC, id DESC LIMIT 1"
        };
        Ok(sqlx::query(sql)
            .bind(t)
            .fetch_optional(&self.read)
            .await?
            .map(|r| r.get(0)))
    }

    pub(super) async fn find_calls(&self, f: &CallSearch) -> Result<CallPage, StoreError> {
        // The id range the dates and the cursor leave.
        let mut lo = 1i64;
        let mut hi = i64::MAX;
        if let Some(from) = f.from {
            match self.id_at(from, true).await? {
                Some(id) => lo = id,
                None => return Ok(CallPage::default()),
            }
        }
        if let Some(to) = f.to {
            match self.id_at(to, false).await? {
                Some(id) => hi = id,
                None => return Ok(CallPage::default()),
            }
        }
        let Some((lo, mut hi)) = shared::search_range(lo, hi, f.before_id) else {
            return Ok(CallPage::default());
        };
        // A filter checked call by call looks through one window of ids per page, from the
        // newest call there is.
        let windowed = f.contact_status.is_some();
        if windowed && hi == i64::MAX {
            let newest: Option<i64> = sqlx::query("SELECT MAX(id) FROM calls")
                .fetch_one(&self.read)
                .await?
                .get(0);
            match newest {
                Some(id) => hi = id,
                None => return Ok(CallPage::default()),
            }
        }
        let floor = shared::search_floor(lo, hi, windowed);
        let index = match (&f.number, f.project_id, &f.result) {
            (Some(_), _, _) => "INDEXED BY calls_number",
            (None, Some(_), Some(_)) => "INDEXED BY calls_project_result",
            (None, Some(_), None) => "INDEXED BY calls_project_newest",
            (None, None, Some(_)) => "INDEXED BY calls_result_newest",
            (None, None, None) => "NOT INDEXED",
        };
        let mut sql = format!(
            // CROSS JOIN keeps `calls` the outer loop: the walk is the index's, newest first.
            "SELECT {CALL_COLUMNS} FROM calls k {index} CROSS JOIN contacts c ON c.id = k.contact_id \
             WHERE k.id BETWEEN ? AND ?"
        );
        for (on, cond) in [
            (f.number.is_some(), " AND k.number = ?"),
            (f.project_id.is_some(), " AND k.project_id = ?"),
            (f.result.is_some(), " AND k.result = ?"),
            (f.contact_status.is_some(), " AND c.status = ?"),
            (f.from.is_some(), " AND k.started_at >= ?"),
            (f.to.is_some(), " AND k.started_at < ?"),
        ] {
            if on {
                sql.push_str(cond);
            }
        }
        sql.push_str(" ORDER BY k.id DESC LIMIT ?");
        let limit = f.limit.clamp(1, MAX_PAGE);
        let mut q = sqlx::query(&sql).bind(floor).bind(hi);
        if let Some(n) = &f.number {
            q = q.bind(n);
        }
        if let Some(p) = f.project_id {
            q = q.bind(p);
        }
        if let Some(r) = &f.result {
            q = q.bind(r);
        }
        if let Some(s) = &f.contact_status {
            q = q.bind(s);
        }
        if let Some(t) = f.from {
            q = q.bind(t);
        }
        if let Some(t) = f.to {
            q = q.bind(t);
        }
        let rows = q.bind(i64::from(limit)).fetch_all(&self.read).await?;
        let mut calls: Vec<_> = rows.iter().map(|r| call_view(r, 0)).collect();
        super::action_reports::attach_briefs(&self.read, &mut calls).await?;
        Ok(shared::search_page(calls, limit, floor, lo))
    }

    /// A project's calls started since `since` and their cost, from `calls_project_day` alone (widened by migration 0015).
    pub(super) async fn calls_started_since(
        &self,
        project_id: i64,
        since: i64,
    ) -> Result<(u64, Kopecks), StoreError> {
        let r = sqlx::query(
            "SELECT COUNT(*), COALESCE(SUM(cost_kop), 0) FROM calls INDEXED BY calls_project_day \
             WHERE project_id = ? AND started_at >= ?",
        )
        .bind(project_id)
        .bind(since)
        .fetch_one(&self.read)
        .await?;
        Ok(shared::calls_and_cost(&r))
    }

    /// A call's timeline as stored (JSON), if it has one (`NotFound`: no such call).
    pub(super) async fn timeline_of(&self, id: i64) -> Result<Option<String>, StoreError> {
        sqlx::query("SELECT timeline FROM calls WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| r.get::<Option<String>, _>(0))
            .ok_or(StoreError::NotFound(format!("call {id}")))
    }

    /// The import's other columns of a contact, by column name (`NotFound`: no such contact).
    pub(super) async fn fields_of(
        &self,
        contact_id: i64,
    ) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
        let raw: String = sqlx::query("SELECT fields FROM contacts WHERE id = ?")
            .bind(contact_id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| r.get(0))
            .ok_or(StoreError::NotFound(format!("contact {contact_id}")))?;
        Ok(shared::contact_fields(&raw))
    }
}
