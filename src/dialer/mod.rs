//! The dialer (spec §2): pure decisions over data and an injected time — attempt accounting per
//! number and contact (`attempts`), working schedules with time zones (`schedule`), and the
//! project/number gates, line sharing, the five-active rule and contact ordering (`decide`).
//! The task that applies them to the store and the trunk builds on these (issue 4).

pub mod attempts;
pub mod decide;
pub mod schedule;
