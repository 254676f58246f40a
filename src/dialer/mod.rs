//! The dialer (docs/campaigns.md): the task that applies the campaign rules (`crate::rules`)
//! to the store each pass and places calls through the trunk (`run`), and one call's life from
//! the dialer's side (`calls`) and the closing of calls a stop or a lost task left (`recover`);
//! the learned greetings its calls match and teach (`greetings`). How many calls each project
//! places is its pacing (docs/pacing.md): the decisions (`pacing`), one project's pacing fed
//! by its agents' floor (`floor`), preview dialing (`preview`), and the shift simulation that
//! drives the same code on virtual time (`shift`). A trunk that answers no call holds the
//! dialer (`trunk_watch`); a database that does not answer pauses it, and the log says so
//! (`db_watch`).

pub mod calls;
pub mod db_watch;
pub mod floor;
pub mod greetings;
pub mod pacing;
pub mod preview;
pub mod recover;
pub mod run;
pub mod shift;
pub mod trunk_watch;

pub use crate::clock::Clock;
