//! The agent desk's preview buttons (docs/pacing.md, "Preview"): «Позвонить» dials the card's
//! contact and holds the agent for that call; «Пропустить» skips it with a reason. Both go to
//! the dialer as the API's `POST /agents/{id}/preview/call|skip` do; the desk then shows what
//! happened and, once the agent is free, the next card.
use super::desk::{page_with, FormView};
use super::pages::{forbidden, form_user};
use super::WebState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

/// `GET /desk?preview=called|skipped`: what the last press did.
#[derive(Debug, Default, Deserialize)]
pub struct DeskQuery {
    #[serde(default)]
    pub preview: Option<String>,
}

/// The note the desk shows after a press.
pub fn note_of(q: &Option<String>) -> Option<String> {
    match q.as_deref() {
        Some("called") => Some(
            "Звоним абоненту. Когда он ответит и робот переведёт звонок, карточка появится \
             выше; пока звонок идёт, другие звонки вам не поступают."
                .into(),
        ),
        Some("skipped") => Some("Контакт пропущен; причина записана в журнал решений.".into()),
        _ => None,
    }
}

#[derive(Deserialize)]
pub struct PressForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    contact_id: String,
    #[serde(default)]
    reason: String,
}

/// `POST /desk/preview/call`.
pub async fn call(
    State(s): State<WebState>,
    headers: HeaderMap,
    Form(f): Form<PressForm>,
) -> Response {
    press(s, headers, f, false).await
}

/// `POST /desk/preview/skip`.
pub async fn skip(
    State(s): State<WebState>,
    headers: HeaderMap,
    Form(f): Form<PressForm>,
) -> Response {
    press(s, headers, f, true).await
}

async fn press(s: WebState, headers: HeaderMap, f: PressForm, skip: bool) -> Response {
    let v = match form_user(&s, &headers, &f.csrf, |_| true).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some(id) = v.user.agent_id else {
        return forbidden(&v);
    };
    let Ok(contact) = f.contact_id.trim().parse::<i64>() else {
        return (StatusCode::UNPROCESSABLE_ENTITY, "contact_id: not a number").into_response();
    };
    let done = if skip {
        crate::api::skip_card(&s.app, id, contact, f.reason)
            .await
            .map(|_| "skipped")
    } else {
        crate::api::call_card(&s.app, id, contact)
            .await
            .map(|_| "called")
    };
    match done {
        Ok(what) => Redirect::to(&format!("/desk?preview={what}")).into_response(),
        Err(e) => {
            let note = format!(
                "{}: {}",
                if skip {
                    "Не пропущено"
                } else {
                    "Звонок не начат"
                },
                e.message
            );
            page_with(&s, &v, id, FormView::default(), e.status, Some(note)).await
        }
    }
}
