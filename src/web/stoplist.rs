//! The stop list page (docs/users.md, "Stop list"): every listed number, page by page, found by
//! the start of a number in any spelling; managers and admins add one number or a pasted list
//! (the API's own `add_to_stop_list`: every contact with a listed number is re-planned at once)
//! and take numbers off. Viewers read it.
use super::admin::{count_text, reject_label, when_text, FieldErrors};
use super::pages::{form_user, render};
use super::{Page, Refused, Viewer, WebState};
use crate::phone::normalize_ru;
use crate::users::Role;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

/// Numbers per page.
const PAGE: u32 = 50;
/// Numbers one form may add.
const MAX_ADDED: usize = 10_000;

pub struct Listed {
    pub number: String,
    pub reason: String,
    pub added: String,
}

pub struct NotANumber {
    pub value: String,
    pub why: &'static str,
}

#[derive(Template)]
#[template(path = "stop_list.html")]
struct StopListPage {
    page: Page,
    can_write: bool,
    q: String,
    rows: Vec<Listed>,
    /// The next page's cursor, when this one was full.
    next: Option<String>,
    paged: bool,
    notice: Option<String>,
    not_numbers: Vec<NotANumber>,
    numbers: String,
    reason: String,
    errors: FieldErrors,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    removed: Option<String>,
}

/// What a search stands for: the start of an E.164 number (`+7912`), from any spelling —
/// `8 912`, `7912…`, `912…`, `+7 (912) 345-67-89`. Empty: everything.
pub fn search_prefix(q: &str) -> String {
    if let Ok(n) = normalize_ru(q) {
        return n.e164;
    }
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return String::new();
    }
    if q.trim_start().starts_with('+') {
        return format!("+{digits}");
    }
    match digits.as_bytes()[0] {
        b'8' | b'7' => format!("+7{}", &digits[1..]),
        _ => format!("+7{digits}"),
    }
}

struct Shown {
    notice: Option<String>,
    not_numbers: Vec<NotANumber>,
    numbers: String,
    reason: String,
    errors: FieldErrors,
}

async fn list_page(
    s: &WebState,
    v: &Viewer,
    q: &ListQuery,
    shown: Shown,
    status: StatusCode,
) -> Response {
    let prefix = search_prefix(&q.q);
    let rows = match s.admin.stop_list_find(&prefix, &q.after, PAGE).await {
        Ok(r) => r,
        Err(e) => return Refused::Failed(e.to_string()).into_response(),
    };
    let next = (rows.len() == PAGE as usize)
        .then(|| rows.last().map(|r| r.0.clone()))
        .flatten();
    let rows = rows
        .into_iter()
        .map(|(number, reason, at)| Listed {
            number,
            reason,
            added: when_text(at),
        })
        .collect();
    render(
        &StopListPage {
            page: Page::new(Some(v), "/stop-list"),
            can_write: v.user.role.runs_campaigns(),
            q: q.q.clone(),
            rows,
            next,
            paged: !q.after.is_empty(),
            notice: shown.notice,
            not_numbers: shown.not_numbers,
            numbers: shown.numbers,
            reason: shown.reason,
            errors: shown.errors,
        },
        status,
    )
}

