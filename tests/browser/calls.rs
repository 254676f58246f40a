//! The calls page and a call's timeline in chromium: the sim carrier makes calls; the admin
//! lists them, filters them by project and result, looks at the last results, opens the call
//! where a key was pressed, sees it drawn and plays its recording (the player reports the
//! recording's length, and playing moves on); a call decided by a learned greeting names it.
//! A call whose recording a full disk stopped says so. Screenshots `40-calls-*`, `41-timeline-*`,
//! `42-timeline-known-greeting`.
use crate::kit::{browser, driver, shot, sign_in, until_text};
use crate::server;
use autoinformer::config::Secret;
use fantoccini::{Client, Locator};
use serde_json::json;
use std::time::{Duration, Instant};

const PASSWORD: &str = "пароль-админа-1";

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .expect("clicking");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marketer_finds_a_call_and_plays_it_on_its_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let s = server::start(dir.path(), |c| {
        c.admin_password = Secret(PASSWORD.into());
    })
    .await;
    let base = format!("http://{}", s.addr);
    let toml = "name = \"Опрос\"\nresults = [\"Доволен\", \"Недоволен\"]\nstart = \"q\"\n\
                [steps.q]\nplay = [\"transfer/connecting.wav\"]\nlisten = { dtmf = true, wait_s = 6 }\n\
                [[steps.q.on]]\ndtmf = \"1\"\nresult = \"Доволен\"\nactions = [{ add_to_project = \"Перезвон\" }]\n\
                [[steps.q.on]]\ndtmf = \"2\"\nresult = \"Недоволен\"\n";
    let r = s
        .call(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            toml.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let sc = r.json()["id"].as_i64().unwrap();
    let mut ids = Vec::new();
    for name in ["Перезвон", "Опрос жильцов"] {
        let r = s
            .post_json(
                "/api/v1/projects",
                json!({"name": name, "scenario_id": sc, "schedule": ["daily 00:00-24:00"], "lines": 5}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        ids.push(r.json()["id"].as_i64().unwrap());
    }
    let p = ids[1];
    // One number of each sim behaviour but the slow ones (no answer rings 40 s).
    let mut csv = String::from("ФИО;Телефон\n");
    for (i, d) in [1, 2, 5, 6, 8, 9].iter().enumerate() {
        csv.push_str(&format!("Жилец {i};+7999555100{d}\n"));
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
        .call("POST", &format!("/api/v1/projects/{p}/activate"), None, b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Every contact called once.
    let t = Instant::now();
    let pressed = loop {
        let v = s.get(&format!("/api/v1/calls?project_id={p}")).await.json();
        let items = v["items"].as_array().cloned().unwrap_or_default();
        let done = items.iter().filter(|c| c["state"] == "done").count();
        if done >= 6 {
            break items
                .iter()
                .find(|c| c["number"] == "+79995551005")
                .and_then(|c| c["id"].as_i64())
                .expect("the call that pressed 1");
        }
        assert!(
            t.elapsed() < Duration::from_secs(90),
            "calls did not end: {v}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };

    let d = driver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&d, profile.path()).await;
    sign_in(&c, &base, "admin", PASSWORD).await;
    until_text(&c, "Опрос жильцов", Duration::from_secs(10)).await;
    // The menu leads to the calls.
    c.find(Locator::LinkText("Звонки"))
        .await
        .expect("the menu's calls")
        .click()
        .await
        .expect("clicking");
    until_text(&c, "Последние результаты", Duration::from_secs(10)).await;
    let rows = c
        .find_all(Locator::Css("tr[data-call]"))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 6);
    shot(&c, "40-calls-all").await;
    // Filter by project and result through the form.
    click(&c, &format!("select[name=project] option[value=\"{p}\"]")).await;
    click(&c, "select[name=result] option[value=\"Доволен\"]").await;
    click(&c, "form.calls-filter button").await;
    let t = Instant::now();
    loop {
        let rows = c
            .find_all(Locator::Css("tr[data-call]"))
            .await
            .expect("rows");
        if rows.len() == 1 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "{} rows", rows.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(c.current_url().await.unwrap().as_str().contains("result="));
    shot(&c, "40-calls-filtered").await;
    // The last results by contact.
    c.find(Locator::LinkText("Последние результаты"))
        .await
        .expect("the tab")
        .click()
        .await
        .expect("clicking");
    until_text(&c, "Звонков", Duration::from_secs(10)).await;
    let rows = c
        .find_all(Locator::Css("tr[data-contact]"))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 6);
    shot(&c, "40-calls-last").await;

    // The call that pressed 1, from the list: drawn, and its recording plays.
    c.goto(&format!("{base}/calls?project={p}"))
        .await
        .expect("the calls");
    click(&c, &format!("tr[data-call=\"{pressed}\"] td a")).await;
    until_text(&c, "Что происходило", Duration::from_secs(10)).await;
    for css in [
        "svg.timeline path.wave.callee",
        "svg.timeline .span.prompt",
        "svg.timeline .mark.key",
        "svg.timeline .mark.result",
    ] {
        assert!(c.find(Locator::Css(css)).await.is_ok(), "{css}");
    }
    let got = c
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             const a = document.querySelector('audio');\
             const tell = () => done([a.duration, a.readyState]);\
             if (a.readyState >= 1) { tell(); } else {\
               a.addEventListener('loadedmetadata', tell);\
               a.addEventListener('error', () => done([-1, a.error ? a.error.code : 0]));\
               a.load(); }",
            vec![],
        )
        .await
        .expect("the player's metadata");
    let duration = got[0].as_f64().unwrap_or(-1.0);
    assert!(
        duration > 1.0,
        "the player reports the recording's length: {got}"
    );
    shot(&c, "41-timeline-call").await;
    // A click on the drawing plays from there (a user's gesture: the browser lets it play).
    let time = || async {
        c.execute(
            "return document.querySelector('audio').currentTime;",
            vec![],
        )
        .await
        .expect("the player's time")
        .as_f64()
        .unwrap_or(0.0)
    };
    click(&c, "svg.timeline").await;
    let from = time().await;
    assert!(
        from > 0.5,
        "the click moved the player to the middle: {from}"
    );
    let t = Instant::now();
    while time().await < from + 0.5 {
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "the recording does not play on from {from}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    c.execute(
        "document.querySelector('audio').pause(); document.querySelector('svg.timeline').scrollIntoView();",
        vec![],
    )
    .await
    .expect("pausing");
    shot(&c, "41-timeline-playing").await;

    // A call whose recording stopped on a full disk (docs/operations.md, "Recordings"): the
    // page says why, beside what was written. The server's own write is not provoked here
    // (tests/faults.rs fills a real disk); the call's row is given the error it would carry.
    let other = s.get(&format!("/api/v1/calls?project_id={p}")).await.json()["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|c| c["number"] == "+79995551006")
                .and_then(|c| c["id"].as_i64())
        })
        .expect("the call that pressed 2");
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("autoinformer.db").display()
    ))
    .await
    .expect("the database");
    sqlx::query("UPDATE calls SET recording_error = ? WHERE id = ?")
        .bind("No space left on device (os error 28)")
        .bind(other)
        .execute(&db)
        .await
        .expect("the call's row");
    db.close().await;
    c.goto(&format!("{base}/calls/{other}"))
        .await
        .expect("the call's page");
    let text = until_text(&c, "Запись прервана", Duration::from_secs(10)).await;
    assert!(text.contains("No space left on device"), "{text}");
    assert!(c.find(Locator::Css("audio.recording")).await.is_ok());
    shot(&c, "41-timeline-recording-error").await;
    c.close().await.expect("closing the browser");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_decided_by_a_learned_greeting_says_so_on_its_timeline() {
    // The sim carrier's voicemail (last digit 4) is one recording: from the third number on it
    // is a known greeting, and the call's page names the reason in Russian.
    let dir = tempfile::tempdir().unwrap();
    let s = server::start(dir.path(), |c| {
        c.admin_password = Secret(PASSWORD.into());
    })
    .await;
    let base = format!("http://{}", s.addr);
    let toml = "name = \"Опрос\"\nresults = [\"Прослушал\"]\nstart = \"m\"\n\
                [steps.m]\nplay = [\"transfer/connecting.wav\"]\nresult = \"Прослушал\"\n";
    let r = s
        .call(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            toml.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let sc = r.json()["id"].as_i64().unwrap();
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "Автоответчики", "scenario_id": sc, "schedule": ["daily 00:00-24:00"], "lines": 1}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json()["id"].as_i64().unwrap();
    let csv: String = std::iter::once("ФИО;Телефон\n".to_string())
        .chain((0..3).map(|i| format!("Абонент {i};+7999700{i:03}4\n")))
        .collect();
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
        .call("POST", &format!("/api/v1/projects/{p}/activate"), None, b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t = Instant::now();
    let known = loop {
        let v = s.get(&format!("/api/v1/calls?project_id={p}")).await.json();
        let items = v["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= 3 && items.iter().all(|c| c["state"] == "done") {
            break items
                .iter()
                .find(|c| c["amd"]["reason"] == "known_greeting")
                .and_then(|c| c["id"].as_i64())
                .unwrap_or_else(|| panic!("no call decided by the learned greeting: {v}"));
        }
        assert!(t.elapsed() < Duration::from_secs(120), "{v}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let d = driver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&d, profile.path()).await;
    sign_in(&c, &base, "admin", PASSWORD).await;
    // Signed in once the projects page is up; only then to the call.
    until_text(&c, "Автоответчики", Duration::from_secs(10)).await;
    c.goto(&format!("{base}/calls/{known}"))
        .await
        .expect("the call's page");
    until_text(
        &c,
        "запись, звучавшая на других номерах",
        Duration::from_secs(10),
    )
    .await;
    // The table of events under the drawing gives the verdict's reason.
    c.execute("window.scrollTo(0, document.body.scrollHeight);", vec![])
        .await
        .expect("scrolling to the events");
    shot(&c, "42-timeline-known-greeting").await;
    c.close().await.expect("closing the browser");
    s.stop().await;
}
