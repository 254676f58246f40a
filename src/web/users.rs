//! The users page (docs/users.md, "Users"; the admin's): every user with their role, agent and
//! state; a form to add one (a user with the role `agent` names the agent they work as); each
//! user's page to change the role or the password, disable or enable, remove, and make or
//! revoke their API tokens. The API's own code does every change (`api::users`), so its rules
//! hold here too: names unique in any letter case, passwords of 8 characters or more, never
//! the last admin who can sign in demoted, disabled or removed.
use super::account::{make, tokens_of, CsrfOnly, NewToken, TokenForm, Tokens};
use super::admin::{field_of, no_store, when_text, FieldErrors};
use super::pages::{form_user, render};
use super::{Page, Refused, Viewer, WebState};
use crate::store::UserRow;
use crate::users::Role;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use std::collections::BTreeMap;

pub struct UserLine {
    pub id: i64,
    pub username: String,
    pub role: &'static str,
    pub agent: String,
    pub disabled: bool,
    pub created: String,
}

/// A new user's form as typed.
#[derive(Default)]
pub struct NewUserForm {
    pub username: String,
    pub role: String,
    pub agent_id: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    page: Page,
    users: Vec<UserLine>,
    roles: Vec<(&'static str, &'static str)>,
    agents: Vec<(i64, String)>,
    form: NewUserForm,
    errors: FieldErrors,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    page: Page,
    u: UserLine,
    role: &'static str,
    roles: Vec<(&'static str, &'static str)>,
    agents: Vec<(i64, String)>,
    /// The agent chosen (as typed, or the user's).
    agent_id: String,
    errors: FieldErrors,
    notice: Option<String>,
    t: Tokens,
}

fn roles() -> Vec<(&'static str, &'static str)> {
    Role::ALL
        .iter()
        .map(|r| (r.as_str(), r.label_ru()))
        .collect()
}

async fn agent_names(s: &WebState) -> Result<BTreeMap<i64, String>, Refused> {
    Ok(s.app
        .agent_store
        .agents()
        .await
        .map_err(|e| Refused::Failed(e.to_string()))?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect())
}

fn line(u: &UserRow, agents: &BTreeMap<i64, String>) -> UserLine {
    UserLine {
        id: u.id,
        username: u.username.clone(),
        role: u.role.label_ru(),
        agent: u
            .agent_id
            .map(|a| agents.get(&a).cloned().unwrap_or_else(|| format!("№ {a}")))
            .unwrap_or_default(),
        disabled: u.disabled,
        created: when_text(u.created_at),
    }
}

async fn users_page(
    s: &WebState,
    v: &Viewer,
    form: NewUserForm,
    errors: FieldErrors,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let agents = match agent_names(s).await {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let users = match s.users.users().await {
        Ok(u) => u.iter().map(|u| line(u, &agents)).collect(),
        Err(e) => return Refused::Failed(e.to_string()).into_response(),
    };
    let mut page = Page::new(Some(v), "/users");
    page.error = errors.get("").cloned();
    render(
        &UsersPage {
            page,
            users,
            roles: roles(),
            agents: agents.into_iter().collect(),
            form,
            errors,
            notice,
        },
        status,
    )
}

#[derive(Deserialize)]
pub struct UsersQuery {
    saved: Option<String>,
    deleted: Option<String>,
}

/// `GET /users`.
pub async fn page(
    State(s): State<WebState>,
    Query(q): Query<UsersQuery>,
    headers: HeaderMap,
) -> Response {
    let v = match s.viewer_who(&headers, Role::administers).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let notice = match (q.saved, q.deleted) {
        (Some(_), _) => Some("Пользователь добавлен.".to_string()),
        (_, Some(_)) => Some("Пользователь удалён.".to_string()),
        _ => None,
    };
    let form = NewUserForm {
        role: "viewer".into(),
        ..NewUserForm::default()
    };
    users_page(&s, &v, form, FieldErrors::new(), notice, StatusCode::OK).await
}

/// The API's refusal of a user form, next to its field, in Russian.
fn refusal(e: &crate::api::error::ApiError, errors: &mut FieldErrors) {
    if e.status == StatusCode::CONFLICT {
        if e.message.contains("last admin") {
            errors.insert(
                "",
                "Это последний администратор, который может войти: сначала назначьте \
                 администратором другого пользователя."
                    .into(),
            );
        } else {
            errors.insert("username", "Пользователь с таким именем уже есть.".into());
        }
        return;
    }
    let (key, text): (&'static str, String) = match field_of(e).as_deref() {
        Some("username") => (
            "username",
            "Имя: от 1 до 100 символов, без управляющих символов.".into(),
        ),
        Some("password") => (
            "password",
            "Пароль — не короче 8 символов (и не длиннее 1024).".into(),
        ),
        Some("role") => ("role", "Выберите роль.".into()),
        Some("agent_id") if e.message.contains("no such agent") => {
            ("agent_id", "Такого оператора нет.".into())
        }
        Some("agent_id") => (
            "agent_id",
            "Выберите оператора, за которого работает пользователь (только для роли «оператор»)."
                .into(),
        ),
        _ => ("", format!("Не сохранено: {}", e.message)),
    };
    errors.insert(key, text);
}

#[derive(Deserialize)]
pub struct NewUserFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    agent_id: String,
}

