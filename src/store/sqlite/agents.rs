//! Agents in SQLite (migrations/sqlite/0009_agents.sql).
use super::SqliteStore;
use crate::store::agents::{ha1, AgentChange, AgentKind, AgentRow, AgentStore, WrapUpRecord};
use crate::store::StoreError;
use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

const AGENT_SELECT: &str = "SELECT a.id, a.name, a.sip_user, a.kind, a.uri, a.enabled, \
     a.all_projects, a.ha1, a.created_at, \
     (SELECT group_concat(project_id) FROM agent_projects p WHERE p.agent_id = a.id) \
     FROM agents a";

fn agent_row(r: &SqliteRow) -> AgentRow {
    let ha1: Option<String> = r.get(7);
    let projects: Option<String> = r.get(9);
    let mut projects: Vec<i64> = projects
        .unwrap_or_default()
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    projects.sort_unstable();
    AgentRow {
        id: r.get(0),
        name: r.get(1),
        sip_user: r.get(2),
        kind: AgentKind::parse(r.get::<&str, _>(3)).unwrap_or(AgentKind::Sip),
        uri: r.get(4),
        enabled: r.get::<i64, _>(5) != 0,
        all_projects: r.get::<i64, _>(6) != 0,
        projects,
        has_password: ha1.is_some(),
        ha1,
        created_at: r.get(8),
    }
}

/// A SIP user as digest authentication and URIs need it.
fn check_sip_user(u: &str) -> Result<(), StoreError> {
    let ok = !u.is_empty()
        && u.len() <= 64
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/".contains(c));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "sip_user {u:?}: 1–64 characters, letters, digits and - _ . ! ~ * ' ( ) & = + $ , ; ? / \
             (what a SIP URI's user part allows)"
        )))
    }
}

fn check_uri(u: &str) -> Result<(), StoreError> {
    let lower = u.to_ascii_lowercase();
    if (lower.starts_with("sip:") && u.len() > 4 && u.len() <= 256)
        && !u.contains(char::is_whitespace)
    {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "uri {u:?}: a SIP URI such as sip:101@192.0.2.10:5060"
        )))
    }
}

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

fn unique_clash(e: sqlx::Error, user: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.message().contains("UNIQUE") => {
            StoreError::Conflict(format!("an agent with sip_user {user:?} exists already"))
        }
        _ => e.into(),
    }
}

#[async_trait]
impl AgentStore for SqliteStore {
    async fn create_agent(&self, a: &AgentChange) -> Result<AgentRow, StoreError> {
        let name = a.name.as_deref().map(str::trim).unwrap_or_default();
        if name.is_empty() {
            return Err(StoreError::Invalid("name: an agent needs a name".into()));
        }
        let user = a
            .sip_user
            .as_deref()
            .ok_or_else(|| StoreError::Invalid("sip_user: an agent needs a SIP user".into()))?;
        check_sip_user(user)?;
        let uri = a.uri.clone().flatten();
        if let Some(u) = &uri {
            check_uri(u)?;
        }
        if uri.is_none() && a.password.as_deref().is_none_or(str::is_empty) {
            return Err(StoreError::Invalid(
                "password: an agent who registers needs a password (or give a fixed `uri`)".into(),
            ));
        }
        let projects = a.projects.clone().unwrap_or_default();
        self.check_projects(&projects).await?;
        let kind = if uri.is_some() {
            AgentKind::Uri
        } else {
            AgentKind::Sip
        };
        let mut tx = self.write_first_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO agents (name, sip_user, ha1, kind, uri, enabled, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(name)
        .bind(user)
        .bind(
            a.password
                .as_deref()
                .filter(|p| !p.is_empty())
                .map(|p| ha1(user, p)),
        )
        .bind(kind.as_str())
        .bind(&uri)
        .bind(a.enabled.unwrap_or(true))
        .bind(self.now())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique_clash(e, user))?;
        Self::write_membership(&mut tx, id, &projects).await?;
        tx.commit().await?;
        self.agent(id).await
    }

    async fn change_agent(&self, id: i64, a: &AgentChange) -> Result<AgentRow, StoreError> {
        let now = self.agent(id).await?;
        if now.kind == AgentKind::Sim
            && (a.sip_user.is_some() || a.password.is_some() || a.uri.is_some())
        {
            return Err(StoreError::Invalid(format!(
                "agent {id} is simulated ([agents.sim]): only its name, projects and enabled change"
            )));
        }
        let name = match &a.name {
            Some(n) if n.trim().is_empty() => {
                return Err(StoreError::Invalid("name: an agent needs a name".into()))
            }
            Some(n) => n.trim().to_string(),
            None => now.name.clone(),
        };
        let user = a.sip_user.clone().unwrap_or_else(|| now.sip_user.clone());
        check_sip_user(&user)?;
        let uri = match &a.uri {
            Some(u) => u.clone(),
            None => now.uri.clone(),
        };
        if let Some(u) = &uri {
            check_uri(u)?;
        }
        // A new user name needs the password again: HA1 covers both.
        let ha1_now = match (
            &a.password,
            a.sip_user.is_some() && a.sip_user.as_ref() != Some(&now.sip_user),
        ) {
            (Some(p), _) if !p.is_empty() => Some(ha1(&user, p)),
            (_, true) if uri.is_none() => {
                return Err(StoreError::Invalid(
                    "password: a new sip_user needs the password again".into(),
                ))
            }
            _ => now.ha1.clone(),
        };
        if now.kind != AgentKind::Sim && uri.is_none() && ha1_now.is_none() {
            return Err(StoreError::Invalid(
                "password: an agent who registers needs a password (or give a fixed `uri`)".into(),
            ));
        }
        if let Some(p) = &a.projects {
            self.check_projects(p).await?;
        }
        let kind = match now.kind {
            AgentKind::Sim => AgentKind::Sim,
            _ if uri.is_some() => AgentKind::Uri,
            _ => AgentKind::Sip,
        };
        let mut tx = self.write_first_tx().await?;
        sqlx::query(
            "UPDATE agents SET name = ?, sip_user = ?, ha1 = ?, kind = ?, uri = ?, enabled = ? \
             WHERE id = ?",
        )
        .bind(&name)
        .bind(&user)
        .bind(&ha1_now)
        .bind(kind.as_str())
        .bind(&uri)
        .bind(a.enabled.unwrap_or(now.enabled))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_clash(e, &user))?;
        if let Some(p) = &a.projects {
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
            sqlx::query(
                "INSERT INTO agents (name, sip_user, kind, enabled, all_projects, created_at) \
                 VALUES (?, ?, 'sim', 1, 1, ?) \
                 ON CONFLICT (sip_user) DO UPDATE SET enabled = 1 WHERE kind = 'sim'",
            )
            .bind(format!("Оператор-симулятор {n}"))
            .bind(format!("sim-{n}"))
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
            let n: u32 = user.trim_start_matches("sim-").parse().unwrap_or(u32::MAX);
            if n > count {
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
