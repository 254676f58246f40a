//! API tokens in SQLite: only a SHA-256 of each token is kept, so a stolen database file gives
//! no API access.
use super::reports::token_hash;
use super::SqliteStore;
use crate::store::{AuthStore, StoreError, TokenOwner};
use async_trait::async_trait;
use sqlx::Row;

#[async_trait]
impl AuthStore for SqliteStore {
    async fn add_token(&self, name: &str, token: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT OR IGNORE INTO api_tokens (name, sha256, created_at) VALUES (?, ?, ?)")
            .bind(name)
            .bind(token_hash(token))
            .bind(self.now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn token_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM api_tokens")
            .fetch_one(&self.read)
            .await?
            .get(0))
    }

    async fn check_token(&self, token: &str) -> Result<Option<TokenOwner>, StoreError> {
        Ok(sqlx::query(
            "SELECT t.name, t.role, t.user_id FROM api_tokens t \
             LEFT JOIN users u ON u.id = t.user_id \
             WHERE t.sha256 = ? AND COALESCE(u.disabled, 0) = 0",
        )
        .bind(token_hash(token))
        .fetch_optional(&self.read)
        .await?
        .and_then(|r| crate::store::shared::reports::token_owner(&r)))
    }
}
