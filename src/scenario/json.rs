//! JSON scenarios before they become TOML: every value of the wrong type, unknown field, missing
//! field or `null` is reported at once, each with its place (line and column in the JSON text,
//! the step, and the field path inside it, e.g. step `offer`, field `listen.wait_s`). The shape
//! checked here is the one `raw.rs` deserialises (a test keeps the field names in step); the
//! places found on the way also locate the later validation problems of the same text.
use std::collections::HashMap;

/// What a value must be.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Text,
    Flag,
    Whole,
    List(&'static Shape),
    /// Named fields: (name, shape, required).
    Record(&'static [(&'static str, Shape, bool)]),
    /// Any keys, each value of one shape (the steps).
    Map(&'static Shape),
}

impl Shape {
    fn expected(&self) -> &'static str {
        match self {
            Shape::Text => "a string",
            Shape::Flag => "true or false",
            Shape::Whole => "a whole number",
            Shape::List(_) => "an array",
            Shape::Record(_) | Shape::Map(_) => "an object",
        }
    }
}

const ACTION: Shape = Shape::Record(&[
    ("transfer", Shape::Text, false),
    ("callback_project", Shape::Text, false),
    ("transfer_external", Shape::Text, false),
    ("sms", Shape::Text, false),
    ("add_to_project", Shape::Text, false),
    ("hangup", Shape::Flag, false),
    ("webhook", Shape::Text, false),
    ("stop_list", Shape::Flag, false),
    ("add_all_numbers", Shape::Flag, false),
]);
const LISTEN: Shape = Shape::Record(&[
    ("dtmf", Shape::Flag, false),
    ("voice", Shape::Flag, false),
    ("wait_s", Shape::Whole, false),
]);
const REACTION: Shape = Shape::Record(&[
    ("dtmf", Shape::Text, false),
    ("voice", Shape::List(&Shape::Text), false),
    ("timeout", Shape::Flag, false),
    ("result", Shape::Text, false),
    ("actions", Shape::List(&ACTION), false),
    ("next", Shape::Text, false),
]);
const CAPTURE: Shape = Shape::Record(&[
    ("var", Shape::Text, true),
    ("kind", Shape::Text, true),
    ("max_digits", Shape::Whole, false),
    ("end", Shape::Text, false),
    ("timeout_s", Shape::Whole, false),
]);
const STEP: Shape = Shape::Record(&[
    ("play", Shape::List(&Shape::Text), false),
    ("listen", LISTEN, false),
    ("barge_in", Shape::Flag, false),
    ("on", Shape::List(&REACTION), false),
    ("capture", CAPTURE, false),
    ("result", Shape::Text, false),
    ("actions", Shape::List(&ACTION), false),
    ("next", Shape::Text, false),
]);
const SCENARIO: Shape = Shape::Record(&[
    ("name", Shape::Text, true),
    ("results", Shape::List(&Shape::Text), false),
    ("start", Shape::Text, true),
    ("fields", Shape::List(&Shape::Text), false),
    ("transfer_prompt", Shape::Text, false),
    ("queue_prompt", Shape::Text, false),
    ("on_assistant", Shape::Text, false),
    ("steps", Shape::Map(&STEP), false),
]);

/// One value of the JSON text, with where it starts.
struct Node {
    at: usize,
    end: usize,
    val: Val,
}

enum Val {
    Null,
    Bool,
    Number {
        whole: bool,
    },
    Str,
    Array(Vec<Node>),
    /// (key, where the key starts, value).
    Object(Vec<(String, usize, Node)>),
}

/// A shape problem: where (byte offset), which step, which field inside it, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeProblem {
    pub at: usize,
    pub step: Option<String>,
    pub field: String,
    pub message: String,
}

/// The outcome of checking a JSON scenario's shape.
pub struct Checked {
    /// Every problem, in text order.
    pub problems: Vec<ShapeProblem>,
    /// Where each (step, field) value starts, for placing later problems.
    places: HashMap<(Option<String>, String), usize>,
}

impl Checked {
    /// The offset of the value at `field` of `step` (or of the nearest enclosing value that is
    /// there: `on[0].dtmf` → `on[0]` → `on` → the step).
    pub fn place(&self, step: Option<&str>, field: &str) -> Option<usize> {
        let step = step.map(str::to_string);
        let mut field = field.to_string();
        loop {
            if let Some(&at) = self.places.get(&(step.clone(), field.clone())) {
                return Some(at);
            }
            if field.is_empty() {
                return None;
            }
            let cut = field.rfind(['.', '[']).unwrap_or(0);
            field.truncate(cut);
        }
    }
}

