//! autoinformer: a self-hosted voice robot for outbound call campaigns.
//!
//! Crate map (pure core, thin edges):
//! - [`media`]: pure DSP over 20 ms frames of 8 kHz audio: G.711, prompt decoding, DTMF,
//!   tones, VAD, answering-machine detection. No I/O besides decoding a given file.
//! - [`asr`]: the `Recognizer` trait, the Vosk backend, grammars, phrase matching, Russian numbers.
//! - [`scenario`]: the scenario format, its validation, and a pure interpreter.
//! - [`call`]: one call: drives media + AMD + scenario over any frame source and clock.
//! - [`cli`]: the command line (`replay`, `check-scenario`).
//! - [`telephony`]: RTP, RFC 4733, jitter buffer, SDP (pure so far); trunks come next.
//! - [`dialer`]: the campaign rules as pure decisions (attempts, schedules, lines, ordering).
//! - [`store`]: the only place with SQL: the `Store` trait, SQLite, imports, reports.
//! - [`api`]: the HTTP API (axum), one file per resource; no business rules.
//! - [`server`]: `serve`: store + trunk + dialer + API in one process, graceful shutdown.
//! - `actions`, `web`: later issues.
#[cfg(feature = "campaigns")]
pub mod api;
pub mod asr;
pub mod call;
pub mod cli;
pub mod config;
#[cfg(feature = "campaigns")]
pub mod dialer;
#[cfg(feature = "campaigns")]
pub mod export;
#[cfg(feature = "campaigns")]
pub mod import;
pub mod media;
#[cfg(feature = "campaigns")]
pub mod phone;
#[cfg(feature = "campaigns")]
pub mod rules;
pub mod scenario;
#[cfg(feature = "campaigns")]
pub mod server;
#[cfg(feature = "campaigns")]
pub mod store;
pub mod telephony;

/// A boxed, sendable future: trait methods that return one stay object-safe (`dyn Trunk`).
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
