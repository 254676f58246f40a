//! Read side of the store for the API and exports (docs/api.md): projects as the API shows
//! them, all calls (newest first, keyset-paginated, filtered), last results (one row per
//! contact with its newest call), contacts by status, stored prompts and scenarios, and the
//! API tokens (kept as SHA-256 only). Pages walk indexes in order and stop at their size, so a
//! page costs the same with 1M calls as with ten; exports page through the same queries.
use super::SqliteStore;
use super::StoreError;
use crate::rules::money::Kopecks;
use crate::store::*;
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use std::collections::BTreeMap;

pub(super) const CALL_COLUMNS: &str = "k.id, k.project_id, k.contact_id, c.name, k.number, k.state, \
     k.started_at, k.answered_at, k.ended_at, k.sip_status, k.result, k.reaction, k.transcript, \
     k.captured, k.amd_verdict, k.amd_reason, k.amd_ms, k.recording, k.cost_kop, k.ring_ms, k.talk_ms, \
     k.end_reason, (SELECT n.kind FROM contact_numbers n WHERE n.contact_id = k.contact_id \
     AND n.e164 = k.number), k.transfer, k.disposition, k.note, k.callback_at, k.wrap_up_agent_id, \
     k.wrapped_up_at_ms, k.recording_error";

/// A call from the columns of `CALL_COLUMNS`, starting at column `at`.
pub(super) fn call_view(r: &SqliteRow, at: usize) -> CallView {
    let started_at: i64 = r.get(at + 6);
    let answered_at: Option<i64> = r.get(at + 7);
    let ended_at: Option<i64> = r.get(at + 8);
    let result: Option<String> = r.get(at + 10);
    let captured = r
        .get::<Option<String>, _>(at + 13)
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_else(|| serde_json::json!({}));
    let amd = r.get::<Option<String>, _>(at + 14).map(|verdict| AmdView {
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
            .get::<Option<String>, _>(at + 17)
            .map(|_| crate::store::recording_url(r.get(at))),
        recording_error: r.get(at + 29),
        cost: Kopecks(r.get(at + 18)),
        actions: Vec::new(),
        transfer: r
            .get::<Option<String>, _>(at + 23)
            .and_then(|j| serde_json::from_str(&j).ok()),
        wrap_up: r.get::<Option<i64>, _>(at + 28).map(|at_ms| WrapUpView {
            disposition: r.get::<Option<String>, _>(at + 24).unwrap_or_default(),
            note: r.get::<Option<String>, _>(at + 25).unwrap_or_default(),
            callback_at: r.get(at + 26),
            agent_id: r.get(at + 27),
            at_ms,
        }),
    }
}

/// A project's transfers, from its calls' `transfer` (a partial index holds only those).
async fn transfer_stats(pool: &sqlx::SqlitePool, id: i64) -> Result<TransferStats, StoreError> {
    let rows = sqlx::query(
        "SELECT result, json_extract(transfer, '$.answered'), \
         json_extract(transfer, '$.queue_ms'), json_extract(transfer, '$.talk_ms') \
         FROM calls INDEXED BY calls_transfer WHERE project_id = ? AND transfer IS NOT NULL \
         AND state = 'done'",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let mut t = TransferStats::default();
    let mut waits: Vec<i64> = Vec::with_capacity(rows.len());
    let mut talk_ms: i64 = 0;
    for r in &rows {
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
        waits.push(r.get::<Option<i64>, _>(2).unwrap_or(0));
        talk_ms += r.get::<Option<i64>, _>(3).unwrap_or(0);
    }
    if !waits.is_empty() {
        waits.sort_unstable();
        let n = waits.len();
        t.queue_avg_s = (waits.iter().sum::<i64>() as f64 / n as f64 / 100.0).round() / 10.0;
        let p90 = waits[((n * 9).div_ceil(10)).saturating_sub(1).min(n - 1)];
        t.queue_p90_s = (p90 as f64 / 100.0).round() / 10.0;
    }
    t.talk_s = (talk_ms / 1000).max(0) as u64;
    Ok(t)
}

fn parse_json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

pub(super) const PROJECT_SELECT: &str = "SELECT id, name, scenario_id, status, time_zone, schedule, lines, \
     max_calls_per_number, retry_rules, ordering, callback_project_id, tariff, created_at, starts_at, \
     ends_at, type_windows, finished_at, status_reason, webhook_url, webhook_secret, transfer_settings, \
     mode, pacing_settings FROM projects";

pub(super) fn project_view(r: &SqliteRow) -> ProjectView {
    ProjectView {
        id: r.get(0),
        name: r.get(1),
        scenario_id: r.get(2),
        status: r.get(3),
        time_zone: r.get(4),
        schedule: parse_json(r.get(5)),
        lines: r.get(6),
        max_calls_per_number: r.get(7),
        retry_rules: parse_json(r.get(8)),
        ordering: parse_json(r.get(9)),
        callback_project_id: r.get(10),
        tariff: parse_json(r.get(11)),
        created_at: r.get(12),
        starts_at: local(r.get(13), r.get(4)),
        ends_at: local(r.get(14), r.get(4)),
        type_windows: parse_json(r.get(15)),
        finished_at: r.get(16),
        status_reason: r.get(17),
        webhook_url: r.get(18),
        webhook_secret: r.get::<Option<String>, _>(19).map(|s| mask_secret(&s)),
        transfer: serde_json::from_str(r.get(20)).unwrap_or_default(),
        mode: Mode::parse(r.get(21)).unwrap_or_default(),
        pacing: serde_json::from_str(r.get(22)).unwrap_or_default(),
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

/// How reports show a contact set aside because its row cannot be read: a `system` result
/// «damaged row» with the reason, in place of a call.
fn damaged_view(contact_id: i64, project_id: i64, why: &str, at: i64) -> CallView {
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
        end_reason: Some(format!("{}: {why}", super::contact_rows::DAMAGED_ROW)),
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

/// A stored unix time as the project's local date-time.
fn local(t: Option<i64>, zone: &str) -> Option<String> {
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Europe::Moscow);
    t.map(|t| local_datetime(t, tz))
}

/// Hex SHA-256 of a token.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[async_trait]
impl ReportStore for SqliteStore {
    async fn stats(&self, id: i64) -> Result<ProjectStats, StoreError> {
        // One read transaction: the status, the contacts and the calls from one snapshot (read
        // one by one, a call closed between the reads showed its contact still in a call while
        // its result was already counted).
        let mut tx = self.read.begin().await?;
        let (status, reason): (String, Option<String>) =
            sqlx::query("SELECT status, status_reason FROM projects WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| (r.get(0), r.get(1)))
                .ok_or(StoreError::NotFound(format!("project {id}")))?;
        let mut s = ProjectStats {
            status,
            status_reason: reason,
            ..Default::default()
        };
        // Kept by triggers (migration 0013): a few rows, whatever the project's size. A
        // contact in a call right now is counted there, not as still to call; one
        // deleted but kept for its calls' history is counted apart and not shown.
        for r in sqlx::query(
            "SELECT status, n FROM contact_tallies \
             WHERE project_id = ? AND n > 0 AND status <> 'removed'",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        {
            let (status, n): (String, i64) = (r.get(0), r.get(1));
            *s.contacts.entry(status).or_insert(0) += n as u64;
        }
        for k in ["not_called", "in_call", "retry", "reached", "not_reached"] {
            s.contacts.entry(k.to_string()).or_insert(0);
        }
        for r in sqlx::query(
            "SELECT result, n, cost_kop FROM call_tallies WHERE project_id = ? AND n > 0",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        {
            let (result, n, cost): (String, i64, i64) = (r.get(0), r.get(1), r.get(2));
            s.calls += n as u64;
            s.cost += Kopecks(cost);
            s.results.insert(result, n as u64);
        }
        tx.commit().await?;
        s.actions = super::action_reports::stats(&self.read, id).await?;
        s.transfers = transfer_stats(&self.pool, id).await?;
        Ok(s)
    }

    async fn list_calls(&self, f: &CallFilter) -> Result<Vec<CallView>, StoreError> {
        let mut sql = format!(
            "SELECT {CALL_COLUMNS} FROM calls k JOIN contacts c ON c.id = k.contact_id WHERE 1"
        );
        if f.project_id.is_some() {
            sql.push_str(" AND k.project_id = ?");
        }
        if f.contact_id.is_some() {
            sql.push_str(" AND k.contact_id = ?");
        }
        if f.result.is_some() {
            sql.push_str(" AND k.result = ?");
        }
        if f.contact_status.is_some() {
            sql.push_str(" AND c.status = ? AND c.removed_at IS NULL");
        }
        if f.before_id.is_some() {
            sql.push_str(" AND k.id < ?");
        }
        sql.push_str(" ORDER BY k.id DESC LIMIT ?");
        let mut q = sqlx::query(&sql);
        if let Some(p) = f.project_id {
            q = q.bind(p);
        }
        if let Some(c) = f.contact_id {
            q = q.bind(c);
        }
        if let Some(r) = &f.result {
            q = q.bind(r.clone());
        }
        if let Some(st) = &f.contact_status {
            q = q.bind(st.clone());
        }
        if let Some(b) = f.before_id {
            q = q.bind(b);
        }
        let limit = if f.limit == 0 {
            MAX_PAGE
        } else {
            f.limit.min(MAX_PAGE)
        };
        q = q.bind(i64::from(limit));
        let rows = q.fetch_all(&self.read).await?;
        let mut calls: Vec<CallView> = rows.iter().map(|r| call_view(r, 0)).collect();
        super::action_reports::attach_briefs(&self.read, &mut calls).await?;
        Ok(calls)
    }

    async fn call(&self, id: i64) -> Result<CallView, StoreError> {
        let call = sqlx::query(&format!(
            "SELECT {CALL_COLUMNS} FROM calls k JOIN contacts c ON c.id = k.contact_id WHERE k.id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .map(|r| call_view(&r, 0))
        .ok_or(StoreError::NotFound(format!("call {id}")))?;
        let mut one = [call];
        super::action_reports::attach_briefs(&self.read, &mut one).await?;
        let [call] = one;
        Ok(call)
    }

    async fn search_calls(&self, f: &CallSearch) -> Result<CallPage, StoreError> {
        self.find_calls(f).await
    }

    async fn call_timeline(&self, id: i64) -> Result<Option<String>, StoreError> {
        self.timeline_of(id).await
    }

    async fn contact_fields(
        &self,
        contact_id: i64,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        self.fields_of(contact_id).await
    }

    async fn calls_since(&self, project_id: i64, since: i64) -> Result<(u64, Kopecks), StoreError> {
        self.calls_started_since(project_id, since).await
    }

    async fn list_actions(&self, f: &ActionFilter) -> Result<Vec<ActionView>, StoreError> {
        self.project_name(f.project_id).await?;
        super::action_reports::list(&self.read, f).await
    }

    async fn last_results_where(
        &self,
        project_id: i64,
        f: &LastFilter,
    ) -> Result<Vec<LastResult>, StoreError> {
        self.project(project_id).await?;
        let status = f.status.as_deref();
        let sql = format!(
            "SELECT c.id, c.name, c.status, c.fields, c.priority, \
             (SELECT group_concat(e164 || ':' || kind, ' ') FROM \
                 (SELECT e164, kind FROM contact_numbers WHERE contact_id = c.id ORDER BY idx)), \
             (SELECT COUNT(*) FROM calls WHERE contact_id = c.id), c.damaged, c.damaged_at, \
             {CALL_COLUMNS} \
             FROM contacts c {index} LEFT JOIN calls k ON k.id = \
                 (SELECT MAX(id) FROM calls WHERE contact_id = c.id) \
             WHERE c.project_id = ? AND {status_filter} {result_filter} c.removed_at IS NULL \
             AND c.id > ? \
             ORDER BY c.id LIMIT ?",
            // Pinned: each page walks its index from the cursor and stops at the page size.
            index = if status.is_some() {
                "INDEXED BY contacts_status_order"
            } else {
                "INDEXED BY contacts_project_order"
            },
            status_filter = if status.is_some() {
                "c.status = ? AND"
            } else {
                ""
            },
            result_filter = if f.result.is_some() {
                "k.result = ? AND"
            } else {
                ""
            },
        );
        let mut q = sqlx::query(&sql).bind(project_id);
        if let Some(st) = status {
            q = q.bind(st);
        }
        if let Some(r) = &f.result {
            q = q.bind(r);
        }
        let rows = q
            .bind(f.after)
            .bind(i64::from(f.limit.clamp(1, MAX_PAGE)))
            .fetch_all(&self.read)
            .await?;
        let mut out: Vec<LastResult> = rows
            .iter()
            .map(|r| {
                let status: String = r.get(2);
                let has_call = r.get::<Option<i64>, _>(9).is_some();
                let listed: String = r.get::<Option<String>, _>(5).unwrap_or_default();
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
                        why,
                        r.get::<Option<i64>, _>(8).unwrap_or(0),
                    )),
                    (false, None) => None,
                };
                LastResult {
                    contact_id: r.get(0),
                    name: r.get(1),
                    status_label: status_label(&status),
                    status,
                    fields: serde_json::from_str(r.get::<&str, _>(3)).unwrap_or_default(),
                    priority: r.get(4),
                    numbers: numbers.iter().map(|(n, _)| n.to_string()).collect(),
                    number_types: numbers.iter().map(|(_, k)| k.to_string()).collect(),
                    calls: r.get(6),
                    last_call,
                }
            })
            .collect();
        // Every view of a call shows its actions.
        let mut calls: Vec<CallView> = out.iter_mut().filter_map(|l| l.last_call.take()).collect();
        super::action_reports::attach_briefs(&self.read, &mut calls).await?;
        let mut by_contact: std::collections::HashMap<i64, CallView> =
            calls.into_iter().map(|c| (c.contact_id, c)).collect();
        for l in &mut out {
            l.last_call = by_contact.remove(&l.contact_id);
        }
        Ok(out)
    }

    async fn field_names(&self, project_id: i64) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT fields FROM contacts WHERE project_id = ? AND fields <> '{}' \
             AND removed_at IS NULL ORDER BY id LIMIT 1000",
        )
        .bind(project_id)
        .fetch_all(&self.read)
        .await?;
        let mut names: Vec<String> = Vec::new();
        for r in rows {
            let map: BTreeMap<String, String> =
                serde_json::from_str(r.get::<&str, _>(0)).unwrap_or_default();
            for k in map.into_keys() {
                if !names.contains(&k) {
                    names.push(k);
                }
            }
        }
        Ok(names)
    }

    async fn decisions_of(
        &self,
        project_id: i64,
        contact_id: Option<i64>,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Decision>, StoreError> {
        // One contact's lines walk its own index (`decisions_contact`); a project's, the
        // project's (`decisions_project`).
        let sql = if contact_id.is_some() {
            "SELECT id, at, contact_id, number, decision, reason FROM decisions \
             INDEXED BY decisions_contact \
             WHERE contact_id = ?2 AND project_id = ?1 AND id < ?3 ORDER BY id DESC LIMIT ?4"
        } else {
            "SELECT id, at, contact_id, number, decision, reason FROM decisions \
             INDEXED BY decisions_project \
             WHERE project_id = ?1 AND ?2 IS NULL AND id < ?3 ORDER BY id DESC LIMIT ?4"
        };
        Ok(sqlx::query(sql)
            .bind(project_id)
            .bind(contact_id)
            .bind(before_id.unwrap_or(i64::MAX))
            .bind(i64::from(limit.clamp(1, MAX_PAGE)))
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| Decision {
                id: r.get(0),
                at: r.get(1),
                contact_id: r.get(2),
                number: r.get(3),
                decision: r.get(4),
                reason: r.get(5),
            })
            .collect())
    }

    async fn recording_path(&self, call_id: i64) -> Result<Option<std::path::PathBuf>, StoreError> {
        sqlx::query("SELECT recording FROM calls WHERE id = ?")
            .bind(call_id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| r.get::<Option<String>, _>(0).map(std::path::PathBuf::from))
            .ok_or(StoreError::NotFound(format!("call {call_id}")))
    }

    async fn call_totals(&self) -> Result<CallTotals, StoreError> {
        let up: i64 = sqlx::query("SELECT COUNT(*) FROM calls WHERE state = 'dialing'")
            .fetch_one(&self.read)
            .await?
            .get(0);
        let mut t = CallTotals {
            up,
            ..Default::default()
        };
        for r in sqlx::query(
            "SELECT result, COUNT(*), COALESCE(SUM(end_reason = ?), 0) FROM calls \
             WHERE state = 'done' GROUP BY result",
        )
        .bind(crate::call::live::NO_MEDIA_REASON)
        .fetch_all(&self.read)
        .await?
        {
            t.by_result
                .insert(r.get::<Option<String>, _>(0).unwrap_or_default(), r.get(1));
            t.without_audio += r.get::<i64, _>(2);
        }
        Ok(t)
    }

    async fn calls_by_hour(
        &self,
        project_id: i64,
        from: i64,
        hours: u32,
    ) -> Result<Vec<HourCalls>, StoreError> {
        let mut out = vec![HourCalls::default(); hours as usize];
        // One range of the covering index: no table lookups.
        for r in sqlx::query(
            "SELECT (started_at - ?2) / 3600, COUNT(*), COUNT(answered_at) \
             FROM calls INDEXED BY calls_project_day \
             WHERE project_id = ?1 AND started_at >= ?2 AND started_at < ?3 GROUP BY 1",
        )
        .bind(project_id)
        .bind(from)
        .bind(from + i64::from(hours) * 3600)
        .fetch_all(&self.read)
        .await?
        {
            if let Some(h) = usize::try_from(r.get::<i64, _>(0))
                .ok()
                .and_then(|i| out.get_mut(i))
            {
                h.calls = r.get::<i64, _>(1) as u64;
                h.answered = r.get::<i64, _>(2) as u64;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_results_get_russian_labels_and_scenario_results_keep_their_names() {
        assert_eq!(result_label("busy"), "Занято");
        assert_eq!(
            result_label("answering_machine"),
            "Обнаружен автоответчик (системный)"
        );
        assert_eq!(result_label("Доволен"), "Доволен");
        assert_eq!(status_label("not_reached"), "Не дозвонились");
    }

    #[test]
    fn tokens_are_kept_as_sha256() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
