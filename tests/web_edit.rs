//! The project form over HTTP (docs/users.md, "Creating and editing a project"): a manager
//! creates and edits a project through the same checks as the API, a refused value comes back
//! at its field with what was entered kept, an edit changes only what changed; a viewer is
//! refused every edit page and form (403), a forged or missing CSRF token is refused (403) and
//! changes nothing; deleting contacts by status from the project page. The same pages in a
//! real browser: `tests/browser/edit.rs`.
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;
#[path = "common/web.rs"]
mod web;

use autoinformer::config::Secret;
use serde_json::json;
use server::start;
use web::{csrf_field, page, post_form as post, sign_in};

const PASSWORD: &str = "пароль-админа-1";

/// Text as askama escaped it, back.
fn unescape(t: &str) -> String {
    t.replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#38;", "&")
}

/// The form as the page gives it (every field with its value), `changes` applied.
fn filled(html: &str, changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    // Inputs and selected options, read the simple way the page writes them.
    for part in html.split("<input").skip(1) {
        let tag = part.split('>').next().unwrap_or("");
        let attr = |a: &str| {
            tag.split(&format!(" {a}=\""))
                .nth(1)
                .map(|v| unescape(v.split('"').next().unwrap_or("")))
        };
        let Some(name) = attr("name") else { continue };
        if tag.contains("type=\"checkbox\"") && !tag.contains(" checked") {
            continue;
        }
        out.push((name, attr("value").unwrap_or_default()));
    }
    for part in html.split("<textarea").skip(1) {
        let name = part
            .split("name=\"")
            .nth(1)
            .and_then(|v| v.split('"').next());
        let text = part
            .split_once('>')
            .map(|(_, t)| t.split("</textarea>").next().unwrap_or(""));
        if let (Some(n), Some(t)) = (name, text) {
            out.push((n.to_string(), unescape(t)));
        }
    }
    for part in html.split("<select").skip(1) {
        let name = part
            .split("name=\"")
            .nth(1)
            .and_then(|v| v.split('"').next());
        let body = part.split("</select>").next().unwrap_or("");
        // A browser sends the first option when none is selected.
        let options: Vec<&str> = body.split("<option").skip(1).collect();
        let picked = options
            .iter()
            .find(|o| o.contains(" selected"))
            .or(options.first())
            .and_then(|o| o.split("value=\"").nth(1))
            .and_then(|v| v.split('"').next());
        if let (Some(n), Some(v)) = (name, picked) {
            out.push((n.to_string(), v.to_string()));
        }
    }
    for (k, v) in changes {
        match out.iter_mut().find(|(n, _)| n == k) {
            Some(x) => x.1 = v.to_string(),
            None => out.push((k.to_string(), v.to_string())),
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managers_create_and_edit_viewers_and_forged_forms_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |c| c.admin_password = Secret(PASSWORD.into())).await;
    let scenario = "name = \"Опрос\"\nresults = [\"Прослушал\"]\nstart = \"m\"\n\
                    [steps.m]\nplay = [\"transfer/connecting.wav\"]\nresult = \"Прослушал\"\n";
    let r = s
        .call(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            scenario.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let admin = sign_in(&s, "admin", PASSWORD).await;

    // The projects page links to the form; the form has every setting with its default.
    let home = page(&s, "/", &admin).await.text();
    assert!(home.contains("href=\"/projects/new\""), "{home}");
    let new = page(&s, "/projects/new", &admin).await;
    assert_eq!(new.status, 200, "{}", new.text());
    let html = new.text();
    for name in [
        "name",
        "scenario_id",
        "time_zone",
        "schedule",
        "starts_at",
        "ends_at",
        "types_work",
        "retry_busy_attempts",
        "retry_busy_minutes",
        "max_calls_per_number",
        "lines",
        "order",
        "callback_project_id",
        "per_second",
        "webhook_url",
        "webhook_secret",
        "queue_max_wait_s",
        "hold_music",
    ] {
        assert!(html.contains(&format!("name=\"{name}\"")), "{name}: {html}");
    }
    let csrf = csrf_field(&html);
    // A bad window: the page comes back with the error at the schedule and the values kept.
    let bad = filled(
        &html,
        &[
            ("name", "Опрос <жильцов>"),
            ("schedule", "mon-fri 9-21"),
            ("lines", "5"),
        ],
    );
    let pairs: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let a = post(&s, "/projects/new", &admin, &pairs).await;
    assert_eq!(a.status, 422, "{}", a.text());
    let back = a.text();
    assert!(back.contains("id=\"err-schedule\""), "{back}");
    assert!(back.contains("ЧЧ:ММ-ЧЧ:ММ"), "{back}");
    assert!(back.contains("mon-fri 9-21</textarea>"), "{back}");
    assert!(back.contains("value=\"Опрос &#60;жильцов&#62;\""), "{back}");
    assert!(!back.contains("<жильцов>"), "escaped");
    // A number that is not one, at its field.
    let bad = filled(
        &back,
        &[("lines", "пять"), ("schedule", "daily 09:00-21:00")],
    );
    let pairs: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let a = post(&s, "/projects/new", &admin, &pairs).await;
    assert_eq!(a.status, 422);
    assert!(a.text().contains("id=\"err-lines\""), "{}", a.text());
    // Fixed: created, then its page.
    let good = filled(&a.text(), &[("lines", "5")]);
    let pairs: Vec<(&str, &str)> = good.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let a = post(&s, "/projects/new", &admin, &pairs).await;
    assert_eq!(a.status, 303, "{}", a.text());
    let to = a.header("location").unwrap_or_default().to_string();
    assert!(to.starts_with("/projects/"), "{to}");
    let id: i64 = to["/projects/".len()..]
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let v = s.get(&format!("/api/v1/projects/{id}")).await.json();
    assert_eq!(
        (v["name"].clone(), v["lines"].clone(), v["schedule"].clone()),
        (
            json!("Опрос <жильцов>"),
            json!(5),
            json!(["daily 09:00-21:00"])
        )
    );
    // The same name again: at the name field.
    let a = post(&s, "/projects/new", &admin, &pairs).await;
    assert_eq!(a.status, 409, "{}", a.text());
    assert!(a.text().contains("id=\"err-name\""), "{}", a.text());

    // Editing: the page has a link; only what changed is an edit.
    let project_page = page(&s, &to, &admin).await.text();
    assert!(project_page.contains(&format!("href=\"/projects/{id}/edit\"")));
    assert!(
        project_page.contains("Настройки проекта сохранены"),
        "{project_page}"
    );
    let edit = page(&s, &format!("/projects/{id}/edit"), &admin)
        .await
        .text();
    let changed = filled(&edit, &[("lines", "1"), ("retry_busy_minutes", "5")]);
    let pairs: Vec<(&str, &str)> = changed
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let a = post(&s, &format!("/projects/{id}/edit"), &admin, &pairs).await;
    assert_eq!(a.status, 303, "{}", a.text());
    let v = s.get(&format!("/api/v1/projects/{id}")).await.json();
    assert_eq!(v["lines"], 1);
    assert_eq!(v["retry_rules"]["busy"]["interval_s"], 300);
    let log = s
        .get(&format!("/api/v1/projects/{id}/decisions?limit=5"))
        .await
        .json();
    assert!(
        log["items"].as_array().unwrap().iter().any(|d| d["reason"]
            .as_str()
            .unwrap_or("")
            .starts_with("settings changed: lines, retry_rules;")),
        "{log}"
    );
    // A bad value on the edit page: at its field, nothing saved.
    let bad = filled(&edit, &[("time_zone", "MSK")]);
    let pairs: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let a = post(&s, &format!("/projects/{id}/edit"), &admin, &pairs).await;
    assert_eq!(a.status, 422);
    assert!(a.text().contains("id=\"err-time_zone\""), "{}", a.text());
    assert_eq!(
        s.get(&format!("/api/v1/projects/{id}")).await.json()["time_zone"],
        "Europe/Moscow"
    );

    // A forged or missing token: 403, nothing changed.
    for token in ["forged", ""] {
        let forged = filled(&edit, &[("lines", "9"), ("csrf", token)]);
        let pairs: Vec<(&str, &str)> = forged
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        for path in [format!("/projects/{id}/edit"), "/projects/new".to_string()] {
            let a = post(&s, &path, &admin, &pairs).await;
            assert_eq!(a.status, 403, "{path} {token:?}: {}", a.text());
        }
        let a = post(
            &s,
            &format!("/projects/{id}/contacts/delete"),
            &admin,
            &[("csrf", token), ("status", "not_called")],
        )
        .await;
        assert_eq!(a.status, 403, "{}", a.text());
    }
    assert_eq!(
        s.get(&format!("/api/v1/projects/{id}")).await.json()["lines"],
        1
    );

    // Deleting contacts by status from the project page: the buttons state the counts.
    let mut csv = String::from("ФИО;Телефон\n");
    for i in 0..30 {
        csv.push_str(&format!("Абонент {i};+7999600{i:04}\n"));
    }
    let r = s
        .call(
            "POST",
            &format!("/api/v1/projects/{id}/contacts"),
            Some("text/csv"),
            csv.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let html = page(&s, &format!("/projects/{id}"), &admin).await.text();
    assert!(
        html.contains("data-confirm=\"Удалить 30 контакт(ов) со статусом «не звонили»?"),
        "{html}"
    );
    let a = post(
        &s,
        &format!("/projects/{id}/contacts/delete"),
        &admin,
        &[("csrf", &csrf), ("status", "not_called")],
    )
    .await;
    assert_eq!(a.status, 303, "{}", a.text());
    let html = page(&s, a.header("location").unwrap(), &admin).await.text();
    assert!(html.contains("Удалено контактов: 30"), "{html}");

    // A viewer: 403 on every edit page and form, and no links to them.
    let r = s
        .post_json(
            "/api/v1/users",
            json!({"username": "vera", "password": "пароль-веры", "role": "viewer"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let viewer = sign_in(&s, "vera", "пароль-веры").await;
    let home = page(&s, "/", &viewer).await.text();
    assert!(!home.contains("/projects/new"), "{home}");
    let pp = page(&s, &format!("/projects/{id}"), &viewer).await.text();
    assert!(
        !pp.contains("/edit\"") && !pp.contains("contacts/delete"),
        "{pp}"
    );
    let vcsrf = csrf_field(&home);
    for path in ["/projects/new".to_string(), format!("/projects/{id}/edit")] {
        let a = page(&s, &path, &viewer).await;
        assert_eq!(a.status, 403, "GET {path}: {}", a.text());
        assert!(a.text().contains("Нет доступа"));
        let a = post(&s, &path, &viewer, &[("csrf", &vcsrf), ("name", "x")]).await;
        assert_eq!(a.status, 403, "POST {path}: {}", a.text());
    }
    let a = post(
        &s,
        &format!("/projects/{id}/contacts/delete"),
        &viewer,
        &[("csrf", &vcsrf), ("status", "not_called")],
    )
    .await;
    assert_eq!(a.status, 403, "{}", a.text());
    // No session: the login form.
    let a = s
        .raw("GET", &format!("/projects/{id}/edit"), &[], b"")
        .await;
    assert_eq!(a.status, 303);
    assert_eq!(a.header("location"), Some("/login"));
    s.stop().await;
}
