//! The dialer's side of preview dialing (docs/pacing.md, "Preview"): the next card of an
//! agent's preview projects, the call an agent presses for (placed at once, through the same
//! last look and the same start as every call, its transfer pinned to the agent), and a skip
//! with its reason in the decision log.
use super::Dialer;
use crate::dialer::calls::{self, CallTransfer};
use crate::dialer::pacing::Mode;
use crate::dialer::preview::{PreviewCard, PreviewRequest};
use crate::store::{DueContact, ProjectRow, StartCall};
use std::sync::Arc;

/// How far down a preview project's order a card is looked for (past cards other agents
/// hold and contacts skipped).
const LOOK: u32 = 50;

impl Dialer {
    /// Where the API sends its preview requests.
    pub fn preview_sender(&self) -> tokio::sync::mpsc::UnboundedSender<PreviewRequest> {
        self.preview_tx.clone()
    }

    /// Answers every preview request waiting (each pass does, and the run loop at once).
    pub(super) async fn previews(&mut self) {
        while let Ok(r) = self.preview_rx.try_recv() {
            self.preview(r).await;
        }
    }

    pub(super) async fn preview(&mut self, r: PreviewRequest) {
        match r {
            PreviewRequest::Next { agent, reply } => {
                let _ = reply.send(self.preview_next(agent).await);
            }
            PreviewRequest::Call {
                agent,
                contact_id,
                reply,
            } => {
                let _ = reply.send(self.preview_call(agent, contact_id).await);
            }
            PreviewRequest::Skip {
                agent,
                contact_id,
                reason,
                reply,
            } => {
                let _ = reply.send(self.preview_skip(agent, contact_id, &reason).await);
            }
        }
    }