/// Checks the shape of a JSON scenario that is valid JSON (`serde_json` parsed it already).
pub fn check(src: &str) -> Checked {
    let mut checked = Checked {
        problems: Vec::new(),
        places: HashMap::new(),
    };
    let mut scan = Scan {
        src,
        b: src.as_bytes(),
        i: 0,
    };
    let Some(root) = scan.value(0) else {
        return checked;
    };
    let mut walk = Walk {
        src,
        out: &mut checked,
    };
    walk.node(&root, &SCENARIO, None, String::new());
    checked.problems.sort_by_key(|p| p.at);
    checked
}

/// A recursive-descent reader of JSON text that keeps offsets (`serde_json::Value` has none).
/// It never panics: on text it does not expect it stops with what it has.
struct Scan<'a> {
    src: &'a str,
    b: &'a [u8],
    i: usize,
}

/// Deepest nesting read (JSON from a client; `serde_json` itself stops at 128).
const MAX_DEPTH: usize = 128;

impl Scan<'_> {
    fn ws(&mut self) {
        while self
            .b
            .get(self.i)
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn value(&mut self, depth: usize) -> Option<Node> {
        self.ws();
        let at = self.i;
        if depth > MAX_DEPTH {
            return None;
        }
        let val = match self.peek()? {
            b'{' => {
                self.i += 1;
                let mut entries = Vec::new();
                loop {
                    self.ws();
                    match self.peek()? {
                        b'}' => {
                            self.i += 1;
                            break;
                        }
                        b',' => {
                            self.i += 1;
                            continue;
                        }
                        _ => {}
                    }
                    let key_at = self.i;
                    let key = self.string()?;
                    self.ws();
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.i += 1;
                    let v = self.value(depth + 1)?;
                    entries.push((key, key_at, v));
                }
                Val::Object(entries)
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    match self.peek()? {
                        b']' => {
                            self.i += 1;
                            break;
                        }
                        b',' => {
                            self.i += 1;
                            continue;
                        }
                        _ => items.push(self.value(depth + 1)?),
                    }
                }
                Val::Array(items)
            }
            b'"' => {
                self.string()?;
                Val::Str
            }
            _ => {
                while self.peek().is_some_and(|c| {
                    !matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                }) {
                    self.i += 1;
                }
                match self.src.get(at..self.i)? {
                    "null" => Val::Null,
                    "true" | "false" => Val::Bool,
                    n => Val::Number {
                        whole: n.parse::<i64>().is_ok(),
                    },
                }
            }
        };
        Some(Node {
            at,
            end: self.i,
            val,
        })
    }

    /// A string at the cursor, decoded.
    fn string(&mut self) -> Option<String> {
        let start = self.i;
        if self.peek()? != b'"' {
            return None;
        }
        self.i += 1;
        loop {
            match self.peek()? {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    break;
                }
                _ => self.i += 1,
            }
        }
        serde_json::from_str(self.src.get(start..self.i)?).ok()
    }
}

struct Walk<'a, 'b> {
    src: &'a str,
    out: &'b mut Checked,
}

impl Walk<'_, '_> {
    fn problem(&mut self, at: usize, step: Option<&str>, field: &str, message: String) {
        self.out.problems.push(ShapeProblem {
            at,
            step: step.map(str::to_string),
            field: field.to_string(),
            message,
        });
    }

