//! Agents in SQLite (migrations/sqlite/0009_agents.sql).
use super::SqliteStore;
use crate::store::agents::{AgentChange, AgentKind, AgentRow, AgentStore, WrapUpRecord};
use crate::store::shared::outbox::{
    agent_row, changed_agent, new_agent, sim_agent, sim_beyond, unique_clash,
};
use crate::store::StoreError;
use async_trait::async_trait;
use sqlx::Row;

const AGENT_SELECT: &str = "SELECT a.id, a.name, a.sip_user, a.kind, a.uri, a.enabled, \
     a.all_projects, a.ha1, a.created_at, \
     (SELECT group_concat(project_id) FROM agent_projects p WHERE p.agent_id = a.id) \
     FROM agents a";

impl SqliteStore {
    async fn check_projects(&self, projects: &[i64]) -> Result<(), StoreError> {
        for p in projects {
            let found: Option<i64> = sqlx::query_scalar("SELECT id FROM projects WHERE id = ?")
                .bind(p)
                .fetch_optional(&self.pool)
                .await?;
            if found.is_none() {
                return Err(StoreError::Invalid(format!("projects: no project {p}")));
            }
        }
        Ok(())
    }

    async fn write_membership(
        tx: &mut sqlx::SqliteConnection,
        id: i64,
        projects: &[i64],
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM agent_projects WHERE agent_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for p in projects {
            sqlx::query(
                "INSERT OR IGNORE INTO agent_projects (agent_id, project_id) VALUES (?, ?)",
            )
            .bind(id)
            .bind(p)
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl AgentStore for SqliteStore {
    async fn create_agent(&self, a: &AgentChange) -> Result<AgentRow, StoreError> {
        let w = new_agent(a)?;
        let projects = w.projects.clone().unwrap_or_default();
        self.check_projects(&projects).await?;
        let mut tx = self.write_first_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO agents (name, sip_user, ha1, kind, uri, enabled, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&w.name)
        .bind(&w.sip_user)
        .bind(&w.ha1)
        .bind(w.kind.as_str())
        .bind(&w.uri)
        .bind(w.enabled)
        .bind(self.now())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique_clash(e, &w.sip_user))?;
        Self::write_membership(&mut tx, id, &projects).await?;
        tx.commit().await?;
        self.agent(id).await
    }

    async fn change_agent(&self, id: i64, a: &AgentChange) -> Result<AgentRow, StoreError> {
        let now = self.agent(id).await?;
        let w = changed_agent(id, &now, a)?;
        if let Some(p) = &w.projects {
            self.check_projects(p).await?;
        }
        let mut tx = self.write_first_tx().await?;
        sqlx::query(
            "UPDATE agents SET name = ?, sip_user = ?, ha1 = ?, kind = ?, uri = ?, enabled = ? \
             WHERE id = ?",
        )
        .bind(&w.name)
        .bind(&w.sip_user)
        .bind(&w.ha1)
        .bind(w.kind.as_str())
        .bind(&w.uri)
        .bind(w.enabled)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_clash(e, &w.sip_user))?;
        if let Some(p) = &w.projects {
            Self::write_membership(&mut tx, id, p).await?;
        }
        tx.commit().await?;
        self.agent(id).await
    }

    async fn delete_agent(&self, id: i64) -> Result<(), StoreError> {
        let mut tx = self.write_first_tx().await?;
        let n = sqlx::query("DELETE FROM agents WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("agent {id}")));
        }
        Ok(())
    }

    async fn agent(&self, id: i64) -> Result<AgentRow, StoreError> {
        sqlx::query(&format!("{AGENT_SELECT} WHERE a.id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| agent_row(&r))
            .ok_or_else(|| StoreError::NotFound(format!("agent {id}")))
    }

    async fn agents(&self) -> Result<Vec<AgentRow>, StoreError> {
        Ok(sqlx::query(&format!("{AGENT_SELECT} ORDER BY a.id"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(agent_row)
            .collect())
    }

    async fn ensure_sim_agents(&self, count: u32) -> Result<Vec<AgentRow>, StoreError> {
        let mut tx = self.write_first_tx().await?;
        for n in 1..=count {
            let (name, user) = sim_agent(n);
            sqlx::query(
                "INSERT INTO agents (name, sip_user, kind, enabled, all_projects, created_at) \
                 VALUES (?, ?, 'sim', 1, 1, ?) \
                 ON CONFLICT (sip_user) DO UPDATE SET enabled = 1 WHERE kind = 'sim'",
            )
            .bind(name)
            .bind(user)
            .bind(self.now())
            .execute(&mut *tx)
            .await?;
        }
        // Those beyond the count are switched off, not deleted: their calls keep their agent.
        let all: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, sip_user FROM agents WHERE kind = 'sim'")
                .fetch_all(&mut *tx)
                .await?;
        for (id, user) in all {
            if sim_beyond(&user, count) {
                sqlx::query("UPDATE agents SET enabled = 0 WHERE id = ?")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(self
            .agents()
            .await?
            .into_iter()
            .filter(|a| a.kind == AgentKind::Sim)
            .collect())
    }

    async fn project_agents(&self, project: i64) -> Result<usize, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM agents a WHERE a.enabled = 1 AND (a.all_projects = 1 OR \
             EXISTS (SELECT 1 FROM agent_projects p WHERE p.agent_id = a.id AND p.project_id = ?))",
        )
        .bind(project)
        .fetch_one(&self.pool)
        .await?;
        Ok(n as usize)
    }

    async fn wrap_up_call(&self, w: &WrapUpRecord) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let Some(row) =
            sqlx::query("SELECT project_id, contact_id, wrapped_up_at_ms FROM calls WHERE id = ?")
                .bind(w.call_id)
                .fetch_optional(&mut *tx)
                .await?
        else {
            return Err(StoreError::NotFound(format!("call {}", w.call_id)));
        };
        if row.get::<Option<i64>, _>(2).is_some() {
            return Err(StoreError::Conflict(format!(
                "call {} was wrapped up already: its disposition stays as written",
                w.call_id
            )));
        }
        let (project_id, contact_id): (i64, i64) = (row.get(0), row.get(1));
        sqlx::query(
            "UPDATE calls SET disposition = ?, note = ?, callback_at = ?, wrap_up_agent_id = ?, \
             wrapped_up_at_ms = ? WHERE id = ?",
        )
        .bind(&w.disposition)
        .bind(&w.note)
        .bind(w.callback_at)
        .bind(w.agent_id)
        .bind(w.at_ms)
        .bind(w.call_id)
        .execute(&mut *tx)
        .await?;
        if let Some(a) = &w.callback {
            super::call_actions::write_actions(
                &mut tx,
                (w.call_id, project_id, contact_id),
                std::slice::from_ref(a),
                w.at_ms,
                w.give_up_at_ms,
                false,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
