//! The web UI (docs/users.md): server-rendered pages (askama templates, checked when the crate
//! compiles), htmx for partial updates, every script and stylesheet in the binary. Served by
//! `serve` beside the API. Every page needs a signed-in user whose role may see it; every form
//! carries the session's CSRF token; every answer carries the security headers (a CSP without
//! inline scripts or styles, no framing, no referrer to other sites).
mod account;
mod admin;
mod agents;
pub mod assets;
mod calls;
mod catalogue;
mod desk;
mod desk_preview;
pub mod graph;
pub mod hours;
mod import;
mod pages;
mod project;
mod project_form;
mod project_pacing;
mod prompts;
mod scenarios;
pub mod session;
pub mod settings;
mod stoplist;
mod timeline;
mod users;
mod waveform;

use crate::api::AppState;
use crate::store::{SessionRow, UserRow, UserStore};
use crate::users::throttle::Throttle;
use crate::users::Role;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::{Arc, Mutex};

/// What the pages share.
#[derive(Clone)]
pub struct WebState {
    pub app: AppState,
    pub users: Arc<dyn UserStore>,
    /// Unix ms (the injected clock).
    pub now_ms: Arc<dyn Fn() -> i64 + Send + Sync>,
    pub throttle: Arc<Mutex<Throttle>>,
    /// A session unused this long is over.
    pub idle_ms: i64,
    /// What the admin pages read (imports' progress, the stop list by prefix, counts).
    pub admin: Arc<dyn crate::store::AdminStore>,
    /// The server as the settings page shows it.
    pub server: Arc<settings::ServerFacts>,
    /// The import page's uploads, by the key the page gave each.
    pub uploads: import::Uploads,
    /// The project pages' calls by hour that are over (read once).
    pub hours: Arc<hours::HourCache>,
}

/// The signed-in user of a request.
#[derive(Clone)]
pub struct Viewer {
    pub user: UserRow,
    pub csrf: String,
}

/// What `Page::for_user` needs to draw the frame.
pub struct Page {
    pub user: Option<UserRow>,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub error: Option<String>,
    pub css: &'static assets::Asset,
    pub js: &'static assets::Asset,
    pub htmx: &'static assets::Asset,
    pub sse: &'static assets::Asset,
}

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub here: bool,
}

impl Page {
    pub fn new(viewer: Option<&Viewer>, here: &str) -> Self {
        let nav = viewer
            .map(|v| nav_for(v.user.role, here))
            .unwrap_or_default();
        Self {
            user: viewer.map(|v| v.user.clone()),
            csrf: viewer.map(|v| v.csrf.clone()).unwrap_or_default(),
            nav,
            error: None,
            css: assets::get("app.css"),
            js: assets::get("app.js"),
            htmx: assets::get("htmx.js"),
            sse: assets::get("htmx-sse.js"),
        }
    }
}

/// The menu a role sees.
fn nav_for(role: Role, here: &str) -> Vec<NavItem> {
    let mut items = Vec::new();
    if role.reads() {
        items.push(("/", "Проекты"));
        items.push(("/calls", "Звонки"));
    }
    if role.reads() {
        items.push(("/scenarios", "Сценарии"));
        items.push(("/prompts", "Аудиозаписи"));
    }
    if role == Role::Agent {
        items.push(("/desk", "Рабочее место"));
    }
    if role.runs_campaigns() {
        items.push(("/agents", "Операторы"));
    }
    if role.reads() {
        items.push(("/stop-list", "Стоп-лист"));
    }
    if role.administers() {
        items.push(("/users", "Пользователи"));
        items.push(("/settings", "Настройки"));
    }
    items.push(("/account", "Учётная запись"));
    items
        .into_iter()
        .map(|(href, label)| NavItem {
            href,
            label,
            here: href == here,
        })
        .collect()
}

