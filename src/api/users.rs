//! Users and their API tokens in the API (docs/users.md), the admin's routes: create, list,
//! change (role, password, disabled), remove; make, list and revoke a user's tokens. A token
//! acts with its user's role; a password is kept only as its argon2id hash.
use super::error::{ApiError, ApiResult};
use super::present;
use super::schemas::ErrorBody;
use super::{parse_object, ApiBody, ApiPath, AppState, MAX_DOCUMENT_BYTES};
use crate::store::{StoreError, UserEdit, UserRow};
use crate::users::{password, Role};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

/// A user to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Unique in any letter case; 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub username: String,
    /// At least 8 characters; kept only as its hash.
    #[schema(min_length = 8, write_only)]
    pub password: String,
    /// `admin`, `manager`, `viewer` or `agent`.
    #[schema(value_type = RoleName)]
    pub role: String,
    /// The agent an `agent` user works as.
    #[serde(default)]
    pub agent_id: Option<i64>,
}

/// What to change of a user (the others stay).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    #[serde(default)]
    #[schema(value_type = Option<RoleName>)]
    pub role: Option<String>,
    #[serde(default)]
    #[schema(min_length = 8, write_only)]
    pub password: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
    /// The agent an `agent` user works as; `null` for none (other roles).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable)]
    pub agent_id: Option<Option<i64>>,
}

/// A role's name (docs/users.md, "Roles").
#[derive(ToSchema)]
#[allow(dead_code)] // the schema of the `role` strings
#[schema(rename_all = "snake_case")]
pub enum RoleName {
    Admin,
    Manager,
    Viewer,
    Agent,
}

/// A token to make.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What it is for (shown in lists).
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

fn role_of(text: &str) -> ApiResult<Role> {
    Role::parse(text).ok_or_else(|| {
        ApiError::invalid(format!(
            "role: {text:?} is not one of admin, manager, viewer, agent"
        ))
        .with_details(json!({ "field": "role" }))
    })
}

/// Only an `agent` user works as an agent.
fn no_agent(agent_id: Option<i64>) -> ApiResult<()> {
    match agent_id {
        None => Ok(()),
        Some(_) => Err(ApiError::invalid(
            "agent_id: only a user with the role agent works as an agent",
        )
        .with_details(json!({ "field": "agent_id" }))),
    }
}

async fn hash_of(pw: String) -> ApiResult<String> {
    password::check_new(&pw)
        .map_err(|e| ApiError::invalid(e).with_details(json!({ "field": "password" })))?;
    tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|e| ApiError::internal(format!("hashing task: {e}")))?
        .map_err(ApiError::internal)
}

fn view(u: &UserRow) -> Value {
    json!(u)
}

/// The other admins than `id` who can still sign in.
async fn other_admins(s: &AppState, id: i64) -> ApiResult<usize> {
    Ok(s.users
        .users()
        .await?
        .iter()
        .filter(|u| u.id != id && u.role == Role::Admin && !u.disabled)
        .count())
}

/// Create a user
#[utoipa::path(
    post,
    path = "/users",
    operation_id = "createUser",
    tag = "users",
    request_body(content = NewUser, content_type = "application/json"),
    responses(
        (status = 201, description = "The user.", body = Object),
        (status = 400, description = "The body is not JSON (`bad_request`).", body = ErrorBody),
        (status = 409, description = "The name is taken (`conflict`).", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB (`too_large`).", body = ErrorBody),
        (status = 422, description = "A bad name, role or agent, a password under 8 characters (`invalid`).", body = ErrorBody),
    )
)]
pub async fn create(
    State(s): State<AppState>,
    ApiBody(body): ApiBody<MAX_DOCUMENT_BYTES>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let u: NewUser = parse_object(&body, "a JSON object")?;
    let row = create_user(&s, &u.username, u.password, &u.role, u.agent_id).await?;
    Ok((StatusCode::CREATED, Json(view(&row))))
}

/// Creates a user (the name unique in any letter case, a password of at least 8 characters,
/// a known role): the API's route and the users page.
pub(crate) async fn create_user(
    s: &AppState,
    username: &str,
    password: String,
    role: &str,
    agent_id: Option<i64>,
) -> ApiResult<UserRow> {
    let role = role_of(role)?;
    if role != Role::Agent {
        no_agent(agent_id)?;
    }
    let hash = hash_of(password).await?;
    let id = s.users.create_user(username, &hash, role, agent_id).await?;
    s.users
        .user(id)
        .await?
        .ok_or_else(|| ApiError::internal("the user just made is gone"))
}

/// List users
#[utoipa::path(
    get,
    path = "/users",
    operation_id = "listUsers",
    tag = "users",
    responses((status = 200, description = "`items`: every user, by id.", body = Object))
)]
pub async fn list(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = s.users.users().await?.iter().map(view).collect();
    Ok(Json(json!({ "items": items })))
}

/// Change a user
///
/// A new role, password, agent or a disabling signs the user out everywhere.
#[utoipa::path(
    patch,
    path = "/users/{id}",
    operation_id = "changeUser",
    tag = "users",
    params(("id" = i64, Path, description = "The user's id.")),
    request_body(content = UserChange, content_type = "application/json"),
    responses(
        (status = 200, description = "The user.", body = Object),
        (status = 400, description = "The body is not JSON (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
        (status = 409, description = "It would leave no admin who can sign in (`conflict`).", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB (`too_large`).", body = ErrorBody),
        (status = 422, description = "A bad role, a password under 8 characters, an agent for a user who is not an `agent`, an agent that does not exist (`invalid`).", body = ErrorBody),
    )
)]
pub async fn change(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiBody(body): ApiBody<MAX_DOCUMENT_BYTES>,
) -> ApiResult<Json<Value>> {
    let c: UserChange = parse_object(&body, "a JSON object")?;
    let row = change_user(&s, id, c).await?;
    Ok(Json(view(&row)))
}

