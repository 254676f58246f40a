//! Users, sessions and user-made API tokens in SQLite (docs/users.md). A session is found by
//! the SHA-256 of its cookie, a token by its own (`token_hash`, one for both): neither is kept
//! as it is.
use super::reports::token_hash;
use super::SqliteStore;
use crate::store::{SessionRow, StoreError, TokenRow, UserEdit, UserRow, UserStore};
use crate::users::Role;
use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

const USER_COLUMNS: &str = "id, username, password_hash, role, agent_id, disabled, created_at";

fn user_row(r: &SqliteRow, at: usize) -> Result<UserRow, StoreError> {
    let role: String = r.get(at + 3);
    Ok(UserRow {
        id: r.get(at),
        username: r.get(at + 1),
        password_hash: r.get(at + 2),
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Db(format!("user role {role:?} is not known")))?,
        agent_id: r.get(at + 4),
        disabled: r.get::<i64, _>(at + 5) != 0,
        created_at: r.get(at + 6),
    })
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        agent_id: Option<i64>,
    ) -> Result<i64, StoreError> {
        let name = username.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(StoreError::Invalid(
                "username: 1 to 100 characters, no control characters".into(),
            ));
        }
        let r = sqlx::query(
            "INSERT INTO users (username, login, password_hash, role, agent_id, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(name)
        .bind(name.to_lowercase())
        .bind(password_hash)
        .bind(role.as_str())
        .bind(agent_id)
        .bind(self.now())
        .execute(&self.pool)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Conflict(format!("a user named {name:?} exists"))
            }
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
                StoreError::Invalid(format!("agent_id {agent_id:?}: no such agent"))
            }
            other => other.into(),
        })?;
        Ok(r.last_insert_rowid())
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE login = ?"))
            .bind(username.trim().to_lowercase())
            .fetch_optional(&self.read)
            .await?
            .map(|r| user_row(&r, 0))
            .transpose()
    }

    async fn user(&self, id: i64) -> Result<Option<UserRow>, StoreError> {
        sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| user_row(&r, 0))
            .transpose()
    }

    async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| user_row(r, 0))
            .collect()
    }

    async fn user_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM users")
            .fetch_one(&self.read)
            .await?
            .get(0))
    }

    async fn change_user(&self, id: i64, e: &UserEdit<'_>) -> Result<(), StoreError> {
        let mut tx = self.write_first_tx().await?;
        let r = sqlx::query(
            "UPDATE users SET role = COALESCE(?, role), \
             password_hash = COALESCE(?, password_hash), disabled = COALESCE(?, disabled), \
             agent_id = CASE WHEN ? THEN ? ELSE agent_id END \
             WHERE id = ?",
        )
        .bind(e.role.map(Role::as_str))
        .bind(e.password_hash)
        .bind(e.disabled.map(i64::from))
        .bind(e.agent_id.is_some())
        .bind(e.agent_id.flatten())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|err| match err {
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::Invalid(
                format!("agent_id {:?}: no such agent", e.agent_id.flatten()),
            ),
            other => other.into(),
        })?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {id}")));
        }
        if e.role.is_some()
            || e.password_hash.is_some()
            || e.disabled == Some(true)
            || e.agent_id.is_some()
        {
            sqlx::query("DELETE FROM sessions WHERE user_id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(role) = e.role {
            sqlx::query("UPDATE api_tokens SET role = ? WHERE user_id = ?")
                .bind(role.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn delete_user(&self, id: i64) -> Result<bool, StoreError> {
        Ok(sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected()
            > 0)
    }

    async fn create_session(
        &self,
        token: &str,
        user_id: i64,
        csrf: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (sha256, user_id, csrf, created_at, last_seen) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(token_hash(token))
        .bind(user_id)
        .bind(csrf)
        .bind(now_ms)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(&self, token: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query(
            "SELECT s.csrf, s.created_at, s.last_seen, u.id, u.username, u.password_hash, \
             u.role, u.agent_id, u.disabled, u.created_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.sha256 = ? AND u.disabled = 0",
        )
        .bind(token_hash(token))
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(SessionRow {
                csrf: r.get(0),
                created_at: r.get(1),
                last_seen: r.get(2),
                user: user_row(&r, 3)?,
            })
        })
        .transpose()
    }

    async fn touch_session(&self, token: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen = ? WHERE sha256 = ?")
            .bind(now_ms)
            .bind(token_hash(token))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn end_session(&self, token: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE sha256 = ?")
            .bind(token_hash(token))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn end_idle_sessions(&self, before_ms: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM sessions WHERE last_seen < ?")
            .bind(before_ms)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    async fn add_user_token(
        &self,
        user_id: i64,
        name: &str,
        token: &str,
        role: Role,
    ) -> Result<i64, StoreError> {
        let r = sqlx::query(
            "INSERT INTO api_tokens (name, sha256, role, user_id, created_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(name.trim())
        .bind(token_hash(token))
        .bind(role.as_str())
        .bind(user_id)
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        Ok(r.last_insert_rowid())
    }

    async fn tokens(&self, user_id: Option<i64>) -> Result<Vec<TokenRow>, StoreError> {
        sqlx::query(
            "SELECT id, name, role, user_id, created_at FROM api_tokens \
             WHERE ?1 IS NULL OR user_id = ?1 ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| {
            let role: String = r.get(2);
            Ok(TokenRow {
                id: r.get(0),
                name: r.get(1),
                role: Role::parse(&role)
                    .ok_or_else(|| StoreError::Db(format!("token role {role:?} is not known")))?,
                user_id: r.get(3),
                created_at: r.get(4),
            })
        })
        .collect()
    }

    async fn revoke_token(&self, id: i64, user_id: Option<i64>) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("DELETE FROM api_tokens WHERE id = ?1 AND (?2 IS NULL OR user_id = ?2)")
                .bind(id)
                .bind(user_id)
                .execute(&self.pool)
                .await?
                .rows_affected()
                > 0,
        )
    }
}
