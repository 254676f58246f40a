//! Turns the raw file into a `Scenario`, collecting every problem with its place.
//! Checks: declared results, known steps, reachable steps, prompt files, keys, captures,
//! actions, voice needs a model, phrases in the model's vocabulary, every ending sets a result.
use super::context::{off, At, Ctx, PromptPlaces};
use super::model::*;
use super::problem::{LoadOptions, Problem};
use super::prompts::{self, PROMPTS_FOLDER_HINT};
use super::raw::*;
use super::validate_actions::{build_actions, declared_fields, Known};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use toml::Spanned;

/// Listening window when a step does not say (spec: 10 s after the message for keys).
pub const DEFAULT_WAIT_S: u32 = 10;
/// Longest listening window accepted.
pub const MAX_WAIT_S: i64 = 300;
/// Silence after the last captured digit that ends the capture (the default).
pub const DEFAULT_CAPTURE_TIMEOUT_S: u32 = 5;
/// Default and largest `max_digits` of a capture.
pub const DEFAULT_MAX_DIGITS: u32 = 16;
pub const MAX_MAX_DIGITS: i64 = 32;

/// How to get a model, for validation messages.
pub const HOW_TO_GET_MODEL: &str = "voice needs a speech model, and none was found: run scripts/fetch-model.sh in the source checkout (downloads vosk-model-small-ru-0.22 into models/), or set the config key `model` / AUTOINFORMER_MODEL (--model for replay and check-scenario) to a Vosk model folder";

pub(super) fn build(
    raw: RawScenario,
    base_dir: Option<&Path>,
    opts: &LoadOptions<'_>,
    at: At<'_>,
    places: PromptPlaces,
) -> Result<Scenario, Vec<Problem>> {
    let mut cx = Ctx {
        at,
        problems: Vec::new(),
        notes: Vec::new(),
        places,
    };
    let name = raw.name.get_ref().trim().to_string();
    if name.is_empty() {
        cx.add(off(&raw.name), None, "name", "the scenario needs a name");
    }
    let mut results = Vec::new();
    for r in &raw.results {
        let v = r.get_ref().trim().to_string();
        if v.is_empty() {
            cx.add(off(r), None, "results", "empty result name");
        } else if results.contains(&v) {
            cx.add(
                off(r),
                None,
                "results",
                format!("result \"{v}\" is declared twice"),
            );
        } else if is_system_result(&v) {
            cx.add(
                off(r),
                None,
                "results",
                format!("\"{v}\" is a system result code; scenario results need their own names"),
            );
        } else {
            results.push(v);
        }
    }
    if raw.results.is_empty() {
        cx.add(
            None,
            None,
            "results",
            "declare at least one result: results = [\"...\"]",
        );
    }
    let step_names: BTreeSet<&str> = raw.steps.keys().map(String::as_str).collect();
    let start = raw.start.get_ref().clone();
    if raw.steps.is_empty() {
        cx.add(None, None, "steps", "the scenario has no steps");
    } else if !step_names.contains(start.as_str()) {
        cx.add(
            off(&raw.start),
            None,
            "start",
            format!("unknown step `{start}` (steps: {})", list(&step_names)),
        );
    }
    let on_assistant = raw.on_assistant.as_ref().map(|a| a.get_ref().clone());
    if let (Some(a), Some(spanned)) = (&on_assistant, raw.on_assistant.as_ref()) {
        if !raw.steps.is_empty() && !step_names.contains(a.as_str()) {
            cx.add(
                off(spanned),
                None,
                "on_assistant",
                format!("unknown step `{a}` (steps: {})", list(&step_names)),
            );
        }
    }
    let vars: BTreeSet<String> = raw
        .steps
        .values()
        .filter_map(|s| {
            s.get_ref()
                .capture
                .as_ref()
                .map(|c| c.get_ref().var.get_ref().clone())
        })
        .collect();
    let fields = declared_fields(&mut cx, &raw, &vars);
    let known = Known {
        vars: &vars,
        fields: &fields,
    };

    let mut steps = BTreeMap::new();
    for (sname, sstep) in &raw.steps {
        let step = build_step(
            &mut cx,
            sname,
            sstep,
            &results,
            &step_names,
            &known,
            base_dir,
            opts,
        );
        steps.insert(sname.clone(), step);
    }
    if step_names.contains(start.as_str()) {
        let mut roots = vec![start.clone()];
        roots.extend(
            on_assistant
                .iter()
                .filter(|a| step_names.contains(a.as_str()))
                .cloned(),
        );
        check_graph(&mut cx, &raw, &steps, &roots);
    }
    let number_words = prepare_number_words(&mut cx, &raw, &steps, opts);
    let transfer_prompt = own_prompt(
        &mut cx,
        raw.transfer_prompt.as_ref(),
        "transfer_prompt",
        base_dir,
        opts,
    );
    let queue_prompt = own_prompt(
        &mut cx,
        raw.queue_prompt.as_ref(),
        "queue_prompt",
        base_dir,
        opts,
    );
    if cx.problems.is_empty() {
        Ok(Scenario {
            name,
            results,
            start,
            steps,
            fields,
            transfer_prompt,
            queue_prompt,
            on_assistant,
            notes: cx.notes,
            number_words,
        })
    } else {
        Err(cx.problems)
    }
}