/// Changes a user's role, password, disabled flag or agent (`None`: unchanged); refuses to
/// leave no admin who can sign in. Only an `agent` user works as an agent (one without sees
/// on the desk that an admin names one); a user whose role changes from `agent` keeps none.
/// The API's route and the users page.
pub(crate) async fn change_user(s: &AppState, id: i64, c: UserChange) -> ApiResult<UserRow> {
    let user = s
        .users
        .user(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {id}")))?;
    let role = c.role.as_deref().map(role_of).transpose()?;
    let demoted = role.is_some_and(|r| r != Role::Admin) || c.disabled == Some(true);
    if user.role == Role::Admin && demoted && other_admins(s, id).await? == 0 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "this is the last admin who can sign in: make another admin first",
        ));
    }
    let agent_id = if role.unwrap_or(user.role) == Role::Agent {
        c.agent_id
    } else {
        no_agent(c.agent_id.flatten())?;
        // A user who no longer works as an agent keeps none.
        user.agent_id.map(|_| None)
    };
    let hash = match c.password {
        Some(p) => Some(hash_of(p).await?),
        None => None,
    };
    let edit = UserEdit {
        role,
        password_hash: hash.as_deref(),
        disabled: c.disabled,
        agent_id,
    };
    s.users.change_user(id, &edit).await.map_err(|e| match e {
        StoreError::Invalid(m) => ApiError::invalid(m).with_details(json!({ "field": "agent_id" })),
        other => other.into(),
    })?;
    s.users
        .user(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {id}")))
}

/// Remove a user
///
/// Their sessions and tokens go with them.
#[utoipa::path(
    delete,
    path = "/users/{id}",
    operation_id = "deleteUser",
    tag = "users",
    params(("id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 400, description = "The id is not a number (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
        (status = 409, description = "The last admin who can sign in (`conflict`).", body = ErrorBody),
    )
)]
pub async fn delete(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<StatusCode> {
    delete_user(&s, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a user (their sessions and tokens go with them), never the last admin who can sign
/// in. The API's route and the users page.
pub(crate) async fn delete_user(s: &AppState, id: i64) -> ApiResult<()> {
    let user = s
        .users
        .user(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {id}")))?;
    if user.role == Role::Admin && other_admins(s, id).await? == 0 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "this is the last admin who can sign in: make another admin first",
        ));
    }
    s.users.delete_user(id).await?;
    Ok(())
}

/// Make a token for a user
///
/// The token is in the answer once and never again (only its SHA-256 is kept); it acts with
/// the user's role.
#[utoipa::path(
    post,
    path = "/users/{id}/tokens",
    operation_id = "createToken",
    tag = "users",
    params(("id" = i64, Path, description = "The user's id.")),
    request_body(content = NewToken, content_type = "application/json"),
    responses(
        (status = 201, description = "`id`, `name`, `role` and the `token` (shown once).", body = Object),
        (status = 400, description = "The body is not JSON (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB (`too_large`).", body = ErrorBody),
        (status = 422, description = "No name (`invalid`).", body = ErrorBody),
    )
)]
pub async fn create_token(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiBody(body): ApiBody<MAX_DOCUMENT_BYTES>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let t: NewToken = parse_object(&body, "a JSON object")?;
    let (tid, token, role) = make_token(&s, id, &t.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": tid, "name": t.name.trim(), "role": role, "token": token })),
    ))
}

/// Makes a token for user `id`, acting with the user's role: answers its id, the token (shown
/// once: only its SHA-256 is kept) and the role. The API's route, the account and users pages.
pub(crate) async fn make_token(
    s: &AppState,
    id: i64,
    name: &str,
) -> ApiResult<(i64, String, Role)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(
            ApiError::invalid("name: 1 to 100 characters").with_details(json!({ "field": "name" }))
        );
    }
    let user = s
        .users
        .user(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {id}")))?;
    let token = crate::web::session::random_token();
    let tid = s.users.add_user_token(id, name, &token, user.role).await?;
    Ok((tid, token, user.role))
}

/// A user's tokens
#[utoipa::path(
    get,
    path = "/users/{id}/tokens",
    operation_id = "listTokens",
    tag = "users",
    params(("id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "`items`: the user's tokens (never the tokens themselves).", body = Object),
        (status = 400, description = "The id is not a number (`bad_request`).", body = ErrorBody),
    )
)]
pub async fn list_tokens(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "items": s.users.tokens(Some(id)).await? })))
}

/// Revoke a user's token
#[utoipa::path(
    delete,
    path = "/users/{id}/tokens/{token_id}",
    operation_id = "revokeToken",
    tag = "users",
    params(
        ("id" = i64, Path, description = "The user's id."),
        ("token_id" = i64, Path, description = "The token's id."),
    ),
    responses(
        (status = 204, description = "Revoked."),
        (status = 400, description = "An id is not a number (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such token of this user (`not_found`).", body = ErrorBody),
    )
)]
pub async fn revoke_token(
    State(s): State<AppState>,
    ApiPath((id, token_id)): ApiPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    if s.users.revoke_token(token_id, Some(id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "token {token_id} of user {id}"
        )))
    }
}
