//! The dialer's pacing step (docs/pacing.md): each pass hands the agents' floor events to
//! their projects' pacing (`super::super::floor`), and asks each project's pacing how many
//! calls to place now; what it decided is on the pacing board for the API, the project page
//! and `/metrics`.
use super::Dialer;
use crate::agents::pool::FloorEvent;
use crate::dialer::floor::{day_of, FloorNow, PacingView, ProjectPacing};
use crate::dialer::pacing::{Mode, Settings};
use crate::scenario::{Action, Scenario};
use crate::store::ProjectRow;
use chrono::{DateTime, Offset, Utc};

/// One project's pacing as the dialer keeps it.
#[derive(Debug, Default)]
pub(super) struct Paced {
    settings: Settings,
    /// The project's zone's offset now (its "today").
    offset_s: i64,
    pacing: ProjectPacing,
}

/// Whether a scenario transfers callers to the agents.
pub fn transfers_to_agents(s: &Scenario) -> bool {
    s.all_actions()
        .any(|a| matches!(a, Action::Transfer { to, .. } if to == "agents"))
}

impl Dialer {
    /// Hands the agents' floor events to their projects' pacing.
    pub(super) fn floor_events(&mut self) {
        let Some(base) = self.ctx.transfers.as_ref() else {
            return;
        };
        let now_ms = self.clock.now_ms();
        for e in base.agents.take_events() {
            let project = match &e {
                FloorEvent::Queued { project, .. }
                | FloorEvent::Served { project, .. }
                | FloorEvent::Left { project, .. }
                | FloorEvent::Talked { project, .. }
                | FloorEvent::Wrapped { project, .. } => *project,
            };
            let p = self.paced.entry(project).or_default();
            let day = day_of(now_ms, p.offset_s);
            p.pacing.observe(&p.settings, &e, day);
        }
    }

    /// A call the dialer placed has ended.
    pub(super) fn paced_call_ended(&mut self, project: i64, call_id: i64) {
        let now_ms = self.clock.now_ms();
        if let Some(p) = self.paced.get_mut(&project) {
            p.pacing.ended(&format!("c{call_id}"), now_ms);
        }
    }

    /// Calls placed for a project now.
    pub(super) fn paced_calls_placed(&mut self, project: i64, call_ids: &[i64]) {
        let now_ms = self.clock.now_ms();
        let p = self.paced.entry(project).or_default();
        for id in call_ids {
            p.pacing.placed(format!("c{id}"), now_ms);
        }
    }

    /// How many calls project `p` may place now, with `active` calls up: its pacing's answer
    /// (never over its free lines), shown on the pacing board.
    pub(super) fn paced_room(
        &mut self,
        p: &ProjectRow,
        scenario: Option<&Scenario>,
        active: u32,
        now: DateTime<Utc>,
    ) -> u32 {
        let transfers = self.ctx.transfers.is_some() && scenario.is_some_and(transfers_to_agents);
        let server_wrap = self
            .ctx
            .transfers
            .as_ref()
            .map(|b| b.settings.wrap_up.as_secs() as u32);
        let settings = Settings::of(
            p.mode,
            p.lines,
            &p.pacing,
            p.transfer.wrap_up_s.or(server_wrap),
        );
        let offset_s = p
            .schedule()
            .map(|s| i64::from(now.with_timezone(&s.tz).offset().fix().local_minus_utc()))
            .unwrap_or(0);
        let (agents, talking, queue) = match self.ctx.transfers.as_ref() {
            Some(b) => b.agents.floor(p.id),
            None => (Vec::new(), 0, 0),
        };
        let now_ms = now.timestamp_millis();
        let answered: Vec<i64> = {
            let up = self.ctx.answered.lock().unwrap_or_else(|e| e.into_inner());
            self.call_project
                .iter()
                .filter(|(call, project)| **project == p.id && up.contains(call))
                .map(|(call, _)| *call)
                .collect()
        };
        let f = FloorNow {
            now_ms,
            agents: &agents,
            talking: talking as u32,
            queue: queue as u32,
            active,
            transfers,
        };
        let paced = self.paced.entry(p.id).or_default();
        for call in answered {
            paced.pacing.answered(&format!("c{call}"), now_ms);
        }
        paced.settings = settings;
        paced.offset_s = offset_s;
        let (decision, place) = paced.pacing.decide(&paced.settings, &f);
        let view = paced
            .pacing
            .view(&paced.settings, &f, day_of(now_ms, offset_s));
        if decision.mode != Mode::Robot || decision.allowed < p.lines {
            tracing::debug!(project = %p.name, allowed = decision.allowed, place, why = %decision.why, "pacing");
        }
        self.show(p.id, view);
        place
    }

    fn show(&self, project: i64, view: PacingView) {
        let mut board = self.board.lock().unwrap_or_else(|e| e.into_inner());
        board.insert(project, view);
    }

    /// Projects not dialing now leave the board.
    pub(super) fn board_keeps(&self, dialing: &[i64]) {
        let mut board = self.board.lock().unwrap_or_else(|e| e.into_inner());
        board.retain(|id, _| dialing.contains(id));
    }
}