/// The UI's routes.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(pages::projects))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/desk", get(desk::desk))
        .route("/desk/state", get(desk::state).post(desk::set_state))
        .route(
            "/projects/new",
            get(project_form::new_form).post(project_form::create),
        )
        .route("/calls", get(calls::page))
        .route("/calls/{id}", get(timeline::page))
        .route("/calls/{id}/recording", get(timeline::recording))
        .route("/desk/live", get(desk::live))
        .route("/desk/wrap-up", post(desk::wrap_up))
        .route("/desk/preview/call", post(desk_preview::call))
        .route("/desk/preview/skip", post(desk_preview::skip))
        .route("/projects/{id}", get(project::page))
        .route(
            "/projects/{id}/edit",
            get(project_form::edit_form).post(project_form::save),
        )
        .route("/projects/{id}/contacts/delete", post(project::delete))
        .route("/projects/{id}/live", get(project::live))
        .route("/projects/{id}/export", get(project::export))
        .route("/projects/{id}/contacts/copy", post(project::copy))
        .route("/projects/{id}/activate", post(pages::activate))
        .route("/projects/{id}/pause", post(pages::pause))
        .route("/scenarios", get(scenarios::list).post(scenarios::save))
        .route("/scenarios/new", get(scenarios::new))
        .route("/scenarios/{id}", get(scenarios::show))
        .route(
            "/prompts",
            get(prompts::page)
                .post(prompts::upload)
                // The upload reads its own limit (and says so in the page).
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/prompts/table", get(prompts::table_part))
        .route("/prompts/audio", get(prompts::audio))
        .route(
            "/projects/{id}/import",
            get(import::page)
                .post(import::upload)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::api::upload::MAX_FORM_BYTES,
                )),
        )
        .route("/projects/{id}/import/status", get(import::status))
        .route(
            "/projects/{id}/import/{import_id}/rejected.csv",
            get(import::rejected_csv),
        )
        .route("/agents", get(agents::page).post(agents::create))
        .route("/agents/table", get(agents::table))
        .route("/agents/{id}", get(agents::edit_form).post(agents::change))
        .route("/stop-list", get(stoplist::page).post(stoplist::add))
        .route("/stop-list/remove", post(stoplist::remove))
        .route("/users", get(users::page).post(users::create))
        .route("/users/{id}", get(users::user_page).post(users::change))
        .route("/users/{id}/delete", post(users::delete))
        .route("/users/{id}/tokens", post(users::make_token))
        .route(
            "/users/{id}/tokens/{token_id}/revoke",
            post(users::revoke_token),
        )
        .route("/account", get(account::page))
        .route("/account/tokens", post(account::make_token))
        .route(
            "/account/tokens/{token_id}/revoke",
            post(account::revoke_token),
        )
        .route("/settings", get(settings::page))
        .route("/static/{name}", get(assets::serve))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

/// The headers every page and file carries.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             media-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; \
             base-uri 'self'; form-action 'self'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// Why a request has no page: not signed in (to the login form), or a role that may not see
/// it (403 page).
pub enum Refused {
    SignIn,
    Forbidden(Viewer),
    Failed(String),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::SignIn => Redirect::to("/login").into_response(),
            Refused::Forbidden(v) => pages::forbidden(&v),
            Refused::Failed(why) => {
                tracing::error!(error = %why, "a page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Внутренняя ошибка; подробности в журнале сервера",
                )
                    .into_response()
            }
        }
    }
}

impl WebState {
    /// The request's signed-in user, if its session is valid and not idle too long (a
    /// session used again is touched at most once a minute).
    pub async fn viewer(&self, headers: &HeaderMap) -> Result<Viewer, Refused> {
        let Some(token) = session::cookie(headers, session::SESSION_COOKIE) else {
            return Err(Refused::SignIn);
        };
        let s: Option<SessionRow> = self
            .users
            .session(token)
            .await
            .map_err(|e| Refused::Failed(e.to_string()))?;
        let Some(s) = s else {
            return Err(Refused::SignIn);
        };
        let now = (self.now_ms)();
        if now - s.last_seen > self.idle_ms {
            let _ = self.users.end_session(token).await;
            return Err(Refused::SignIn);
        }
        if now - s.last_seen > 60_000 {
            let _ = self.users.touch_session(token, now).await;
        }
        Ok(Viewer {
            user: s.user,
            csrf: s.csrf,
        })
    }

    /// As `viewer`, for a page that needs `allowed(role)`.
    pub async fn viewer_who(
        &self,
        headers: &HeaderMap,
        allowed: fn(Role) -> bool,
    ) -> Result<Viewer, Refused> {
        let v = self.viewer(headers).await?;
        if allowed(v.user.role) {
            Ok(v)
        } else {
            Err(Refused::Forbidden(v))
        }
    }
}
