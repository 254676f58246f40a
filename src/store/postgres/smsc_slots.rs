//! SMSC's request slots shared by the nodes (`migrations/postgres/0003_smsc_slots.sql`): SMSC
//! allows 15 requests at once per login, and every node sends with the same login. A request
//! takes a free slot — or one whose lease ran out, its node having stopped mid-request — with
//! `FOR UPDATE SKIP LOCKED` (two nodes never take one slot, and never wait for each other),
//! and gives it back when SMSC answered.
use super::PgStore;
use crate::store::{SmscSlots, StoreError};
use async_trait::async_trait;

#[async_trait]
impl SmscSlots for PgStore {
    async fn take_smsc_slot(&self, hold_ms: i64) -> Result<Option<i64>, StoreError> {
        let Some(node) = self.node.as_deref() else {
            return Err(StoreError::Invalid(
                "SMSC's shared slots need a registered node".into(),
            ));
        };
        Ok(sqlx::query_scalar(
            "UPDATE smsc_slots SET owner_node = $1, lease_until = db_now_ms() + $2 \
             WHERE slot = (SELECT slot FROM smsc_slots \
                           WHERE owner_node IS NULL OR lease_until < db_now_ms() \
                           ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING slot",
        )
        .bind(node.id)
        .bind(hold_ms)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn give_smsc_slot(&self, slot: i64) -> Result<(), StoreError> {
        let node = self.node.as_deref().map(|n| n.id);
        // Only while still this node's: a slot whose lease ran out and was taken by another
        // request is that request's now.
        sqlx::query(
            "UPDATE smsc_slots SET owner_node = NULL, lease_until = NULL \
             WHERE slot = $1 AND owner_node = $2",
        )
        .bind(slot)
        .bind(node)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
