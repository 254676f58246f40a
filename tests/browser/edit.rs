//! Creating and editing a project in chromium (docs/users.md, "Creating and editing a
//! project"): a project created with a bad schedule shows the error at the field, fixed it is
//! created; started, its lines are cut from 5 to 1 while it runs and the projects page never
//! shows more than one line in use after that; its contacts not called yet are deleted after a
//! confirmation stating their count. Screenshots `20-edit-*`.
use crate::kit::{browser, driver, shot, sign_in, until_text};
use autoinformer::config::Secret;
use fantoccini::{Client, Locator};
use std::time::{Duration, Instant};

const PASSWORD: &str = "пароль-админа-1";

/// Replaces the text of the field with id `id`.
async fn type_into(c: &Client, id: &str, text: &str) {
    let e = c.find(Locator::Id(id)).await.expect("the field");
    e.clear().await.expect("clearing");
    e.send_keys(text).await.expect("typing");
}

async fn click(c: &Client, id: &str) {
    c.find(Locator::Id(id))
        .await
        .unwrap_or_else(|_| panic!("#{id}"))
        .click()
        .await
        .expect("clicking");
}

/// Scrolls the element with id `id` to the middle of the window (for the screenshot).
async fn scroll_to(c: &Client, id: &str) {
    c.execute(
        "document.getElementById(arguments[0]).scrollIntoView({block: 'center'});",
        vec![serde_json::json!(id)],
    )
    .await
    .expect("scrolling");
}

