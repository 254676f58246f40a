//! API tokens in the UI (docs/users.md, "Your account and API tokens"): every signed-in user
//! makes tokens of their own on `/account` (each acts with the user's role; shown once, then
//! only its name is listed) and revokes their own; the admin does the same for any user on
//! the user's page (`users`). The API's own `make_token` and the store's revoke do the work.
use super::admin::{no_store, when_text, FieldErrors};
use super::pages::{form_user, render};
use super::{Page, Refused, Viewer, WebState};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

pub struct TokenLine {
    pub id: i64,
    pub name: String,
    pub role: &'static str,
    pub created: String,
}

/// A token just made: shown once.
pub struct NewToken {
    pub name: String,
    pub token: String,
}

/// The tokens part of a page: the list, the form, a token just made.
pub struct Tokens {
    /// Where the forms go: `/account/tokens` or `/users/{id}/tokens`.
    pub base: String,
    pub items: Vec<TokenLine>,
    pub made: Option<NewToken>,
    pub errors: FieldErrors,
    pub notice: Option<String>,
}

/// User `user_id`'s tokens, listed under `base`.
pub async fn tokens_of(s: &WebState, user_id: i64, base: String) -> Result<Tokens, Refused> {
    let items = s
        .users
        .tokens(Some(user_id))
        .await
        .map_err(|e| Refused::Failed(e.to_string()))?
        .into_iter()
        .map(|t| TokenLine {
            id: t.id,
            name: t.name,
            role: t.role.label_ru(),
            created: when_text(t.created_at),
        })
        .collect();
    Ok(Tokens {
        base,
        items,
        made: None,
        errors: FieldErrors::new(),
        notice: None,
    })
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    page: Page,
    role: &'static str,
    agent_id: Option<i64>,
    t: Tokens,
}

#[derive(Deserialize)]
pub struct AccountQuery {
    revoked: Option<String>,
}

async fn account_page(
    s: &WebState,
    v: &Viewer,
    made: Option<NewToken>,
    errors: FieldErrors,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let mut t = match tokens_of(s, v.user.id, "/account/tokens".into()).await {
        Ok(t) => t,
        Err(r) => return r.into_response(),
    };
    let fresh = made.is_some();
    t.made = made;
    t.errors = errors;
    t.notice = notice;
    let res = render(
        &AccountPage {
            page: Page::new(Some(v), "/account"),
            role: v.user.role.label_ru(),
            agent_id: v.user.agent_id,
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

/// `GET /account`: the signed-in user and their tokens (every role).
pub async fn page(
    State(s): State<WebState>,
    Query(q): Query<AccountQuery>,
    headers: HeaderMap,
) -> Response {
    let v = match s.viewer(&headers).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let notice = q
        .revoked
        .map(|_| "Токен отозван: он больше не действует.".to_string());
    account_page(&s, &v, None, FieldErrors::new(), notice, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
}

/// Makes a token for `user_id` named as the form says: the token made, or the name's error.
pub async fn make(
    s: &WebState,
    user_id: i64,
    name: &str,
) -> Result<Result<NewToken, FieldErrors>, Response> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        let mut e = FieldErrors::new();
        e.insert(
            "token_name",
            "Назовите токен (до 100 символов): для чего он, например «выгрузка в CRM».".into(),
        );
        return Ok(Err(e));
    }
    match crate::api::users::make_token(&s.app, user_id, name).await {
        Ok((_, token, _)) => Ok(Ok(NewToken {
            name: name.to_string(),
            token,
        })),
        Err(e) => Err((e.status, e.message).into_response()),
    }
}

/// `POST /account/tokens`: a token of one's own, shown once.
pub async fn make_token(
    State(s): State<WebState>,
    headers: HeaderMap,
    Form(f): Form<TokenForm>,
) -> Response {
    let v = match form_user(&s, &headers, &f.csrf, |_| true).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    match make(&s, v.user.id, &f.name).await {
        Ok(Ok(t)) => {
            tracing::info!(user = %v.user.username, token = %t.name, "API token made from the web");
            account_page(&s, &v, Some(t), FieldErrors::new(), None, StatusCode::OK).await
        }
        Ok(Err(errors)) => {
            account_page(&s, &v, None, errors, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /account/tokens/{token_id}/revoke`: one's own token only.
pub async fn revoke_token(
    State(s): State<WebState>,
    Path(token_id): Path<i64>,
    headers: HeaderMap,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let v = match form_user(&s, &headers, &f.csrf, |_| true).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    match s.users.revoke_token(token_id, Some(v.user.id)).await {
        Ok(true) => {
            tracing::info!(user = %v.user.username, token = token_id, "API token revoked from the web");
            Redirect::to("/account?revoked=1").into_response()
        }
        Ok(false) => (StatusCode::NOT_FOUND, "Нет такого токена у вас").into_response(),
        Err(e) => Refused::Failed(e.to_string()).into_response(),
    }
}