/// Finds and decodes a prompt a scenario names; a problem at its place when it cannot.
fn resolve_prompt(
    cx: &mut Ctx<'_>,
    p: &Spanned<String>,
    s: Option<&str>,
    field: &str,
    base_dir: Option<&Path>,
    opts: &LoadOptions<'_>,
) -> Option<Prompt> {
    let v = p.get_ref().trim();
    match prompts::resolve(v, base_dir, &opts.prompts_dir) {
        Ok(Some(prompt)) => Some(prompt),
        Ok(None) => {
            let message = match cx.places {
                PromptPlaces::Folders => format!(
                    "prompt file \"{v}\" not found (looked in {}, in {} and among the \
                     bundled prompts; {PROMPTS_FOLDER_HINT})",
                    base_dir
                        .map(|b| b.display().to_string())
                        .unwrap_or_else(|| "-".into()),
                    opts.prompts_dir.display()
                ),
                PromptPlaces::StoredOrBundled => format!(
                    "prompt \"{v}\" is not among the stored or bundled prompts \
                     (store it with PUT /api/v1/prompts/{{name}})"
                ),
            };
            cx.add(off(p), s, field, message);
            None
        }
        Err(e) => {
            let message = match cx.places {
                PromptPlaces::Folders => format!("prompt file \"{v}\" cannot be played: {e}"),
                PromptPlaces::StoredOrBundled => {
                    format!("prompt \"{v}\" cannot be played: {}", e.reason())
                }
            };
            cx.add(off(p), s, field, message);
            None
        }
    }
}

/// A scenario's own transfer prompt: unset, `""` (none) or a prompt.
fn own_prompt(
    cx: &mut Ctx<'_>,
    p: Option<&Spanned<String>>,
    field: &str,
    base_dir: Option<&Path>,
    opts: &LoadOptions<'_>,
) -> OwnPrompt {
    match p {
        None => OwnPrompt::Default,
        Some(p) if p.get_ref().trim().is_empty() => OwnPrompt::Silent,
        Some(p) => resolve_prompt(cx, p, None, field, base_dir, opts)
            .map_or(OwnPrompt::Default, OwnPrompt::Prompt),
    }
}

fn is_system_result(v: &str) -> bool {
    system_result::ALL.contains(&v)
}

