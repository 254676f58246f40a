//! Preview dialing (docs/pacing.md, "Preview"): an agent sees the next contact's card and
//! presses «call» or «skip». The API and the agent desk ask the dialer (`PreviewRequest`
//! through `Dialer::preview_sender`); the dialer answers from the store, places the call and
//! pins its transfer to the agent. `Book` keeps which card each agent holds and which contacts
//! were skipped, so two agents never hold the same contact. Pure: times are passed in.
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use tokio::sync::oneshot;

/// How long a card shown to an agent is theirs alone.
pub const HOLD_MS: i64 = 5 * 60_000;
/// How long a skipped contact is not shown again (the campaign rules plan it meanwhile).
pub const SKIP_MS: i64 = 60 * 60_000;

/// The next contact of a preview project, as the agent sees it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PreviewCard {
    pub project_id: i64,
    pub project: String,
    pub contact_id: i64,
    pub name: Option<String>,
    /// The import's other columns.
    pub fields: BTreeMap<String, String>,
    /// The number «call» dials, and all of the contact's numbers.
    pub number: String,
    pub numbers: Vec<String>,
    /// Calls made to the contact so far.
    pub calls: u32,
}

/// What the API asks the dialer for an agent.
#[derive(Debug)]
pub enum PreviewRequest {
    /// The agent's next card (`None`: nothing to show: no preview project of theirs is
    /// dialing, or nothing is left to call now).
    Next {
        agent: i64,
        reply: oneshot::Sender<Result<Option<PreviewCard>, String>>,
    },
    /// Dial the card's contact now; the answer is the call's id.
    Call {
        agent: i64,
        contact_id: i64,
        reply: oneshot::Sender<Result<i64, String>>,
    },
    /// Skip the card's contact, with the agent's reason.
    Skip {
        agent: i64,
        contact_id: i64,
        reason: String,
        reply: oneshot::Sender<Result<(), String>>,
    },
}

/// The cards agents hold and the contacts skipped.
#[derive(Debug, Default)]
pub struct Book {
    /// Contact → (its project, the agent holding its card, until when).
    held: HashMap<i64, (i64, i64, i64)>,
    /// Contact → not shown again before.
    skipped: HashMap<i64, i64>,
}

impl Book {
    /// Whether `agent` may be shown `contact` now (nobody else holds it, not skipped).
    pub fn free_for(&self, contact: i64, agent: i64, now_ms: i64) -> bool {
        let held = self
            .held
            .get(&contact)
            .is_some_and(|(_, a, until)| *a != agent && *until > now_ms);
        let skipped = self.skipped.get(&contact).is_some_and(|t| *t > now_ms);
        !held && !skipped
    }

    /// `agent` holds `contact`'s card now (any card they held before is let go).
    pub fn hold(&mut self, project: i64, contact: i64, agent: i64, now_ms: i64) {
        self.held
            .retain(|_, (_, a, until)| *a != agent && *until > now_ms);
        self.skipped.retain(|_, t| *t > now_ms);
        self.held
            .insert(contact, (project, agent, now_ms + HOLD_MS));
    }

    /// The project of the card `agent` holds for `contact`, if they hold it.
    pub fn holds(&self, contact: i64, agent: i64, now_ms: i64) -> Option<i64> {
        self.held
            .get(&contact)
            .filter(|(_, a, until)| *a == agent && *until > now_ms)
            .map(|(p, _, _)| *p)
    }

    /// The card was used (called) or skipped.
    pub fn done(&mut self, contact: i64, skipped_at: Option<i64>) {
        self.held.remove(&contact);
        if let Some(t) = skipped_at {
            self.skipped.insert(contact, t + SKIP_MS);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_is_one_agents_until_used_skipped_or_stale() {
        let mut b = Book::default();
        b.hold(1, 10, 7, 0);
        assert!(b.free_for(10, 7, 1));
        assert!(!b.free_for(10, 8, 1));
        assert_eq!(b.holds(10, 7, 1), Some(1));
        assert_eq!(b.holds(10, 8, 1), None);
        // Held too long: anyone's again.
        assert!(b.free_for(10, 8, HOLD_MS + 1));
        // An agent holds one card at a time.
        b.hold(1, 11, 7, 2);
        assert!(b.free_for(10, 8, 3));
        b.done(11, Some(5));
        assert!(!b.free_for(11, 7, 6));
        assert!(b.free_for(11, 7, 5 + SKIP_MS));
    }
}