/// `GET /stop-list?q=…&after=…`.
pub async fn page(
    State(s): State<WebState>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    let v = match s.viewer_who(&headers, Role::reads).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let notice = q
        .removed
        .as_ref()
        .map(|n| format!("Номер {n} убран из стоп-листа."));
    let shown = Shown {
        notice,
        not_numbers: Vec::new(),
        numbers: String::new(),
        reason: String::new(),
        errors: FieldErrors::new(),
    };
    list_page(&s, &v, &q, shown, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    numbers: String,
    #[serde(default)]
    reason: String,
}

/// `POST /stop-list`: one number or a pasted list (one a line, or separated by `,` or `;`).
pub async fn add(
    State(s): State<WebState>,
    headers: HeaderMap,
    Form(f): Form<AddForm>,
) -> Response {
    let v = match form_user(&s, &headers, &f.csrf, Role::runs_campaigns).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let values: Vec<String> = f
        .numbers
        .split(['\n', '\r', ',', ';'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect();
    let mut errors = FieldErrors::new();
    if values.is_empty() {
        errors.insert(
            "numbers",
            "Введите номер или вставьте список номеров.".into(),
        );
    } else if values.len() > MAX_ADDED {
        errors.insert(
            "numbers",
            format!(
                "За раз — не больше {} номеров (здесь {}): разделите список.",
                count_text(MAX_ADDED as i64),
                count_text(values.len() as i64)
            ),
        );
    }
    let reason = f.reason.trim();
    if reason.chars().count() > 200 {
        errors.insert("reason", "Причина — не длиннее 200 символов.".into());
    }
    let q = ListQuery::default();
    if !errors.is_empty() {
        let shown = Shown {
            notice: None,
            not_numbers: Vec::new(),
            numbers: f.numbers.clone(),
            reason: f.reason.clone(),
            errors,
        };
        return list_page(&s, &v, &q, shown, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let reason = if reason.is_empty() {
        format!("добавлен в веб-интерфейсе ({})", v.user.username)
    } else {
        reason.to_string()
    };
    let (added, rejected) = match crate::api::add_to_stop_list(&s.app, &values, &reason).await {
        Ok(r) => r,
        Err(e) => return (e.status, e.message).into_response(),
    };
    tracing::info!(user = %v.user.username, added = added.len(), "numbers put on the stop list from the web");
    let not_numbers: Vec<NotANumber> = rejected
        .iter()
        .map(|(value, e)| NotANumber {
            value: value.clone(),
            why: reject_label(e.kind()),
        })
        .collect();
    let status = if added.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut errors = FieldErrors::new();
    if added.is_empty() {
        errors.insert(
            "numbers",
            "Ни одно значение не похоже на российский номер.".into(),
        );
    }
    let shown = Shown {
        notice: (!added.is_empty()).then(|| {
            format!(
                "В стоп-лист добавлено номеров: {}. Контакты с этими номерами больше не получат звонков.",
                count_text(added.len() as i64)
            )
        }),
        numbers: not_numbers
            .iter()
            .map(|n| n.value.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        not_numbers,
        reason: f.reason.clone(),
        errors,
    };
    list_page(&s, &v, &q, shown, status).await
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    q: String,
}

/// `POST /stop-list/remove`: one number off the list.
pub async fn remove(
    State(s): State<WebState>,
    headers: HeaderMap,
    Form(f): Form<RemoveForm>,
) -> Response {
    let v = match form_user(&s, &headers, &f.csrf, Role::runs_campaigns).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Ok(n) = normalize_ru(&f.number) else {
        return (StatusCode::UNPROCESSABLE_ENTITY, "Это не российский номер").into_response();
    };
    match s.app.campaigns.remove_from_stop_list(&n.e164).await {
        Ok(_) => {
            tracing::info!(user = %v.user.username, number = %n.e164, "number taken off the stop list from the web");
            let mut to = form_urlencoded_pair("removed", &n.e164);
            if !f.q.trim().is_empty() {
                to.push('&');
                to.push_str(&form_urlencoded_pair("q", f.q.trim()));
            }
            Redirect::to(&format!("/stop-list?{to}")).into_response()
        }
        Err(e) => Refused::Failed(e.to_string()).into_response(),
    }
}

/// `key=value` for a query string, the value percent-encoded.
fn form_urlencoded_pair(key: &str, value: &str) -> String {
    let mut out = format!("{key}=");
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_is_the_start_of_a_number_in_any_spelling() {
        assert_eq!(search_prefix("8 (912) 345-67-89"), "+79123456789");
        assert_eq!(search_prefix("8912"), "+7912");
        assert_eq!(search_prefix("7912"), "+7912");
        assert_eq!(search_prefix("912 34"), "+791234");
        assert_eq!(search_prefix("+7 91"), "+791");
        assert_eq!(search_prefix("  "), "");
        assert_eq!(search_prefix("abc"), "");
        assert_eq!(form_urlencoded_pair("removed", "+7912"), "removed=%2B7912");
    }
}
