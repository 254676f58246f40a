//! A project's own transfer settings (docs/agents.md, "Per project"): after-call work, ring
//! time, queue wait, announcements, hold music and the dispositions of the agent desk's
//! wrap-up form, stored as one JSON text with the project. Plain data and its checks.
use serde::{Deserialize, Serialize};

/// A project's own transfer settings (docs/agents.md, "Per project"): each one not set
/// follows the server's `[agents]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransferOptions {
    /// After-call work, seconds (0 … 3600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrap_up_s: Option<u32>,
    /// How long an agent's phone rings before the next agent is tried (1 … 300).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_ring_s: Option<u32>,
    /// The longest wait in the queue (1 … 3600), then `queue_timeout`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_max_wait_s: Option<u32>,
    /// How often «вы в очереди» interrupts the music (0: never; … 3600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_announce_s: Option<u32>,
    /// The hold music: a stored prompt's name (`PUT /prompts/{name}`) or a bundled one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_music: Option<String>,
    /// What an agent may pick in the wrap-up form after a call (1 … 50, each 1 … 100
    /// characters, no two alike); not set: `DEFAULT_DISPOSITIONS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispositions: Option<Vec<String>>,
}

/// The dispositions of a project that sets none (docs/agents.md, "Per project").
pub const DEFAULT_DISPOSITIONS: [&str; 4] = ["Договорились", "Перезвонить", "Отказ", "Не целевой"];

/// The most dispositions a project may have, and the longest one (characters).
pub const MAX_DISPOSITIONS: usize = 50;
pub const MAX_DISPOSITION_CHARS: usize = 100;

impl TransferOptions {
    /// Checks the ranges (422 in the API, naming the field).
    pub fn validate(&self) -> Result<(), String> {
        let check = |name: &str, v: Option<u32>, min: u32, max: u32| match v {
            Some(v) if v < min || v > max => Err(format!(
                "transfer.{name}: {v} is out of range ({min} … {max} seconds)"
            )),
            _ => Ok(()),
        };
        check("wrap_up_s", self.wrap_up_s, 0, 3600)?;
        check("agent_ring_s", self.agent_ring_s, 1, 300)?;
        check("queue_max_wait_s", self.queue_max_wait_s, 1, 3600)?;
        check("queue_announce_s", self.queue_announce_s, 0, 3600)?;
        if let Some(m) = &self.hold_music {
            let m = m.trim();
            let path = std::path::Path::new(m);
            if m.is_empty()
                || m.len() > 200
                || path.is_absolute()
                || path
                    .components()
                    .any(|c| !matches!(c, std::path::Component::Normal(_)))
            {
                return Err(format!(
                    "transfer.hold_music: {m:?} is not a prompt's name (a stored prompt, \
                     PUT /api/v1/prompts/{{name}}, or a bundled one such as \
                     \"transfer/hold.wav\")"
                ));
            }
        }
        if let Some(list) = &self.dispositions {
            if list.is_empty() || list.len() > MAX_DISPOSITIONS {
                return Err(format!(
                    "transfer.dispositions: {} items; 1 … {MAX_DISPOSITIONS} are allowed",
                    list.len()
                ));
            }
            let mut seen = std::collections::BTreeSet::new();
            for (i, d) in list.iter().enumerate() {
                let chars = d.trim().chars().count();
                if chars == 0 || chars > MAX_DISPOSITION_CHARS {
                    return Err(format!(
                        "transfer.dispositions[{i}]: {d:?} has {chars} characters; 1 … \
                         {MAX_DISPOSITION_CHARS} are allowed"
                    ));
                }
                if !seen.insert(d.trim()) {
                    return Err(format!(
                        "transfer.dispositions[{i}]: {d:?} is in the list twice"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The dispositions an agent picks from: the project's own, or the defaults.
    pub fn dispositions_or_default(&self) -> Vec<String> {
        match &self.dispositions {
            Some(l) if !l.is_empty() => l.iter().map(|d| d.trim().to_string()).collect(),
            _ => DEFAULT_DISPOSITIONS.iter().map(|d| d.to_string()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(list: &[&str]) -> TransferOptions {
        TransferOptions {
            dispositions: Some(list.iter().map(|d| d.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn dispositions_are_one_to_fifty_short_distinct_names() {
        assert!(with(&["Договорились", "Отказ"]).validate().is_ok());
        let e = with(&[]).validate().unwrap_err();
        assert!(e.contains("transfer.dispositions: 0 items"), "{e}");
        let many: Vec<String> = (0..51).map(|i| format!("итог {i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(with(&refs).validate().is_err());
        assert!(with(&refs[..50]).validate().is_ok());
        let long = "я".repeat(101);
        let e = with(&["Отказ", &long]).validate().unwrap_err();
        assert!(
            e.contains("transfer.dispositions[1]") && e.contains("101"),
            "{e}"
        );
        assert!(with(&[&"я".repeat(100)]).validate().is_ok());
        assert!(with(&["  "]).validate().is_err());
        let e = with(&["Отказ", "Отказ "]).validate().unwrap_err();
        assert!(e.contains("twice"), "{e}");
    }

    #[test]
    fn a_project_without_its_own_dispositions_has_the_defaults() {
        assert_eq!(
            TransferOptions::default().dispositions_or_default(),
            DEFAULT_DISPOSITIONS.to_vec()
        );
        assert_eq!(
            with(&[" Продажа "]).dispositions_or_default(),
            vec!["Продажа".to_string()]
        );
    }
}
