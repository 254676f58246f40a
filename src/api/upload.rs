//! `POST /projects/{id}/contacts`: a CSV or XLSX file as the body, or as the first file field
//! of a multipart form. The body is streamed into the importer (a blocking reader fed by a
//! channel), never held whole; a `Content-Length` over the limit is refused before reading,
//! and a stream that grows past it is refused with nothing imported (413). A limit on what the
//! file holds (what a spreadsheet unpacks to, rows, a row's or a cell's length, shared
//! strings) is refused with nothing imported too (422, `invalid`, the message saying what to
//! do). The answer is the import report, small however bad the file: the first problems
//! listed, all of them counted (`rejected_total`, `rejected_by_reason`).
use super::error::{ApiError, ApiResult};
use super::schemas::{Binary, ContactsForm, ErrorBody, ImportReport};
use super::{ApiPath, AppState};
use crate::import::ImportLimits;
use crate::store::ImportWatch;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::Json;
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::io::Read;
use tokio::sync::mpsc;

/// The largest multipart form the server reads (axum's `DefaultBodyLimit` on the routes that
/// take one): bigger files go as the body itself.
pub(crate) const MAX_FORM_BYTES: usize = 64 << 20;

/// Chunks in flight between the request and the importer.
const CHANNEL_CHUNKS: usize = 16;

/// A blocking `Read` over chunks sent from async code (read on the importer's thread).
pub struct ChannelReader {
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
    cur: Bytes,
}

impl ChannelReader {
    pub fn new() -> (mpsc::Sender<Result<Bytes, std::io::Error>>, Self) {
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        (
            tx,
            Self {
                rx,
                cur: Bytes::new(),
            },
        )
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        let _ = self.cur.split_to(n);
        Ok(n)
    }
}

/// Import contacts
///
/// The body is the contacts file — CSV (UTF-8 or Windows-1251, `;` or `,`),
/// XLSX, XLSM, XLSB, XLS or ODS, told from the content — or a `multipart/form-data` form whose
/// file field (or the field named `file`) holds it (forms: at most 64 MiB). The columns and
/// the answer are in docs/api.md, "Contacts import".
#[utoipa::path(
    post,
    path = "/projects/{id}/contacts",
    operation_id = "importContacts",
    tag = "projects",
    params(("id" = i64, Path, description = "The project's id.")),
    request_body(description = "The contacts file, or a form holding it.", content(
        (String = "text/csv"),
        (Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (Binary = "application/octet-stream"),
        (ContactsForm = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "Imported; the rows refused are counted and the first listed.", body = ImportReport),
        (status = 400, description = "The id is not a number, or a broken multipart form (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such project (`not_found`).", body = ErrorBody),
        (status = 409, description = "Another import into this project is running (`conflict`).", body = ErrorBody),
        (status = 413, description = "The file is over `import.max_bytes` (a spreadsheet: 256 MiB; `too_large`); nothing was imported.", body = ErrorBody),
        (status = 422, description = "A whole-file problem: empty, no phone column, damaged or not a spreadsheet, over a content limit (`invalid`); nothing was imported.", body = ErrorBody),
    )
)]
pub async fn import_contacts(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    req: Request,
) -> ApiResult<Json<Value>> {
    let length = content_length(req.headers());
    check_length(&s, length)?;
    s.campaigns.project(id).await?;
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("multipart/form-data"));
    let watch = ImportWatch {
        size: length,
        begun: None,
    };
    let report = if multipart {
        let mut form = Multipart::from_request(req, &s)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        import_form(&s, id, &mut form, watch).await?
    } else {
        let (tx, reader) = ChannelReader::new();
        let limits: ImportLimits = s.settings.import_limits;
        let import = s
            .campaigns
            .import_contacts_watched(id, Box::new(reader), limits, watch);
        let body: Body = req.into_body();
        let feed = async move {
            let mut stream = body.into_data_stream();
            while let Some(chunk) = stream.next().await {
                let item = chunk.map_err(|e| std::io::Error::other(e.to_string()));
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    break;
                }
            }
        };
        let ((), report) = tokio::join!(feed, import);
        report?
    };
    Ok(Json(json!(report)))
}

/// A request's `Content-Length`, if it has one.
pub(crate) fn content_length(headers: &axum::http::HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// Refuses before reading a file announced larger than `import.max_bytes`, or empty.
pub(crate) fn check_length(s: &AppState, length: Option<u64>) -> ApiResult<()> {
    let max = s.settings.import_limits.max_bytes;
    if length.is_some_and(|n| n > max) {
        return Err(ApiError::too_large(format!(
            "the file is larger than the limit of {max} bytes; nothing was imported"
        )));
    }
    if length == Some(0) {
        return Err(ApiError::invalid("the file is empty"));
    }
    Ok(())
}

/// Imports the contacts file of a multipart form: its next field that carries a file (or is
/// named `file`) is streamed into the import; fields before it are skipped (the web's form
/// reads its own first). The API's form and the web's import page share this.
pub(crate) async fn import_form(
    s: &AppState,
    id: i64,
    form: &mut Multipart,
    watch: ImportWatch,
) -> ApiResult<crate::import::ImportReport> {
    let (tx, reader) = ChannelReader::new();
    let limits: ImportLimits = s.settings.import_limits;
    let import = s
        .campaigns
        .import_contacts_watched(id, Box::new(reader), limits, watch);
    let feed = async move {
        loop {
            match form.next_field().await {
                Ok(Some(mut field)) => {
                    if field.file_name().is_none() && field.name() != Some("file") {
                        continue;
                    }
                    loop {
                        match field.chunk().await {
                            Ok(Some(c)) => {
                                if tx.send(Ok(c)).await.is_err() {
                                    return Ok(());
                                }
                            }
                            Ok(None) => return Ok(()),
                            Err(e) => {
                                let too_large = e.status() == StatusCode::PAYLOAD_TOO_LARGE;
                                let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                                return if too_large {
                                    Err(ApiError::too_large(format!(
                                        "the form is larger than the limit of {} MiB; nothing \
                                         was imported (send big files as the body itself)",
                                        MAX_FORM_BYTES >> 20
                                    )))
                                } else {
                                    Ok(())
                                };
                            }
                        }
                    }
                }
                Ok(None) => {
                    return Err(ApiError::invalid(
                        "the form has no file field (send the contacts file as `file`)",
                    ))
                }
                Err(e) => return Err(ApiError::bad_request(e.body_text())),
            }
        }
    };
    let (fed, report) = tokio::join!(feed, import);
    fed?;
    Ok(report?)
}
