//! Setting campaigns up in SQLite: scenarios, projects (creation with every value checked,
//! activation under the five-active rule, pause; edits are `project_edit`'s), contact imports
//! (written by `import`), the stop list (a listed number re-plans its contacts: `plans`) and
//! stored prompts.
use super::reports::{project_view, PROJECT_SELECT};
use super::{json, SqliteStore};
use crate::import::{ImportLimits, ImportReport};
use crate::rules::decide::MAX_ACTIVE_PROJECTS;
use crate::store::shared::campaigns::{
    check_contacts_to_call, check_webhook_change, ended_refusal, name_taken,
};
use crate::store::*;
use async_trait::async_trait;
use sqlx::Row;

pub use crate::store::shared::check_webhook_secret;

#[async_trait]
impl CampaignStore for SqliteStore {
    async fn create_scenario(&self, name: &str, source: &str) -> Result<i64, StoreError> {
        let r = sqlx::query("INSERT INTO scenarios (name, source, created_at) VALUES (?, ?, ?)")
            .bind(name)
            .bind(source)
            .bind(self.now())
            .execute(&self.pool)
            .await?;
        Ok(r.last_insert_rowid())
    }

    async fn create_project(&self, p: &NewProject) -> Result<i64, StoreError> {
        let checked = check_settings(p)?;
        let (starts_at, ends_at, rules) = (checked.starts_at, checked.ends_at, checked.rules);
        self.check_references(p, None).await?;
        let r = sqlx::query(
            "INSERT INTO projects (name, scenario_id, time_zone, schedule, lines, \
             max_calls_per_number, retry_rules, ordering, callback_project_id, tariff, created_at, \
             starts_at, ends_at, type_windows, webhook_url, webhook_secret, transfer_settings, \
             mode, pacing_settings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(p.name.trim())
        .bind(p.scenario_id)
        .bind(&p.time_zone)
        .bind(json(&p.schedule))
        .bind(i64::from(p.lines))
        .bind(i64::from(rules.max_calls_per_number))
        .bind(json(&rules.per_result))
        .bind(json(&p.ordering))
        .bind(p.callback_project_id)
        .bind(json(&p.tariff))
        .bind(self.now())
        .bind(starts_at)
        .bind(ends_at)
        .bind(json(&p.type_windows))
        .bind(&p.webhook_url)
        .bind(&p.webhook_secret)
        .bind(json(&p.transfer))
        .bind(p.mode.as_str())
        .bind(json(&p.pacing))
        .execute(&self.pool)
        .await
        .map_err(|e| name_taken(e, &p.name))?;
        Ok(r.last_insert_rowid())
    }

    async fn activate(&self, id: i64) -> Result<(), StoreError> {
        let name = self.project_name(id).await?;
        let ends: Option<(i64, String)> =
            sqlx::query("SELECT ends_at, time_zone FROM projects WHERE id = ? AND ends_at <= ?")
                .bind(id)
                .bind(self.now())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| (r.get(0), r.get(1)));
        if let Some((t, zone)) = ends {
            return Err(ended_refusal(&name, t, &zone));
        }
        let (contacts, open): (i64, i64) = {
            let r = sqlx::query(
                "SELECT EXISTS (SELECT 1 FROM contacts WHERE project_id = ?1 \
                         AND removed_at IS NULL), \
                 EXISTS (SELECT 1 FROM contacts WHERE project_id = ?1 \
                         AND status IN ('not_called', 'retry'))",
            )
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
            (r.get(0), r.get(1))
        };
        check_contacts_to_call(&name, contacts != 0, open != 0)?;
        let r = sqlx::query(
            "UPDATE projects SET status = 'active', status_reason = NULL \
             WHERE id = ? AND (status = 'active' OR \
             (SELECT COUNT(*) FROM projects WHERE status = 'active') < ?)",
        )
        .bind(id)
        .bind(MAX_ACTIVE_PROJECTS as i64)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            let active: Vec<String> =
                sqlx::query("SELECT name FROM projects WHERE status = 'active' ORDER BY id")
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
            return Err(StoreError::TooManyActive(active));
        }
        Ok(())
    }

    async fn pause(&self, id: i64) -> Result<(), StoreError> {
        self.project_name(id).await?;
        sqlx::query("UPDATE projects SET status = 'paused', status_reason = NULL WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn import_contacts(
        &self,
        project_id: i64,
        input: Box<dyn std::io::Read + Send>,
        limits: ImportLimits,
    ) -> Result<ImportReport, StoreError> {
        self.run_import(project_id, input, limits, ImportWatch::default())
            .await
    }

    async fn import_contacts_watched(
        &self,
        project_id: i64,
        input: Box<dyn std::io::Read + Send>,
        limits: ImportLimits,
        watch: ImportWatch,
    ) -> Result<ImportReport, StoreError> {
        self.run_import(project_id, input, limits, watch).await
    }

    async fn add_to_stop_list(&self, e164: &str, reason: &str) -> Result<u64, StoreError> {
        sqlx::query("INSERT OR IGNORE INTO stop_list (e164, reason, added_at) VALUES (?, ?, ?)")
            .bind(e164)
            .bind(reason)
            .bind(self.now())
            .execute(&self.pool)
            .await?;
        self.apply_stop_list(e164).await
    }

    async fn list_projects(&self) -> Result<Vec<ProjectView>, StoreError> {
        let rows = sqlx::query(&format!("{PROJECT_SELECT} ORDER BY id"))
            .fetch_all(&self.read)
            .await?;
        Ok(rows.iter().map(project_view).collect())
    }

    async fn project(&self, id: i64) -> Result<ProjectView, StoreError> {
        sqlx::query(&format!("{PROJECT_SELECT} WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| project_view(&r))
            .ok_or(StoreError::NotFound(format!("project {id}")))
    }

    async fn project_id_by_name(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query("SELECT id FROM projects WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.read)
            .await?
            .map(|r| r.get(0)))
    }

    async fn project_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM projects")
            .fetch_one(&self.read)
            .await?
            .get(0))
    }

    async fn put_prompt(&self, name: &str, data: &[u8]) -> Result<bool, StoreError> {
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
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        Ok(!existed)
    }

    async fn prompts(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(sqlx::query("SELECT name, data FROM prompts ORDER BY name")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    async fn scenario(&self, id: i64) -> Result<(String, String), StoreError> {
        sqlx::query("SELECT name, source FROM scenarios WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| (r.get(0), r.get(1)))
            .ok_or(StoreError::NotFound(format!("scenario {id}")))
    }

    async fn list_scenarios(&self) -> Result<Vec<ScenarioRow>, StoreError> {
        Ok(
            sqlx::query("SELECT id, name, source, created_at FROM scenarios ORDER BY id DESC")
                .fetch_all(&self.read)
                .await?
                .iter()
                .map(|r| ScenarioRow {
                    id: r.get(0),
                    name: r.get(1),
                    source: r.get(2),
                    created_at: r.get(3),
                })
                .collect(),
        )
    }

    async fn stop_list(
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

    async fn set_project_webhook(
        &self,
        id: i64,
        url: Option<Option<String>>,
        secret: Option<Option<String>>,
    ) -> Result<ProjectView, StoreError> {
        self.project_name(id).await?;
        check_webhook_change(&url, &secret)?;
        let mut tx = self.write_first_tx().await?;
        if let Some(u) = &url {
            sqlx::query("UPDATE projects SET webhook_url = ? WHERE id = ?")
                .bind(u.as_deref().map(str::trim))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if let Some(u) = u {
                sqlx::query("DELETE FROM webhook_gone WHERE url = ?")
                    .bind(u.trim())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if let Some(s) = &secret {
            sqlx::query("UPDATE projects SET webhook_secret = ? WHERE id = ?")
                .bind(s)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.project(id).await
    }

    async fn copy_contacts(
        &self,
        from: i64,
        status: crate::rules::attempts::ContactStatus,
        to: i64,
    ) -> Result<CopyCount, StoreError> {
        self.copy_by_status(from, status, to).await
    }

    async fn set_project_transfer(
        &self,
        id: i64,
        transfer: &TransferOptions,
    ) -> Result<ProjectView, StoreError> {
        transfer.validate().map_err(StoreError::Invalid)?;
        let r = sqlx::query("UPDATE projects SET transfer_settings = ? WHERE id = ?")
            .bind(json(transfer))
            .bind(id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("project {id}")));
        }
        self.project(id).await
    }

    async fn edit_project(&self, id: i64, edit: &ProjectEdit) -> Result<ProjectView, StoreError> {
        self.edit_project_now(id, edit).await
    }

    async fn delete_contacts(
        &self,
        id: i64,
        status: crate::rules::attempts::ContactStatus,
    ) -> Result<DeleteCount, StoreError> {
        self.delete_by_status(id, status).await
    }

    async fn project_settings(&self, id: i64) -> Result<NewProject, StoreError> {
        Ok(self.stored_settings(id).await?.0)
    }

    async fn scenario_list(&self) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query("SELECT id, name FROM scenarios ORDER BY id")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    async fn action(&self, id: i64) -> Result<ActionView, StoreError> {
        self.action_by_id(id).await
    }

    async fn retry_action(
        &self,
        id: i64,
        now_ms: i64,
        give_up_at: i64,
    ) -> Result<ActionView, StoreError> {
        self.retry_action_now(id, now_ms, give_up_at).await
    }

    async fn cancel_action(&self, id: i64, now_ms: i64) -> Result<ActionView, StoreError> {
        self.cancel_action_now(id, now_ms).await
    }

    async fn remove_from_stop_list(&self, e164: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query("DELETE FROM stop_list WHERE e164 = ?")
            .bind(e164)
            .execute(&self.pool)
            .await?
            .rows_affected()
            > 0)
    }
}
