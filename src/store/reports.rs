//! Read side of the store for the API and exports (spec §9, §10): projects as the API shows
//! them, all calls (newest first, keyset-paginated, filtered), last results (one row per
//! contact with its newest call), contacts by status, stored prompts and scenarios, and the
//! API tokens (kept as SHA-256 only). Pages walk indexes in order and stop at their size, so a
//! page costs the same with 1M calls as with ten; exports page through the same queries.
use super::sqlite::SqliteStore;
use super::StoreError;
use crate::dialer::attempts::ContactStatus;
use crate::scenario::system_result;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use std::collections::BTreeMap;

/// The most rows one page may ask for.
pub const MAX_PAGE: u32 = 5_000;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A project as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectView {
    pub id: i64,
    pub name: String,
    pub scenario_id: i64,
    pub status: String,
    pub time_zone: String,
    pub schedule: serde_json::Value,
    pub lines: i64,
    pub max_calls_per_number: i64,
    pub retry_rules: serde_json::Value,
    pub ordering: serde_json::Value,
    pub callback_project_id: Option<i64>,
    pub tariff: serde_json::Value,
    pub created_at: i64,
}

/// Which calls to list.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    pub project_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub result: Option<String>,
    /// Keyset cursor: only calls with a smaller id (the previous page's `next`).
    pub before_id: Option<i64>,
    /// Page size; 0 means the largest page (`MAX_PAGE`).
    pub limit: u32,
}

/// The answering-machine verdict of an answered call.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AmdView {
    pub verdict: String,
    pub reason: Option<String>,
    pub decided_at_ms: Option<i64>,
}

/// One call as the API and exports show it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CallView {
    pub id: i64,
    pub project_id: i64,
    pub contact_id: i64,
    pub contact_name: Option<String>,
    pub number: String,
    /// `dialing` while the call is up, `done` after.
    pub state: String,
    pub started_at: i64,
    pub answered_at: Option<i64>,
    pub ended_at: Option<i64>,
    /// Seconds from start to end.
    pub duration_s: Option<i64>,
    /// Seconds from answer to end (what the tariff charges).
    pub talk_s: Option<i64>,
    /// Milliseconds from dialing to the answer (or to the end of an unanswered call).
    pub ring_ms: Option<i64>,
    /// Milliseconds from the answer to the end.
    pub talk_ms: Option<i64>,
    /// Why the call ended as it did, in words ("ring timeout", "no audio from the callee",
    /// "interrupted by a stop after the answer", ...), where there is more to say than the result.
    pub end_reason: Option<String>,
    pub sip_status: Option<i64>,
    pub result: Option<String>,
    /// Russian label: a system result's, or the scenario result's own name.
    pub result_label: Option<String>,
    pub reaction: Option<String>,
    pub transcript: Option<String>,
    pub captured: serde_json::Value,
    pub amd: Option<AmdView>,
    pub recording: Option<String>,
    pub cost: f64,
}

/// One contact with its newest call (`GET /projects/{id}/last-results`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LastResult {
    pub contact_id: i64,
    pub name: Option<String>,
    pub status: String,
    pub status_label: String,
    pub numbers: Vec<String>,
    pub fields: BTreeMap<String, String>,
    pub priority: i64,
    pub calls: i64,
    pub last_call: Option<CallView>,
}

/// One entry of the dialer's decision log.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Decision {
    pub id: i64,
    pub at: i64,
    pub contact_id: Option<i64>,
    pub number: Option<String>,
    /// `dial`, `skip`, `result` or `close`.
    pub decision: String,
    pub reason: String,
}

/// The label of a result code.
pub fn result_label(code: &str) -> String {
    system_result::label_ru(code)
        .map(str::to_string)
        .unwrap_or_else(|| code.to_string())
}

/// The Russian label of a stored contact status.
pub fn status_label(status: &str) -> String {
    serde_json::from_value::<ContactStatus>(serde_json::Value::String(status.to_string()))
        .map(|s| s.label_ru().to_string())
        .unwrap_or_else(|_| status.to_string())
}

