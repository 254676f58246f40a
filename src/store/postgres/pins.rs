//! Transfer pins (`migrations/postgres/0004_transfer_pins.sql`): a project whose callers are
//! transferred to agents is dialed by one node at a time, the one its agents use
//! (docs/operations.md "Several nodes"). The dialer asks every pass with the projects it would
//! dial and how many of each one's agents are present on this node; the answer is the projects
//! it holds — renewed, or taken because the holder went silent for a lease or has no agent of
//! the project present while this node has one. `start_calls` (dialer.rs) is the fence: it
//! starts no call of a project another node's live pin holds.
use super::PgStore;
use crate::store::StoreError;

impl PgStore {
    /// Of `projects` (id, agents present on this node), those this node holds now. Without a
    /// registered node the store works alone and holds all of them.
    pub(super) async fn hold_pins(&self, projects: &[(i64, u32)]) -> Result<Vec<i64>, StoreError> {
        let Some(node) = self.node.as_deref() else {
            return Ok(projects.iter().map(|p| p.0).collect());
        };
        if projects.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = projects.iter().map(|p| p.0).collect();
        let agents: Vec<i32> = projects
            .iter()
            .map(|p| i32::try_from(p.1).unwrap_or(i32::MAX))
            .collect();
        // One statement: each wanted project's row is inserted, or updated where this node may
        // have it; the rows it returns are the ones this node holds. A project deleted meanwhile
        // is skipped (the join), not an error.
        let held = sqlx::query_scalar(
            "INSERT INTO transfer_pins AS t (project_id, node_id, agents, renewed_at) \
             SELECT w.project_id, $3, w.agents, db_now_ms() \
             FROM UNNEST($1::BIGINT[], $2::INT[]) AS w(project_id, agents) \
             JOIN projects p ON p.id = w.project_id \
             ORDER BY w.project_id \
             ON CONFLICT (project_id) DO UPDATE \
                SET node_id = EXCLUDED.node_id, agents = EXCLUDED.agents, \
                    renewed_at = EXCLUDED.renewed_at \
             WHERE t.node_id = EXCLUDED.node_id \
                OR (t.agents = 0 AND EXCLUDED.agents > 0) \
                OR ($5 AND t.renewed_at < db_now_ms() - $4) \
             RETURNING t.project_id",
        )
        .bind(&ids)
        .bind(&agents)
        .bind(node.id)
        .bind(node.lease_ms())
        .bind(node.may_take_over())
        .fetch_all(&self.pool)
        .await?;
        Ok(held)
    }
}