    /// The agent's preview projects that may dial now.
    async fn preview_projects(&self, agent: i64) -> Result<Vec<ProjectRow>, String> {
        let Some(base) = self.ctx.transfers.as_ref() else {
            return Ok(Vec::new());
        };
        let now = self.clock.now();
        let t = now.timestamp();
        Ok(self
            .store
            .dialing_projects()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|p| p.mode == Mode::Preview && base.agents.serves(agent, p.id))
            .filter(|p| p.starts_at.is_none_or(|s| s <= t) && p.ends_at.is_none_or(|e| e > t))
            .filter(|p| p.schedule().is_some_and(|s| s.is_open(now)))
            .collect())
    }

    async fn preview_next(&mut self, agent: i64) -> Result<Option<PreviewCard>, String> {
        let now_ms = self.clock.now_ms();
        for p in self.preview_projects(agent).await? {
            let ready = self
                .store
                .next_callable(p.id, LOOK)
                .await
                .map_err(|e| e.to_string())?;
            if let Some(c) = ready.into_iter().find(|c| {
                self.book.free_for(c.id, agent, now_ms) && c.numbers.get(c.next_idx).is_some()
            }) {
                self.book.hold(p.id, c.id, agent, now_ms);
                return Ok(Some(card(&p, &c)));
            }
        }
        Ok(None)
    }

    async fn preview_call(&mut self, agent: i64, contact_id: i64) -> Result<i64, String> {
        let now = self.clock.now();
        let now_ms = self.clock.now_ms();
        let Some(project) = self.book.holds(contact_id, agent, now_ms) else {
            return Err(format!(
                "contact {contact_id} is not the card this agent holds (shown to another agent, \
                 or held too long): take the next card"
            ));
        };
        let projects = self.preview_projects(agent).await?;
        let Some(p) = projects.into_iter().find(|p| p.id == project) else {
            return Err(
                "the project is not dialing now (paused, outside its schedule, or no \
                        longer in preview mode)"
                    .into(),
            );
        };
        let Some(schedule) = p.schedule() else {
            return Err("the project's schedule does not parse".into());
        };
        let up = self.ctx.lines.snapshot();
        let active = up.get(&p.id).copied().unwrap_or(0);
        let trunk_free = (self.trunk.max_calls() as u32).saturating_sub(up.values().sum());
        if active >= p.lines || trunk_free == 0 {
            return Err(format!(
                "no free line: the project has {active} of {} lines up, the trunk {} free",
                p.lines, trunk_free
            ));
        }
        let ready = self
            .store
            .next_callable(p.id, LOOK)
            .await
            .map_err(|e| e.to_string())?;
        let Some(c) = ready.into_iter().find(|c| c.id == contact_id) else {
            self.book.done(contact_id, None);
            return Err(format!(
                "contact {contact_id} is no longer among the next to call (called, changed or \
                 held since): take the next card"
            ));
        };
        let p = Arc::new(p);
        let (mut dial, _) = self
            .check_at_dial(&p, &schedule, vec![c])
            .await
            .map_err(|e| e.to_string())?;
        let Some(c) = dial.pop() else {
            self.book.done(contact_id, None);
            return Err(
                "the number cannot be called now (the stop list, or the callee's \
                        window): the contact was planned again"
                    .into(),
            );
        };
        let scenario = self
            .scenario(&p)
            .map_err(|e| format!("the project's scenario does not load: {e}"))?;
        let agents = self
            .ctx
            .transfers
            .as_ref()
            .map(|b| b.agents.clone())
            .ok_or("transfers to agents are off")?;
        agents.hold_for_preview(agent).map_err(|e| {
            format!("the agent cannot take a call now ({e:?}): free the agent first")
        })?;
        let start = StartCall {
            contact_id: c.id,
            version: c.version,
            number: &c.numbers[c.next_idx].e164,
            reason: format!(
                "preview: agent {agent} pressed «call»; number {} of {}",
                c.next_idx + 1,
                c.numbers.len()
            ),
        };
        let ids = self.store.start_calls(p.id, &[start], now_ms).await;
        let call_id = match ids.as_deref() {
            Ok([Some(id)]) => *id,
            Ok(_) => {
                agents.release_preview(agent);
                self.book.done(contact_id, None);
                return Err("the contact changed meanwhile: take the next card".into());
            }
            Err(e) => {
                agents.release_preview(agent);
                return Err(e.to_string());
            }
        };
        self.book.done(contact_id, None);
        self.paced_calls_placed(p.id, &[call_id]);
        let guard = self.ctx.lines.take(p.id);
        let transfer = CallTransfer {
            settings: self.transfer_settings(&p),
            preview_agent: Some(agent),
        };
        tracing::info!(project = %p.name, call = call_id, agent, at = %now, "preview call placed");
        let task = self.tasks.spawn(calls::run(
            self.ctx.clone(),
            p.clone(),
            scenario,
            c,
            call_id,
            guard,
            transfer,
        ));
        self.running.insert(task.id(), call_id);
        self.call_project.insert(call_id, p.id);
        Ok(call_id)
    }

    async fn preview_skip(
        &mut self,
        agent: i64,
        contact_id: i64,
        reason: &str,
    ) -> Result<(), String> {
        let now_ms = self.clock.now_ms();
        let Some(project) = self.book.holds(contact_id, agent, now_ms) else {
            return Err(format!(
                "contact {contact_id} is not the card this agent holds: take the next card"
            ));
        };
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err("a skip needs a reason of 1 … 200 characters".into());
        }
        self.store
            .log_decision(
                now_ms / 1000,
                project,
                Some(contact_id),
                None,
                "skip",
                &format!("preview: agent {agent} skipped the contact: {reason}"),
            )
            .await
            .map_err(|e| e.to_string())?;
        self.book.done(contact_id, Some(now_ms));
        Ok(())
    }
}

fn card(p: &ProjectRow, c: &DueContact) -> PreviewCard {
    PreviewCard {
        project_id: p.id,
        project: p.name.clone(),
        contact_id: c.id,
        name: c.name.clone(),
        fields: c.fields.clone(),
        number: c.numbers[c.next_idx].e164.clone(),
        numbers: c.numbers.iter().map(|n| n.e164.clone()).collect(),
        calls: c.attempts.numbers.iter().map(|n| n.calls).sum(),
    }
}
