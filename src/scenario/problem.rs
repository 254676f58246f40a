//! What loading a scenario checks against (`LoadOptions`) and what it reports (`Problem`: one
//! problem with its place; `Problems`: all of them for one source). Shared by the loader and
//! the validator, which both depend on this file and not on each other's.
use crate::asr::SpeechModel;
use std::fmt;
use std::path::PathBuf;

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

impl Problem {
    /// A problem with no place (the file as a whole).
    pub fn plain(message: impl Into<String>) -> Self {
        Self {
            line: None,
            column: None,
            step: None,
            field: None,
            message: message.into(),
        }
    }
}
