//! The prompts page (docs/users.md, "Prompts"): every prompt the server can play with its
//! duration and level, a player, the scenarios that use it; uploading one (managers and
//! admins) through the API's own checks and decoders. `GET /prompts/audio?name=` plays a
//! prompt as callers hear it (8 kHz WAV) to signed-in readers.
use super::catalogue::{self, Entry, Measured};
use super::pages::render;
use super::{session, Page, Refused, Viewer, WebState};
use crate::api::MAX_PROMPT_BYTES;
use crate::users::Role;
use askama::Template;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::HashMap;

/// How much of an oversized or refused upload is still read (and dropped) so the browser
/// gets the page that says why, not a broken connection.
const MAX_DRAIN_BYTES: usize = 512 << 20;
/// Longest text field of the upload form.
const MAX_FIELD_BYTES: usize = 4096;

/// One row of the prompts table.
pub struct PromptRow {
    pub name: String,
    pub origin: &'static str,
    /// The file's size (empty for bundled prompts).
    pub size: String,
    pub url: String,
    /// `None`: still being measured.
    pub duration: Option<String>,
    pub rms: String,
    pub peak: String,
    pub failed: Option<String>,
    pub scenarios: Vec<(i64, String)>,
}

#[derive(Template)]
#[template(path = "prompts_table.html")]
struct TablePart {
    rows: Vec<PromptRow>,
    pending: bool,
}

#[derive(Template)]
#[template(path = "prompts.html")]
struct PromptsPage {
    page: Page,
    rows: Vec<PromptRow>,
    pending: bool,
    can_write: bool,
    notice: Option<String>,
    name: String,
    name_error: Option<String>,
    file_error: Option<String>,
    max_mib: usize,
}

/// `m:ss,d` of milliseconds.
pub fn duration_text(ms: u64) -> String {
    format!("{}:{:02},{}", ms / 60_000, ms / 1000 % 60, ms % 1000 / 100)
}

fn size_text(bytes: u64) -> String {
    match bytes {
        0 => String::new(),
        b if b < 1 << 20 => format!("{} КБ", b.div_ceil(1024)),
        b => format!("{:.1} МБ", b as f64 / f64::from(1 << 20)).replace('.', ","),
    }
}

fn db_text(v: f32) -> String {
    if v <= -100.0 {
        "тишина".into()
    } else {
        format!("{v:.1}").replace('.', ",")
    }
}

/// The table's rows and whether some are still being measured.
async fn table(s: &WebState) -> Result<TablePart, Refused> {
    let stored = s.app.settings.uploaded_prompts.clone();
    let folder = s.app.settings.prompts_dir.clone();
    let list = tokio::task::spawn_blocking(move || catalogue::entries(&stored, &folder))
        .await
        .map_err(|e| Refused::Failed(format!("listing prompts: {e}")))?;
    let pending = catalogue::measure_missing(&list);
    let users = users_of_prompts(s).await?;
    let rows = list
        .iter()
        .map(|e| row(e, users.get(&e.name).cloned().unwrap_or_default()))
        .collect();
    Ok(TablePart { rows, pending })
}

fn row(e: &Entry, scenarios: Vec<(i64, String)>) -> PromptRow {
    let mut r = PromptRow {
        name: e.name.clone(),
        origin: e.origin.label_ru(),
        size: size_text(e.bytes),
        url: catalogue::audio_url(&e.name),
        duration: None,
        rms: String::new(),
        peak: String::new(),
        failed: None,
        scenarios,
    };
    match catalogue::measured(e) {
        Some(Measured::Ready(l)) => {
            r.duration = Some(duration_text(l.duration_ms));
            r.rms = db_text(l.rms_dbfs);
            r.peak = db_text(l.peak_dbfs);
        }
        Some(Measured::Failed(why)) => {
            r.duration = Some(String::new());
            r.failed = Some(why);
        }
        None => {}
    }
    r
}

/// The scenarios that name each prompt: name → (id, scenario name).
pub async fn users_of_prompts(
    s: &WebState,
) -> Result<HashMap<String, Vec<(i64, String)>>, Refused> {
    let all = s
        .app
        .campaigns
        .list_scenarios()
        .await
        .map_err(|e| Refused::Failed(e.to_string()))?;
    let mut out: HashMap<String, Vec<(i64, String)>> = HashMap::new();
    for sc in all {
        for name in crate::scenario::load::prompt_names(&sc.source) {
            out.entry(name).or_default().push((sc.id, sc.name.clone()));
        }
    }
    Ok(out)
}

