//! The pages: signing in and out, the projects list with its buttons, the 403 page.
use super::{session, Page, Refused, Viewer, WebState};
use crate::users::{password, Role};
use askama::Template;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use std::net::SocketAddr;

/// Renders a template (a template that fails to render is a server error, logged).
pub(super) fn render(t: &impl Template, status: StatusCode) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => Refused::Failed(format!("rendering a page: {e}")).into_response(),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: Page,
    csrf: String,
    username: String,
}

#[derive(Template)]
#[template(path = "forbidden.html")]
struct ForbiddenPage {
    page: Page,
    role: &'static str,
}

/// The 403 page of a signed-in user whose role may not see what they asked for.
pub fn forbidden(v: &Viewer) -> Response {
    render(
        &ForbiddenPage {
            page: Page::new(Some(v), ""),
            role: v.user.role.label_ru(),
        },
        StatusCode::FORBIDDEN,
    )
}

/// The login form, with a fresh form token in its cookie.
fn login_page(username: &str, error: Option<String>, status: StatusCode) -> Response {
    let csrf = session::random_token();
    let mut page = Page::new(None, "/login");
    page.error = error;
    let mut res = render(
        &LoginPage {
            page,
            csrf: csrf.clone(),
            username: username.to_string(),
        },
        status,
    );
    res.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(session::LOGIN_CSRF_COOKIE, Some(&csrf), false),
    );
    res
}

