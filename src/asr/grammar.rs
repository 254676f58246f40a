//! Grammars for the recogniser: a scenario step's phrases (and number words for captures),
//! normalised, keeping only phrases whose every word the model knows; the rest are reported.
use super::phrase::normalize;
use super::SpeechModel;

/// What went into a grammar and what could not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GrammarBuild {
    /// Phrases for the recogniser (plus "[unk]" when the model has it, so other speech does not
    /// get forced onto a phrase).
    pub grammar: Vec<String>,
    /// Phrases left out, with the words the model does not know.
    pub unrecognisable: Vec<(String, Vec<String>)>,
}

/// Builds the grammar for `phrases`.
pub fn build(model: &dyn SpeechModel, phrases: &[String]) -> GrammarBuild {
    let mut out = GrammarBuild::default();
    for p in phrases {
        let n = normalize(p);
        if n.is_empty() || out.grammar.contains(&n) {
            continue;
        }
        let missing: Vec<String> = n
            .split(' ')
            .filter(|w| !model.knows_word(w))
            .map(str::to_string)
            .collect();
        if missing.is_empty() {
            out.grammar.push(n);
        } else {
            out.unrecognisable.push((p.clone(), missing));
        }
    }
    if !out.grammar.is_empty() && model.knows_word("[unk]") {
        out.grammar.push("[unk]".into());
    }
    out
}
