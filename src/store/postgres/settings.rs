//! Values made once per installation and kept in the database (`settings`): the prefix of the
//! message ids given to SMSC, so that a reset database or a second install on the same SMSC
//! login never mistakes someone else's message for one of ours; and the server-wide webhook
//! secret that signs the webhooks of projects without their own. On PostgreSQL every node of
//! the installation reads the same values from the shared database.
//!
//! Where the SQL differs from SQLite's, and why: `INSERT OR IGNORE` is `ON CONFLICT DO
//! NOTHING`. No advisory lock is taken (`lock_key::SETTINGS` is left for reads that decide a
//! write): a value is made by one conditional INSERT, and of concurrent first calls, on one
//! node or several, PostgreSQL lets one insert while the others wait for it and then insert
//! nothing; all then read the row it made.
use super::PgStore;
use crate::store::StoreError;
use sqlx::Row;

pub use crate::store::shared::Installation;

impl PgStore {
    /// The installation's values, made at the first call and kept from then on.
    pub async fn installation(&self) -> Result<Installation, StoreError> {
        let (id, _) = self
            .setting_or_init("installation_id", crate::store::shared::new_installation_id)
            .await?;
        let (webhook_secret, webhook_secret_new) = self
            .setting_or_init("webhook_secret", crate::store::shared::new_webhook_secret)
            .await?;
        Ok(Installation {
            id,
            webhook_secret,
            webhook_secret_new,
        })
    }

    /// A setting's value, and whether this call made it; `make` gives it the first time
    /// (concurrent first calls agree).
    async fn setting_or_init(
        &self,
        key: &str,
        make: impl FnOnce() -> String,
    ) -> Result<(String, bool), StoreError> {
        let made = sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(make())
        .execute(&self.pool)
        .await?
        .rows_affected()
            > 0;
        let value = sqlx::query("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_one(&self.pool)
            .await?
            .get(0);
        Ok((value, made))
    }
}
