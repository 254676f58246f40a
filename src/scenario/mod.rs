//! Scenarios: the TOML/JSON format (docs/scenarios.md), validation that reports every problem with
//! its place, a pure interpreter driven by events and an injected clock, and reading numbers back
//! from bundled prompts. Never does I/O besides reading the scenario file and preparing the
//! prompts it plays (found and decoded once at load, by `media::prompt`).

mod context;
pub mod interp;
mod json;
pub mod load;
pub mod model;
mod problem;
mod prompts;
mod raw;
pub mod say_number;
pub mod template;
mod validate;
mod validate_actions;

pub use load::{load_file, load_str, Format};
pub use model::*;
pub use problem::{LoadOptions, Problem, Problems};
pub use prompts::PROMPTS_FOLDER_HINT;
pub use validate_actions::check_webhook_url;
