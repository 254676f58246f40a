//! The scenarios pages (docs/users.md, "Scenarios"): the list, and a scenario's TOML in an
//! editor, checked on save by the API's own validation with every problem shown at its line
//! (a list, and the text numbered with the bad lines marked); beside it the scenario drawn as
//! a graph (`graph`), the prompts it plays (playable) and the projects that use it. A stored
//! scenario never changes — projects call by it, and the dialer keeps it loaded — so saving an
//! edited one stores a new scenario, as `POST /api/v1/scenarios` does.
use super::catalogue;
use super::graph::{self, Flow};
use super::pages::{form_user, render};
use super::{Page, Refused, Viewer, WebState};
use crate::api::MAX_DOCUMENT_BYTES;
use crate::scenario::load::{json_to_toml, prompt_names};
use crate::scenario::{Format, Problem, Problems, Scenario};
use crate::users::Role;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;

/// What a new scenario starts from: the smallest one that passes, with a bundled prompt.
const STARTER: &str = "name = \"Новый сценарий\"\nresults = [\"Прослушал\"]\nstart = \"message\"\n\n\
                       [steps.message]\nplay = [\"transfer/connecting.wav\"]\nresult = \"Прослушал\"\n";

/// One row of the scenarios list.
pub struct ScenarioLine {
    pub id: i64,
    pub name: String,
    pub created: String,
    pub projects: Vec<(i64, String)>,
}

#[derive(Template)]
#[template(path = "scenarios.html")]
struct ListPage {
    page: Page,
    rows: Vec<ScenarioLine>,
    can_write: bool,
}

/// A problem (or a note) with its line.
pub struct ProblemLine {
    pub line: Option<usize>,
    pub text: String,
}

/// A line of the numbered text.
pub struct SourceLine {
    pub n: usize,
    pub text: String,
    pub bad: bool,
    pub why: Vec<String>,
}

/// A prompt the scenario names: playable when the server has it.
pub struct Player {
    pub name: String,
    pub url: Option<String>,
    pub origin: &'static str,
}

#[derive(Template)]
#[template(path = "scenario.html")]
struct EditorPage {
    page: Page,
    /// The stored scenario shown (`None`: a new one).
    id: Option<i64>,
    title: String,
    created: String,
    source: String,
    problems: Vec<ProblemLine>,
    notes: Vec<ProblemLine>,
    listing: Vec<SourceLine>,
    /// The drawing (SVG built by `graph`, every text in it escaped).
    graph: Option<String>,
    players: Vec<Player>,
    projects: Vec<(i64, String)>,
    can_write: bool,
    saved: bool,
}

fn when(unix_s: i64) -> String {
    use chrono::TimeZone;
    chrono_tz::Europe::Moscow
        .timestamp_opt(unix_s, 0)
        .single()
        .map(|t| t.format("%d.%m.%Y %H:%M").to_string())
        .unwrap_or_default()
}

