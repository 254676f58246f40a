//! The calls page's search (`store::search`) on PostgreSQL, the twin of
//! `sqlite/call_search.rs`: newest first, one keyset page by call id; dates become an id range
//! (ids grow with start times), so a month long ago costs what today does; the contact's
//! status, which `calls` does not hold, is checked within `SEARCH_WINDOW` ids per page. The
//! range, window and cursor decisions are `shared::reports`'s.
//!
//! Where the SQL differs from SQLite's, and why: SQLite pins each filter mix to its index
//! (`INDEXED BY calls_number`, …, `NOT INDEXED`) and keeps `calls` the outer loop with a
//! `CROSS JOIN`; PostgreSQL has neither hint — the same indexes exist (same names) and its
//! planner walks them for `ORDER BY k.id DESC LIMIT n`, so the query is a plain `JOIN`.
//! `SUM(cost_kop)` is NUMERIC on PostgreSQL: cast `::BIGINT`. Parameters are `$n`.
use super::reports::{call_view, CALL_COLUMNS};
use super::PgStore;
use crate::rules::money::Kopecks;
use crate::store::shared::reports as shared;
use crate::store::{CallPage, CallSearch, StoreError, MAX_PAGE};
use sqlx::Row;

impl PgStore {
    /// The first id of a call started at or after `t`, or the last one started before it.
    async fn id_at(&self, t: i64, first_after: bool) -> Result<Option<i64>, StoreError> {
        let sql = if first_after {
            "SELECT id FROM calls WHERE started_at >= $1 ORDER BY started_at, id LIMIT 1"
        } else {
            "SELECT id FROM calls WHERE started_at < $1 \
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
        let mut sql = format!(
            "SELECT {CALL_COLUMNS} FROM calls k JOIN contacts c ON c.id = k.contact_id \
             WHERE k.id BETWEEN $1 AND $2"
        );
        let mut n = 2;
        for (on, cond) in [
            (f.number.is_some(), " AND k.number = "),
            (f.project_id.is_some(), " AND k.project_id = "),
            (f.result.is_some(), " AND k.result = "),
            (f.contact_status.is_some(), " AND c.status = "),
            (f.from.is_some(), " AND k.started_at >= "),
            (f.to.is_some(), " AND k.started_at < "),
        ] {
            if on {
                n += 1;
                sql.push_str(&format!("{cond}${n}"));
            }
        }
        sql.push_str(&format!(" ORDER BY k.id DESC LIMIT ${}", n + 1));
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

    /// A project's calls started since `since` and their cost, from `calls_project_day` alone.
    pub(super) async fn calls_started_since(
        &self,
        project_id: i64,
        since: i64,
    ) -> Result<(u64, Kopecks), StoreError> {
        let r = sqlx::query(
            "SELECT COUNT(*), COALESCE(SUM(cost_kop), 0)::BIGINT FROM calls \
             WHERE project_id = $1 AND started_at >= $2",
        )
        .bind(project_id)
        .bind(since)
        .fetch_one(&self.read)
        .await?;
        Ok(shared::calls_and_cost(&r))
    }

    /// A call's timeline as stored (JSON), if it has one (`NotFound`: no such call).
    pub(super) async fn timeline_of(&self, id: i64) -> Result<Option<String>, StoreError> {
        sqlx::query("SELECT timeline FROM calls WHERE id = $1")
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
        let raw: String = sqlx::query("SELECT fields FROM contacts WHERE id = $1")
            .bind(contact_id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| r.get(0))
            .ok_or(StoreError::NotFound(format!("contact {contact_id}")))?;
        Ok(shared::contact_fields(&raw))
    }
}
