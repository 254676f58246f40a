//! The admin pages in chromium: a CSV with bad rows imported from the import page — its
//! progress while it streams, then the refused values and the CSV link; an API token made on
//! /account (shown once, working on the API); the agents, the stop list, the users and the
//! settings pages. Screenshots 50–55 under `target/ui-screenshots/`.
use crate::kit::{browser, driver, shot, sign_in, until_text};
use crate::server::start;
use autoinformer::config::Secret;
use fantoccini::Locator;
use serde_json::json;
use std::time::{Duration, Instant};

const ADMIN_PASSWORD: &str = "пароль-админа-2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_imports_makes_a_token_and_reads_the_admin_pages() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |c| {
        c.admin_password = Secret(ADMIN_PASSWORD.into());
        c.agents.sim.count = 2;
        c.import.max_bytes = 32 << 20;
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
    let sc = r.json()["id"].as_i64().unwrap();
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "Должники, апрель", "scenario_id": sc}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json()["id"].as_i64().unwrap();
    // A base big enough to watch it stream: 150,000 rows, some of them bad.
    let mut csv = String::from("ФИО;Телефон;Лицевой счёт\n");
    for i in 0..150_000u32 {
        match i % 1000 {
            5 => csv.push_str(&format!("Абонент {i};8 800 ДОЗВОН;{i}\n")),
            17 => csv.push_str(&format!("Абонент {i};+7 701 234 {:04};{i}\n", i % 10_000)),
            29 => csv.push_str(&format!("Абонент {i};;{i}\n")),
            _ => csv.push_str(&format!("Абонент {i};+7999{i:07};{i}\n")),
        }
    }
    let file = dir.path().join("база.csv");
    std::fs::write(&file, csv).unwrap();

    let d = driver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&d, profile.path()).await;
    sign_in(&c, &base, "admin", ADMIN_PASSWORD).await;
    until_text(&c, "Должники, апрель", Duration::from_secs(10)).await;

    // The import page: the file chosen and sent; the progress, then the refused values.
    c.goto(&format!("{base}/projects/{p}")).await.unwrap();
    c.find(Locator::Id("import-link"))
        .await
        .expect("the project page links to the import")
        .click()
        .await
        .unwrap();
    until_text(&c, "Импорт контактов", Duration::from_secs(10)).await;
    c.find(Locator::Id("import-file"))
        .await
        .expect("the file field")
        .send_keys(file.to_str().unwrap())
        .await
        .expect("choosing the file");
    c.find(Locator::Id("import-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let t = Instant::now();
    let mut saw_running = false;
    loop {
        let body = c
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap_or_default();
        if body.contains("Импорт идёт") && !saw_running {
            saw_running = true;
            assert!(
                c.find(Locator::Css("progress.import-bar")).await.is_ok(),
                "a progress bar"
            );
            shot(&c, "50-import-progress").await;
        }
        if body.contains("Импорт завершён") {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(180),
            "the import never ended: {body}"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(
        saw_running,
        "the progress was never shown while the file streamed"
    );
    let body = until_text(&c, "Отклонённые значения", Duration::from_secs(10)).await;
    assert!(body.contains("номер Казахстана"), "{body}");
    assert!(body.contains("в строке нет номера"), "{body}");
    // The part may be swapped once more (the upload's answer and the last poll): read it
    // again if it went stale.
    let mut rejected = String::new();
    for _ in 0..20 {
        if let Ok(e) = c.find(Locator::Id("import-rejected")).await {
            if let Ok(t) = e.text().await {
                rejected = t;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(rejected.replace('\u{a0}', ""), "450", "{body}");
    shot(&c, "50-import-rejected").await;
    // The CSV link downloads every refused value with the session.
    assert!(body.contains("Скачать весь список (CSV)"), "{body}");
    let html = c.source().await.unwrap();
    let href = html
        .split("id=\"import-csv\" href=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the CSV's address")
        .to_string();
    let got = c
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             fetch(arguments[0]).then(r => r.text().then(t => done([r.status, t.trim().split('\\r\\n').length])));",
            vec![json!(href)],
        )
        .await
        .unwrap();
    assert_eq!(got, json!([200, 451]), "a header and 450 values");

    // A token of one's own on /account: shown once, and it opens the API.
    c.goto(&format!("{base}/account")).await.unwrap();
    c.find(Locator::Id("token-name"))
        .await
        .unwrap()
        .send_keys("выгрузка в CRM")
        .await
        .unwrap();
    c.find(Locator::Id("token-make"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_text(&c, "Скопируйте его сейчас", Duration::from_secs(10)).await;
    let token = c
        .find(Locator::Id("new-token-value"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    shot(&c, "54-account").await;
    let r = crate::http::request(s.addr, "GET", "/api/v1/projects", Some(&token), None, b"").await;
    assert_eq!(r.status, 200, "{}", r.text());

    // The agents with their live states, then the other admin pages.
    c.goto(&format!("{base}/agents")).await.unwrap();
    until_text(&c, "Очередь переводов", Duration::from_secs(10)).await;
    until_text(&c, "sim-2", Duration::from_secs(10)).await;
    shot(&c, "51-agents").await;
    c.goto(&format!("{base}/stop-list")).await.unwrap();
    c.find(Locator::Id("stop-numbers"))
        .await
        .unwrap()
        .send_keys("8 912 345-67-89\n+7 999 000-11-22\n8 495 123 45 67")
        .await
        .unwrap();
    c.find(Locator::Css("#stop-add button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_text(&c, "добавлено номеров: 3", Duration::from_secs(10)).await;
    shot(&c, "52-stop-list").await;
    let r = s
        .post_json(
            "/api/v1/users",
            json!({"username": "vera", "password": "пароль-веры", "role": "viewer"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    c.goto(&format!("{base}/users")).await.unwrap();
    until_text(&c, "vera", Duration::from_secs(10)).await;
    shot(&c, "53-users").await;
    c.goto(&format!("{base}/settings")).await.unwrap();
    let body = until_text(&c, "симулятор оператора", Duration::from_secs(10)).await;
    assert!(body.contains("scripts/fetch-model.sh"), "{body}");
    shot(&c, "55-settings").await;
    c.close().await.expect("closing the browser");
    s.stop().await;
}
