//! The dialer (spec §2): pure decisions over data and an injected time — attempt accounting per
//! number and contact (`attempts`), working schedules with time zones (`schedule`), and the
//! project/number gates, line sharing, the five-active rule and contact ordering (`decide`),
//! and what a call costs (`tariff`).
//! `run` is the task that applies them to the store and places calls through the trunk.

pub mod attempts;
pub mod decide;
pub mod run;
pub mod schedule;
pub mod tariff;
