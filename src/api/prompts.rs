//! `PUT /prompts/{name}` (any supported audio format; 422 when it cannot be decoded) and
//! `GET /prompts`. A prompt is kept in the database (the source of truth) and written as a
//! file under the data directory, where scenarios find it before the bundled prompts.
use super::error::{ApiError, ApiResult};
use super::schemas::{Binary, ErrorBody, PromptList, PromptStored};
use super::{ApiBody, ApiPath, AppState, MAX_PROMPT_BYTES};
use crate::media::audio::decode_bytes_8k;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

/// Longest prompt name.
const MAX_NAME: usize = 128;

/// Whether a prompt name is a plain file name (no folders, no hidden files).
pub fn valid_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(format!("a prompt name has 1 to {MAX_NAME} characters"));
    }
    if name.starts_with('.') {
        return Err("a prompt name may not start with a dot".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(format!(
            "a prompt name has letters, digits, `_`, `-` and `.` only, not {c:?}"
        ));
    }
    Ok(())
}

/// Store a prompt
///
/// The body is the audio file (WAV, MP3, OGG/Vorbis or FLAC, any sample rate;
/// the format is told from the content, not the `Content-Type`). Calls started after a
/// replacement play the new one.
#[utoipa::path(
    put,
    path = "/prompts/{name}",
    operation_id = "putPrompt",
    tag = "prompts",
    params(("name" = String, Path,
        description = "1 to 128 letters (any script), digits, `_`, `-` and `.`; not starting with a dot (`приветствие_1.mp3`).",
        min_length = 1, max_length = 128, pattern = r"^[\w\-][\w.\-]{0,127}$")),
    request_body(description = "The audio file.", content(
        (Binary = "application/octet-stream"),
        (Binary = "audio/wav"),
        (Binary = "audio/mpeg"),
        (Binary = "audio/ogg"),
        (Binary = "audio/flac"),
    )),
    responses(
        (status = 201, description = "A new prompt.", body = PromptStored),
        (status = 200, description = "The prompt replaced one of that name.", body = PromptStored),
        (status = 400, description = "The body could not be read (`bad_request`).", body = ErrorBody),
        (status = 413, description = "The body is over 64 MiB (`too_large`); nothing was stored.", body = ErrorBody),
        (status = 422, description = "Not a valid name, or an audio file that does not decode (`invalid`); nothing was stored.", body = ErrorBody),
    )
)]
pub async fn put(
    State(s): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiBody(body): ApiBody<MAX_PROMPT_BYTES>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let stored = store_prompt(&s, &name, body).await?;
    let status = if stored.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({
            "name": name,
            "bytes": stored.bytes,
            "duration_ms": stored.samples.len() as u64 / 8,
        })),
    ))
}

/// A prompt decoded and stored.
pub struct StoredPrompt {
    /// No prompt had that name before.
    pub created: bool,
    pub bytes: usize,
    /// What calls play: the audio at 8 kHz.
    pub samples: Vec<i16>,
    /// The file it was written to.
    pub path: std::path::PathBuf,
}

/// Checks the name, decodes the audio (WAV, MP3, OGG/Vorbis, FLAC; 422 when it does not),
/// keeps the original in the database and as a file under the data directory, and has
/// loaded scenarios play the new audio from their next call: `PUT /prompts/{name}` and the
/// web UI's upload.
pub(crate) async fn store_prompt(
    s: &AppState,
    name: &str,
    body: axum::body::Bytes,
) -> ApiResult<StoredPrompt> {
    valid_name(name).map_err(ApiError::invalid)?;
    let hint = std::path::Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_string);
    let bytes = body.clone();
    let label = name.to_string();
    let samples =
        tokio::task::spawn_blocking(move || decode_bytes_8k(&bytes, hint.as_deref(), &label))
            .await
            .map_err(|e| ApiError::internal(format!("decoder task: {e}")))?
            .map_err(|e| {
                // The client's bad file: one line here, no ERROR (the decoders' own logs are off).
                tracing::info!(prompt = %name, bytes = body.len(), reason = %e, "prompt refused: the audio cannot be decoded");
                ApiError::invalid(format!("cannot decode the audio: {e}"))
            })?;
    let created = s.campaigns.put_prompt(name, &body).await?;
    let path = s.settings.uploaded_prompts.join(name);
    write_atomically(&path, &body)
        .await
        .map_err(|e| ApiError::internal(format!("{}: {e}", path.display())))?;
    s.settings.prompt_cache.invalidate(&path);
    Ok(StoredPrompt {
        created,
        bytes: body.len(),
        samples,
        path,
    })
}

/// The stored prompts.
#[utoipa::path(
    get,
    path = "/prompts",
    operation_id = "listPrompts",
    tag = "prompts",
    responses((status = 200, description = "Every stored prompt, by name.", body = PromptList))
)]
pub async fn list(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    let names: Vec<Value> = s
        .campaigns
        .prompts()
        .await?
        .into_iter()
        .map(|(name, data)| json!({ "name": name, "bytes": data.len() }))
        .collect();
    Ok(Json(json!({ "items": names })))
}

/// Writes a file through a temporary name and a rename: readers never see half a prompt.
pub async fn write_atomically(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".part");
    let tmp = std::path::PathBuf::from(tmp);
    tokio::fs::write(&tmp, data).await?;
    tokio::fs::rename(&tmp, path).await
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn prompt_names_are_plain_file_names() {
        assert!(valid_name("offer.wav").is_ok());
        assert!(valid_name("приветствие_1.mp3").is_ok());
        assert!(valid_name("../etc/passwd").is_err());
        assert!(valid_name("a/b.wav").is_err());
        assert!(valid_name(".hidden").is_err());
        assert!(valid_name("").is_err());
    }
}
