//! autoinformer: a self-hosted voice robot for outbound call campaigns (README, docs/).
//!
//! Crate map, from the top down (pure core, thin edges; imports point down only):
//! - [`cli`], [`server`]: the command line, and `serve` (store + trunk + dialer + API in one
//!   process, graceful shutdown).
//! - [`api`]: the HTTP API (axum), one file per resource; no business rules.
//! - [`actions`]: acting on results through a durable outbox: SMS (SMSC), copying contacts,
//!   opt-out to the stop list, signed webhooks.
//! - [`dialer`]: the task that applies the campaign rules each pass and places calls, and one
//!   call's life from the dialer's side with recovery of interrupted calls.
//! - [`store`]: the only place with SQL: traits split by user, their rows, SQLite.
//! - [`import`], [`export`]: contact files in (CSV, XLSX/XLS/ODS, with limits), reports out
//!   (CSV, XLSX).
//! - [`call`]: one call: drives media + AMD + scenario over any frame source and clock;
//!   recordings.
//! - [`clock`]: the injected clock every time-dependent decision reads.
//! - [`config`]: the configuration file and its `AUTOINFORMER_*` overrides.
//! - [`telephony`]: the trunk boundary, the SIP trunk, the simulated carrier, and the pure
//!   media core (RTP, RFC 4733, jitter buffer, SDP, one leg's session).
//! - [`rules`]: the campaign rules, pure (attempts, schedules and their openings, gates,
//!   plans, ordering, lines, tariff).
//! - [`scenario`]: the scenario format, its validation, and a pure interpreter.
//! - [`media`]: pure DSP over 20 ms frames of 8 kHz audio: G.711, prompt decoding, DTMF,
//!   tones, VAD, answering-machine detection.
//! - [`asr`]: the `Recognizer` trait, the Vosk backend, grammars, phrase matching, Russian
//!   numbers.
//! - [`phone`]: Russian numbers (normalisation, types) and the numbering-plan registry.
#[cfg(feature = "parsers")]
pub mod actions;
pub mod agents;
#[cfg(feature = "campaigns")]
pub mod api;
pub mod asr;
pub mod call;
pub mod cli;
#[cfg(feature = "campaigns")]
pub mod clock;
pub mod config;
#[cfg(feature = "campaigns")]
pub mod dialer;
#[cfg(feature = "campaigns")]
pub mod export;
#[cfg(feature = "parsers")]
pub mod import;
pub mod media;
#[cfg(feature = "parsers")]
pub mod phone;
#[cfg(feature = "parsers")]
pub mod rules;
pub mod scenario;
#[cfg(feature = "campaigns")]
pub mod server;
#[cfg(feature = "campaigns")]
pub mod store;
pub mod telephony;
#[cfg(feature = "campaigns")]
pub mod users;
#[cfg(feature = "campaigns")]
pub mod web;

/// A boxed, sendable future: trait methods that return one stay object-safe (`dyn Trunk`).
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