fn list(names: &BTreeSet<&str>) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[allow(clippy::too_many_arguments)]
fn build_step(
    cx: &mut Ctx<'_>,
    sname: &str,
    sstep: &Spanned<RawStep>,
    results: &[String],
    step_names: &BTreeSet<&str>,
    known: &Known<'_>,
    base_dir: Option<&Path>,
    opts: &LoadOptions<'_>,
) -> Step {
    let vars = known.vars;
    let raw = sstep.get_ref();
    let s = Some(sname);
    let mut play = Vec::new();
    for p in &raw.play {
        let v = p.get_ref().trim();
        if let Some(var) = v.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
            if !vars.contains(var) {
                cx.add(
                    off(p),
                    s,
                    "play",
                    format!(
                        "`{{{var}}}` names no capture (captures: {})",
                        vars.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                );
            }
            play.push(PlayRef::Var(var.to_string()));
        } else {
            if let Some(prompt) = resolve_prompt(cx, p, s, "play", base_dir, opts) {
                play.push(PlayRef::Prompt(prompt));
            }
        }
    }

    // Reactions.
    let mut on = Vec::new();
    let mut keys: BTreeMap<char, usize> = BTreeMap::new();
    for (i, r) in raw.on.iter().enumerate() {
        let rr = r.get_ref();
        let field = format!("on[{i}]");
        let mut dtmf = None;
        if let Some(k) = &rr.dtmf {
            match single_key(k.get_ref()) {
                Some(c) => {
                    if let Some(prev) = keys.insert(c, i) {
                        cx.add(
                            off(k),
                            s,
                            &format!("{field}.dtmf"),
                            format!("key \"{c}\" is already used by on[{prev}]"),
                        );
                    }
                    dtmf = Some(c);
                }
                None => cx.add(
                    off(k),
                    s,
                    &format!("{field}.dtmf"),
                    format!("bad key \"{}\": one of 0-9, *, #, A-D", k.get_ref()),
                ),
            }
        }
        let voice: Vec<String> = rr
            .voice
            .iter()
            .map(|v| v.get_ref().trim().to_string())
            .collect();
        for v in &rr.voice {
            if v.get_ref().trim().is_empty() {
                cx.add(off(v), s, &format!("{field}.voice"), "empty phrase");
            }
        }
        // A trigger that is there but wrong was reported above: not "no trigger" as well.
        if rr.dtmf.is_none() && rr.voice.is_empty() && !rr.timeout {
            cx.add(
                off(r),
                s,
                &field,
                "a reaction needs a trigger: dtmf, voice or timeout = true",
            );
        }
        let result = check_result(
            cx,
            rr.result.as_ref(),
            results,
            s,
            &format!("{field}.result"),
        );
        let actions = build_actions(cx, &rr.actions, s, &format!("{field}.actions"), known);
        let next = check_next(
            cx,
            rr.next.as_ref(),
            step_names,
            s,
            &format!("{field}.next"),
        );
        if result.is_none() && next.is_none() && actions.is_empty() {
            cx.add(
                off(r),
                s,
                &field,
                "a reaction must set a result, go to a `next` step, or act",
            );
        }
        on.push(Reaction {
            dtmf,
            voice,
            timeout: rr.timeout,
            result,
            actions,
            next,
        });
    }
    if on.iter().filter(|r| r.timeout).count() > 1 {
        cx.add(
            off(sstep),
            s,
            "on",
            "more than one `timeout = true` reaction",
        );
    }

    let capture = raw.capture.as_ref().and_then(|c| build_capture(cx, c, s));

    // Listening: explicit, or inferred from what the step reacts to.
    let any_dtmf = on.iter().any(|r| r.dtmf.is_some()) || capture.is_some();
    let any_voice = on.iter().any(|r| !r.voice.is_empty());
    let listen = match &raw.listen {
        Some(l) => {
            let lr = l.get_ref();
            let wait_s = match &lr.wait_s {
                Some(w) if !(1..=MAX_WAIT_S).contains(w.get_ref()) => {
                    cx.add(
                        off(w),
                        s,
                        "listen.wait_s",
                        format!("{} is out of range 1..={MAX_WAIT_S}", w.get_ref()),
                    );
                    DEFAULT_WAIT_S
                }
                Some(w) => *w.get_ref() as u32,
                None => DEFAULT_WAIT_S,
            };
            if !lr.dtmf && !lr.voice {
                cx.add(
                    off(l),
                    s,
                    "listen",
                    "listens for nothing: set dtmf = true and/or voice = true",
                );
            }
            if on.iter().any(|r| r.dtmf.is_some()) && !lr.dtmf {
                cx.add(
                    off(l),
                    s,
                    "listen.dtmf",
                    "reactions on keys, but the step does not listen for keys",
                );
            }
            if any_voice && !lr.voice {
                cx.add(
                    off(l),
                    s,
                    "listen.voice",
                    "reactions on phrases, but the step does not listen for voice",
                );
            }
            Listen {
                dtmf: lr.dtmf,
                voice: lr.voice,
                wait_s,
            }
        }
        None => Listen {
            dtmf: any_dtmf,
            voice: any_voice,
            wait_s: DEFAULT_WAIT_S,
        },
    };
    if listen.voice {
        check_voice(
            cx,
            &raw.on,
            opts,
            s,
            raw.listen.as_ref().and_then(off).or(off(sstep)),
        );
    }
    let result = check_result(cx, raw.result.as_ref(), results, s, "result");
    let actions = build_actions(cx, &raw.actions, s, "actions", known);
    let next = check_next(cx, raw.next.as_ref(), step_names, s, "next");
    let keys_or_timeout = raw.on.iter().all(|r| {
        let r = r.get_ref();
        r.dtmf.is_some() || r.timeout
    });
    if capture.is_some() && !keys_or_timeout {
        cx.add(
            off(sstep),
            s,
            "on",
            "a capture step reacts only to keys other than digits and to timeout",
        );
    }
    if play.is_empty() && on.is_empty() && capture.is_none() && next.is_none() && result.is_none() {
        cx.add(
            off(sstep),
            s,
            "",
            "the step does nothing: give it prompts, reactions, a capture, a result or a next step",
        );
    }
    Step {
        play,
        listen,
        barge_in: raw.barge_in.unwrap_or(true),
        on,
        capture,
        result,
        actions,
        next,
    }
}