/// `GET /login`.
pub async fn login_form(State(s): State<WebState>, headers: HeaderMap) -> Response {
    if s.viewer(&headers).await.is_ok() {
        return Redirect::to("/").into_response();
    }
    login_page("", None, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /login`: a session for a right user name and password; five failures a minute per
/// user or per address and the next ones wait.
pub async fn login(
    State(s): State<WebState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let cookie_token = session::cookie(&headers, session::LOGIN_CSRF_COOKIE).unwrap_or("");
    if f.csrf.is_empty() || !session::same_token(&f.csrf, cookie_token) {
        return login_page(
            &f.username,
            Some("Форма устарела или пришла не с этой страницы: войдите ещё раз.".into()),
            StatusCode::FORBIDDEN,
        );
    }
    let addr = from.ip().to_string();
    let now = (s.now_ms)();
    let wait = s
        .throttle
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .wait_ms(&f.username, &addr, now);
    if let Some(ms) = wait {
        tracing::warn!(user = %f.username, %addr, "login throttled");
        return login_page(
            &f.username,
            Some(format!(
                "Слишком много неудачных попыток входа. Попробуйте через {} с.",
                (ms + 999) / 1000
            )),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let user = match s.users.user_by_name(&f.username).await {
        Ok(u) => u,
        Err(e) => return Refused::Failed(e.to_string()).into_response(),
    };
    let phc = user
        .as_ref()
        .filter(|u| !u.disabled)
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| password::decoy().to_string());
    let pw = f.password.clone();
    let ok = tokio::task::spawn_blocking(move || password::verify(&pw, &phc))
        .await
        .unwrap_or(false);
    let Some(user) = user.filter(|u| ok && !u.disabled) else {
        s.throttle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .failed(&f.username, &addr, now);
        tracing::warn!(user = %f.username, %addr, "login failed");
        return login_page(
            &f.username,
            Some("Неверное имя пользователя или пароль.".into()),
            StatusCode::UNAUTHORIZED,
        );
    };
    s.throttle
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .succeeded(&f.username);
    let token = session::random_token();
    let csrf = session::random_token();
    if let Err(e) = s.users.create_session(&token, user.id, &csrf, now).await {
        return Refused::Failed(e.to_string()).into_response();
    }
    tracing::info!(user = %user.username, role = %user.role, %addr, "signed in");
    let secure = session::is_tls(&headers);
    let home = if user.role == Role::Agent {
        "/desk"
    } else {
        "/"
    };
    let mut res = Redirect::to(home).into_response();
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        session::set_cookie(session::SESSION_COOKIE, Some(&token), secure),
    );
    h.append(
        header::SET_COOKIE,
        session::set_cookie(session::LOGIN_CSRF_COOKIE, None, secure),
    );
    res
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// The signed-in user who sent a form: with its session's token and a role `allowed` (else
/// the answer: the login form, 403).
pub(super) async fn form_user(
    s: &WebState,
    headers: &HeaderMap,
    csrf: &str,
    allowed: fn(Role) -> bool,
) -> Result<Viewer, Box<Response>> {
    let v = s
        .viewer_who(headers, allowed)
        .await
        .map_err(|r| Box::new(r.into_response()))?;
    if csrf_ok(&v, csrf) {
        Ok(v)
    } else {
        Err(Box::new(csrf_refused(&v)))
    }
}

/// Whether a form carries its session's token.
pub(super) fn csrf_ok(v: &Viewer, sent: &str) -> bool {
    !sent.is_empty() && session::same_token(sent, &v.csrf)
}

/// The answer to a form without its session's token.
pub(super) fn csrf_refused(v: &Viewer) -> Response {
    tracing::warn!(user = %v.user.username, "a form without its session's CSRF token");
    (
        StatusCode::FORBIDDEN,
        "Форма пришла без проверочного кода этого сеанса (CSRF): обновите страницу.",
    )
        .into_response()
}

/// `POST /logout`.
pub async fn logout(
    State(s): State<WebState>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Err(r) = form_user(&s, &headers, &f.csrf, |_| true).await {
        return *r;
    }
    if let Some(token) = session::cookie(&headers, session::SESSION_COOKIE) {
        let _ = s.users.end_session(token).await;
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(session::SESSION_COOKIE, None, session::is_tls(&headers)),
    );
    res
}

/// One segment of a project's contacts bar.
pub struct Segment {
    pub class: &'static str,
    pub x: String,
    pub width: String,
}

/// One row of the projects page.
pub struct ProjectLine {
    pub id: i64,
    pub name: String,
    pub status: String,
    pub status_label: &'static str,
    pub status_reason: Option<String>,
    pub lines: i64,
    pub in_call: u64,
    pub contacts_total: u64,
    pub contacts_title: String,
    pub segments: Vec<Segment>,
    /// Today's (in the project's time zone).
    pub calls: u64,
    pub cost: String,
}

#[derive(Template)]
#[template(path = "projects.html")]
struct ProjectsPage {
    page: Page,
    rows: Vec<ProjectLine>,
    can_run: bool,
}

const STATUSES: [(&str, &str); 5] = [
    ("not_called", "не звонили"),
    ("in_call", "в звонке"),
    ("retry", "повтор"),
    ("reached", "дозвонились"),
    ("not_reached", "не дозвонились"),
];

pub(super) fn status_label(s: &str) -> &'static str {
    match s {
        "draft" => "черновик",
        "active" => "идёт",
        "paused" => "на паузе",
        "finished" => "завершён",
        _ => "—",
    }
}

/// The projects page's rows.
async fn project_lines(s: &WebState) -> Result<Vec<ProjectLine>, Refused> {
    let fail = |e: crate::store::StoreError| Refused::Failed(e.to_string());
    let mut out = Vec::new();
    for p in s.app.campaigns.list_projects().await.map_err(fail)? {
        let st = s.app.reports.stats(p.id).await.map_err(fail)?;
        // Today in the project's own time zone.
        let tz: chrono_tz::Tz = p.time_zone.parse().unwrap_or(chrono_tz::Europe::Moscow);
        let midnight = chrono::DateTime::from_timestamp_millis((s.now_ms)())
            .unwrap_or_default()
            .with_timezone(&tz)
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .and_then(|t| chrono::TimeZone::from_local_datetime(&tz, &t).earliest())
            .map_or(0, |t| t.timestamp());
        let (calls_today, cost_today) = s
            .app
            .reports
            .calls_since(p.id, midnight)
            .await
            .map_err(fail)?;
        let count = |k: &str| st.contacts.get(k).copied().unwrap_or(0);
        let total: u64 = STATUSES.iter().map(|(k, _)| count(k)).sum();
        let mut x = 0.0;
        let mut segments = Vec::new();
        for (k, _) in STATUSES {
            let w = if total == 0 {
                0.0
            } else {
                count(k) as f64 * 100.0 / total as f64
            };
            segments.push(Segment {
                class: k,
                x: format!("{x:.2}"),
                width: format!("{w:.2}"),
            });
            x += w;
        }
        let title = STATUSES
            .iter()
            .map(|(k, label)| format!("{label}: {}", count(k)))
            .collect::<Vec<_>>()
            .join(", ");
        out.push(ProjectLine {
            id: p.id,
            status_label: status_label(&p.status),
            status: p.status,
            status_reason: p.status_reason,
            name: p.name,
            lines: p.lines,
            in_call: count("in_call"),
            contacts_total: total,
            contacts_title: title,
            segments,
            calls: calls_today,
            cost: cost_today.decimal().replace('.', ","),
        });
    }
    Ok(out)
}

async fn projects_page(
    s: &WebState,
    v: &Viewer,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let rows = match project_lines(s).await {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    let mut page = Page::new(Some(v), "/");
    page.error = error;
    render(
        &ProjectsPage {
            page,
            rows,
            can_run: v.user.role.runs_campaigns(),
        },
        status,
    )
}

/// `GET /`: the projects (an agent goes to the desk).
pub async fn projects(State(s): State<WebState>, headers: HeaderMap) -> Response {
    let v = match s.viewer(&headers).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    if v.user.role == Role::Agent {
        return Redirect::to("/desk").into_response();
    }
    if !v.user.role.reads() {
        return forbidden(&v);
    }
    projects_page(&s, &v, None, StatusCode::OK).await
}

/// A start or pause button's form: the session's token and the page to go back to.
#[derive(Deserialize)]
pub struct ProjectButton {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
}

/// A start or pause: back to the page the button was on, or the refusal on the projects page.
async fn project_button(
    s: &WebState,
    headers: &HeaderMap,
    f: &ProjectButton,
    act: impl std::future::Future<Output = Result<(), crate::api::error::ApiError>>,
) -> Response {
    let v = match form_user(s, headers, &f.csrf, Role::runs_campaigns).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    // Only a project's page of this site (`/projects/7`); anything else goes home.
    let back = match f.back.strip_prefix("/projects/") {
        Some(id) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => f.back.as_str(),
        _ => "/",
    };
    match act.await {
        Ok(()) => Redirect::to(back).into_response(),
        Err(e) => projects_page(s, &v, Some(e.message), e.status).await,
    }
}

/// `POST /projects/{id}/activate`: as the API's, its refusal shown on the projects page.
pub async fn activate(
    State(s): State<WebState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(f): Form<ProjectButton>,
) -> Response {
    let app = s.app.clone();
    project_button(&s, &headers, &f, async move {
        crate::api::activate_project(&app, id).await
    })
    .await
}

/// `POST /projects/{id}/pause`.
pub async fn pause(
    State(s): State<WebState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(f): Form<ProjectButton>,
) -> Response {
    let app = s.app.clone();
    project_button(&s, &headers, &f, async move {
        app.campaigns
            .pause(id)
            .await
            .map(|_| ())
            .map_err(crate::api::error::ApiError::from)
    })
    .await
}