const CALL_COLUMNS: &str = "k.id, k.project_id, k.contact_id, c.name, k.number, k.state, \
     k.started_at, k.answered_at, k.ended_at, k.sip_status, k.result, k.reaction, k.transcript, \
     k.captured, k.amd_verdict, k.amd_reason, k.amd_ms, k.recording, k.cost, k.ring_ms, k.talk_ms, \
     k.end_reason";

/// A call from the columns of `CALL_COLUMNS`, starting at column `at`.
fn call_view(r: &SqliteRow, at: usize) -> CallView {
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
        sip_status: r.get(at + 9),
        result_label: result.as_deref().map(result_label),
        result,
        reaction: r.get(at + 11),
        transcript: r.get(at + 12),
        captured,
        amd,
        recording: r.get(at + 17),
        cost: r.get(at + 18),
    }
}

fn parse_json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

impl SqliteStore {
    /// All projects, oldest first.
    pub async fn list_projects(&self) -> Result<Vec<ProjectView>, StoreError> {
        let rows = sqlx::query(&format!("{PROJECT_SELECT} ORDER BY id"))
            .fetch_all(&self.read)
            .await?;
        Ok(rows.iter().map(project_view).collect())
    }

    /// One project.
    pub async fn project(&self, id: i64) -> Result<ProjectView, StoreError> {
        sqlx::query(&format!("{PROJECT_SELECT} WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| project_view(&r))
            .ok_or(StoreError::NotFound(format!("project {id}")))
    }

    /// A project's id by its name (actions name projects).
    pub async fn project_id_by_name(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query("SELECT id FROM projects WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.read)
            .await?
            .map(|r| r.get(0)))
    }

    /// How many projects there are (a fresh data directory has none).
    pub async fn project_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM projects")
            .fetch_one(&self.read)
            .await?
            .get(0))
    }

    /// Calls, newest first, one page.
    pub async fn list_calls(&self, f: &CallFilter) -> Result<Vec<CallView>, StoreError> {
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
        Ok(rows.iter().map(|r| call_view(r, 0)).collect())
    }

    /// One call.
    pub async fn call(&self, id: i64) -> Result<CallView, StoreError> {
        sqlx::query(&format!(
            "SELECT {CALL_COLUMNS} FROM calls k JOIN contacts c ON c.id = k.contact_id WHERE k.id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .map(|r| call_view(&r, 0))
        .ok_or(StoreError::NotFound(format!("call {id}")))
    }

    /// One row per contact of a project with its newest call, in import order, one page
    /// after contact id `after` (optionally only contacts of one status).
    pub async fn last_results(
        &self,
        project_id: i64,
        status: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<LastResult>, StoreError> {
        self.project(project_id).await?;
        let sql = format!(
            "SELECT c.id, c.name, c.status, c.fields, c.priority, \
             (SELECT group_concat(e164, ' ') FROM \
                 (SELECT e164 FROM contact_numbers WHERE contact_id = c.id ORDER BY idx)), \
             (SELECT COUNT(*) FROM calls WHERE contact_id = c.id), \
             {CALL_COLUMNS} \
             FROM contacts c {index} LEFT JOIN calls k ON k.id = \
                 (SELECT MAX(id) FROM calls WHERE contact_id = c.id) \
             WHERE c.project_id = ? AND {status_filter} c.id > ? \
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
        );
        let mut q = sqlx::query(&sql).bind(project_id);
        if let Some(st) = status {
            q = q.bind(st);
        }
        let rows = q
            .bind(after)
            .bind(i64::from(limit.clamp(1, MAX_PAGE)))
            .fetch_all(&self.read)
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let status: String = r.get(2);
                let has_call = r.get::<Option<i64>, _>(7).is_some();
                LastResult {
                    contact_id: r.get(0),
                    name: r.get(1),
                    status_label: status_label(&status),
                    status,
                    fields: serde_json::from_str(r.get::<&str, _>(3)).unwrap_or_default(),
                    priority: r.get(4),
                    numbers: r
                        .get::<Option<String>, _>(5)
                        .map(|s| s.split(' ').map(str::to_string).collect())
                        .unwrap_or_default(),
                    calls: r.get(6),
                    last_call: has_call.then(|| call_view(r, 7)),
                }
            })
            .collect())
    }

