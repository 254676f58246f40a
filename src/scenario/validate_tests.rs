//! Validation behaviour: every problem with its place, prompts looked up where the user expects.
use crate::scenario::{load_str, Format, LoadOptions, Problem};

/// The problems of a TOML scenario whose prompts are files in a scratch folder.
fn problems(src: &str) -> Vec<Problem> {
    let dir = tempfile::tempdir().unwrap();
    crate::media::prompt::write_test_wav(&dir.path().join("a.wav"), 20);
    let opts = LoadOptions {
        prompts_dir: dir.path().join("bundled"),
        speech: None,
    };
    match load_str(src, Format::Toml, "t", Some(dir.path()), &opts) {
        Ok(_) => Vec::new(),
        Err(p) => p.problems,
    }
}

#[test]
fn a_missing_prompt_names_no_server_folder_unless_the_user_named_the_file() {
    let src = r#"name = "x"
results = ["Да"]
start = "a"
[steps.a]
play = ["missing.wav"]
result = "Да"
"#;
    let dir = tempfile::tempdir().unwrap();
    let opts = LoadOptions {
        prompts_dir: dir.path().join("bundled"),
        speech: None,
    };
    let stored = dir.path().join("data-prompts");
    let p = load_str(src, Format::Toml, "scenario", Some(&stored), &opts).unwrap_err();
    let text = p.to_string();
    assert!(
        text.contains("\"missing.wav\" is not among the stored or bundled prompts"),
        "{text}"
    );
    assert!(!text.contains(&dir.path().display().to_string()), "{text}");
    // A file the user gave: the folders looked in are theirs to see.
    let file = dir.path().join("s.toml");
    std::fs::write(&file, src).unwrap();
    let text = crate::scenario::load_file(&file, &opts)
        .unwrap_err()
        .to_string();
    assert!(text.contains("looked in"), "{text}");
}

#[test]
fn a_bad_key_is_one_problem_not_also_a_missing_trigger() {
    let p = problems(
        r#"name = "x"
results = ["Да"]
start = "a"
[steps.a]
play = ["a.wav"]
[[steps.a.on]]
dtmf = "x"
result = "Да"
"#,
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].field.as_deref(), Some("on[0].dtmf"), "{p:?}");
    assert!(p[0].message.contains("bad key \"x\""), "{p:?}");
    // Nor, in a capture step, a reaction "other than keys".
    let p = problems(
        r#"name = "x"
results = ["Да"]
start = "a"
[steps.a]
play = ["a.wav"]
capture = { var = "n", kind = "digits" }
result = "Да"
[[steps.a.on]]
dtmf = "xx"
result = "Да"
"#,
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].field.as_deref(), Some("on[0].dtmf"), "{p:?}");
}
