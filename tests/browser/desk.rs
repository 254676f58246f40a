//! The agent desk in chromium (docs/users.md, "The agent desk"): an agent signs in, goes
//! available, and sees a transferred call's card appear without reloading (server-sent
//! events); after the call the wrap-up form takes a disposition, a note and a call back, and
//! the agent is available again. Screenshots `60-desk-*`; the project's chart by hour too.
use crate::kit::{browser, click_id, driver, shot, sign_in, until_text};
use crate::server;
use autoinformer::config::Secret;
use fantoccini::Locator;
use serde_json::json;
use std::time::{Duration, Instant};

const CALLER: &str = "+79995550102";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_sees_the_transferred_calls_card_and_wraps_the_call_up() {
    let dir = tempfile::tempdir().unwrap();
    let s = server::start(dir.path(), |c| {
        c.admin_password = Secret("пароль-админа-1".into());
        c.agents.sim.count = 1;
        // Long enough rings and talks for the screenshots.
        c.agents.sim.answer_min_s = 2.0;
        c.agents.sim.answer_max_s = 2.5;
        c.agents.sim.talk_min_s = 4.0;
        c.agents.sim.talk_max_s = 5.0;
        c.trunk.sim.numbers.insert(CALLER.into(), "keys:1".into());
    })
    .await;
    let base = format!("http://{}", s.addr);
    let scenario = "name = \"Запись\"\nresults = [\"Оператор\"]\nstart = \"q\"\n\
                    [steps.q]\nplay = [\"transfer/connecting.wav\"]\n\
                    listen = { dtmf = true, wait_s = 8 }\n\
                    [[steps.q.on]]\ndtmf = \"1\"\nresult = \"Оператор\"\n\
                    actions = [{ transfer = \"agents\" }]\n";
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
            json!({"name": "Перезвон", "scenario_id": sc}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let callback = r.json()["id"].as_i64().unwrap();
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({
                "name": "Запись в салон",
                "scenario_id": sc,
                "schedule": ["daily 00:00-24:00"],
                "lines": 1,
                "callback_project_id": callback,
                "transfer": {"wrap_up_s": 3600},
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json()["id"].as_i64().unwrap();
    let csv = format!(
        "ФИО;Телефон;Лицевой счёт;Услуга\nПетрова Анна;{CALLER};100201;<script>alert(1)</script>стрижка\n"
    );
    let r = s
        .call(
            "POST",
            &format!("/api/v1/projects/{p}/contacts"),
            Some("text/csv"),
            csv.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let agent = s.get("/api/v1/agents").await.json()["items"][0]["id"]
        .as_i64()
        .expect("the simulated agent");
    let r = s
        .post_json(
            "/api/v1/users",
            json!({"username": "olga", "password": "пароль-ольги", "role": "agent", "agent_id": agent}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());

    let d = driver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&d, profile.path()).await;
    // The agent signs in, takes a break and comes back: available, no call yet.
    sign_in(&c, &base, "olga", "пароль-ольги").await;
    until_text(&c, "Рабочее место оператора", Duration::from_secs(10)).await;
    click_id(&c, "go-paused", "the break button").await;
    until_text(&c, "Перерыв", Duration::from_secs(10)).await;
    click_id(&c, "go-available", "the available button").await;
    until_text(&c, "Звонка нет", Duration::from_secs(10)).await;
    shot(&c, "60-desk-waiting").await;

    // A caller presses 1: the card appears on the open page as the phone rings.
    let r = s
        .call("POST", &format!("/api/v1/projects/{p}/activate"), None, b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = until_text(&c, "Петрова Анна", Duration::from_secs(30)).await;
    assert!(body.contains("100201") && body.contains(CALLER), "{body}");
    assert!(
        body.contains("<script>alert(1)</script>стрижка"),
        "the field shows as text: {body}"
    );
    shot(&c, "61-desk-card").await;
    // The agent answered and hung up: the wrap-up form, the state after the call.
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Id("wrap-disposition"))
        .await
        .expect("the wrap-up form");
    until_text(&c, "После звонка", Duration::from_secs(15)).await;
    c.find(Locator::XPath(
        "//select[@id='wrap-disposition']/option[text()='Перезвонить']",
    ))
    .await
    .expect("the disposition")
    .click()
    .await
    .expect("choosing");
    c.find(Locator::Id("wrap-note"))
        .await
        .expect("the note")
        .send_keys("Просит перезвонить завтра утром")
        .await
        .expect("typing");
    let tomorrow = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Moscow)
        .date_naive()
        + chrono::Days::new(1);
    let at = format!("{}T10:00", tomorrow.format("%Y-%m-%d"));
    c.execute(
        "document.getElementById('wrap-callback').value = arguments[0];",
        vec![json!(at)],
    )
    .await
    .expect("setting the call back");
    shot(&c, "62-desk-wrap-up").await;
    click_id(&c, "wrap-up-submit", "the button").await;
    until_text(&c, "Итог записан: Перезвонить", Duration::from_secs(10)).await;
    let t = Instant::now();
    loop {
        let state = c
            .find(Locator::Css("#desk-state .card"))
            .await
            .expect("the state card")
            .attr("data-state")
            .await
            .expect("its state");
        if state.as_deref() == Some("available") {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(5), "state {state:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shot(&c, "63-desk-wrapped-up").await;
    let a = s.get(&format!("/api/v1/agents/{agent}")).await.json();
    assert_eq!(a["state"], "available", "{a}");
    let calls = s.get(&format!("/api/v1/calls?project_id={p}")).await.json();
    assert_eq!(
        calls["items"][0]["wrap_up"]["disposition"], "Перезвонить",
        "{calls}"
    );

    // The manager's view: the project's calls and answer rate by hour.
    crate::kit::sign_out(&c).await;
    sign_in(&c, &base, "admin", "пароль-админа-1").await;
    until_text(&c, "Запись в салон", Duration::from_secs(10)).await;
    c.goto(&format!("{base}/projects/{p}"))
        .await
        .expect("the project's page");
    until_text(&c, "Звонки по часам", Duration::from_secs(10)).await;
    assert!(
        c.find(Locator::Css("#hours-chart circle.rate"))
            .await
            .is_ok(),
        "an answer-rate point"
    );
    c.execute(
        "document.getElementById('hours-chart').scrollIntoView({block: 'center'});",
        vec![],
    )
    .await
    .expect("scrolling to the chart");
    shot(&c, "64-desk-project-hours").await;
    // The call's page: the agent's wrap-up beside the contact file's columns.
    let call = calls["items"][0]["id"].as_i64().unwrap();
    c.goto(&format!("{base}/calls/{call}"))
        .await
        .expect("the call's page");
    until_text(&c, "Итог оператора", Duration::from_secs(10)).await;
    c.execute(
        "document.getElementById('contact-fields').scrollIntoView({block: 'start'});",
        vec![],
    )
    .await
    .expect("scrolling to the contact's columns");
    shot(&c, "65-call-wrapped-up").await;
    c.close().await.expect("closing the browser");
    s.stop().await;
}