/// Voice needs a model; every phrase must be in its vocabulary (reported at the phrase itself).
fn check_voice(
    cx: &mut Ctx<'_>,
    on: &[Spanned<RawReaction>],
    opts: &LoadOptions<'_>,
    s: Option<&str>,
    at: Option<usize>,
) {
    let Some(model) = opts.speech else {
        cx.add(at, s, "listen.voice", HOW_TO_GET_MODEL);
        return;
    };
    for (i, r) in on.iter().enumerate() {
        for spanned in &r.get_ref().voice {
            let phrase = spanned.get_ref().trim();
            let missing: Vec<&str> = phrase
                .split_whitespace()
                .filter(|w| !model.knows_word(&crate::asr::phrase::normalize(w)))
                .collect();
            if !missing.is_empty() {
                cx.add(
                    off(spanned),
                    s,
                    &format!("on[{i}].voice"),
                    format!(
                        "\"{phrase}\" cannot be recognised: the model does not know {}",
                        missing.join(", ")
                    ),
                );
            }
        }
    }
}

fn build_capture(cx: &mut Ctx<'_>, c: &Spanned<RawCapture>, s: Option<&str>) -> Option<Capture> {
    let r = c.get_ref();
    let var = r.var.get_ref().trim().to_string();
    let mut ok = true;
    if var.is_empty() || !var.chars().all(|ch| ch.is_alphanumeric() || ch == '_') {
        cx.add(
            off(&r.var),
            s,
            "capture.var",
            format!("\"{var}\" is not a valid variable name (letters, digits, _)"),
        );
        ok = false;
    }
    let kind = match r.kind.get_ref().as_str() {
        "digits" => CaptureKind::Digits,
        "number" => CaptureKind::Number,
        other => {
            cx.add(
                off(&r.kind),
                s,
                "capture.kind",
                format!("unknown kind \"{other}\": \"digits\" or \"number\""),
            );
            ok = false;
            CaptureKind::Digits
        }
    };
    let max_digits = match &r.max_digits {
        Some(m) if !(1..=MAX_MAX_DIGITS).contains(m.get_ref()) => {
            cx.add(
                off(m),
                s,
                "capture.max_digits",
                format!("{} is out of range 1..={MAX_MAX_DIGITS}", m.get_ref()),
            );
            ok = false;
            DEFAULT_MAX_DIGITS
        }
        Some(m) => *m.get_ref() as u32,
        None => DEFAULT_MAX_DIGITS,
    };
    let end = match &r.end {
        Some(e) => match single_key(e.get_ref()) {
            Some(k) if k.is_ascii_digit() => {
                cx.add(off(e), s, "capture.end", "the end key cannot be a digit");
                ok = false;
                None
            }
            Some(k) => Some(k),
            None => {
                cx.add(
                    off(e),
                    s,
                    "capture.end",
                    format!("bad key \"{}\": one of *, #, A-D", e.get_ref()),
                );
                ok = false;
                None
            }
        },
        None => None,
    };
    let timeout_s = match &r.timeout_s {
        Some(t) if !(1..=60).contains(t.get_ref()) => {
            cx.add(
                off(t),
                s,
                "capture.timeout_s",
                format!("{} is out of range 1..=60", t.get_ref()),
            );
            ok = false;
            DEFAULT_CAPTURE_TIMEOUT_S
        }
        Some(t) => *t.get_ref() as u32,
        None => DEFAULT_CAPTURE_TIMEOUT_S,
    };
    ok.then_some(Capture {
        var,
        kind,
        max_digits,
        end,
        timeout_s,
    })
}

fn single_key(k: &str) -> Option<char> {
    let mut it = k.trim().chars();
    let c = it.next()?.to_ascii_uppercase();
    (it.next().is_none() && (c.is_ascii_digit() || "*#ABCD".contains(c))).then_some(c)
}

