//! Acting on results (docs/actions.md): a call's actions — an SMS through SMSC, copying the
//! contact into another project, putting the number on the stop list, a webhook — are written
//! with its result in one transaction, one outbox row each, and carried out by a worker that
//! survives crashes: nothing is lost and nothing is done twice.
//!
//! `plan` resolves a finished call's scenario actions into outbox rows and owns the retry rule;
//! `worker` carries actions out; `smsc` and `webhook` are the two outside services it talks to
//! (`smsc_answers` reads SMSC's answers: pure, built with the `parsers` feature alone, for the
//! fuzz target); SMS templates are part of the scenario format (`scenario/template`).
#[cfg(feature = "campaigns")]
mod plan;
#[cfg(feature = "campaigns")]
pub mod smsc;
pub mod smsc_answers;
#[cfg(feature = "campaigns")]
pub mod webhook;
#[cfg(feature = "campaigns")]
pub mod worker;

#[cfg(feature = "campaigns")]
pub use plan::*;
