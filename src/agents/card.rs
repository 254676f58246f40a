//! A transferred call as the agent desk shows it (docs/users.md, "The agent desk"): who the
//! contact is, what the robot heard, the project and its wrap-up choices; and each agent's
//! current or last such call (`DeskCalls`), which the desk reads. The dialer builds a card when
//! a call starts, the call fills in what the robot heard when the transfer begins, and the
//! agents service hands it to the agent whose phone rings. Pure data on an injected clock:
//! nothing here waits, reads a clock or touches the store.
use super::pool::AgentId;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the agent sees of a transferred call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallCard {
    /// The stored call (`None`: a call of `autoinformer call`, which stores nothing: no
    /// wrap-up).
    pub call_id: Option<i64>,
    pub project_id: i64,
    pub project_name: String,
    /// The project's time zone (a call back is asked for in it).
    pub time_zone: String,
    pub contact_name: Option<String>,
    /// The contact's fields (the import's other columns), in their order.
    pub fields: Vec<(String, String)>,
    /// The number the call reached.
    pub number: String,
    /// The scenario's result when it asked for the transfer.
    pub result: String,
    /// The keys the callee pressed, in order.
    pub keys: String,
    /// What the callee said, utterance by utterance.
    pub said: Vec<String>,
    /// The values the scenario captured.
    pub captured: Vec<(String, String)>,
    /// What the wrap-up form offers (the project's `transfer.dispositions`).
    pub dispositions: Vec<String>,
    /// Where a call back the agent asks for goes (`None`: the project has none, the form
    /// offers no call back).
    pub callback_project: Option<String>,
    /// A preview call (docs/pacing.md): the agent who pressed «call», the only one it goes to.
    pub preview_agent: Option<i64>,
}

impl CallCard {
    /// Fills in what the robot heard by the time it transferred the call.
    pub fn heard(
        &mut self,
        result: &str,
        keys: String,
        said: Vec<String>,
        captured: &BTreeMap<String, String>,
    ) {
        self.result = result.to_string();
        self.keys = keys;
        self.said = said;
        self.captured = captured
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
    }
}

/// An agent's current or last transferred call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskCall {
    /// The queue's name of the call (`c17`).
    pub call: String,
    pub card: Arc<CallCard>,
    /// When the agent's phone began to ring (unix ms).
    pub rang_at_ms: i64,
    /// The agent answered: the wrap-up form is open from now on.
    pub answered: bool,
    /// The call is over.
    pub ended: bool,
    /// The wrap-up was written (the disposition the agent picked).
    pub wrapped_up: Option<String>,
}

/// Each agent's current or last transferred call.
#[derive(Debug, Default)]
pub struct DeskCalls {
    calls: BTreeMap<AgentId, DeskCall>,
}

impl DeskCalls {
    /// The agent's phone rings for `call`: its card replaces the last one.
    pub fn ringing(&mut self, agent: AgentId, call: &str, card: Arc<CallCard>, now: i64) {
        self.calls.insert(
            agent,
            DeskCall {
                call: call.to_string(),
                card,
                rang_at_ms: now,
                answered: false,
                ended: false,
                wrapped_up: None,
            },
        );
    }

    /// The agent answered `call`.
    pub fn answered(&mut self, agent: AgentId, call: &str) {
        if let Some(d) = self.calls.get_mut(&agent).filter(|d| d.call == call) {
            d.answered = true;
        }
    }

    /// The agent's phone stopped ringing for `call` unanswered (missed, or the caller left):
    /// the card goes.
    pub fn gone(&mut self, agent: AgentId, call: &str) {
        if self
            .calls
            .get(&agent)
            .is_some_and(|d| d.call == call && !d.answered)
        {
            self.calls.remove(&agent);
        }
    }

    /// The agent's call ended; answers whether its wrap-up was written already (then no
    /// after-call work is needed).
    pub fn ended(&mut self, agent: AgentId) -> bool {
        match self.calls.get_mut(&agent).filter(|d| d.answered) {
            Some(d) => {
                d.ended = true;
                d.wrapped_up.is_some()
            }
            None => false,
        }
    }

    /// The wrap-up of stored call `call_id` was written by `agent`; answers whether it was
    /// the agent's current or last call.
    pub fn wrapped_up(&mut self, agent: AgentId, call_id: i64, disposition: &str) -> bool {
        match self
            .calls
            .get_mut(&agent)
            .filter(|d| d.card.call_id == Some(call_id))
        {
            Some(d) => {
                d.wrapped_up = Some(disposition.to_string());
                true
            }
            None => false,
        }
    }

    /// Whether `agent` answered stored call `call_id` (their current or last call).
    pub fn answered_by(&self, agent: AgentId, call_id: i64) -> bool {
        self.calls
            .get(&agent)
            .is_some_and(|d| d.answered && d.card.call_id == Some(call_id))
    }

    pub fn get(&self, agent: AgentId) -> Option<&DeskCall> {
        self.calls.get(&agent)
    }

    /// Forgets a removed agent.
    pub fn remove(&mut self, agent: AgentId) {
        self.calls.remove(&agent);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(call_id: i64) -> Arc<CallCard> {
        Arc::new(CallCard {
            call_id: Some(call_id),
            contact_name: Some("Иванов Иван".into()),
            ..Default::default()
        })
    }

    #[test]
    fn a_card_stays_from_the_ring_through_the_wrap_up_until_the_next_call() {
        let mut d = DeskCalls::default();
        d.ringing(1, "c7", card(7), 1_000);
        assert_eq!(d.get(1).map(|c| c.rang_at_ms), Some(1_000));
        assert!(!d.answered_by(1, 7), "ringing is not answered");
        d.answered(1, "c7");
        assert!(d.answered_by(1, 7));
        assert!(!d.ended(1), "no wrap-up written yet");
        assert!(d.get(1).is_some_and(|c| c.ended));
        assert!(d.wrapped_up(1, 7, "Отказ"));
        assert!(!d.wrapped_up(1, 8, "Отказ"), "not this agent's call");
        assert_eq!(
            d.get(1).and_then(|c| c.wrapped_up.clone()).as_deref(),
            Some("Отказ")
        );
        d.ringing(1, "c9", card(9), 2_000);
        assert_eq!(d.get(1).and_then(|c| c.card.call_id), Some(9));
        assert!(!d.answered_by(1, 7), "the last call is the new one");
    }

    #[test]
    fn a_missed_ring_takes_its_card_away_and_an_early_wrap_up_skips_after_call_work() {
        let mut d = DeskCalls::default();
        d.ringing(2, "c3", card(3), 0);
        d.gone(2, "c4");
        assert!(d.get(2).is_some(), "another call's miss changes nothing");
        d.gone(2, "c3");
        assert!(d.get(2).is_none());
        d.ringing(2, "c5", card(5), 0);
        d.answered(2, "c5");
        d.gone(2, "c5");
        assert!(d.get(2).is_some(), "an answered call stays");
        assert!(d.wrapped_up(2, 5, "Договорились"));
        assert!(d.ended(2), "wrapped up while talking");
    }
}
