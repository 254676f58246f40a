//! The dialer (docs/campaigns.md): the task that applies the campaign rules (`crate::rules`)
//! to the store each pass and places calls through the trunk (`run`), and one call's life from
//! the dialer's side with the recovery of calls a stop interrupted (`calls`).

pub mod calls;
pub mod run;

pub use crate::clock::Clock;