/// `GET /scenarios`.
pub async fn list(State(s): State<WebState>, headers: HeaderMap) -> Response {
    let v = match s.viewer_who(&headers, Role::reads).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let fail = |e: crate::store::StoreError| Refused::Failed(e.to_string()).into_response();
    let all = match s.app.campaigns.list_scenarios().await {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    let projects = match s.app.campaigns.list_projects().await {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let rows = all
        .into_iter()
        .map(|sc| ScenarioLine {
            projects: projects
                .iter()
                .filter(|p| p.scenario_id == sc.id)
                .map(|p| (p.id, p.name.clone()))
                .collect(),
            id: sc.id,
            name: sc.name,
            created: when(sc.created_at),
        })
        .collect();
    render(
        &ListPage {
            page: Page::new(Some(&v), "/scenarios"),
            rows,
            can_write: v.user.role.runs_campaigns(),
        },
        StatusCode::OK,
    )
}

/// The problem's text without its place (the page shows the line itself).
fn problem_text(p: &Problem) -> String {
    let mut t = String::new();
    if let Some(s) = &p.step {
        t.push_str(&format!("шаг «{s}»: "));
    }
    if let Some(f) = &p.field {
        t.push_str(&format!("`{f}`: "));
    }
    t.push_str(&p.message);
    t
}

/// The line of `[steps.NAME]` in a TOML text: where a problem of a step without a place of
/// its own is shown.
fn step_line(source: &str, step: &str) -> Option<usize> {
    source
        .lines()
        .position(|l| {
            let Some(key) = l
                .trim()
                .strip_prefix("[steps.")
                .and_then(|k| k.strip_suffix(']'))
            else {
                return false;
            };
            let key = key.trim();
            key == step || key == format!("\"{step}\"") || key == format!("'{step}'")
        })
        .map(|i| i + 1)
}

fn placed(list: &[Problem], source: &str) -> Vec<ProblemLine> {
    let mut out: Vec<ProblemLine> = list
        .iter()
        .map(|p| ProblemLine {
            line: p
                .line
                .or_else(|| p.step.as_deref().and_then(|s| step_line(source, s))),
            text: problem_text(p),
        })
        .collect();
    out.sort_by_key(|p| p.line.unwrap_or(0));
    out
}

/// The text numbered, the lines with problems marked and their problems under them.
fn listing(source: &str, problems: &[ProblemLine]) -> Vec<SourceLine> {
    source
        .lines()
        .enumerate()
        .map(|(i, text)| {
            let why: Vec<String> = problems
                .iter()
                .filter(|p| p.line == Some(i + 1))
                .map(|p| p.text.clone())
                .collect();
            SourceLine {
                n: i + 1,
                text: text.to_string(),
                bad: !why.is_empty(),
                why,
            }
        })
        .collect()
}

/// Checks a text the way the API does (off the async workers: it decodes prompts).
async fn check(s: &WebState, source: &str) -> Result<Result<Scenario, Problems>, Refused> {
    let format = if source.trim_start().starts_with('{') {
        Format::Json
    } else {
        Format::Toml
    };
    let app = s.app.clone();
    let src = source.to_string();
    tokio::task::spawn_blocking(move || crate::api::validate_scenario(&app, &src, format))
        .await
        .map_err(|e| Refused::Failed(format!("validation task: {e}")))
}

/// The prompts a text names, each with its player when the server has it.
async fn players(s: &WebState, source: &str) -> Vec<Player> {
    let names = prompt_names(source);
    let stored = s.app.settings.uploaded_prompts.clone();
    let folder = s.app.settings.prompts_dir.clone();
    tokio::task::spawn_blocking(move || {
        names
            .into_iter()
            .map(|name| match catalogue::find(&name, &stored, &folder) {
                Some(e) => Player {
                    url: Some(catalogue::audio_url(&name)),
                    origin: e.origin.label_ru(),
                    name,
                },
                None => Player {
                    name,
                    url: None,
                    origin: "нет на сервере",
                },
            })
            .collect()
    })
    .await
    .unwrap_or_default()
}

/// What the editor shows of a text: its check, drawing, prompts.
struct Editor {
    id: Option<i64>,
    title: String,
    created: String,
    source: String,
    projects: Vec<(i64, String)>,
    saved: bool,
}

async fn editor(s: &WebState, v: &Viewer, e: Editor, status: StatusCode) -> Response {
    let (mut problems, mut notes, mut drawing) = (Vec::new(), Vec::new(), None);
    if e.source.trim().is_empty() {
        problems.push(ProblemLine {
            line: None,
            text: "сценарий пуст".into(),
        });
    } else if e.source.len() > MAX_DOCUMENT_BYTES {
        problems.push(ProblemLine {
            line: None,
            text: format!("сценарий больше {} МиБ", MAX_DOCUMENT_BYTES >> 20),
        });
    } else {
        match check(s, &e.source).await {
            Ok(Ok(sc)) => {
                notes = placed(&sc.notes, &e.source);
                let folders = [
                    s.app.settings.uploaded_prompts.as_path(),
                    s.app.settings.prompts_dir.as_path(),
                ];
                drawing = Some(graph::draw(&Flow::of(&sc, &folders)));
            }
            Ok(Err(p)) => problems = placed(&p.problems, &e.source),
            Err(r) => return r.into_response(),
        }
    }
    let listing = if problems.is_empty() {
        Vec::new()
    } else {
        listing(&e.source, &problems)
    };
    let players = players(s, &e.source).await;
    render(
        &EditorPage {
            page: Page::new(Some(v), "/scenarios"),
            id: e.id,
            title: e.title,
            created: e.created,
            source: e.source,
            problems,
            notes,
            listing,
            graph: drawing,
            players,
            projects: e.projects,
            can_write: v.user.role.runs_campaigns(),
            saved: e.saved,
        },
        status,
    )
}

/// `GET /scenarios/new` (managers and admins).
pub async fn new(State(s): State<WebState>, headers: HeaderMap) -> Response {
    let v = match s.viewer_who(&headers, Role::runs_campaigns).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let e = Editor {
        id: None,
        title: "Новый сценарий".into(),
        created: String::new(),
        source: STARTER.into(),
        projects: Vec::new(),
        saved: false,
    };
    editor(&s, &v, e, StatusCode::OK).await
}

#[derive(serde::Deserialize)]
pub struct ShowQuery {
    saved: Option<u8>,
}

/// `GET /scenarios/{id}`.
pub async fn show(
    State(s): State<WebState>,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
    headers: HeaderMap,
) -> Response {
    let v = match s.viewer_who(&headers, Role::reads).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let fail = |e: crate::store::StoreError| Refused::Failed(e.to_string()).into_response();
    let (name, source) = match s.app.campaigns.scenario(id).await {
        Ok(x) => x,
        Err(crate::store::StoreError::NotFound(_)) => {
            return (StatusCode::NOT_FOUND, "Нет такого сценария").into_response()
        }
        Err(e) => return fail(e),
    };
    let created = match s.app.campaigns.list_scenarios().await {
        Ok(all) => all
            .iter()
            .find(|x| x.id == id)
            .map(|x| when(x.created_at))
            .unwrap_or_default(),
        Err(e) => return fail(e),
    };
    let projects = match s.app.campaigns.list_projects().await {
        Ok(p) => p
            .into_iter()
            .filter(|p| p.scenario_id == id)
            .map(|p| (p.id, p.name))
            .collect(),
        Err(e) => return fail(e),
    };
    let e = Editor {
        id: Some(id),
        title: name,
        created,
        source,
        projects,
        saved: q.saved.is_some(),
    };
    editor(&s, &v, e, StatusCode::OK).await
}

#[derive(serde::Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    source: String,
    /// The scenario it was edited from, if any.
    #[serde(default)]
    from: String,
}

/// `POST /scenarios`: checks the text and stores it as a new scenario (back to the editor
/// with every problem at its line when it does not pass; nothing is stored then).
pub async fn save(
    State(s): State<WebState>,
    headers: HeaderMap,
    Form(f): Form<SaveForm>,
) -> Response {
    let v = match form_user(&s, &headers, &f.csrf, Role::runs_campaigns).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    // Browsers send a textarea's lines with CRLF.
    let source = f.source.replace("\r\n", "\n");
    let from = f.from.trim().parse::<i64>().ok();
    let again = |source: String| Editor {
        id: None,
        title: match from {
            Some(id) => format!("Новый сценарий из № {id}"),
            None => "Новый сценарий".into(),
        },
        created: String::new(),
        source,
        projects: Vec::new(),
        saved: false,
    };
    if source.trim().is_empty() || source.len() > MAX_DOCUMENT_BYTES {
        return editor(&s, &v, again(source), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let scenario = match check(&s, &source).await {
        Ok(Ok(sc)) => sc,
        Ok(Err(_)) => return editor(&s, &v, again(source), StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(r) => return r.into_response(),
    };
    let toml_src = if source.trim_start().starts_with('{') {
        match json_to_toml(&source) {
            Ok(t) => t,
            Err(_) => return editor(&s, &v, again(source), StatusCode::UNPROCESSABLE_ENTITY).await,
        }
    } else {
        source
    };
    match s
        .app
        .campaigns
        .create_scenario(&scenario.name, &toml_src)
        .await
    {
        Ok(id) => {
            tracing::info!(user = %v.user.username, scenario = id, "scenario saved in the UI");
            Redirect::to(&format!("/scenarios/{id}?saved=1")).into_response()
        }
        Err(e) => Refused::Failed(e.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_problem_without_a_place_is_shown_at_its_step() {
        let src = "name = \"x\"\n[steps.a]\nplay = []\n[steps.\"b c\"]\n[[steps.a.on]]\n";
        assert_eq!(step_line(src, "a"), Some(2));
        assert_eq!(step_line(src, "b c"), Some(4));
        assert_eq!(step_line(src, "z"), None);
        let p = Problem {
            line: None,
            column: None,
            step: Some("b c".into()),
            field: None,
            message: "unreachable".into(),
        };
        let placed = placed(&[p], src);
        assert_eq!(placed[0].line, Some(4));
        assert_eq!(placed[0].text, "шаг «b c»: unreachable");
        let l = listing(src, &placed);
        assert!(l[3].bad && !l[1].bad && l[3].why.len() == 1 && l[3].n == 4);
    }
}
