//! Parsing (TOML or JSON) and validation with places; the prompts a scenario plays are found
//! and decoded here too, through validation (docs/scenarios.md#prompts).
use super::context::PromptPlaces;
use super::json;
use super::model::Scenario;
use super::problem::{LoadOptions, Problem, Problems};
use super::raw::RawScenario;
use super::validate;
use std::path::{Path, PathBuf};

/// Source format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

/// Loads and validates a scenario file (format from the extension; `.json` or else TOML).
/// Prompts resolve against the file's folder first, then `opts.prompts_dir`.
pub fn load_file(path: &Path, opts: &LoadOptions<'_>) -> Result<Scenario, Problems> {
    let origin = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|e| Problems {
        origin: origin.clone(),
        problems: vec![Problem::plain(format!(
            "cannot read the scenario file: {e}"
        ))],
    })?;
    let format = match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
        _ => Format::Toml,
    };
    let base = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    load(
        &src,
        format,
        &origin,
        Some(&base),
        opts,
        PromptPlaces::Folders,
    )
}

/// Loads and validates a scenario from text; prompts resolve against `base_dir` first. A
/// missing prompt is reported without the folders looked in (they are the server's).
pub fn load_str(
    src: &str,
    format: Format,
    origin: &str,
    base_dir: Option<&Path>,
    opts: &LoadOptions<'_>,
) -> Result<Scenario, Problems> {
    load(
        src,
        format,
        origin,
        base_dir,
        opts,
        PromptPlaces::StoredOrBundled,
    )
}

fn load(
    src: &str,
    format: Format,
    origin: &str,
    base_dir: Option<&Path>,
    opts: &LoadOptions<'_>,
    places: PromptPlaces,
) -> Result<Scenario, Problems> {
    let fail = |problems| Problems {
        origin: origin.to_string(),
        problems,
    };
    let (toml_src, json_shape) = match format {
        Format::Toml => (src.to_string(), None),
        Format::Json => {
            // Syntax first (one error, placed), then every shape problem at once, each placed
            // in the JSON text; a well-shaped scenario goes on as TOML.
            serde_json::from_str::<serde_json::Value>(src)
                .map_err(|e| fail(vec![json_syntax(&e)]))?;
            let shape = json::check(src);
            if !shape.problems.is_empty() {
                let lines = LineIndex::new(src);
                return Err(fail(
                    shape
                        .problems
                        .into_iter()
                        .map(|p| {
                            let (line, column) = lines.position(p.at);
                            Problem {
                                line,
                                column,
                                step: p.step,
                                field: (!p.field.is_empty()).then_some(p.field),
                                message: p.message,
                            }
                        })
                        .collect(),
                ));
            }
            (json_to_toml(src).map_err(|p| fail(vec![p]))?, Some(shape))
        }
    };
    let positions = json_shape.is_none();
    let lines = LineIndex::new(&toml_src);
    let raw: RawScenario = match toml::from_str(&toml_src) {
        Ok(r) => r,
        Err(e) => {
            let mut p = Problem::plain(e.message().to_string());
            if positions {
                if let Some(span) = e.span() {
                    (p.line, p.column) = lines.position(span.start);
                }
            }
            return Err(fail(vec![p]));
        }
    };
    let at = |offset: usize| {
        if positions {
            lines.position(offset)
        } else {
            (None, None)
        }
    };
    validate::build(raw, base_dir, opts, &at, places).map_err(|mut problems| {
        // A JSON scenario's problems are placed in its own text by step and field.
        if let Some(shape) = &json_shape {
            let lines = LineIndex::new(src);
            for p in problems.iter_mut().filter(|p| p.line.is_none()) {
                let field = p.field.as_deref().unwrap_or("");
                if let Some(at) = shape.place(p.step.as_deref(), field) {
                    (p.line, p.column) = lines.position(at);
                }
            }
        }
        fail(problems)
    })
}

fn json_syntax(e: &serde_json::Error) -> Problem {
    Problem {
        line: Some(e.line()),
        column: Some(e.column()),
        step: None,
        field: None,
        message: format!("invalid JSON: {e}"),
    }
}

