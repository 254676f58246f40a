//! Learned greetings in SQLite (migration 0016). The row mappers are shared with the
//! PostgreSQL store (`shared::users`).
use super::SqliteStore;
use crate::media::greetings::{decode, encode, Greeting, Label};
use crate::store::greetings::{GreetingEdit, GreetingStore, GreetingView};
use crate::store::shared::users::{greeting_row, greeting_view, numbers_json, GREETING_COLUMNS};
use crate::store::StoreError;
use async_trait::async_trait;
use sqlx::Row;

/// A view's columns: the greeting's, then its name, size and whether it has a sample
/// (`greeting_view`).
fn view_columns() -> String {
    format!("{GREETING_COLUMNS}, name, length(landmarks) / 8, sample IS NOT NULL")
}

#[async_trait]
impl GreetingStore for SqliteStore {
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .execute(&self.pool)
        .await?;
        Ok(r.last_insert_rowid())
    }

    async fn greeting_seen(&self, g: &Greeting, sample: Option<&[u8]>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE greetings SET numbers = ?, numbers_seen = ?, times_seen = ?, last_seen = ?, \
             sample = COALESCE(sample, ?), landmarks = ? WHERE id = ?",
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
             ORDER BY (uploaded OR label IS NOT NULL OR numbers_seen > 1) DESC, \
             numbers_seen DESC, last_seen DESC, id LIMIT 1000",
            view_columns()
        ))
        .fetch_all(&self.read)
        .await?;
        Ok(rows.iter().map(|r| greeting_view(r, min_numbers)).collect())
    }

    async fn greeting(&self, id: i64, min_numbers: usize) -> Result<GreetingView, StoreError> {
        sqlx::query(&format!(
            "SELECT {} FROM greetings WHERE id = ?",
            view_columns()
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .map(|r| greeting_view(&r, min_numbers))
        .ok_or(StoreError::NotFound(format!("greeting {id}")))
    }

    async fn greeting_sample(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query("SELECT sample FROM greetings WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| r.get::<Option<Vec<u8>>, _>(0))
            .ok_or(StoreError::NotFound(format!("greeting {id}")))
    }

    async fn edit_greeting(&self, id: i64, e: &GreetingEdit) -> Result<(), StoreError> {
        let r = sqlx::query(
            "UPDATE greetings SET label = CASE WHEN ? THEN ? ELSE label END, \
             not_machine = COALESCE(?, not_machine), name = COALESCE(?, name) WHERE id = ?",
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
        let r = sqlx::query("DELETE FROM greetings WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("greeting {id}")));
        }
        Ok(())
    }

    async fn prune_greetings(&self, before: i64, keep: usize) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query(
            "DELETE FROM greetings WHERE id IN (SELECT id FROM greetings \
             WHERE numbers_seen <= 1 AND uploaded = 0 AND label IS NULL AND not_machine = 0 \
             AND (last_seen < ? OR id NOT IN (SELECT id FROM greetings WHERE numbers_seen <= 1 \
             AND uploaded = 0 AND label IS NULL AND not_machine = 0 \
             ORDER BY last_seen DESC LIMIT ?))) RETURNING id",
        )
        .bind(before)
        .bind(keep as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}
