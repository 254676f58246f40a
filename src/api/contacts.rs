//! Contacts in bulk (docs/api.md, "Contacts by status"): copy every contact of a status into
//! another project — the way to dial the unreached again with other settings — or delete them.
use super::error::ApiResult;
use super::schemas::{ContactStatus as ContactStatusSchema, ErrorBody};
use super::{parse_object, ApiBody, ApiPath, ApiQuery, AppState, MAX_DOCUMENT_BYTES};
use crate::rules::attempts::ContactStatus;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

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

/// Which contacts to delete.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeleteQuery {
    /// The contacts of this status (those in a call are never deleted).
    #[param(value_type = ContactStatusSchema, inline)]
    pub status: ContactStatus,
}

/// What a deletion did.
#[derive(serde::Serialize, ToSchema)]
pub struct Deleted {
    /// Contacts gone from the project.
    pub deleted: u64,
    /// Of these, the ones whose calls keep their history: hidden from every count, list and
    /// export, but still behind their calls.
    pub kept_for_history: u64,
}

/// Delete contacts by status
///
/// Every contact of `status`, never one in a call: it leaves the project's counts, lists and
/// exports, its numbers may be imported again. A contact that has calls stays in the database
/// behind them (calls keep their history). In batches of 500. `GET /projects/{id}/stats`
/// counts the contacts of each status first (`contacts`).
#[utoipa::path(
    delete,
    path = "/projects/{id}/contacts",
    operation_id = "deleteContacts",
    tag = "projects",
    params(("id" = i64, Path, description = "The project the contacts are in."), DeleteQuery),
    responses(
        (status = 200, description = "How many were deleted.", body = Deleted),
        (status = 400, description = "No `status`, an unknown one, or an unknown query parameter (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such project (`not_found`).", body = ErrorBody),
    )
)]
pub async fn delete(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> ApiResult<Json<Value>> {
    let n = s.campaigns.delete_contacts(id, q.status).await?;
    Ok(Json(json!(n)))
}