#[derive(serde::Deserialize)]
pub struct PageQuery {
    uploaded: Option<String>,
    replaced: Option<String>,
}

struct Form {
    name: String,
    name_error: Option<String>,
    file_error: Option<String>,
    notice: Option<String>,
}

async fn prompts_page(s: &WebState, v: &Viewer, form: Form, status: StatusCode) -> Response {
    let table = match table(s).await {
        Ok(t) => t,
        Err(r) => return r.into_response(),
    };
    render(
        &PromptsPage {
            page: Page::new(Some(v), "/prompts"),
            rows: table.rows,
            pending: table.pending,
            can_write: v.user.role.runs_campaigns(),
            notice: form.notice,
            name: form.name,
            name_error: form.name_error,
            file_error: form.file_error,
            max_mib: MAX_PROMPT_BYTES >> 20,
        },
        status,
    )
}

/// `GET /prompts`.
pub async fn page(
    State(s): State<WebState>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let v = match s.viewer_who(&headers, Role::reads).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let notice = match (q.uploaded, q.replaced) {
        (Some(n), _) => Some(format!("Загружено: {n}.")),
        (None, Some(n)) => Some(format!(
            "Заменено: {n} — звонки, начатые теперь, играют новую запись."
        )),
        _ => None,
    };
    let form = Form {
        name: String::new(),
        name_error: None,
        file_error: None,
        notice,
    };
    prompts_page(&s, &v, form, StatusCode::OK).await
}

/// `GET /prompts/table`: the table alone (the page asks again while levels are measured).
pub async fn table_part(State(s): State<WebState>, headers: HeaderMap) -> Response {
    if let Err(r) = s.viewer_who(&headers, Role::reads).await {
        return r.into_response();
    }
    match table(&s).await {
        Ok(t) => render(&t, StatusCode::OK),
        Err(r) => r.into_response(),
    }
}

#[derive(serde::Deserialize)]
pub struct AudioQuery {
    #[serde(default)]
    name: String,
}

/// `GET /prompts/audio?name=…`: the prompt as callers hear it, as an 8 kHz WAV.
pub async fn audio(
    State(s): State<WebState>,
    Query(q): Query<AudioQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = s.viewer_who(&headers, Role::reads).await {
        return r.into_response();
    }
    let stored = s.app.settings.uploaded_prompts.clone();
    let folder = s.app.settings.prompts_dir.clone();
    let name = q.name;
    let got = tokio::task::spawn_blocking(move || {
        let e = catalogue::find(&name, &stored, &folder).ok_or(None)?;
        catalogue::samples(&e).map_err(Some)
    })
    .await;
    match got {
        Ok(Ok(samples)) => (
            [
                (header::CONTENT_TYPE, "audio/wav"),
                (header::CACHE_CONTROL, "private, no-cache"),
            ],
            catalogue::wav(&samples),
        )
            .into_response(),
        Ok(Err(None)) => (StatusCode::NOT_FOUND, "Нет такой записи").into_response(),
        Ok(Err(Some(why))) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Запись не читается: {why}"),
        )
            .into_response(),
        Err(e) => Refused::Failed(format!("decoding a prompt: {e}")).into_response(),
    }
}

/// What the upload form sent.
#[derive(Default)]
struct Upload {
    csrf: String,
    name: String,
    file_name: String,
    data: Vec<u8>,
    too_large: bool,
    /// The form could not be read as a whole.
    broken: bool,
}

