//! The web UI in a real browser: Debian's chromium, headless with a fresh profile, driven over
//! WebDriver (chromedriver, `fantoccini`). Signs in as admin and sees the projects, starts a
//! project and watches its calls come in from the sim carrier, on its page without reloading
//! (server-sent events), copies its contacts not called yet into another project, downloads its
//! XLSX export, is refused with a wrong password, signs in as a viewer who gets no buttons, and as an agent who goes available on
//! the agent desk. A screenshot of each step goes to `target/ui-screenshots/`.
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;

#[path = "browser/edit.rs"]
mod edit;
#[path = "browser/kit.rs"]
mod kit;

#[path = "browser/scenarios.rs"]
mod scenarios;

#[path = "browser/calls.rs"]
mod calls;

#[path = "browser/admin.rs"]
mod admin;
#[path = "browser/desk.rs"]
mod desk;

use autoinformer::config::Secret;
use fantoccini::{Client, Locator};
use kit::{browser, click_id, driver, shot, sign_in, sign_out, until_text};
use serde_json::json;
use std::time::{Duration, Instant};

const ADMIN_PASSWORD: &str = "пароль-админа-1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marketer_a_viewer_and_an_agent_use_the_ui_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let s = server::start(dir.path(), |c| {
        c.admin_password = Secret(ADMIN_PASSWORD.into());
        c.agents.sim.count = 1;
    })
    .await;
    let base = format!("http://{}", s.addr);
    // A project with ten contacts on the sim carrier, a viewer, an agent and their user.
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
    let sc = r.json()["id"].as_i64().unwrap();
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "Показания воды", "scenario_id": sc, "schedule": ["daily 00:00-24:00"], "lines": 5}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json()["id"].as_i64().unwrap();
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "Перезвон", "scenario_id": sc}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let mut csv = String::from("ФИО;Телефон\n");
    for i in 0..10 {
        csv.push_str(&format!("Абонент {i};+7999555{i:04}\n"));
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
    let r = s
        .post_json(
            "/api/v1/users",
            json!({"username": "vera", "password": "пароль-веры", "role": "viewer"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let agents = s.get("/api/v1/agents").await.json();
    let agent_id = agents["items"][0]["id"]
        .as_i64()
        .expect("the simulated agent");
    let r = s
        .post_json(
            "/api/v1/users",
            json!({"username": "anna", "password": "пароль-анны", "role": "agent", "agent_id": agent_id}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());

    let d = driver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&d, profile.path()).await;

    // A page without a session goes to the login form.
    c.goto(&base).await.expect("the site");
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("username"))
        .await
        .expect("the login form");
    shot(&c, "01-login").await;
    // A wrong password says so.
    sign_in(&c, &base, "admin", "не тот пароль").await;
    until_text(
        &c,
        "Неверное имя пользователя или пароль",
        Duration::from_secs(10),
    )
    .await;
    shot(&c, "02-login-wrong").await;
    // The admin signs in and sees the project, then starts it.
    sign_in(&c, &base, "admin", ADMIN_PASSWORD).await;
    until_text(&c, "Показания воды", Duration::from_secs(10)).await;
    shot(&c, "03-projects").await;
    c.find(Locator::Css(&format!("tr[data-project=\"{p}\"] button")))
        .await
        .expect("the start button")
        .click()
        .await
        .expect("clicking");
    until_text(&c, "идёт", Duration::from_secs(10)).await;
    // Calls come in from the sim carrier: reload until some are counted.
    let t = Instant::now();
    loop {
        c.goto(&base).await.expect("the projects page");
        let calls = c
            .find(Locator::Css(&format!(
                "tr[data-project=\"{p}\"] td:nth-child(5)"
            )))
            .await
            .expect("the calls cell")
            .text()
            .await
            .unwrap_or_default();
        if calls.trim().parse::<u64>().unwrap_or(0) >= 3 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "no calls counted");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    shot(&c, "04-projects-running").await;
    // The project's page: its figures move on their own (server-sent events), no reload.
    c.find(Locator::LinkText("Показания воды"))
        .await
        .expect("the project's link")
        .click()
        .await
        .expect("clicking");
    until_text(&c, "Журнал решений", Duration::from_secs(10)).await;
    let calls_now = |c: &Client| {
        let c = c.clone();
        async move {
            match c.find(Locator::Id("f-calls")).await {
                Ok(e) => e
                    .text()
                    .await
                    .unwrap_or_default()
                    .trim()
                    .parse::<u64>()
                    .unwrap_or(0),
                Err(_) => 0,
            }
        }
    };
    let first = calls_now(&c).await;
    let t = Instant::now();
    while calls_now(&c).await <= first {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the calls figure stayed at {first} on the open page"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        c.find(Locator::Css("#results-chart rect")).await.is_ok(),
        "a results chart"
    );
    shot(&c, "05-project-live").await;
    // The contacts not called yet go to the call-back project, after a confirmation.
    c.find(Locator::Css("select[name=status] option[value=not_called]"))
        .await
        .expect("the status option")
        .click()
        .await
        .expect("choosing");
    click_id(&c, "copy-contacts", "the copy button").await;
    c.accept_alert().await.expect("the confirmation");
    until_text(&c, "Скопировано контактов:", Duration::from_secs(10)).await;
    shot(&c, "05b-contacts-copied").await;
    // The XLSX export downloads with the session.
    let got = c
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             fetch(arguments[0]).then(r => r.arrayBuffer().then(b => done([r.status, \
             r.headers.get('content-type'), b.byteLength])));",
            vec![json!(format!(
                "/projects/{p}/export?report=calls&format=xlsx"
            ))],
        )
        .await
        .expect("fetching the export");
    assert_eq!(got[0], 200, "{got}");
    assert!(
        got[1]
            .as_str()
            .unwrap_or_default()
            .contains("spreadsheetml"),
        "{got}"
    );
    assert!(got[2].as_u64().unwrap_or(0) > 1000, "{got}");
    sign_out(&c).await;

    // The viewer reads the page without buttons.
    sign_in(&c, &base, "vera", "пароль-веры").await;
    let body = until_text(&c, "Показания воды", Duration::from_secs(10)).await;
    assert!(
        body.contains("наблюдатель") && !body.contains("Пауза"),
        "{body}"
    );
    assert!(
        c.find_all(Locator::Css("tr[data-project] button"))
            .await
            .expect("a query")
            .is_empty(),
        "no buttons for a viewer"
    );
    shot(&c, "06-viewer").await;
    sign_out(&c).await;

    // The agent works from the desk: goes available.
    sign_in(&c, &base, "anna", "пароль-анны").await;
    until_text(&c, "Рабочее место оператора", Duration::from_secs(10)).await;
    click_id(&c, "go-paused", "the break button").await;
    until_text(&c, "Перерыв", Duration::from_secs(10)).await;
    click_id(&c, "go-available", "the available button").await;
    until_text(&c, "Готов", Duration::from_secs(10)).await;
    shot(&c, "07-agent-desk").await;
    let live = s.get(&format!("/api/v1/agents/{agent_id}")).await.json();
    assert!(
        matches!(
            live["state"].as_str(),
            Some("available" | "ringing" | "talking" | "wrap_up")
        ),
        "{live}"
    );
    c.close().await.expect("closing the browser");
    s.stop().await;
}
