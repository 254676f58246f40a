//! Agents in PostgreSQL (the `agents` and `agent_projects` tables of
//! migrations/postgres/0001_schema.sql, SQLite's 0009_agents.sql). The checks of a new or
//! changed agent, its row mapper and the simulated agents' names are shared with the SQLite
//! store (`shared::outbox`).
//!
//! Where the SQL differs from SQLite's, and why:
//! - An agent's projects are joined with `string_agg(project_id::TEXT, ',')` (SQLite's
//!   `group_concat`), the same text the shared row mapper splits.
//! - Flags are BIGINT 0/1: `enabled` is bound as `i64`, not `bool` (PostgreSQL does not cast
//!   a BOOLEAN parameter into a BIGINT column).
//! - A clash of SIP users is told by the error's code (`is_unique_violation`), not by
//!   SQLite's message text.
//! - The membership goes in as one statement over an array (`unnest`), `ON CONFLICT DO
//!   NOTHING` for SQLite's `INSERT OR IGNORE`.
//! - `ON CONFLICT … DO UPDATE … WHERE agents.kind = 'sim'`: the existing row's column is
//!   named by its table.
//! - A wrap-up reads the call and writes it once: SQLite's `BEGIN IMMEDIATE` kept a second
//!   wrap-up out until the first committed; here the read locks the call's row (`FOR NO KEY
//!   UPDATE`, which the UPDATE takes anyway and which does not hold up rows being added that
//!   refer to the call), so the second one reads the first's wrap-up and answers `Conflict`.
use super::PgStore;
use crate::store::agents::{AgentChange, AgentKind, AgentRow, AgentStore, WrapUpRecord};
use crate::store::shared::outbox::{
    agent_row, changed_agent, new_agent, sim_agent, sim_beyond, unique_clash,
};
use crate::store::StoreError;
use async_trait::async_trait;
use sqlx::Row;

const AGENT_SELECT: &str = "SELECT a.id, a.name, a.sip_user, a.kind, a.uri, a.enabled, \
     a.all_projects, a.ha1, a.created_at, \
     (SELECT string_agg(p.project_id::TEXT, ',') FROM agent_projects p WHERE p.agent_id = a.id) \
     FROM agents a";

impl PgStore {
    async fn check_projects(&self, projects: &[i64]) -> Result<(), StoreError> {
        for p in projects {
            let found: Option<i64> = sqlx::query_scalar("SELECT id FROM projects WHERE id = $1")
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
        tx: &mut sqlx::PgConnection,
        id: i64,
        projects: &[i64],
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM agent_projects WHERE agent_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO agent_projects (agent_id, project_id) \
             SELECT $1::BIGINT, p FROM unnest($2::BIGINT[]) AS p \
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(projects)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl AgentStore for PgStore {
    async fn create_agent(&self, a: &AgentChange) -> Result<AgentRow, StoreError> {
        let w = new_agent(a)?;
        let projects = w.projects.clone().unwrap_or_default();
        self.check_projects(&projects).await?;
        let mut tx = self.write_first_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO agents (name, sip_user, ha1, kind, uri, enabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&w.name)
        .bind(&w.sip_user)
        .bind(&w.ha1)
        .bind(w.kind.as_str())
        .bind(&w.uri)
        .bind(i64::from(w.enabled))
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
            "UPDATE agents SET name = $1, sip_user = $2, ha1 = $3, kind = $4, uri = $5, \
             enabled = $6 WHERE id = $7",
        )
        .bind(&w.name)
        .bind(&w.sip_user)
        .bind(&w.ha1)
        .bind(w.kind.as_str())
        .bind(&w.uri)
        .bind(i64::from(w.enabled))
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
        let n = sqlx::query("DELETE FROM agents WHERE id = $1")
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
        sqlx::query(&format!("{AGENT_SELECT} WHERE a.id = $1"))
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
                 VALUES ($1, $2, 'sim', 1, 1, $3) \
                 ON CONFLICT (sip_user) DO UPDATE SET enabled = 1 WHERE agents.kind = 'sim'",
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
                sqlx::query("UPDATE agents SET enabled = 0 WHERE id = $1")
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
             EXISTS (SELECT 1 FROM agent_projects p WHERE p.agent_id = a.id AND p.project_id = $1))",
        )
        .bind(project)
        .fetch_one(&self.pool)
        .await?;
        Ok(n as usize)
    }

    async fn wrap_up_call(&self, w: &WrapUpRecord) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let Some(row) = sqlx::query(
            "SELECT project_id, contact_id, wrapped_up_at_ms FROM calls WHERE id = $1 \
             FOR NO KEY UPDATE",
        )
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
            "UPDATE calls SET disposition = $1, note = $2, callback_at = $3, \
             wrap_up_agent_id = $4, wrapped_up_at_ms = $5 WHERE id = $6",
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
