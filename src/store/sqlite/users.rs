//! Users, sessions and user-made API tokens in SQLite (docs/users.md). A session is found by
//! the SHA-256 of its cookie, a token by its own (`token_hash`, one for both): neither is kept
//! as it is. The row mappers and checks are shared with the PostgreSQL store (`shared::users`).
use super::SqliteStore;
use crate::store::shared::token_hash;
use crate::store::shared::users::{
    change_user_error, check_username, create_user_error, ends_sessions, login_of, session_row,
    token_row, user_row, SESSION_COLUMNS, TOKEN_COLUMNS, USER_COLUMNS,
};
use crate::store::{SessionRow, StoreError, TokenRow, UserEdit, UserRow, UserStore};
use crate::users::Role;
use async_trait::async_trait;
use sqlx::Row;

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        agent_id: Option<i64>,
    ) -> Result<i64, StoreError> {
        let name = check_username(username)?;
        let r = sqlx::query(
            "INSERT INTO users (username, login, password_hash, role, agent_id, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(name)
        .bind(login_of(name))
        .bind(password_hash)
        .bind(role.as_str())
        .bind(agent_id)
        .bind(self.now())
        .execute(&self.pool)
        .await
        .map_err(|e| create_user_error(e, name, agent_id))?;
        Ok(r.last_insert_rowid())
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE login = ?"))
            .bind(login_of(username))
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
        .map_err(|err| change_user_error(err, e))?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {id}")));
        }
        if ends_sessions(e) {
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
        sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.sha256 = ? AND u.disabled = 0"
        ))
        .bind(token_hash(token))
        .fetch_optional(&self.read)
        .await?
        .map(|r| session_row(&r))
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
        sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE ?1 IS NULL OR user_id = ?1 ORDER BY id"
        ))
        .bind(user_id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(token_row)
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