/// Reads the form's fields; past the size limit the file is read on and dropped.
async fn read_upload(mp: &mut Multipart) -> Upload {
    let mut u = Upload::default();
    let mut seen = 0usize;
    loop {
        let mut field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                u.broken = true;
                break;
            }
        };
        let which = field.name().unwrap_or_default().to_string();
        if which == "file" {
            u.file_name = field.file_name().unwrap_or_default().to_string();
        }
        loop {
            match field.chunk().await {
                Ok(Some(c)) => {
                    seen += c.len();
                    match which.as_str() {
                        "file" if !u.too_large => {
                            if u.data.len() + c.len() > MAX_PROMPT_BYTES {
                                u.too_large = true;
                                u.data = Vec::new();
                            } else {
                                u.data.extend_from_slice(&c);
                            }
                        }
                        "csrf" | "name" => {
                            let t = if which == "csrf" {
                                &mut u.csrf
                            } else {
                                &mut u.name
                            };
                            if t.len() + c.len() <= MAX_FIELD_BYTES {
                                t.push_str(&String::from_utf8_lossy(&c));
                            }
                        }
                        _ => {}
                    }
                    if seen > MAX_DRAIN_BYTES {
                        u.broken = true;
                        return u;
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    u.broken = true;
                    return u;
                }
            }
        }
    }
    u
}

/// The default name of an uploaded file: its own, spaces as `_`.
fn name_from_file(file: &str) -> String {
    let base = file.rsplit(['/', '\\']).next().unwrap_or_default();
    base.trim().replace(char::is_whitespace, "_")
}

/// `POST /prompts` (multipart: `csrf`, `name`, `file`): stores the prompt as
/// `PUT /api/v1/prompts/{name}` would; a refusal is shown beside its field.
pub async fn upload(
    State(s): State<WebState>,
    headers: HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
) -> Response {
    let who = s.viewer_who(&headers, Role::runs_campaigns).await;
    let mut mp = match mp {
        Ok(m) => m,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("Форма не читается: {e}")).into_response()
        }
    };
    // The whole form is read even when it is refused: the browser then shows the answer.
    let u = read_upload(&mut mp).await;
    let v = match who {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    if u.csrf.is_empty() || !session::same_token(&u.csrf, &v.csrf) {
        return super::pages::csrf_refused(&v);
    }
    let mut form = Form {
        name: u.name.trim().to_string(),
        name_error: None,
        file_error: None,
        notice: None,
    };
    if u.too_large {
        form.file_error = Some(format!(
            "Файл больше {} МиБ — такой не загрузить. Сократите запись или сохраните её в MP3 или OGG.",
            MAX_PROMPT_BYTES >> 20
        ));
        return prompts_page(&s, &v, form, StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    if u.broken {
        form.file_error = Some("Файл пришёл не целиком: загрузите его ещё раз.".into());
        return prompts_page(&s, &v, form, StatusCode::BAD_REQUEST).await;
    }
    if u.data.is_empty() {
        form.file_error = Some("Выберите файл: WAV, MP3, OGG или FLAC.".into());
        return prompts_page(&s, &v, form, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let name = if form.name.is_empty() {
        name_from_file(&u.file_name)
    } else {
        form.name.clone()
    };
    if crate::api::valid_prompt_name(&name).is_err() {
        form.name = name;
        form.name_error = Some(
            "Имя — от 1 до 128 букв, цифр, «_», «-» и «.», не с точки (например, приветствие_1.mp3)."
                .into(),
        );
        return prompts_page(&s, &v, form, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    match crate::api::store_prompt(&s.app, &name, u.data.into()).await {
        Ok(stored) => {
            let path = stored.path.clone();
            let folder = s.app.settings.prompts_dir.clone();
            let stored_dir = s.app.settings.uploaded_prompts.clone();
            let n = name.clone();
            let samples = stored.samples;
            let _ = tokio::task::spawn_blocking(move || {
                if let Some(e) = catalogue::find(&n, &stored_dir, &folder) {
                    if e.path.as_deref() == Some(path.as_path()) {
                        catalogue::remember(&e, &samples);
                    }
                }
            })
            .await;
            tracing::info!(user = %v.user.username, prompt = %name, "prompt uploaded in the UI");
            let what = if stored.created {
                "uploaded"
            } else {
                "replaced"
            };
            Redirect::to(&format!("/prompts?{what}={}", catalogue::url_part(&name))).into_response()
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            form.name = name;
            form.file_error = Some(format!(
                "Это не звук, который можно прочитать (WAV, MP3, OGG/Vorbis, FLAC): {}",
                e.message
            ));
            prompts_page(&s, &v, form, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Refused::Failed(e.message).into_response(),
    }
}