/// `POST /users`: a new user.
pub async fn create(
    State(s): State<WebState>,
    headers: HeaderMap,
    Form(f): Form<NewUserFields>,
) -> Response {
    let v = match form_user(&s, &headers, &f.csrf, Role::administers).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let mut errors = FieldErrors::new();
    let role = Role::parse(&f.role);
    if role.is_none() {
        errors.insert("role", "Выберите роль.".into());
    }
    let agent_id: Option<i64> = f.agent_id.trim().parse().ok();
    if role == Some(Role::Agent) && agent_id.is_none() {
        errors.insert(
            "agent_id",
            "Выберите оператора, за которого работает пользователь.".into(),
        );
    }
    if f.username.trim().is_empty() {
        errors.insert("username", "Введите имя пользователя.".into());
    }
    if errors.is_empty() {
        let agent_id = agent_id.filter(|_| role == Some(Role::Agent));
        match crate::api::users::create_user(&s.app, &f.username, f.password, &f.role, agent_id)
            .await
        {
            Ok(u) => {
                tracing::info!(user = %v.user.username, made = %u.username, role = %u.role, "user created from the web");
                return Redirect::to("/users?saved=1").into_response();
            }
            Err(e) => refusal(&e, &mut errors),
        }
    }
    let form = NewUserForm {
        username: f.username,
        role: f.role,
        agent_id: f.agent_id,
    };
    users_page(&s, &v, form, errors, None, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// The user's page, with what the last form did.
async fn show_user(
    s: &WebState,
    v: &Viewer,
    id: i64,
    errors: FieldErrors,
    notice: Option<String>,
    made: Option<NewToken>,
    status: StatusCode,
) -> Response {
    let u = match s.users.user(id).await {
        Ok(Some(u)) => u,
        Ok(None) => return (StatusCode::NOT_FOUND, "Нет такого пользователя").into_response(),
        Err(e) => return Refused::Failed(e.to_string()).into_response(),
    };
    let agents = match agent_names(s).await {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let mut t = match tokens_of(s, id, format!("/users/{id}/tokens")).await {
        Ok(t) => t,
        Err(r) => return r.into_response(),
    };
    let fresh = made.is_some();
    t.made = made;
    if let Some(e) = errors.get("token_name") {
        t.errors.insert("token_name", e.clone());
    }
    let mut page = Page::new(Some(v), "/users");
    page.error = errors.get("").cloned();
    let res = render(
        &UserPage {
            page,
            role: u.role.as_str(),
            agent_id: u.agent_id.map(|a| a.to_string()).unwrap_or_default(),
            u: line(&u, &agents),
            agents: agents.into_iter().collect(),
            roles: roles(),
            errors,
            notice,
            t,
        },
        status,
    );
    if fresh {
        no_store(res)
    } else {
        res
    }
}

#[derive(Deserialize)]
pub struct UserQuery {
    saved: Option<String>,
    revoked: Option<String>,
}

/// `GET /users/{id}`.
pub async fn user_page(
    State(s): State<WebState>,
    Path(id): Path<i64>,
    Query(q): Query<UserQuery>,
    headers: HeaderMap,
) -> Response {
    let v = match s.viewer_who(&headers, Role::administers).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let notice = match (q.saved, q.revoked) {
        (Some(_), _) => Some("Изменения сохранены.".to_string()),
        (_, Some(_)) => Some("Токен отозван: он больше не действует.".to_string()),
        _ => None,
    };
    show_user(&s, &v, id, FieldErrors::new(), notice, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct ChangeFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
    /// Present when the "may sign in" box is ticked.
    #[serde(default)]
    enabled: Option<String>,
    /// The agent an `agent` user works as.
    #[serde(default)]
    agent_id: String,
}

/// `POST /users/{id}`: a new role, a new password (empty: unchanged), disabled or enabled.
pub async fn change(
    State(s): State<WebState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(f): Form<ChangeFields>,
) -> Response {
    let v = match form_user(&s, &headers, &f.csrf, Role::administers).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let u = match s.users.user(id).await {
        Ok(Some(u)) => u,
        Ok(None) => return (StatusCode::NOT_FOUND, "Нет такого пользователя").into_response(),
        Err(e) => return Refused::Failed(e.to_string()).into_response(),
    };
    let mut errors = FieldErrors::new();
    let role = match Role::parse(&f.role) {
        Some(r) => Some(r).filter(|r| *r != u.role),
        None => {
            errors.insert("role", "Выберите роль.".into());
            None
        }
    };
    let password = Some(f.password).filter(|p| !p.is_empty());
    let disabled = Some(f.enabled.is_none()).filter(|d| *d != u.disabled);
    let agent_id = match f.agent_id.trim() {
        "" => None,
        a => match a.parse::<i64>() {
            Ok(a) => Some(a),
            Err(_) => {
                errors.insert("agent_id", "Такого оператора нет.".into());
                None
            }
        },
    };
    let agent_id = if role.unwrap_or(u.role) == Role::Agent {
        // None: the desk says an admin names the agent.
        Some(agent_id).filter(|a| *a != u.agent_id)
    } else {
        // The API clears the agent of a user who is not an agent.
        None
    };
    if errors.is_empty() {
        let change = crate::api::users::UserChange {
            role: role.map(|r| r.as_str().to_string()),
            password,
            disabled,
            agent_id,
        };
        match crate::api::users::change_user(&s.app, id, change).await {
            Ok(_) => {
                tracing::info!(user = %v.user.username, changed = %u.username, "user changed from the web");
                return Redirect::to(&format!("/users/{id}?saved=1")).into_response();
            }
            Err(e) => refusal(&e, &mut errors),
        }
    }
    show_user(
        &s,
        &v,
        id,
        errors,
        None,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// `POST /users/{id}/delete`.
pub async fn delete(
    State(s): State<WebState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let v = match form_user(&s, &headers, &f.csrf, Role::administers).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    match crate::api::users::delete_user(&s.app, id).await {
        Ok(()) => {
            tracing::info!(user = %v.user.username, removed = id, "user removed from the web");
            Redirect::to("/users?deleted=1").into_response()
        }
        Err(e) => {
            let mut errors = FieldErrors::new();
            refusal(&e, &mut errors);
            show_user(
                &s,
                &v,
                id,
                errors,
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// `POST /users/{id}/tokens`: a token for the user, shown once.
pub async fn make_token(
    State(s): State<WebState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(f): Form<TokenForm>,
) -> Response {
    let v = match form_user(&s, &headers, &f.csrf, Role::administers).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    match make(&s, id, &f.name).await {
        Ok(Ok(t)) => {
            tracing::info!(user = %v.user.username, for_user = id, token = %t.name, "API token made from the web");
            show_user(
                &s,
                &v,
                id,
                FieldErrors::new(),
                None,
                Some(t),
                StatusCode::OK,
            )
            .await
        }
        Ok(Err(errors)) => {
            show_user(
                &s,
                &v,
                id,
                errors,
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(r) => r,
    }
}

/// `POST /users/{id}/tokens/{token_id}/revoke`.
pub async fn revoke_token(
    State(s): State<WebState>,
    Path((id, token_id)): Path<(i64, i64)>,
    headers: HeaderMap,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let v = match form_user(&s, &headers, &f.csrf, Role::administers).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    match s.users.revoke_token(token_id, Some(id)).await {
        Ok(true) => {
            tracing::info!(user = %v.user.username, for_user = id, token = token_id, "API token revoked from the web");
            Redirect::to(&format!("/users/{id}?revoked=1")).into_response()
        }
        Ok(false) => (
            StatusCode::NOT_FOUND,
            "Нет такого токена у этого пользователя",
        )
            .into_response(),
        Err(e) => Refused::Failed(e.to_string()).into_response(),
    }
}
