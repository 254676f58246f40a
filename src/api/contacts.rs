//! Contacts in bulk (docs/api.md, "Contacts by status"): copy every contact of a status into
//! another project — the way to dial the unreached again with other settings.
use super::error::ApiResult;
use super::schemas::{ContactStatus as ContactStatusSchema, ErrorBody};
use super::{parse_object, ApiBody, ApiPath, AppState, MAX_DOCUMENT_BYTES};
use crate::rules::attempts::ContactStatus;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

/// Which contacts go where.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyContacts {
    /// The contacts of this status.
    #[schema(value_type = ContactStatusSchema)]
    pub status: ContactStatus,
    /// Another existing project.
    pub to_project_id: i64,
}

/// Copy contacts by status into another project
///
/// Every contact of `status` becomes a new contact of the target, not yet called, with its
/// name, fields and priority; numbers the target has already or the stop list holds stay
/// behind (a contact left with none is skipped). Copied in batches of 500.
#[utoipa::path(
    post,
    path = "/projects/{id}/contacts/copy",
    operation_id = "copyContacts",
    tag = "projects",
    params(("id" = i64, Path, description = "The project the contacts are in.")),
    request_body(content = CopyContacts, content_type = "application/json"),
    responses(
        (status = 200, description = "`{matched, copied, skipped}`.", body = Object),
        (status = 400, description = "The body is not JSON (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such project (`not_found`).", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB (`too_large`).", body = ErrorBody),
        (status = 422, description = "An unknown status, a target that does not exist or is the project itself (`invalid`).", body = ErrorBody),
    )
)]
pub async fn copy(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiBody(body): ApiBody<MAX_DOCUMENT_BYTES>,
) -> ApiResult<Json<Value>> {
    let c: CopyContacts = parse_object(&body, "a JSON object with status and to_project_id")?;
    let n = s
        .campaigns
        .copy_contacts(id, c.status, c.to_project_id)
        .await?;
    Ok(Json(json!(n)))
}
