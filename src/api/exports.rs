//! `GET /projects/{id}/export?report=calls|last|contacts&format=csv|xlsx[&status=…]`
//! (docs/api.md): all calls, last results (one row per contact) or contacts (optionally of one
//! status), with Russian column names and labels, times in the project's zone. A report is one
//! sequence of pages from the store, written once for either format: CSV is streamed to the
//! client page by page (any size, bounded memory); XLSX is built in memory (Excel's row
//! limit applies) and compressed off the async threads.
use super::error::{ApiError, ApiResult};
use super::projects::check_status;
use super::schemas::{Binary, ContactStatus, ErrorBody};
use super::{ApiPath, ApiQuery, AppState};
use crate::export::{Cell, CsvExport, ExportError, XlsxExport};
use crate::store::ReportStore;
use crate::store::StoreError;
use crate::store::{ActionBrief, CallFilter, CallView, LastFilter, LastResult};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono_tz::Tz;
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use utoipa::{IntoParams, ToSchema};

/// Rows fetched per page while exporting.
const EXPORT_PAGE: u32 = 2_000;

/// Which report: every call, one row per contact with its newest call, or the contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Report {
    Calls,
    Last,
    Contacts,
}

/// The file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    Csv,
    Xlsx,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    #[param(inline)]
    report: Report,
    #[serde(default = "csv_default")]
    #[param(inline, default = "csv")]
    format: FileFormat,
    /// Only the contacts of this status (with `report=calls`: the calls of the contacts of
    /// this status).
    #[param(value_type = Option<ContactStatus>, inline)]
    status: Option<String>,
    /// Only calls with this result (`report=calls`), or contacts whose newest call has it
    /// (`report=last` and `report=contacts`): a system code or a result of the scenario.
    #[param(min_length = 1)]
    result: Option<String>,
}

fn csv_default() -> FileFormat {
    FileFormat::Csv
}

/// Pages of one report.
struct Pager {
    reports: Arc<dyn ReportStore>,
    project: i64,
    report: Report,
    status: Option<String>,
    result: Option<String>,
    tz: Tz,
    fields: Vec<String>,
    cursor: Option<i64>,
    done: bool,
}

impl Pager {
    fn header(&self) -> Vec<String> {
        let base: &[&str] = match self.report {
            Report::Calls => &[
                "Время",
                "Телефон",
                "Тип номера",
                "Контакт",
                "Результат",
                "Код результата",
                "Реакция",
                "Распознано",
                "Данные",
                "Длительность, с",
                "Разговор, с",
                "SIP",
                "Автоответчик",
                "Запись",
                "Стоимость, ₽",
                "Действия",
                "Перевод",
                "Итог разговора",
                "Заметка оператора",
                "Перезвонить",
            ],
            Report::Last => &[
                "Контакт",
                "Телефоны",
                "Типы номеров",
                "Статус",
                "Звонков",
                "Последний звонок",
                "Номер",
                "Результат",
                "Реакция",
                "Данные",
                "Стоимость, ₽",
            ],
            Report::Contacts => &[
                "Контакт",
                "Телефоны",
                "Типы номеров",
                "Статус",
                "Звонков",
                "Приоритет",
            ],
        };
        let mut h: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        if self.report != Report::Calls {
            h.extend(self.fields.iter().cloned());
        }
        h
    }

