//! What validation carries while it walks a scenario: the problems and notes found so far, each
//! placed by line and column, and how missing prompts are reported.
use super::problem::Problem;
use toml::Spanned;

pub(super) type At<'a> = &'a dyn Fn(usize) -> (Option<usize>, Option<usize>);

pub(super) struct Ctx<'a> {
    pub(super) at: At<'a>,
    pub(super) problems: Vec<Problem>,
    /// Noticed, not refused.
    pub(super) notes: Vec<Problem>,
    pub(super) places: PromptPlaces,
}

impl Ctx<'_> {
    fn problem(
        &self,
        offset: Option<usize>,
        step: Option<&str>,
        field: &str,
        message: impl Into<String>,
    ) -> Problem {
        let (line, column) = offset.map(|o| (self.at)(o)).unwrap_or((None, None));
        Problem {
            line,
            column,
            step: step.map(str::to_string),
            field: (!field.is_empty()).then(|| field.to_string()),
            message: message.into(),
        }
    }

    /// A problem: the scenario is refused.
    pub(super) fn add(
        &mut self,
        offset: Option<usize>,
        step: Option<&str>,
        field: &str,
        message: impl Into<String>,
    ) {
        let p = self.problem(offset, step, field, message);
        self.problems.push(p);
    }

    /// A note: shown, not refused.
    pub(super) fn note(
        &mut self,
        offset: Option<usize>,
        step: Option<&str>,
        field: &str,
        message: impl Into<String>,
    ) {
        let p = self.problem(offset, step, field, message);
        self.notes.push(p);
    }
}

pub(super) fn off<T>(s: &Spanned<T>) -> Option<usize> {
    Some(s.span().start)
}

/// How a missing prompt is reported: with the folders looked in (a scenario file the user
/// named: its folder and the prompts folder are theirs), or without any path (a scenario from
/// the API or the store: the server's folders are not the client's business).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PromptPlaces {
    Folders,
    StoredOrBundled,
}