fn check_result(
    cx: &mut Ctx<'_>,
    r: Option<&Spanned<String>>,
    results: &[String],
    s: Option<&str>,
    field: &str,
) -> Option<String> {
    let r = r?;
    let v = r.get_ref().trim().to_string();
    if !results.contains(&v) {
        cx.add(
            off(r),
            s,
            field,
            format!(
                "result \"{v}\" is not declared in `results` ({})",
                results.join(", ")
            ),
        );
    }
    Some(v)
}

fn check_next(
    cx: &mut Ctx<'_>,
    n: Option<&Spanned<String>>,
    steps: &BTreeSet<&str>,
    s: Option<&str>,
    field: &str,
) -> Option<String> {
    let n = n?;
    let v = n.get_ref().trim().to_string();
    if !steps.contains(v.as_str()) {
        cx.add(
            off(n),
            s,
            field,
            format!("unknown step `{v}` (steps: {})", list(steps)),
        );
    }
    Some(v)
}

/// The number words, when some step reads a value back; each one that cannot be played is a
/// problem at the first `"{var}"` (read-back would fail mid-call).
fn prepare_number_words(
    cx: &mut Ctx<'_>,
    raw: &RawScenario,
    steps: &BTreeMap<String, Step>,
    opts: &LoadOptions<'_>,
) -> BTreeMap<String, Prompt> {
    let reads_back = |s: &Step| s.play.iter().any(|p| matches!(p, PlayRef::Var(_)));
    let Some(first) = steps.iter().find(|(_, s)| reads_back(s)).map(|(n, _)| n) else {
        return BTreeMap::new();
    };
    let at = raw.steps.get(first).and_then(|s| {
        s.get_ref()
            .play
            .iter()
            .find(|p| p.get_ref().trim().starts_with('{'))
            .and_then(off)
    });
    match prompts::number_words(&opts.prompts_dir) {
        Ok(words) => words,
        Err(problems) => {
            for p in problems {
                let message = match (&p.error, cx.places) {
                    (None, _) => format!(
                        "the number word {} for reading back is neither in {} nor bundled \
                         ({PROMPTS_FOLDER_HINT})",
                        p.file,
                        opts.prompts_dir.join("numbers").display()
                    ),
                    (Some(e), PromptPlaces::Folders) => {
                        format!("the number word {} cannot be played: {e}", p.file)
                    }
                    (Some(e), PromptPlaces::StoredOrBundled) => format!(
                        "the number word {} cannot be played: {}",
                        p.file,
                        e.reason()
                    ),
                };
                cx.add(at, Some(first), "play", message);
            }
            BTreeMap::new()
        }
    }
}

/// Unreachable steps, and endings that can be reached without any result set.
fn check_graph(
    cx: &mut Ctx<'_>,
    raw: &RawScenario,
    steps: &BTreeMap<String, Step>,
    roots: &[String],
) {
    // States: (step, a result has been set on the way).
    let mut seen: BTreeSet<(String, bool)> = BTreeSet::new();
    let mut queue: VecDeque<(String, bool)> = roots.iter().map(|r| (r.clone(), false)).collect();
    let mut reached: BTreeSet<String> = BTreeSet::new();
    let mut resultless_end: BTreeSet<String> = BTreeSet::new();
    while let Some((name, has)) = queue.pop_front() {
        if !seen.insert((name.clone(), has)) {
            continue;
        }
        let Some(step) = steps.get(&name) else {
            continue;
        };
        reached.insert(name.clone());
        for r in &step.on {
            let h = has || r.result.is_some();
            if let Some(n) = &r.next {
                queue.push_back((n.clone(), h));
            }
        }
        let done = has || step.result.is_some();
        match &step.next {
            Some(n) => queue.push_back((n.clone(), done)),
            None if step.on.is_empty() && step.capture.is_none() && !done => {
                resultless_end.insert(name.clone());
            }
            None => {}
        }
    }
    for (name, s) in &raw.steps {
        if !reached.contains(name) {
            cx.add(
                off(s),
                Some(name),
                "",
                "unreachable: no path from `start` (or `on_assistant`) leads here",
            );
        }
    }
    for name in resultless_end {
        let at = raw.steps.get(&name).and_then(off);
        cx.add(
            at,
            Some(&name),
            "result",
            "the call can end here without any result: add `result = \"...\"`",
        );
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