    /// The next page of rows; `None` after the last.
    async fn next(&mut self) -> Result<Option<Vec<Vec<Cell>>>, StoreError> {
        if self.done {
            return Ok(None);
        }
        let rows: Vec<Vec<Cell>> = match self.report {
            Report::Calls => {
                let calls = self
                    .reports
                    .list_calls(&CallFilter {
                        project_id: Some(self.project),
                        before_id: self.cursor,
                        limit: EXPORT_PAGE,
                        result: self.result.clone(),
                        contact_status: self.status.clone(),
                        ..Default::default()
                    })
                    .await?;
                self.done = (calls.len() as u32) < EXPORT_PAGE;
                self.cursor = calls.last().map(|c| c.id);
                calls.iter().map(|c| self.call_row(c)).collect()
            }
            Report::Last | Report::Contacts => {
                let items = self
                    .reports
                    .last_results_where(
                        self.project,
                        &LastFilter {
                            status: self.status.clone(),
                            result: self.result.clone(),
                            after: self.cursor.unwrap_or(0),
                            limit: EXPORT_PAGE,
                        },
                    )
                    .await?;
                self.done = (items.len() as u32) < EXPORT_PAGE;
                self.cursor = items.last().map(|c| c.contact_id);
                items.iter().map(|r| self.contact_row(r)).collect()
            }
        };
        Ok(if rows.is_empty() && self.done {
            None
        } else {
            Some(rows)
        })
    }

