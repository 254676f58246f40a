//! The dialer (docs/campaigns.md): pure decisions over data and an injected time — attempt
//! accounting per number and contact (`attempts`), working schedules with time zones and their
//! openings (`schedule`), line sharing, the five-active rule and contact ordering (`decide`), a
//! contact's next step with its ordering key (`plan`), and what a call costs (`tariff`).
//! `run` is the task that applies them to the store each pass and places calls through the
//! trunk; `calls` is one call's life from the dialer's side and the recovery of interrupted ones.

pub mod attempts;
pub mod calls;
pub mod decide;
pub mod plan;
pub mod run;
pub mod schedule;
pub mod tariff;