/// The results a stored (TOML) scenario declares, read without validating the rest: what a
/// filter over the calls it made may name. Text that does not parse declares none.
pub fn declared_results(toml_src: &str) -> Vec<String> {
    let Ok(table) = toml_src.parse::<toml::Table>() else {
        return Vec::new();
    };
    table
        .get("results")
        .and_then(toml::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(|s| s.trim().to_string()))
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The prompts a scenario's text names — `play` of every step, `transfer_prompt`,
/// `queue_prompt` — each once, in order; read-backs (`"{var}"`) aside. Read without validating
/// the rest (the web UI shows which scenarios use a prompt, and plays them); text that does
/// not parse names none.
pub fn prompt_names(toml_src: &str) -> Vec<String> {
    let Ok(table) = toml_src.parse::<toml::Table>() else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    let mut add = |v: &toml::Value| {
        if let Some(n) = v.as_str().map(str::trim) {
            let read_back = n.starts_with('{') && n.ends_with('}');
            if !(n.is_empty() || read_back || out.iter().any(|x| x == n)) {
                out.push(n.to_string());
            }
        }
    };
    if let Some(steps) = table.get("steps").and_then(toml::Value::as_table) {
        for step in steps.values() {
            if let Some(play) = step.get("play").and_then(toml::Value::as_array) {
                play.iter().for_each(&mut add);
            }
        }
    }
    for key in ["transfer_prompt", "queue_prompt"] {
        if let Some(v) = table.get(key) {
            add(v);
        }
    }
    out
}

/// Whether a stored scenario's steps or reactions send SMS (read without validating it: the
/// stats say why SMS are not running only to projects that send them).
pub fn sends_sms(toml_src: &str) -> bool {
    let Ok(raw) = toml::from_str::<super::raw::RawScenario>(toml_src) else {
        return false;
    };
    raw.steps.values().any(|step| {
        let step = step.get_ref();
        step.actions.iter().any(|a| a.get_ref().sms.is_some())
            || step.on.iter().any(|r| {
                r.get_ref()
                    .actions
                    .iter()
                    .any(|a| a.get_ref().sms.is_some())
            })
    })
}

/// Whether a scenario's text transfers callers to the agents (a cheap look without loading
/// it: the pacing modes that place calls for agents need one; docs/pacing.md).
pub fn transfers_to_agents(toml_src: &str) -> bool {
    let Ok(raw) = toml::from_str::<super::raw::RawScenario>(toml_src) else {
        return false;
    };
    let to_agents = |a: &super::raw::RawAction| a.transfer.as_deref() == Some("agents");
    raw.steps.values().any(|step| {
        let step = step.get_ref();
        step.actions.iter().any(|a| to_agents(a.get_ref()))
            || step
                .on
                .iter()
                .any(|r| r.get_ref().actions.iter().any(|a| to_agents(a.get_ref())))
    })
}

/// JSON has the same structure as TOML: convert, so one set of rules (and spans) serves both.
/// The TOML text of a JSON scenario (the API stores every scenario as TOML).
pub fn json_to_toml(src: &str) -> Result<String, Problem> {
    let v: serde_json::Value = serde_json::from_str(src).map_err(|e| json_syntax(&e))?;
    let t = to_toml(&v, "").map_err(Problem::plain)?;
    match t {
        toml::Value::Table(_) => {
            toml::to_string(&t).map_err(|e| Problem::plain(format!("cannot convert: {e}")))
        }
        _ => Err(Problem::plain("the scenario must be a JSON object")),
    }
}

fn to_toml(v: &serde_json::Value, path: &str) -> Result<toml::Value, String> {
    use serde_json::Value as J;
    Ok(match v {
        J::Null => {
            return Err(format!(
                "`{path}`: null is not allowed (leave the field out instead)"
            ))
        }
        J::Bool(b) => toml::Value::Boolean(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => toml::Value::String(s.clone()),
        J::Array(a) => toml::Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| to_toml(x, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        J::Object(o) => {
            let mut t = toml::map::Map::new();
            for (k, x) in o {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                t.insert(k.clone(), to_toml(x, &p)?);
            }
            toml::Value::Table(t)
        }
    })
}

/// Byte offset → 1-based line and column (in characters).
struct LineIndex<'a> {
    src: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(src: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        Self { src, starts }
    }

    fn position(&self, offset: usize) -> (Option<usize>, Option<usize>) {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let col = self
            .src
            .get(start..offset.min(self.src.len()))
            .map(|s| s.chars().count())
            .unwrap_or(0)
            + 1;
        (Some(line), Some(col))
    }
}