    /// The field names used by a project's contacts (export columns), in first-seen order of
    /// up to the first 1,000 contacts.
    pub async fn field_names(&self, project_id: i64) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT fields FROM contacts WHERE project_id = ? AND fields <> '{}' ORDER BY id LIMIT 1000",
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

    /// Stores (or replaces) a prompt's original bytes.
    pub async fn put_prompt(&self, name: &str, data: &[u8]) -> Result<bool, StoreError> {
        let existed = sqlx::query("SELECT 1 FROM prompts WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.read)
            .await?
            .is_some();
        sqlx::query(
            "INSERT INTO prompts (name, data, created_at) VALUES (?, ?, ?) \
             ON CONFLICT(name) DO UPDATE SET data = excluded.data, created_at = excluded.created_at",
        )
        .bind(name)
        .bind(data)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(!existed)
    }

    /// Every stored prompt: (name, bytes) — written out as files at start.
    pub async fn prompts(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(sqlx::query("SELECT name, data FROM prompts ORDER BY name")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    /// A stored scenario: (name, TOML source).
    pub async fn scenario(&self, id: i64) -> Result<(String, String), StoreError> {
        sqlx::query("SELECT name, source FROM scenarios WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| (r.get(0), r.get(1)))
            .ok_or(StoreError::NotFound(format!("scenario {id}")))
    }

    /// Stores an API token (its hash only); an existing one is left as is.
    pub async fn add_token(&self, name: &str, token: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT OR IGNORE INTO api_tokens (name, sha256, created_at) VALUES (?, ?, ?)")
            .bind(name)
            .bind(token_hash(token))
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// How many API tokens exist.
    pub async fn token_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM api_tokens")
            .fetch_one(&self.read)
            .await?
            .get(0))
    }

    /// The name of the token, if it is a valid one.
    pub async fn check_token(&self, token: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query("SELECT name FROM api_tokens WHERE sha256 = ?")
            .bind(token_hash(token))
            .fetch_optional(&self.read)
            .await?
            .map(|r| r.get(0)))
    }

    /// The stop list, one page in number order after `after`: (E.164, reason, added at).
    pub async fn stop_list(
        &self,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        Ok(sqlx::query(
            "SELECT e164, reason, added_at FROM stop_list WHERE e164 > ? ORDER BY e164 LIMIT ?",
        )
        .bind(after)
        .bind(i64::from(limit.clamp(1, MAX_PAGE)))
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
    }

    /// Takes a number off the stop list; answers whether it was there.
    pub async fn remove_from_stop_list(&self, e164: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query("DELETE FROM stop_list WHERE e164 = ?")
            .bind(e164)
            .execute(&self.pool)
            .await?
            .rows_affected()
            > 0)
    }

    /// The dialer's decision log of a project, newest first: (at, contact, number, decision,
    /// reason).
    pub async fn decisions(
        &self,
        project_id: i64,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Decision>, StoreError> {
        Ok(sqlx::query(
            "SELECT id, at, contact_id, number, decision, reason FROM decisions \
             WHERE project_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
        )
        .bind(project_id)
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

    /// Calls up now, finished calls by result, and answered calls that got no audio from the
    /// callee, over all projects (metrics).
    pub async fn call_totals(&self) -> Result<CallTotals, StoreError> {
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
}

/// What `/metrics` shows of calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallTotals {
    pub up: i64,
    pub by_result: BTreeMap<String, i64>,
    /// Answered calls ended because no audio came from the callee (a broken media path).
    pub without_audio: i64,
}

const PROJECT_SELECT: &str = "SELECT id, name, scenario_id, status, time_zone, schedule, lines, \
     max_calls_per_number, retry_rules, ordering, callback_project_id, tariff, created_at FROM projects";

fn project_view(r: &SqliteRow) -> ProjectView {
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
    }
}

/// Hex SHA-256 of a token.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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
