//! A project's pacing: its mode and the mode's settings as the user gives them
//! (docs/pacing.md). The decisions they drive are `crate::dialer::pacing`.
use serde::{Deserialize, Serialize};

/// How a project places its calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Its lines; with transfers to agents the lines are a ceiling the robot lowers while
    /// the transfer queue's expected wait passes `queue_target_s`.
    #[default]
    Robot,
    /// A call only for an agent free now.
    Progressive,
    /// Calls for the agents expected to be free when they are answered, at a level that keeps
    /// the abandon share under `abandon_target`.
    Predictive,
    /// A call only when an agent presses «call» on the next contact's card.
    Preview,
}

impl Mode {
    pub const ALL: [Mode; 4] = [
        Mode::Robot,
        Mode::Progressive,
        Mode::Predictive,
        Mode::Preview,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Robot => "robot",
            Mode::Progressive => "progressive",
            Mode::Predictive => "predictive",
            Mode::Preview => "preview",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Whether the mode places calls for agents (the scenario must transfer to them).
    pub fn for_agents(self) -> bool {
        !matches!(self, Mode::Robot)
    }

    /// The mode's name in the UI.
    pub fn label_ru(self) -> &'static str {
        match self {
            Mode::Robot => "робот (линии)",
            Mode::Progressive => "прогрессивный",
            Mode::Predictive => "предиктивный",
            Mode::Preview => "превью",
        }
    }
}

/// The pacing settings a project gives; those not given take the defaults below.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacingOptions {
    /// Calls placed per free agent until the share of calls that reach an agent is measured
    /// (1 … 10; default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calls_per_agent: Option<f64>,
    /// `robot` with transfers: the longest expected wait in the transfer queue before the
    /// robot lowers its lines (5 … 600 s; default 20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_target_s: Option<u32>,
    /// `predictive`: the share of abandoned transfers to stay under (0.005 … 0.2; default
    /// 0.03).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abandon_target: Option<f64>,
    /// A callee who waits longer than this for an agent counts as abandoned even if one comes
    /// (1 … 600 s; default 10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_wait_s: Option<u32>,
    /// Predicted until measured: an agent's talk time (default 60 s), after-call work
    /// (default: the project's `transfer.wrap_up_s`, else 10 s), and the time from dialing to
    /// the callee waiting for an agent (default 20 s). 1 … 3600 s each.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub talk_s: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrap_s: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_s: Option<u32>,
}

pub const DEFAULT_CALLS_PER_AGENT: f64 = 1.0;
pub const DEFAULT_QUEUE_TARGET_S: u32 = 20;
pub const DEFAULT_ABANDON_TARGET: f64 = 0.03;
pub const DEFAULT_MAX_WAIT_S: u32 = 10;
pub const DEFAULT_TALK_S: u32 = 60;
pub const DEFAULT_WRAP_S: u32 = 10;
pub const DEFAULT_ANSWER_S: u32 = 20;

impl PacingOptions {
    /// Checks the ranges (422 in the API, naming the field).
    pub fn validate(&self) -> Result<(), String> {
        let whole = |name: &str, v: Option<u32>, min: u32, max: u32| match v {
            Some(v) if v < min || v > max => Err(format!(
                "pacing.{name}: {v} is out of range ({min} … {max} seconds)"
            )),
            _ => Ok(()),
        };
        let share = |name: &str, v: Option<f64>, min: f64, max: f64| match v {
            Some(v) if !(min..=max).contains(&v) => Err(format!(
                "pacing.{name}: {v} is out of range ({min} … {max})"
            )),
            _ => Ok(()),
        };
        share("calls_per_agent", self.calls_per_agent, 1.0, 10.0)?;
        whole("queue_target_s", self.queue_target_s, 5, 600)?;
        share("abandon_target", self.abandon_target, 0.005, 0.2)?;
        whole("max_wait_s", self.max_wait_s, 1, 600)?;
        whole("talk_s", self.talk_s, 1, 3600)?;
        whole("wrap_s", self.wrap_s, 1, 3600)?;
        whole("answer_s", self.answer_s, 1, 3600)?;
        Ok(())
    }

    pub fn calls_per_agent(&self) -> f64 {
        self.calls_per_agent.unwrap_or(DEFAULT_CALLS_PER_AGENT)
    }
    pub fn queue_target_s(&self) -> u32 {
        self.queue_target_s.unwrap_or(DEFAULT_QUEUE_TARGET_S)
    }
    pub fn abandon_target(&self) -> f64 {
        self.abandon_target.unwrap_or(DEFAULT_ABANDON_TARGET)
    }
    pub fn max_wait_s(&self) -> u32 {
        self.max_wait_s.unwrap_or(DEFAULT_MAX_WAIT_S)
    }
    pub fn talk_s(&self) -> u32 {
        self.talk_s.unwrap_or(DEFAULT_TALK_S)
    }
    /// After-call work as predicted: given, else the project's wrap-up, else the default.
    pub fn wrap_s(&self, transfer_wrap_up_s: Option<u32>) -> u32 {
        self.wrap_s.or(transfer_wrap_up_s).unwrap_or(DEFAULT_WRAP_S)
    }
    pub fn answer_s(&self) -> u32 {
        self.answer_s.unwrap_or(DEFAULT_ANSWER_S)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked_and_name_the_field() {
        assert!(PacingOptions::default().validate().is_ok());
        let e = PacingOptions {
            abandon_target: Some(0.5),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.starts_with("pacing.abandon_target: 0.5"), "{e}");
        let e = PacingOptions {
            queue_target_s: Some(1),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.starts_with("pacing.queue_target_s"), "{e}");
        assert_eq!(
            PacingOptions {
                wrap_s: None,
                ..Default::default()
            }
            .wrap_s(Some(30)),
            30
        );
        for m in Mode::ALL {
            assert_eq!(Mode::parse(m.as_str()), Some(m));
        }
        assert_eq!(Mode::parse("fast"), None);
    }
}
