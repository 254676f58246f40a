//! Learned greetings in PostgreSQL: the SQLite store's `greetings.rs` in PostgreSQL's SQL. The
//! row mappers are shared with the SQLite store (`shared::users`).
//!
//! Where the SQL differs from SQLite's, and why:
//! - `$n` parameters; a new greeting's id comes from `RETURNING id`;
//! - a view's landmark count and "has a sample" are cast `::BIGINT`: `length()` is INT4 and
//!   `IS NOT NULL` a BOOLEAN in PostgreSQL, where the shared mapper reads 64-bit integers as
//!   SQLite gives them;
//! - the list's order tests `uploaded <> 0`: the flag is a BIGINT, which PostgreSQL does not
//!   take as a truth value (`false` sorts before `true`, so DESC still puts those that decide
//!   first, as 1 before 0 in SQLite; no ordered column can be NULL);
//! - `prune_greetings` repeats its conditions on the deleted row itself. SQLite runs it alone;
//!   here a call may change a greeting (heard on a second number, labelled) while the DELETE
//!   runs. PostgreSQL then checks the changed row again against the DELETE's own conditions
//!   before deleting it, but not against the subquery's, which read the old row: with the
//!   conditions only in the subquery, a greeting confirmed a moment ago could be forgotten.
use super::PgStore;
use crate::media::greetings::{decode, encode, Greeting, Label};
use crate::store::greetings::{GreetingEdit, GreetingStore, GreetingView};
use crate::store::shared::users::{greeting_row, greeting_view, numbers_json, GREETING_COLUMNS};
use crate::store::StoreError;
use async_trait::async_trait;
use sqlx::Row;

/// A view's columns: the greeting's, then its name, size and whether it has a sample
/// (`greeting_view`), the last two as BIGINT.
fn view_columns() -> String {
    format!(
        "{GREETING_COLUMNS}, name, (length(landmarks) / 8)::BIGINT, \
         (CASE WHEN sample IS NULL THEN 0 ELSE 1 END)::BIGINT"
    )
}

/// Greetings the prune may forget: heard on one number, unlabelled, not uploaded, not marked.
const UNCONFIRMED: &str =
    "numbers_seen <= 1 AND uploaded = 0 AND label IS NULL AND not_machine = 0";

#[async_trait]
impl GreetingStore for PgStore {
    async fn load_greetings(&self) -> Result<Vec<Greeting>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {GREETING_COLUMNS}, landmarks FROM greetings ORDER BY id"
        ))
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .iter()
            .map(|r| greeting_row(r, decode(&r.get::<Vec<u8>, _>(9))))
            .collect())
    }

    async fn add_greeting(
        &self,
        g: &Greeting,
        name: &str,
        sample: Option<&[u8]>,
    ) -> Result<i64, StoreError> {
        let r = sqlx::query(
            "INSERT INTO greetings (landmarks, numbers, numbers_seen, times_seen, first_seen, \
             last_seen, label, not_machine, uploaded, sample, name) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(encode(&g.landmarks))
        .bind(numbers_json(&g.numbers))
        .bind(i64::from(g.numbers_seen))
        .bind(i64::from(g.times_seen))
        .bind(g.first_seen)
        .bind(g.last_seen)
        .bind(g.label.map(Label::as_str))
        .bind(i64::from(g.not_machine))
        .bind(i64::from(g.uploaded))
        .bind(sample)
        .bind(name)
        .fetch_one(&self.pool)
        .await?;
        Ok(r.get(0))
    }

    async fn greeting_seen(&self, g: &Greeting, sample: Option<&[u8]>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE greetings SET numbers = $1, numbers_seen = $2, times_seen = $3, \
             last_seen = $4, sample = COALESCE(sample, $5::BYTEA), landmarks = $6 WHERE id = $7",
        )
        .bind(numbers_json(&g.numbers))
        .bind(i64::from(g.numbers_seen))
        .bind(i64::from(g.times_seen))
        .bind(g.last_seen)
        .bind(sample)
        .bind(encode(&g.landmarks))
        .bind(g.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_greetings(&self, min_numbers: usize) -> Result<Vec<GreetingView>, StoreError> {
        // Those that decide or were labelled first, then the most heard.
        let rows = sqlx::query(&format!(
            "SELECT {} FROM greetings \
             ORDER BY (uploaded <> 0 OR label IS NOT NULL OR numbers_seen > 1) DESC, \
             numbers_seen DESC, last_seen DESC, id LIMIT 1000",
            view_columns()
        ))
        .fetch_all(&self.read)
        .await?;
        Ok(rows.iter().map(|r| greeting_view(r, min_numbers)).collect())
    }

    async fn greeting(&self, id: i64, min_numbers: usize) -> Result<GreetingView, StoreError> {
        sqlx::query(&format!(
            "SELECT {} FROM greetings WHERE id = $1",
            view_columns()
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .map(|r| greeting_view(&r, min_numbers))
        .ok_or(StoreError::NotFound(format!("greeting {id}")))
    }

    async fn greeting_sample(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query("SELECT sample FROM greetings WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| r.get::<Option<Vec<u8>>, _>(0))
            .ok_or(StoreError::NotFound(format!("greeting {id}")))
    }

    async fn edit_greeting(&self, id: i64, e: &GreetingEdit) -> Result<(), StoreError> {
        let r = sqlx::query(
            "UPDATE greetings SET label = CASE WHEN $1::BOOLEAN THEN $2::TEXT ELSE label END, \
             not_machine = COALESCE($3::BIGINT, not_machine), name = COALESCE($4::TEXT, name) \
             WHERE id = $5",
        )
        .bind(e.label.is_some())
        .bind(e.label.flatten().map(Label::as_str))
        .bind(e.not_machine.map(i64::from))
        .bind(e.name.as_deref())
        .bind(id)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("greeting {id}")));
        }
        Ok(())
    }

    async fn delete_greeting(&self, id: i64) -> Result<(), StoreError> {
        let r = sqlx::query("DELETE FROM greetings WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("greeting {id}")));
        }
        Ok(())
    }

    async fn prune_greetings(&self, before: i64, keep: usize) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query(&format!(
            "DELETE FROM greetings WHERE {UNCONFIRMED} AND id IN (SELECT id FROM greetings \
             WHERE {UNCONFIRMED} AND (last_seen < $1 OR id NOT IN (SELECT id FROM greetings \
             WHERE {UNCONFIRMED} ORDER BY last_seen DESC LIMIT $2))) RETURNING id"
        ))
        .bind(before)
        .bind(i64::try_from(keep).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}