/// The project's "lines in use / lines" on the projects page.
async fn lines_cell(c: &Client, base: &str, p: i64) -> (u32, String) {
    c.goto(base).await.expect("the projects page");
    let text = c
        .find(Locator::Css(&format!(
            "tr[data-project=\"{p}\"] td:nth-child(3)"
        )))
        .await
        .expect("the lines cell")
        .text()
        .await
        .unwrap_or_default();
    let up = text
        .split('/')
        .next()
        .unwrap_or("")
        .trim()
        .parse()
        .unwrap_or(0);
    (up, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_is_created_edited_while_running_and_its_contacts_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let s = crate::server::start(dir.path(), |c| {
        c.admin_password = Secret(PASSWORD.into());
        // Numbers ending in 0 never answer: each call holds its line for the ring timeout.
        c.calls.ring_timeout_s = 4;
    })
    .await;
    let base = format!("http://{}", s.addr);
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

    let d = driver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&d, profile.path()).await;
    sign_in(&c, &base, "admin", PASSWORD).await;
    until_text(&c, "Проекты", Duration::from_secs(10)).await;

    // The form, from the projects page; a schedule that does not parse is shown at its field.
    click(&c, "new-project").await;
    until_text(&c, "Новый проект", Duration::from_secs(10)).await;
    shot(&c, "20-edit-new").await;
    type_into(&c, "f-name", "Показания счётчиков").await;
    type_into(&c, "f-schedule", "круглосуточно").await;
    type_into(&c, "f-lines", "5").await;
    click(&c, "save-project").await;
    let body = until_text(&c, "Проект не сохранён", Duration::from_secs(10)).await;
    let err = c
        .find(Locator::Id("err-schedule"))
        .await
        .expect("the error at the schedule")
        .text()
        .await
        .unwrap_or_default();
    assert!(
        err.contains("круглосуточно") && err.contains("ЧЧ:ММ"),
        "{err}\n{body}"
    );
    let kept = c
        .find(Locator::Id("f-name"))
        .await
        .expect("the name")
        .prop("value")
        .await
        .expect("its value");
    assert_eq!(
        kept.as_deref(),
        Some("Показания счётчиков"),
        "what was typed is kept"
    );
    scroll_to(&c, "err-schedule").await;
    shot(&c, "20-edit-error").await;
    // Fixed: created, on its page.
    type_into(&c, "f-schedule", "daily 00:00-24:00").await;
    click(&c, "save-project").await;
    until_text(&c, "Настройки проекта сохранены", Duration::from_secs(10)).await;
    let url = c.current_url().await.expect("the page's address");
    let p: i64 = url
        .path()
        .trim_start_matches("/projects/")
        .parse()
        .expect("the project's id");
    let v = s.get(&format!("/api/v1/projects/{p}")).await.json();
    assert_eq!(v["lines"], 5, "{v}");
    assert_eq!(v["schedule"][0], "daily 00:00-24:00", "{v}");

    // Forty contacts nobody answers; started from its page.
    let mut csv = String::from("ФИО;Телефон\n");
    for i in 0..40 {
        csv.push_str(&format!("Абонент {i};+7999556{i:03}0\n"));
    }
    let r = s
        .call(
            "POST",
            &format!("/api/v1/projects/{p}/contacts"),
            Some("text/csv"),
            csv.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    c.goto(&format!("{base}/projects/{p}"))
        .await
        .expect("its page");
    c.find(Locator::Css("form[action$=\"/activate\"] button"))
        .await
        .expect("the start button")
        .click()
        .await
        .expect("clicking");
    until_text(&c, "Пауза", Duration::from_secs(10)).await;
    // Several lines in use at once.
    let t = Instant::now();
    loop {
        let (up, text) = lines_cell(&c, &base, p).await;
        if up >= 2 {
            assert!(text.ends_with("/ 5"), "{text}");
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "never 2 lines up: {text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shot(&c, "20-edit-running").await;

    // The running project's lines go from 5 to 1.
    c.goto(&format!("{base}/projects/{p}"))
        .await
        .expect("its page");
    click(&c, "edit-project").await;
    until_text(&c, "Изменить проект", Duration::from_secs(10)).await;
    assert!(until_text(&c, "Проект идёт", Duration::from_secs(5))
        .await
        .contains("сразу"));
    type_into(&c, "f-lines", "1").await;
    scroll_to(&c, "f-name").await;
    shot(&c, "20-edit-form").await;
    scroll_to(&c, "retry-rules").await;
    shot(&c, "20-edit-form-rules").await;
    click(&c, "save-project").await;
    until_text(&c, "Настройки проекта сохранены", Duration::from_secs(10)).await;
    // The calls up finish as they began (4 s at most); from then on one line at most.
    let t = Instant::now();
    while lines_cell(&c, &base, p).await.0 > 1 {
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "the calls up never ended"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let t = Instant::now();
    let mut seen_one = false;
    while t.elapsed() < Duration::from_secs(8) {
        let (up, text) = lines_cell(&c, &base, p).await;
        assert!(up <= 1 && text.ends_with("/ 1"), "{text}");
        if up == 1 && !seen_one {
            seen_one = true;
            shot(&c, "20-edit-one-line").await;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(seen_one, "the project went on calling on its one line");

    // The contacts not called yet go, after a confirmation that states how many.
    c.goto(&format!("{base}/projects/{p}"))
        .await
        .expect("its page");
    let before = s.get(&format!("/api/v1/projects/{p}/stats")).await.json();
    assert!(
        before["contacts"]["not_called"].as_u64().unwrap_or(0) > 0,
        "{before}"
    );
    click(&c, "delete-not_called").await;
    let asked = c.get_alert_text().await.expect("the confirmation");
    assert!(
        asked.starts_with("Удалить ") && asked.contains("«не звонили»"),
        "{asked}"
    );
    c.accept_alert().await.expect("confirming");
    until_text(&c, "Удалено контактов:", Duration::from_secs(10)).await;
    shot(&c, "20-edit-deleted").await;
    let after = s.get(&format!("/api/v1/projects/{p}/stats")).await.json();
    assert_eq!(after["contacts"]["not_called"], 0, "{after}");
    assert!(
        after["contacts"]["in_call"].as_u64().unwrap_or(0) <= 1,
        "the call up was left alone: {after}"
    );
    c.close().await.expect("closing the browser");
    s.stop().await;
}
