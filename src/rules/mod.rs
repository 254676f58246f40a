//! The campaign rules (docs/campaigns.md), pure: decisions over data and an injected time, no
//! I/O. Attempt accounting per number and contact (`attempts`), working schedules with time
//! zones and their openings (`schedule`), line sharing, the five-active rule and contact
//! ordering (`decide`), the gate a number waits behind — its callee's zone and type, with
//! their windows (`gate`), a contact's next step with its ordering key (`plan`), and what a call
//! costs (`tariff`), in exact money (`money`). The dialer applies them; the store keeps what they decide.

pub mod attempts;
pub mod decide;
pub mod gate;
pub mod money;
pub mod plan;
pub mod schedule;
pub mod tariff;
