//! The dialer (docs/campaigns.md): the task that applies the campaign rules (`crate::rules`)
//! to the store each pass and places calls through the trunk (`run`), and one call's life from
//! the dialer's side (`calls`) and the closing of calls a stop or a lost task left (`recover`);
//! the learned greetings its calls match and teach (`greetings`).

pub mod calls;
pub mod greetings;
pub mod pacing;
pub mod recover;
pub mod run;

pub use crate::clock::Clock;
