//! The import page (docs/users.md, "Import"): a CSV or spreadsheet sent as a multipart form
//! (its first field the session's CSRF token) into the same import as the API's
//! `POST /projects/{id}/contacts` (`api::upload::import_form`); while it streams, the page
//! polls the import's figures (rows read, imported, refused; the part of the file read), which
//! the store writes to the import's row about once a second; at the end, the first refused
//! values, the duplicates, and the whole list of refused values as a CSV. Each page gives its
//! upload a random key (in the form's address), so the page's poll finds the import its upload
//! began — or why it was refused before one began (a file too large, another import running).
use super::admin::{bytes_text, count_text, is_htmx, reject_label, when_text};
use super::pages::{csrf_ok, csrf_refused, render};
use super::{Page, Refused, Viewer, WebState};
use crate::api::upload::{content_length, import_form, MAX_FORM_BYTES};
use crate::api::SharedBuf;
use crate::export::{Cell, CsvExport};
use crate::store::{ImportStatus, ImportWatch, StoreError};
use crate::users::Role;
use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Refused values listed on the page; the rest are in the CSV.
const LISTED_REJECTS: u32 = 100;
/// Refused values read per page of the CSV download.
const CSV_PAGE: u32 = 5_000;
/// How long an upload's key is remembered.
const UPLOAD_KEEP_MS: i64 = 3_600_000;

/// The import page's uploads in progress or just ended, by the key each page made.
#[derive(Clone, Default)]
pub struct Uploads(Arc<Mutex<HashMap<String, Upload>>>);

#[derive(Clone)]
struct Upload {
    project: i64,
    at_ms: i64,
    import_id: Option<i64>,
    /// Why it was refused, in words (no import, or a failed one).
    refused: Option<String>,
}

impl Uploads {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Upload>) -> T) -> T {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }

    /// A new upload under `key` (old keys are forgotten here).
    fn start(&self, key: &str, project: i64, now_ms: i64) {
        self.with(|m| {
            m.retain(|_, u| now_ms - u.at_ms < UPLOAD_KEEP_MS);
            m.insert(
                key.to_string(),
                Upload {
                    project,
                    at_ms: now_ms,
                    import_id: None,
                    refused: None,
                },
            );
        });
    }

    fn set_import(&self, key: &str, id: i64) {
        self.with(|m| {
            if let Some(u) = m.get_mut(key) {
                u.import_id = Some(id);
            }
        });
    }

    fn refuse(&self, key: &str, project: i64, now_ms: i64, why: &str) {
        self.with(|m| {
            let u = m.entry(key.to_string()).or_insert(Upload {
                project,
                at_ms: now_ms,
                import_id: None,
                refused: None,
            });
            u.refused = Some(why.to_string());
        });
    }

    fn get(&self, key: &str) -> Option<Upload> {
        self.with(|m| m.get(key).cloned())
    }
}

