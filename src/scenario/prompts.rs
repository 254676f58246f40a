//! Where a scenario's prompts come from, decided at load time (docs/scenarios.md#prompts): a
//! name in `play` is looked up in the scenario's own folder (a scenario file's folder, or the
//! server's stored prompts), then the prompts folder, then the bundled prompts; read-back
//! plays the number words `numbers/<name>.wav` from the prompts folder or the bundle. Every
//! prompt is decoded here, once, so a call only copies samples.
use super::model::Prompt;
use super::say_number;
use crate::media::audio::AudioError;
use std::collections::BTreeMap;
use std::path::Path;

/// How messages name the prompts folder and what sets it.
pub const PROMPTS_FOLDER_HINT: &str =
    "the prompts folder is set by --prompts, the config key `prompts` or AUTOINFORMER_PROMPTS";

/// The prompt `name` of a scenario whose own folder is `base_dir`; `Ok(None)` when it is
/// nowhere.
pub(super) fn resolve(
    name: &str,
    base_dir: Option<&Path>,
    prompts_dir: &Path,
) -> Result<Option<Prompt>, AudioError> {
    let mut folders: Vec<&Path> = base_dir.into_iter().collect();
    folders.push(prompts_dir);
    Prompt::find(name, &folders)
}

/// One number word that cannot be played.
#[derive(Debug)]
pub(super) struct NumberWordProblem {
    /// Its file name below the prompts folder (`numbers/5.wav`).
    pub file: String,
    /// `None`: nowhere to be found.
    pub error: Option<AudioError>,
}

/// Every number word read-back may say: the prompts folder's `numbers/` first, then the bundle.
pub(super) fn number_words(
    prompts_dir: &Path,
) -> Result<BTreeMap<String, Prompt>, Vec<NumberWordProblem>> {
    let mut words = BTreeMap::new();
    let mut problems = Vec::new();
    for name in say_number::all_prompt_names() {
        let file = format!("numbers/{name}.wav");
        match Prompt::find(&file, &[prompts_dir]) {
            Ok(Some(p)) => {
                words.insert(name, p);
            }
            Ok(None) => problems.push(NumberWordProblem { file, error: None }),
            Err(e) => problems.push(NumberWordProblem {
                file,
                error: Some(e),
            }),
        }
    }
    if problems.is_empty() {
        Ok(words)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::prompt::{write_test_wav, PromptSource};

    #[test]
    fn number_words_come_from_the_bundle_unless_the_prompts_folder_has_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let words = number_words(dir.path()).unwrap();
        assert_eq!(words.len(), say_number::all_prompt_names().len());
        assert_eq!(words["5"].source(), &PromptSource::Bundled("numbers/5.wav"));
        std::fs::create_dir(dir.path().join("numbers")).unwrap();
        write_test_wav(&dir.path().join("numbers/5.wav"), 100);
        let words = number_words(dir.path()).unwrap();
        assert_eq!(words["5"].samples().len(), 800, "the own recording");
        std::fs::write(dir.path().join("numbers/7.wav"), b"junk").unwrap();
        let problems = number_words(dir.path()).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].file, "numbers/7.wav");
    }

    #[test]
    fn a_prompt_is_looked_up_in_the_scenario_folder_then_the_prompts_folder_then_the_bundle() {
        let (own, prompts) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write_test_wav(&prompts.path().join("a.wav"), 20);
        let found = |n: &str| resolve(n, Some(own.path()), prompts.path()).unwrap();
        assert_eq!(found("a.wav").unwrap().samples().len(), 160);
        write_test_wav(&own.path().join("a.wav"), 40);
        assert_eq!(found("a.wav").unwrap().samples().len(), 320);
        assert_eq!(
            found("numbers/2.wav").unwrap().source(),
            &PromptSource::Bundled("numbers/2.wav")
        );
        assert!(found("b.wav").is_none());
    }
}
