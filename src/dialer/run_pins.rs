//! The dialer's transfer pins (docs/operations.md "Several nodes"): a project whose callers
//! are transferred to agents is dialed by one node at a time — the one its agents use, whose
//! registrar has their phones and whose process keeps the project's queue. Each pass the
//! dialer tells the store which such projects it would dial and how many of each one's agents
//! are present here (signed in, not offline); the projects another node holds are left to it
//! this pass. On one node (SQLite) every project is held.
use super::Dialer;
use crate::agents::pool::AgentState;
use crate::rules::schedule::Schedule;
use crate::store::ProjectRow;
use std::collections::HashSet;

impl Dialer {
    /// Drops from `open` the projects with transfers to agents that another node holds. When
    /// the store cannot say, none of them is dialed this pass (this node may have lost them).
    pub(super) async fn keep_pinned(&mut self, open: &mut Vec<(ProjectRow, Schedule)>) {
        let mut wanted = Vec::new();
        for (p, _) in open.iter() {
            // A scenario that does not load is set aside later in the pass.
            let Ok(s) = self.scenario(p) else { continue };
            if super::transfers_to_agents(&s) {
                wanted.push((p.id, self.agents_present(p.id)));
            }
        }
        self.pins.retain(|id, _| wanted.iter().any(|w| w.0 == *id));
        if wanted.is_empty() {
            return;
        }
        let held: HashSet<i64> = match self.store.hold_transfer_pins(&wanted).await {
            Ok(h) => h.into_iter().collect(),
            Err(e) => {
                tracing::warn!(error = %e, "the projects' transfer pins could not be renewed: \
                               projects with transfers wait for the next pass");
                HashSet::new()
            }
        };
        for (p, _) in open.iter() {
            let Some(&(_, agents)) = wanted.iter().find(|w| w.0 == p.id) else {
                continue;
            };
            let here = held.contains(&p.id);
            let before = self.pins.insert(p.id, here);
            match (before, here) {
                (Some(false), true) => tracing::info!(
                    project = %p.name, project_id = p.id, agents_here = agents,
                    "this node dials the project now: its transfers are pinned here"
                ),
                (None | Some(true), false) => tracing::info!(
                    project = %p.name, project_id = p.id, agents_here = agents,
                    "the project's transfers are pinned to another node: this node leaves \
                     its calls to it (docs/operations.md, \"Several nodes\")"
                ),
                _ => {}
            }
        }
        open.retain(|(p, _)| held.contains(&p.id) || !wanted.iter().any(|w| w.0 == p.id));
    }

    /// How many of `project`'s agents are present on this node (not offline).
    fn agents_present(&self, project: i64) -> u32 {
        let Some(t) = self.ctx.transfers.as_ref() else {
            return 0;
        };
        let (states, _, _) = t.agents.floor(project);
        let n = states
            .iter()
            .filter(|(s, _)| *s != AgentState::Offline)
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}
