//! API tokens in PostgreSQL, the twin of `sqlite/auth.rs`: only a SHA-256 of each token is
//! kept, so a stolen database gives no API access. A token's owner is read by
//! `shared::reports::token_owner`.
//!
//! Where the SQL differs from SQLite's, and why: `INSERT OR IGNORE` becomes `ON CONFLICT DO
//! NOTHING` (a token already stored — the UNIQUE `sha256` — is left as is); parameters are
//! `$n`.
use super::reports::token_hash;
use super::PgStore;
use crate::store::{AuthStore, StoreError, TokenOwner};
use async_trait::async_trait;
use sqlx::Row;

#[async_trait]
impl AuthStore for PgStore {
    async fn add_token(&self, name: &str, token: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_tokens (name, sha256, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
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
             WHERE t.sha256 = $1 AND COALESCE(u.disabled, 0) = 0",
        )
        .bind(token_hash(token))
        .fetch_optional(&self.read)
        .await?
        .and_then(|r| crate::store::shared::reports::token_owner(&r)))
    }
}
