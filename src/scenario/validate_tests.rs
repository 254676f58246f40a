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

/// The scenario (or its problems) of a TOML text whose only prompt is `a.wav`.
fn load(src: &str) -> Result<crate::scenario::Scenario, Vec<Problem>> {
    let dir = tempfile::tempdir().unwrap();
    crate::media::prompt::write_test_wav(&dir.path().join("a.wav"), 20);
    let opts = LoadOptions {
        prompts_dir: dir.path().join("bundled"),
        speech: None,
    };
    load_str(src, Format::Toml, "t", Some(dir.path()), &opts).map_err(|p| p.problems)
}

fn with_actions(head: &str, actions: &str) -> String {
    format!(
        r#"name = "x"
results = ["Да"]
start = "a"
{head}
[steps.a]
play = ["a.wav"]
listen = {{ dtmf = true }}
capture = {{ var = "n", kind = "number", max_digits = 4 }}
result = "Да"
actions = [{actions}]
"#
    )
}

#[test]
fn an_sms_template_with_an_unknown_variable_is_refused_at_its_place_and_says_what_is_known() {
    let p = load(&with_actions("", r#"{ sms = "Здравствуйте, {nmae}!" }"#)).unwrap_err();
    assert_eq!(p.len(), 1, "{p:?}");
    let text = p[0].to_string();
    assert_eq!(
        (p[0].line, p[0].step.as_deref()),
        (Some(10), Some("a")),
        "{text}"
    );
    assert!(text.contains("unknown variable {nmae}"), "{text}");
    assert!(
        text.contains("{name}") && text.contains("{n} (a capture)"),
        "{text}"
    );
    assert!(text.contains("fields = [\"nmae\"]"), "{text}");
    // Name, phone, captures and declared fields are all known.
    let s = load(&with_actions(
        r#"fields = ["Лицевой счет"]"#,
        r#"{ sms = "{name}, {phone}: счёт {Лицевой счет}, показание {n}" }"#,
    ))
    .unwrap();
    assert_eq!(s.fields, ["Лицевой счет"]);
    // A broken brace is refused too.
    let p = load(&with_actions("", r#"{ sms = "Скидка {name" }"#)).unwrap_err();
    assert!(p[0].message.contains("is not closed"), "{p:?}");
}

#[test]
fn declared_fields_may_not_shadow_a_built_in_variable_or_a_capture() {
    let p = load(&with_actions(r#"fields = ["name", "n", "a", "a"]"#, "")).unwrap_err();
    let texts: Vec<String> = p.iter().map(|x| x.message.clone()).collect();
    assert_eq!(p.len(), 3, "{texts:?}");
    assert!(texts[0].contains("is built in"), "{texts:?}");
    assert!(texts[1].contains("also a capture"), "{texts:?}");
    assert!(texts[2].contains("declared twice"), "{texts:?}");
}

#[test]
fn every_sms_template_notes_its_parts_and_warns_above_three() {
    let s = load(&with_actions("", r#"{ sms = "Спасибо, {name}!" }"#)).unwrap();
    assert_eq!(s.notes.len(), 1);
    let n = &s.notes[0].message;
    assert!(
        n.starts_with("SMS: at least 1 part(s), 10 characters before its variables"),
        "{n}"
    );
    assert!(n.contains("UCS-2"), "{n}");
    let long = "Уважаемый абонент, ".repeat(12); // 228 UTF-16 units: 4 parts of 67
    let s = load(&with_actions("", &format!(r#"{{ sms = "{long}" }}"#))).unwrap();
    let n = &s.notes[0].message;
    assert!(
        n.starts_with("warning: SMS: at least 4 part(s), 228 characters;"),
        "{n}"
    );
    let s = load(&with_actions("", r#"{ sms = "Thanks, {name}" }"#)).unwrap();
    assert!(s.notes[0].message.contains("GSM-7"), "{:?}", s.notes);
}

#[test]
fn stop_list_actions_parse_and_add_all_numbers_needs_stop_list() {
    use crate::scenario::Action;
    let s = load(&with_actions(
        "",
        "{ stop_list = true }, { stop_list = true, add_all_numbers = true }",
    ))
    .unwrap();
    assert_eq!(
        s.steps["a"].actions,
        [
            Action::StopList {
                add_all_numbers: false
            },
            Action::StopList {
                add_all_numbers: true
            }
        ]
    );
    let p = load(&with_actions("", "{ add_all_numbers = true }")).unwrap_err();
    assert!(p[0].message.contains("goes with stop_list"), "{p:?}");
    let p = load(&with_actions("", "{ stop_list = false }")).unwrap_err();
    assert!(p[0].message.contains("empty action"), "{p:?}");
    let p = load(&with_actions("", r#"{ add_to_project = " " }"#)).unwrap_err();
    assert!(
        p[0].message.contains("needs the name of a project"),
        "{p:?}"
    );
    let p = load(&with_actions("", r#"{ webhook = "https:///x" }"#)).unwrap_err();
    assert!(p[0].message.contains("has no host"), "{p:?}");
}

#[test]
fn a_scenario_sets_its_own_transfer_prompts_or_silences_them_and_a_missing_one_is_placed() {
    let src = |transfer: &str, queue: &str| {
        format!(
            r#"name = "x"
results = ["Оператор"]
start = "a"
{transfer}
{queue}
[steps.a]
play = ["a.wav"]
result = "Оператор"
actions = [{{ transfer = "agents" }}]
"#
        )
    };
    let dir = tempfile::tempdir().unwrap();
    crate::media::prompt::write_test_wav(&dir.path().join("a.wav"), 20);
    let opts = LoadOptions {
        prompts_dir: dir.path().join("bundled"),
        speech: None,
    };
    let load = |s: &str| load_str(s, Format::Toml, "t", Some(dir.path()), &opts);
    let own = load(&src(r#"transfer_prompt = "a.wav""#, r#"queue_prompt = """#)).unwrap();
    let bundled: std::sync::Arc<[i16]> = std::sync::Arc::from(vec![1i16; 5]);
    assert_eq!(own.transfer_prompt.samples_or(&bundled).len(), 160);
    assert!(
        own.queue_prompt.samples_or(&bundled).is_empty(),
        "\"\": none"
    );
    let plain = load(&src("", "")).unwrap();
    assert_eq!(plain.transfer_prompt.samples_or(&bundled).len(), 5);
    assert_eq!(plain.queue_prompt, crate::scenario::OwnPrompt::Default);
    let bad = load(&src(r#"transfer_prompt = "nope.wav""#, "")).unwrap_err();
    let p = &bad.problems[0];
    assert_eq!(p.field.as_deref(), Some("transfer_prompt"), "{bad}");
    assert_eq!(p.line, Some(4), "{bad}");
    assert!(p.message.contains("nope.wav"), "{bad}");
}

#[test]
fn the_prompts_a_text_names_are_read_without_validating_it() {
    let src = r#"name = "x"
results = []
start = "nowhere"
transfer_prompt = "t.wav"
queue_prompt = ""
[steps.a]
play = ["a.wav", "{reading}", " b.mp3 ", "a.wav"]
[steps.b]
play = ["numbers/5.wav"]
"#;
    assert_eq!(
        crate::scenario::load::prompt_names(src),
        vec!["a.wav", "b.mp3", "numbers/5.wav", "t.wav"]
    );
    assert!(crate::scenario::load::prompt_names("not = [toml").is_empty());
}
