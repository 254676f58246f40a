//! Parsing (TOML or JSON) and validation with places. (interface fixed by the skeleton)
use super::model::Scenario;
use crate::asr::SpeechModel;
use std::fmt;
use std::path::{Path, PathBuf};

/// Source format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

/// What validation checks against.
pub struct LoadOptions<'a> {
    /// The prompts directory (second place prompts are looked up, after the scenario's folder).
    pub prompts_dir: PathBuf,
    /// The speech model, if one is configured; voice steps need one.
    pub speech: Option<&'a dyn SpeechModel>,
}

/// One problem, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub step: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, "{l}:{c}: ")?;
        }
        if let Some(s) = &self.step {
            write!(f, "step `{s}`: ")?;
        }
        if let Some(x) = &self.field {
            write!(f, "`{x}`: ")?;
        }
        write!(f, "{}", self.message)
    }
}

/// Every problem found in one scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems {
    /// The file (or a label for in-memory sources).
    pub origin: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {} problem(s):", self.origin, self.problems.len())?;
        for p in &self.problems {
            writeln!(f, "  {}: {p}", self.origin)?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// Loads and validates a scenario file (format from the extension; `.json` or else TOML).
pub fn load_file(path: &Path, opts: &LoadOptions<'_>) -> Result<Scenario, Problems> {
    let _ = opts;
    Err(Problems {
        origin: path.display().to_string(),
        problems: vec![],
    })
}

/// Loads and validates a scenario from text; prompts resolve against `base_dir` first.
pub fn load_str(
    src: &str,
    format: Format,
    origin: &str,
    base_dir: Option<&Path>,
    opts: &LoadOptions<'_>,
) -> Result<Scenario, Problems> {
    let _ = (src, format, base_dir, opts);
    Err(Problems {
        origin: origin.to_string(),
        problems: vec![],
    })
}