/// An upload key as pages make them (`session::random_token`); anything else is ignored.
fn valid_key(k: &str) -> Option<&str> {
    (k.len() >= 20
        && k.len() <= 64
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then_some(k)
}

/// The largest file the page takes: the form limit, or `import.max_bytes` if lower.
fn max_bytes(s: &WebState) -> u64 {
    s.app
        .settings
        .import_limits
        .max_bytes
        .min(MAX_FORM_BYTES as u64)
}

pub struct RejectLine {
    pub row: u64,
    pub value: String,
    pub label: &'static str,
    pub reason: String,
}

/// What the status part shows.
pub struct StatusView {
    /// `none`, `waiting`, `running`, `done`, `failed`.
    pub phase: &'static str,
    /// Where the next poll goes, while there is something to wait for.
    pub poll: Option<String>,
    pub message: Option<String>,
    pub started: String,
    pub rows_read: String,
    pub imported: String,
    pub duplicates: String,
    pub rejected: String,
    /// Of the file read, when its size is known.
    pub percent: Option<u64>,
    pub bytes: String,
    pub rejects: Vec<RejectLine>,
    /// Refused values kept but not listed here.
    pub more: String,
    pub csv: Option<String>,
}

impl StatusView {
    fn plain(phase: &'static str, message: Option<String>, poll: Option<String>) -> Self {
        Self {
            phase,
            poll,
            message,
            started: String::new(),
            rows_read: String::new(),
            imported: String::new(),
            duplicates: String::new(),
            rejected: String::new(),
            percent: None,
            bytes: String::new(),
            rejects: Vec::new(),
            more: String::new(),
            csv: None,
        }
    }
}

#[derive(Template)]
#[template(path = "import_status.html")]
struct StatusPart {
    v: StatusView,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    page: Page,
    id: i64,
    name: String,
    upload: String,
    max_bytes: u64,
    max_text: String,
    v: StatusView,
}

/// The status of import `import_id` of `project`.
async fn import_view(s: &WebState, project: i64, import_id: i64) -> Result<StatusView, Refused> {
    let fail = |e: StoreError| Refused::Failed(e.to_string());
    match s.admin.import_status(import_id).await.map_err(fail)? {
        Some(st) if st.project_id == project => status_view(s, &st).await,
        _ => Ok(StatusView::plain("none", None, None)),
    }
}

async fn status_view(s: &WebState, st: &ImportStatus) -> Result<StatusView, Refused> {
    let mut v = StatusView::plain("running", None, None);
    v.started = when_text(st.started_at);
    v.rows_read = count_text(st.rows_read);
    v.imported = count_text(st.imported);
    v.duplicates = count_text(st.duplicates);
    v.rejected = count_text(st.rejected);
    let total = st.bytes_total.filter(|&t| t > 0);
    v.bytes = match total {
        Some(t) => format!("{} из {}", bytes_text(st.bytes_read.min(t)), bytes_text(t)),
        None => bytes_text(st.bytes_read),
    };
    match st.state.as_str() {
        "running" => {
            v.percent = total.map(|t| (st.bytes_read.min(t) * 100 / t).min(99));
            v.poll = Some(format!(
                "/projects/{}/import/status?import={}",
                st.project_id, st.id
            ));
        }
        "done" => {
            v.phase = "done";
            v.percent = Some(100);
            let rows = s
                .admin
                .import_rejects(st.id, 0, LISTED_REJECTS)
                .await
                .map_err(|e| Refused::Failed(e.to_string()))?;
            v.more = count_text(st.rejects_kept.saturating_sub(rows.len() as u64));
            v.rejects = rows
                .into_iter()
                .map(|r| RejectLine {
                    row: r.row,
                    label: reject_label(&r.kind),
                    value: r.value,
                    reason: r.reason,
                })
                .collect();
            if st.rejects_kept > 0 {
                v.csv = Some(format!(
                    "/projects/{}/import/{}/rejected.csv",
                    st.project_id, st.id
                ));
            }
        }
        _ => {
            v.phase = "failed";
            v.message = Some(format!(
                "Импорт не удался, ничего не импортировано: {}",
                st.error.as_deref().unwrap_or("причина не записана")
            ));
        }
    }
    Ok(v)
}

#[derive(serde::Deserialize)]
pub struct StatusQuery {
    #[serde(default)]
    upload: Option<String>,
    #[serde(default)]
    import: Option<i64>,
}

/// The status for a poll: by the import's id, by the page's upload key, else the project's
/// newest import.
async fn view_for(s: &WebState, project: i64, q: &StatusQuery) -> Result<StatusView, Refused> {
    if let Some(iid) = q.import {
        return import_view(s, project, iid).await;
    }
    if let Some(key) = q.upload.as_deref().and_then(valid_key) {
        let again = Some(format!("/projects/{project}/import/status?upload={key}"));
        return match s.uploads.get(key).filter(|u| u.project == project) {
            Some(Upload {
                refused: Some(why), ..
            }) => Ok(StatusView::plain("failed", Some(why), None)),
            Some(Upload {
                import_id: Some(iid),
                ..
            }) => import_view(s, project, iid).await,
            _ => Ok(StatusView::plain(
                "waiting",
                Some("Файл загружается…".into()),
                again,
            )),
        };
    }
    match s.admin.latest_import(project).await {
        Ok(Some(st)) => status_view(s, &st).await,
        Ok(None) => Ok(StatusView::plain("none", None, None)),
        Err(e) => Err(Refused::Failed(e.to_string())),
    }
}

/// The project's name, or the answer for a project that does not exist.
async fn project_name(s: &WebState, id: i64) -> Result<String, Response> {
    match s.app.campaigns.project(id).await {
        Ok(p) => Ok(p.name),
        Err(StoreError::NotFound(_)) => {
            Err((StatusCode::NOT_FOUND, "Нет такого проекта").into_response())
        }
        Err(e) => Err(Refused::Failed(e.to_string()).into_response()),
    }
}

fn import_page(s: &WebState, v: &Viewer, id: i64, name: String, sv: StatusView) -> ImportPage {
    let max = max_bytes(s);
    ImportPage {
        page: Page::new(Some(v), "/"),
        id,
        name,
        upload: super::session::random_token(),
        max_bytes: max,
        max_text: bytes_text(max),
        v: sv,
    }
}

/// `GET /projects/{id}/import`.
pub async fn page(
    State(s): State<WebState>,
    Path(id): Path<i64>,
    headers: axum::http::HeaderMap,
) -> Response {
    let v = match s.viewer_who(&headers, Role::runs_campaigns).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let name = match project_name(&s, id).await {
        Ok(n) => n,
        Err(r) => return r,
    };
    let q = StatusQuery {
        upload: None,
        import: None,
    };
    match view_for(&s, id, &q).await {
        Ok(sv) => render(&import_page(&s, &v, id, name, sv), StatusCode::OK),
        Err(r) => r.into_response(),
    }
}

/// `GET /projects/{id}/import/status?upload=…|import=…`: the status part (the page polls it).
pub async fn status(
    State(s): State<WebState>,
    Path(id): Path<i64>,
    Query(q): Query<StatusQuery>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Err(r) = s.viewer_who(&headers, Role::runs_campaigns).await {
        return r.into_response();
    }
    match view_for(&s, id, &q).await {
        Ok(v) => render(&StatusPart { v }, StatusCode::OK),
        Err(r) => r.into_response(),
    }
}

#[derive(serde::Deserialize)]
pub struct UploadQuery {
    #[serde(default)]
    upload: String,
}

/// Why an import was refused, in words.
fn refusal_text(e: &crate::api::error::ApiError, max: u64) -> String {
    match e.status {
        StatusCode::PAYLOAD_TOO_LARGE => format!(
            "Файл больше {}: ничего не импортировано. Разделите файл на части или отправьте \
             его через API (docs/api.md, «Contacts import»).",
            bytes_text(max)
        ),
        StatusCode::CONFLICT => {
            "В этот проект уже идёт импорт: дождитесь его окончания и загрузите файл снова.".into()
        }
        StatusCode::NOT_FOUND => "Нет такого проекта.".into(),
        _ if e.message == "the file is empty" => "Файл пуст: ничего не импортировано.".into(),
        _ if e.message.starts_with("no phone column") => format!(
            "В заголовке нет колонки с телефоном (Телефон, phone, номер, тел, мобильный): \
             ничего не импортировано. {}",
            e.message
        ),
        _ => format!("Файл не импортирован: {}", e.message),
    }
}

/// The answer to an upload: the status part for htmx (its errors too: htmx swaps only 2xx),
/// the whole page for a plain form.
fn answer(
    s: &WebState,
    v: &Viewer,
    id: i64,
    name: String,
    sv: StatusView,
    status: StatusCode,
    htmx: bool,
) -> Response {
    if htmx {
        render(&StatusPart { v: sv }, StatusCode::OK)
    } else {
        render(&import_page(s, v, id, name, sv), status)
    }
}

/// `POST /projects/{id}/import?upload=KEY`: a multipart form — the session's token, then the
/// file — streamed into the import.
pub async fn upload(
    State(s): State<WebState>,
    Path(id): Path<i64>,
    Query(q): Query<UploadQuery>,
    req: Request,
) -> Response {
    let headers = req.headers().clone();
    let v = match s.viewer_who(&headers, Role::runs_campaigns).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let htmx = is_htmx(&headers);
    let key = valid_key(&q.upload).map(str::to_string);
    let now = (s.now_ms)();
    let name = match project_name(&s, id).await {
        Ok(n) => n,
        Err(r) => return r,
    };
    let max = max_bytes(&s);
    let refuse = |why: String, status: StatusCode| {
        if let Some(k) = &key {
            s.uploads.refuse(k, id, now, &why);
        }
        let sv = StatusView::plain("failed", Some(why), None);
        answer(&s, &v, id, name.clone(), sv, status, htmx)
    };
    let length = content_length(&headers);
    if length.is_some_and(|n| n > max) {
        let e = crate::api::error::ApiError::too_large("");
        return refuse(refusal_text(&e, max), StatusCode::PAYLOAD_TOO_LARGE);
    }
    let mut form = match Multipart::from_request(req, &s).await {
        Ok(f) => f,
        Err(e) => {
            return refuse(
                format!("Форма не прочитана: {}", e.body_text()),
                StatusCode::BAD_REQUEST,
            )
        }
    };
    // The session's token is the form's first field: checked before the file is read.
    let csrf = match form.next_field().await {
        Ok(Some(f)) if f.name() == Some("csrf") => f.text().await.unwrap_or_default(),
        _ => String::new(),
    };
    if !csrf_ok(&v, &csrf) {
        return csrf_refused(&v);
    }
    if let Some(k) = &key {
        s.uploads.start(k, id, now);
    }
    let (begun_tx, begun_rx) = tokio::sync::oneshot::channel();
    let watch = ImportWatch {
        size: length,
        begun: Some(begun_tx),
    };
    let uploads = s.uploads.clone();
    let note_key = key.clone();
    let noted = async move {
        let iid = begun_rx.await.ok()?;
        if let Some(k) = note_key {
            uploads.set_import(&k, iid);
        }
        Some(iid)
    };
    let (result, iid) = tokio::join!(import_form(&s.app, id, &mut form, watch), noted);
    match result {
        Ok(report) => {
            tracing::info!(user = %v.user.username, project = id, imported = report.imported, rejected = report.rejected_total, "contacts imported from the web");
            let sv = match iid {
                Some(iid) => import_view(&s, id, iid).await,
                None => Ok(StatusView::plain("none", None, None)),
            };
            match sv {
                Ok(sv) => answer(&s, &v, id, name, sv, StatusCode::OK, htmx),
                Err(r) => r.into_response(),
            }
        }
        Err(e) => refuse(refusal_text(&e, max), e.status),
    }
}

/// `GET /projects/{id}/import/{import_id}/rejected.csv`: every refused value kept, in file
/// order, streamed page by page.
pub async fn rejected_csv(
    State(s): State<WebState>,
    Path((id, import_id)): Path<(i64, i64)>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Err(r) = s.viewer_who(&headers, Role::runs_campaigns).await {
        return r.into_response();
    }
    match s.admin.import_status(import_id).await {
        Ok(Some(st)) if st.project_id == id => {}
        Ok(_) => return (StatusCode::NOT_FOUND, "Нет такого импорта").into_response(),
        Err(e) => return Refused::Failed(e.to_string()).into_response(),
    }
    let buf = SharedBuf::default();
    let mut csv = match CsvExport::new(buf.clone()) {
        Ok(c) => c,
        Err(e) => return Refused::Failed(e.to_string()).into_response(),
    };
    if let Err(e) = csv.header(&["Строка", "Значение", "Причина", "Подробно"])
    {
        return Refused::Failed(e.to_string()).into_response();
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let admin = s.admin.clone();
    tokio::spawn(async move {
        let mut after = 0;
        loop {
            let page = match admin.import_rejects(import_id, after, CSV_PAGE).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "the refused values' CSV stopped midway");
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return;
                }
            };
            let last = page.len() < CSV_PAGE as usize;
            for r in &page {
                let row = [
                    Cell::Int(r.row as i64),
                    Cell::Text(r.value.clone()),
                    Cell::Text(reject_label(&r.kind).into()),
                    Cell::Text(r.reason.clone()),
                ];
                if csv.row(&row).is_err() {
                    return;
                }
                after = r.seq;
            }
            if csv.flush().is_err() || tx.send(Ok(buf.take())).await.is_err() || last {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"project-{id}-import-{import_id}-rejected.csv\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}