    fn time(&self, unix: Option<i64>) -> Cell {
        unix.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .map(|t| {
                t.with_timezone(&self.tz)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .into()
    }

    fn call_row(&self, c: &CallView) -> Vec<Cell> {
        vec![
            self.time(Some(c.started_at)),
            c.number.clone().into(),
            c.number_type.as_deref().map(number_type_ru).into(),
            c.contact_name.clone().into(),
            c.result_label.clone().into(),
            c.result.clone().into(),
            c.reaction.clone().into(),
            c.transcript.clone().into(),
            captured_text(&c.captured),
            c.duration_s.into(),
            c.talk_s.into(),
            c.sip_status.into(),
            c.amd
                .as_ref()
                .map(|a| match a.verdict.as_str() {
                    "human" => "человек".to_string(),
                    "machine" => "автоответчик".to_string(),
                    other => other.to_string(),
                })
                .into(),
            c.recording.clone().into(),
            Cell::Float(c.cost.rubles()),
            actions_text(&c.actions),
            transfer_text(c.transfer.as_ref()),
            c.wrap_up.as_ref().map(|w| w.disposition.clone()).into(),
            c.wrap_up
                .as_ref()
                .map(|w| w.note.clone())
                .filter(|n| !n.is_empty())
                .into(),
            self.time(c.wrap_up.as_ref().and_then(|w| w.callback_at)),
        ]
    }

    fn contact_row(&self, r: &LastResult) -> Vec<Cell> {
        let mut row = vec![
            r.name.clone().into(),
            r.numbers.join(", ").into(),
            r.number_types
                .iter()
                .map(|t| number_type_ru(t))
                .collect::<Vec<_>>()
                .join(", ")
                .into(),
            r.status_label.clone().into(),
            Cell::Int(r.calls),
        ];
        match self.report {
            Report::Contacts => row.push(Cell::Int(r.priority)),
            _ => {
                let k = r.last_call.as_ref();
                row.push(self.time(k.map(|k| k.started_at)));
                row.push(k.map(|k| k.number.clone()).into());
                row.push(k.and_then(|k| k.result_label.clone()).into());
                row.push(k.and_then(|k| k.reaction.clone()).into());
                row.push(k.map(|k| captured_text(&k.captured)).unwrap_or(Cell::Empty));
                row.push(
                    k.map(|k| Cell::Float(k.cost.rubles()))
                        .unwrap_or(Cell::Empty),
                );
            }
        }
        for f in &self.fields {
            row.push(r.fields.get(f).cloned().into());
        }
        row
    }
}

/// A call's actions in words: «SMS: доставлено; вебхук: не выполнено (timeout)».
/// A call's transfer in words (docs/agents.md, "The call's record"): who answered, the wait
/// and the talk; empty for a call without one.
fn transfer_text(t: Option<&serde_json::Value>) -> Cell {
    let Some(t) = t else {
        return Cell::Empty;
    };
    let secs = |k: &str| format!("{:.1}", t[k].as_f64().unwrap_or(0.0) / 1000.0).replace('.', ",");
    let to = if t["to"] == "agents" {
        match t["agent_id"].as_i64() {
            Some(id) => format!("оператор {id}"),
            None => "без оператора".to_string(),
        }
    } else {
        t["to"].as_str().unwrap_or_default().to_string()
    };
    let mut text = if t["answered"] == true {
        format!(
            "{to}: ожидание {} с, разговор {} с",
            secs("queue_ms"),
            secs("talk_ms")
        )
    } else {
        format!("{to}: ожидание {} с", secs("queue_ms"))
    };
    let misses = t["misses"].as_array().map_or(0, Vec::len);
    if misses > 0 {
        text.push_str(&format!(", не ответили: {misses}"));
    }
    text.into()
}

fn actions_text(actions: &[ActionBrief]) -> Cell {
    if actions.is_empty() {
        return Cell::Empty;
    }
    actions
        .iter()
        .map(|a| {
            let kind = match a.kind.as_str() {
                "sms" => "SMS",
                "add_to_project" => "в проект",
                "stop_list" => "в стоп-лист",
                "webhook" => "вебхук",
                other => other,
            };
            let status = match a.status.as_str() {
                "queued" => "в очереди",
                "sending" => "отправляется",
                "sent" => "отправлено",
                "delivered" => "доставлено",
                "done" => "выполнено",
                "failed" => "не выполнено",
                other => other,
            };
            match (&a.last_error, a.status.as_str()) {
                (Some(e), "failed") => format!("{kind}: {status} ({e})"),
                _ => format!("{kind}: {status}"),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
        .into()
}

/// A number type in the exports' language (`mobile` → «мобильный»); an unknown one as it is.
fn number_type_ru(t: &str) -> &str {
    match t {
        "mobile" => "мобильный",
        "work" => "рабочий",
        "home" => "домашний",
        "other" => "другой",
        other => other,
    }
}

/// Captured values as `name=value` pairs.
fn captured_text(v: &serde_json::Value) -> Cell {
    match v.as_object() {
        Some(m) if !m.is_empty() => m
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(&v.to_string())))
            .collect::<Vec<_>>()
            .join("; ")
            .into(),
        _ => Cell::Empty,
    }
}

fn export_error(e: ExportError) -> ApiError {
    match e {
        ExportError::TooManyRows { .. } | ExportError::TooManyColumns { .. } => {
            ApiError::invalid(e.to_string())
        }
        other => ApiError::internal(other.to_string()),
    }
}

/// The export of `uri`'s query for project `id` (the web UI's download links, behind its
/// session instead of a token); a bad query is the API's 400.
pub(crate) async fn export_for(s: &AppState, id: i64, uri: &axum::http::Uri) -> Response {
    match axum::extract::Query::<ExportQuery>::try_from_uri(uri) {
        Ok(axum::extract::Query(q)) => export(State(s.clone()), ApiPath(id), ApiQuery(q))
            .await
            .into_response(),
        Err(e) => ApiError::bad_request(format!("query: {}", e.body_text())).into_response(),
    }
}

/// Export a report
///
/// CSV (streamed; `;`-separated UTF-8 with a BOM, as Russian Excel opens
/// it) or XLSX (built in memory, at most Excel's 1,048,576 rows). Columns: docs/api.md,
/// "Exports".
#[utoipa::path(
    get,
    path = "/projects/{id}/export",
    operation_id = "exportReport",
    tag = "reports",
    params(("id" = i64, Path, description = "The project's id."), ExportQuery),
    responses(
        (status = 200, description = "The file, as an attachment (`project-{id}-{report}.{csv|xlsx}`).",
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"project-2-calls.csv\"`")),
            content(
                (String = "text/csv"),
                (Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            )),
        (status = 400, description = "The id is not a number; `report` missing; an unknown `report`, `format` or query parameter (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such project (`not_found`).", body = ErrorBody),
        (status = 422, description = "An unknown `status`, `status` with `report=calls`, or an XLSX over Excel's row limit (`invalid`).", body = ErrorBody),
    )
)]
pub async fn export(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    if let Some(st) = &q.status {
        check_status(st)?;
    }
    let project = s.campaigns.project(id).await?;
    if let Some(r) = &q.result {
        super::projects::check_result(&s, Some(id), r).await?;
    }
    let tz: Tz = project
        .time_zone
        .parse()
        .unwrap_or(chrono_tz::Europe::Moscow);
    let fields = s.reports.field_names(id).await?;
    let mut pager = Pager {
        reports: s.reports.clone(),
        project: id,
        report: q.report,
        status: q.status.clone(),
        result: q.result.clone(),
        tz,
        fields,
        cursor: None,
        done: false,
    };
    let report_name = match q.report {
        Report::Calls => "calls",
        Report::Last => "last-results",
        Report::Contacts => "contacts",
    };
    let header_names = pager.header();
    let names: Vec<&str> = header_names.iter().map(String::as_str).collect();
    match q.format {
        FileFormat::Xlsx => {
            let mut x = XlsxExport::new(&project.name).map_err(export_error)?;
            x.header(&names).map_err(export_error)?;
            while let Some(rows) = pager.next().await? {
                for r in rows {
                    x.row(&r).map_err(export_error)?;
                }
            }
            let bytes = tokio::task::spawn_blocking(move || x.finish())
                .await
                .map_err(|e| ApiError::internal(format!("export task: {e}")))?
                .map_err(export_error)?;
            Ok((
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                            .to_string(),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        disposition(id, report_name, "xlsx"),
                    ),
                ],
                bytes,
            )
                .into_response())
        }
        FileFormat::Csv => {
            // The first page is written before answering, so an early failure is still a
            // proper error response; later pages stream.
            let buf = SharedBuf::default();
            let mut csv = CsvExport::new(buf.clone()).map_err(export_error)?;
            csv.header(&names).map_err(export_error)?;
            let first = pager.next().await?;
            for r in first.iter().flatten() {
                csv.row(r).map_err(export_error)?;
            }
            csv.flush().map_err(export_error)?;
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
            let head = buf.take();
            tokio::spawn(async move {
                if tx.send(Ok(head)).await.is_err() || first.is_none() {
                    return;
                }
                loop {
                    let chunk = match pager.next().await {
                        Ok(Some(rows)) => rows
                            .iter()
                            .try_for_each(|r| csv.row(r))
                            .and_then(|()| csv.flush())
                            .map(|()| buf.take())
                            .map_err(|e| std::io::Error::other(e.to_string())),
                        Ok(None) => break,
                        Err(e) => Err(std::io::Error::other(e.to_string())),
                    };
                    let failed = chunk.is_err();
                    if let Err(e) = &chunk {
                        tracing::error!(error = %e, "export stopped midway");
                    }
                    if tx.send(chunk).await.is_err() || failed {
                        return;
                    }
                }
                if let Err(e) = csv.finish() {
                    tracing::error!(error = %e, "export: finishing the CSV");
                }
                let _ = tx.send(Ok(buf.take())).await;
            });
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            });
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        disposition(id, report_name, "csv"),
                    ),
                ],
                Body::from_stream(stream),
            )
                .into_response())
        }
    }
}

fn disposition(id: i64, report: &str, ext: &str) -> String {
    format!("attachment; filename=\"project-{id}-{report}.{ext}\"")
}

/// A byte buffer the CSV writer fills and the streamer empties between pages.
#[derive(Clone, Default)]
pub(crate) struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    pub(crate) fn take(&self) -> Bytes {
        self.0
            .lock()
            .map(|mut v| Bytes::from(std::mem::take(&mut *v)))
            .unwrap_or_default()
    }
}

impl std::io::Write for SharedBuf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("export buffer poisoned"))?
            .extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