    fn node(&mut self, node: &Node, shape: &Shape, step: Option<&str>, field: String) {
        self.out
            .places
            .insert((step.map(str::to_string), field.clone()), node.at);
        let join = |name: &str| {
            if field.is_empty() {
                name.to_string()
            } else {
                format!("{field}.{name}")
            }
        };
        match (shape, &node.val) {
            (_, Val::Null) => self.problem(
                node.at,
                step,
                &field,
                "null is not allowed (leave the field out instead)".into(),
            ),
            (Shape::Text, Val::Str)
            | (Shape::Flag, Val::Bool)
            | (Shape::Whole, Val::Number { whole: true }) => {}
            (Shape::List(inner), Val::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    self.node(item, inner, step, format!("{field}[{i}]"));
                }
            }
            (Shape::Record(fields), Val::Object(entries)) => {
                for (key, key_at, value) in entries {
                    match fields.iter().find(|(name, _, _)| name == key) {
                        Some((_, inner, _)) => self.node(value, inner, step, join(key)),
                        None => {
                            let known: Vec<String> =
                                fields.iter().map(|(n, _, _)| format!("`{n}`")).collect();
                            self.problem(
                                *key_at,
                                step,
                                &field,
                                format!(
                                    "unknown field `{key}`: expected one of {}",
                                    known.join(", ")
                                ),
                            );
                        }
                    }
                }
                for (name, _, required) in fields.iter() {
                    if *required && !entries.iter().any(|(k, _, _)| k == name) {
                        self.problem(node.at, step, &field, format!("missing field `{name}`"));
                    }
                }
            }
            (Shape::Map(inner), Val::Object(entries)) => {
                for (key, _, value) in entries {
                    // The scenario's only map is its steps: each entry is a step.
                    self.node(value, inner, Some(key), String::new());
                }
            }
            (expected, _) => {
                let found = self.found(node);
                self.problem(
                    node.at,
                    step,
                    &field,
                    format!("expected {}, found {found}", expected.expected()),
                );
            }
        }
    }

    /// What a value is, for messages: `the string "5"`, `the number 5.5`, `an array`.
    fn found(&self, node: &Node) -> String {
        let text = self.src.get(node.at..node.end).unwrap_or("");
        let short = |t: &str| {
            if t.chars().count() > 40 {
                format!("{}…", t.chars().take(40).collect::<String>())
            } else {
                t.to_string()
            }
        };
        match node.val {
            Val::Null => "null".into(),
            Val::Bool => text.to_string(),
            Val::Number { .. } => format!("the number {}", short(text)),
            Val::Str => format!("the string {}", short(text)),
            Val::Array(_) => "an array".into(),
            Val::Object(_) => "an object".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(src: &str) -> Vec<(Option<String>, String, String)> {
        serde_json::from_str::<serde_json::Value>(src).expect("valid JSON");
        check(src)
            .problems
            .into_iter()
            .map(|p| (p.step, p.field, p.message))
            .collect()
    }

    #[test]
    fn every_type_error_is_reported_with_its_step_and_field() {
        let src = r#"{
  "name": "x",
  "results": ["Да", 5],
  "start": "offer",
  "steps": {
    "offer": {
      "play": ["a.wav"],
      "listen": {"dtmf": "yes", "wait_s": "5"},
      "on": [{"dtmf": 1, "result": "Да"}, {"timeout": true, "next": null}],
      "capture": {"var": "n"},
      "bogus": true
    },
    "bye": []
  }
}"#;
        let got = problems(src);
        let s = |x: &str| Some(x.to_string());
        let want = [
            (None, "results[1]", "expected a string, found the number 5"),
            (s("offer"), "listen.dtmf", "expected true or false, found the string \"yes\""),
            (s("offer"), "listen.wait_s", "expected a whole number, found the string \"5\""),
            (s("offer"), "on[0].dtmf", "expected a string, found the number 1"),
            (s("offer"), "on[1].next", "null is not allowed (leave the field out instead)"),
            (s("offer"), "capture", "missing field `kind`"),
            (s("offer"), "", "unknown field `bogus`: expected one of `play`, `listen`, `barge_in`, `on`, `capture`, `result`, `actions`, `next`"),
            (s("bye"), "", "expected an object, found an array"),
        ];
        assert_eq!(got.len(), want.len(), "{got:#?}");
        for ((gs, gf, gm), (ws, wf, wm)) in got.iter().zip(want) {
            assert_eq!((gs, gf.as_str(), gm.as_str()), (&ws, wf, wm));
        }
    }

    #[test]
    fn a_well_shaped_scenario_has_no_problems_and_its_places_are_known() {
        let src = r#"{"name": "x", "results": ["Да"], "start": "a",
 "steps": {"a": {"on": [{"dtmf": "1", "result": "Да", "actions": [{"hangup": true}]}],
   "listen": {"dtmf": true, "wait_s": 5}, "capture": {"var": "n", "kind": "digits"}}}}"#;
        let c = check(src);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        let at = |step, field| c.place(step, field).map(|o| &src[o..o + 3]);
        assert_eq!(at(Some("a"), "on[0].dtmf"), Some("\"1\""));
        assert_eq!(
            at(Some("a"), "on[0].voice"),
            Some("{\"d"),
            "falls back to on[0]"
        );
        assert_eq!(at(Some("a"), "listen.wait_s"), Some("5},"));
        assert_eq!(at(None, "start"), Some("\"a\""));
        assert_eq!(at(Some("nowhere"), "x"), None);
    }

    #[test]
    fn odd_numbers_and_deep_nesting_are_no_panic() {
        assert_eq!(
            problems(r#"{"name": "x", "start": "a", "steps": {"a": {"listen": {"wait_s": 5.0}}}}"#)
                [0]
            .2,
            "expected a whole number, found the number 5.0"
        );
        assert_eq!(
            problems(r#"{"name": "x", "start": "a", "steps": {"a": {"listen": {"wait_s": 99999999999999999999}}}}"#).len(),
            1
        );
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let _ = check(&deep);
        let _ = check("");
        let _ = check("{\"a\": \"\\");
    }

    #[test]
    fn json_scenarios_load_with_every_problem_placed_in_the_json_text() {
        use crate::scenario::{load_str, Format, LoadOptions};
        let dir = tempfile::tempdir().unwrap();
        crate::media::prompt::write_test_wav(&dir.path().join("a.wav"), 20);
        let opts = LoadOptions {
            prompts_dir: dir.path().to_path_buf(),
            speech: None,
        };
        let load = |src: &str| load_str(src, Format::Json, "s", Some(dir.path()), &opts);
        // Two type errors: both, with lines and columns.
        let p = load(
            "{\"name\": \"x\", \"results\": [\"Да\"], \"start\": \"a\",\n \"steps\": {\"a\": {\n  \"listen\": {\"wait_s\": \"5\"},\n  \"barge_in\": 1}}}",
        )
        .unwrap_err();
        let placed: Vec<_> = p
            .problems
            .iter()
            .map(|x| (x.line, x.column, x.step.as_deref(), x.field.as_deref()))
            .collect();
        assert_eq!(
            placed,
            [
                (Some(3), Some(24), Some("a"), Some("listen.wait_s")),
                (Some(4), Some(15), Some("a"), Some("barge_in")),
            ],
            "{p}"
        );
        // A later validation problem is placed too (TOML spans do not apply to JSON).
        let p = load(
            "{\"name\": \"x\", \"results\": [\"Да\"], \"start\": \"a\",\n \"steps\": {\"a\": {\"play\": [\"a.wav\"],\n  \"result\": \"Да\", \"next\": \"nowhere\"}}}",
        )
        .unwrap_err();
        assert_eq!(p.problems.len(), 1, "{p}");
        assert_eq!(
            (p.problems[0].line, p.problems[0].column),
            (Some(3), Some(27)),
            "{p}"
        );
        assert!(load("{\"name\": \"x\", \"results\": [\"Да\"], \"start\": \"a\", \"steps\": {\"a\": {\"play\": [\"a.wav\"], \"result\": \"Да\"}}}").is_ok());
    }

    /// The field names of a raw type, from serde's own "unknown field" message.
    fn serde_fields<T: serde::de::DeserializeOwned + std::fmt::Debug>() -> Vec<String> {
        let e = toml::from_str::<T>("zzz_unknown = 1")
            .unwrap_err()
            .to_string();
        let list = e
            .split("expected one of ")
            .nth(1)
            .unwrap_or_else(|| panic!("{e}"));
        list.lines()
            .next()
            .unwrap_or("")
            .split(", ")
            .map(|f| f.trim().trim_matches('`').to_string())
            .collect()
    }

    fn shape_fields(shape: &Shape) -> Vec<String> {
        match shape {
            Shape::Record(f) => f.iter().map(|(n, _, _)| n.to_string()).collect(),
            _ => panic!("not a record"),
        }
    }

    #[test]
    fn the_shape_has_the_fields_the_raw_scenario_has() {
        use crate::scenario::raw::*;
        assert_eq!(shape_fields(&SCENARIO), serde_fields::<RawScenario>());
        assert_eq!(shape_fields(&STEP), serde_fields::<RawStep>());
        assert_eq!(shape_fields(&LISTEN), serde_fields::<RawListen>());
        assert_eq!(shape_fields(&REACTION), serde_fields::<RawReaction>());
        assert_eq!(shape_fields(&CAPTURE), serde_fields::<RawCapture>());
        assert_eq!(shape_fields(&ACTION), serde_fields::<RawAction>());
    }
}
