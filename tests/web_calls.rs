//! The calls page and the call timeline over HTTP (docs/users.md, "Calls"): filters (dates,
//! project, result, the contact's status, a number) and keyset pages over a few hundred calls
//! written straight into the store; the last results by contact; bad filters shown at their
//! fields; a call's timeline with its markers, its text escaped; a call made by the sim
//! carrier drawn and its recording served to a signed-in reader with range requests (206),
//! refused without a session.
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;
#[path = "common/web.rs"]
mod web;

use autoinformer::config::Secret;
use serde_json::json;
use server::{start, Server};
use std::time::{Duration, Instant};
use web::{page, sign_in};

const PASSWORD: &str = "пароль-админа-1";
/// 2026-03-01 00:00 Moscow time.
const DAY0: i64 = 1_772_312_400;

/// The link of the "next page" anchor, if there is one.
fn next_link(html: &str) -> Option<String> {
    let at = html.find("id=\"next-page\"")?;
    let href = html[..at].rfind("href=\"")? + 6;
    let link = html[href..].split('"').next()?;
    Some(
        link.replace("&amp;", "&")
            .replace("&#38;", "&")
            .replace("&#x2f;", "/")
            .replace("&#47;", "/"),
    )
}

/// The call ids listed on a calls page, in order.
fn call_ids(html: &str) -> Vec<i64> {
    html.split("data-call=\"")
        .skip(1)
        .filter_map(|p| p.split('"').next()?.parse().ok())
        .collect()
}

/// Every call id over all pages from `path`, and the pages' texts.
async fn walk(s: &Server, path: &str, session: &str) -> (Vec<i64>, Vec<String>) {
    let (mut ids, mut pages) = (Vec::new(), Vec::new());
    let mut next = Some(path.to_string());
    while let Some(p) = next {
        let a = page(s, &p, session).await;
        assert_eq!(a.status, 200, "{p}: {}", a.text());
        let html = a.text();
        ids.extend(call_ids(&html));
        next = next_link(&html);
        pages.push(html);
        assert!(pages.len() < 50, "paging goes on forever at {p}");
    }
    (ids, pages)
}

async fn scenario(s: &Server) -> i64 {
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
    r.json()["id"].as_i64().unwrap()
}

async fn project(s: &Server, name: &str, sc: i64, contacts: &[String]) -> i64 {
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({"name": name, "scenario_id": sc, "schedule": ["daily 00:00-24:00"], "lines": 5}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json()["id"].as_i64().unwrap();
    if !contacts.is_empty() {
        let csv = String::from("ФИО;Телефон\n") + &contacts.join("\n");
        let r = s
            .call(
                "POST",
                &format!("/api/v1/projects/{p}/contacts"),
                Some("text/csv"),
                csv.as_bytes(),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_and_keyset_pages_over_a_few_hundred_calls_and_a_timeline_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |c| c.admin_password = Secret(PASSWORD.into())).await;
    let sc = scenario(&s).await;
    let a_contacts: Vec<String> = (0..150)
        .map(|i| format!("Абонент {i};+7999300{i:04}"))
        .collect();
    let b_contacts: Vec<String> = (0..100)
        .map(|i| format!("Житель {i};+7999301{i:04}"))
        .collect();
    let a = project(&s, "Вода", sc, &a_contacts).await;
    let b = project(&s, "Газ", sc, &b_contacts).await;
    project(&s, "Перезвон", sc, &[]).await;

    // 400 calls written straight into the store: two per contact of «Вода», one per contact
    // of «Газ», ten minutes apart from 1 March on (so over three days), results in turn.
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("autoinformer.db").display()
    ))
    .await
    .unwrap();
    let contacts: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT c.id, c.project_id, n.e164 FROM contacts c JOIN contact_numbers n \
         ON n.contact_id = c.id ORDER BY c.id",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(contacts.len(), 250);
    let mut rows: Vec<(i64, i64, String)> = contacts.clone();
    rows.extend(contacts.iter().filter(|c| c.1 == a).cloned());
    let results = ["busy", "no_answer", "Доволен", "Недоволен"];
    let mut tx = db.begin().await.unwrap();
    let mut calls = Vec::new();
    for (i, (contact, project, number)) in rows.iter().enumerate() {
        let started = DAY0 + i as i64 * 600;
        let result = results[i % 4];
        let answered = result.starts_with('Д') || result.starts_with('Н');
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO calls (project_id, contact_id, number, state, started_at, answered_at, \
             ended_at, result, talk_ms, cost_kop) VALUES (?, ?, ?, 'done', ?, ?, ?, ?, ?, 150) \
             RETURNING id",
        )
        .bind(project)
        .bind(contact)
        .bind(number)
        .bind(started)
        .bind(answered.then_some(started + 5))
        .bind(started + 40)
        .bind(result)
        .bind(answered.then_some(35_000))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        calls.push((id, *project, number.clone(), started, result));
    }
    sqlx::query("UPDATE contacts SET status = 'reached' WHERE id % 5 = 0")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let reached: Vec<i64> = sqlx::query_scalar("SELECT id FROM contacts WHERE status = 'reached'")
        .fetch_all(&db)
        .await
        .unwrap();

    // The tallies the stats read, kept by triggers, stay equal to a count of the rows
    // through inserts, a changed result, a call removed, a contact parked for a call and a
    // contact removed.
    sqlx::query("UPDATE calls SET result = 'busy', cost_kop = 999 WHERE id = ?")
        .bind(calls[7].0)
        .execute(&db)
        .await
        .unwrap();
    calls[7].4 = "busy";
    // A contact of «Вода» removed with its two calls.
    let gone: i64 = sqlx::query_scalar("SELECT contact_id FROM calls WHERE id = ?")
        .bind(calls[5].0)
        .fetch_one(&db)
        .await
        .unwrap();
    let gone_number = calls[5].2.clone();
    sqlx::query("DELETE FROM calls WHERE contact_id = ?")
        .bind(gone)
        .execute(&db)
        .await
        .unwrap();
    sqlx::query("DELETE FROM contacts WHERE id = ?")
        .bind(gone)
        .execute(&db)
        .await
        .unwrap();
    calls.retain(|c| c.2 != gone_number);
    sqlx::query("UPDATE contacts SET next_at = 9223372036854775807 WHERE id = 3")
        .execute(&db)
        .await
        .unwrap();
    for p in [a, b] {
        let st = s.get(&format!("/api/v1/projects/{p}/stats")).await.json();
        let counted: Vec<(String, i64)> = sqlx::query_as(
            "SELECT CASE WHEN next_at = 9223372036854775807 THEN 'in_call' ELSE status END, \
             COUNT(*) FROM contacts WHERE project_id = ? GROUP BY 1",
        )
        .bind(p)
        .fetch_all(&db)
        .await
        .unwrap();
        for (status, n) in &counted {
            assert_eq!(st["contacts"][status], *n, "{status}: {st}");
        }
        let counted: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT result, COUNT(*), SUM(cost_kop) FROM calls WHERE project_id = ? \
             AND state = 'done' GROUP BY 1",
        )
        .bind(p)
        .fetch_all(&db)
        .await
        .unwrap();
        let (mut calls_n, mut cost) = (0, 0);
        for (result, n, kop) in &counted {
            assert_eq!(st["results"][result], *n, "{result}: {st}");
            calls_n += n;
            cost += kop;
        }
        assert_eq!(st["calls"], calls_n, "{st}");
        assert_eq!(st["cost"].as_f64().unwrap(), cost as f64 / 100.0, "{st}");
    }

    let admin = sign_in(&s, "admin", PASSWORD).await;
    let r = s.raw("GET", "/calls", &[], b"").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));

    // All calls: 50 a page, newest first, every call once over the pages.
    let first = page(&s, "/calls", &admin).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let html = first.text();
    assert!(html.contains("href=\"/calls\" class=\"here\"") || html.contains("Звонки"));
    assert_eq!(call_ids(&html).len(), 50);
    assert_eq!(call_ids(&html)[0], calls.last().unwrap().0);
    assert!(
        html.contains("href=\"/calls/"),
        "calls link to their timeline"
    );
    let (ids, _) = walk(&s, "/calls", &admin).await;
    assert_eq!(ids.len(), 398);
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );

    // One project; one project's one result.
    let (ids, pages) = walk(&s, &format!("/calls?project={a}"), &admin).await;
    assert_eq!(ids.len(), 298);
    assert!(pages.iter().all(|p| !p.contains(">Газ</a></td>")));
    let (ids, _) = walk(&s, &format!("/calls?project={b}&result=busy"), &admin).await;
    let want: Vec<i64> = calls
        .iter()
        .rev()
        .filter(|c| c.1 == b && c.4 == "busy")
        .map(|c| c.0)
        .collect();
    assert_eq!(ids, want);
    // One result over every project.
    let (ids, _) = walk(
        &s,
        "/calls?result=%D0%94%D0%BE%D0%B2%D0%BE%D0%BB%D0%B5%D0%BD",
        &admin,
    )
    .await;
    assert_eq!(ids.len(), 100);

    // Dates: 2 March in Moscow, typed either way.
    let day = |c: &&(i64, i64, String, i64, &str)| c.3 >= DAY0 + 86_400 && c.3 < DAY0 + 2 * 86_400;
    let want: Vec<i64> = calls.iter().rev().filter(day).map(|c| c.0).collect();
    assert_eq!(want.len(), 143);
    let (ids, _) = walk(&s, "/calls?from=2026-03-02&to=2026-03-02", &admin).await;
    assert_eq!(ids, want);
    let (ids, _) = walk(&s, "/calls?from=02.03.2026&to=02.03.2026", &admin).await;
    assert_eq!(ids, want);
    let (ids, _) = walk(&s, "/calls?from=2026-03-10", &admin).await;
    assert!(ids.is_empty());

    // A number as people type it: both calls of that contact.
    let (ids, _) = walk(&s, "/calls?number=8+(999)+300-00-07", &admin).await;
    let want: Vec<i64> = calls
        .iter()
        .rev()
        .filter(|c| c.2 == "+79993000007")
        .map(|c| c.0)
        .collect();
    assert_eq!((ids.len(), &ids), (2, &want));

    // The contact's status, with a project.
    let (ids, _) = walk(&s, &format!("/calls?project={a}&status=reached"), &admin).await;
    let want: Vec<i64> = calls
        .iter()
        .rev()
        .filter(|c| c.1 == a && reached.contains(&contacts.iter().find(|k| k.2 == c.2).unwrap().0))
        .map(|c| c.0)
        .collect();
    assert_eq!(ids, want);
    assert_eq!(ids.len(), 60);

    // Bad filters are shown at their fields, nothing listed.
    let r = page(
        &s,
        "/calls?number=позвонить&from=вчера&status=x&project=999",
        &admin,
    )
    .await;
    assert_eq!(r.status, 422);
    let html = r.text();
    for want in [
        "Не номер телефона",
        "Дата в виде ДД.ММ.ГГГГ",
        "Нет такого статуса",
        "Нет такого проекта",
    ] {
        assert!(html.contains(want), "{want}: {html}");
    }
    assert!(call_ids(&html).is_empty());

    // Last results: one row per contact of a project, paged by contact.
    let r = page(&s, "/calls?tab=last", &admin).await;
    assert!(r.text().contains("Выберите проект"));
    let mut next = Some(format!("/calls?tab=last&project={a}"));
    let mut contacts_seen = Vec::new();
    while let Some(p) = next {
        let html = page(&s, &p, &admin).await.text();
        contacts_seen.extend(
            html.split("data-contact=\"")
                .skip(1)
                .filter_map(|x| x.split('"').next()?.parse::<i64>().ok()),
        );
        next = next_link(&html);
    }
    assert_eq!(contacts_seen.len(), 149);
    assert!(contacts_seen.windows(2).all(|w| w[0] < w[1]));
    let html = page(
        &s,
        &format!("/calls?tab=last&project={a}&status=reached"),
        &admin,
    )
    .await
    .text();
    assert_eq!(html.matches("data-contact=\"").count(), 30);

    // The project's page links to its calls.
    let html = page(&s, &format!("/projects/{a}"), &admin).await.text();
    assert!(
        html.contains(&format!("href=\"/calls?project={a}\"")),
        "{html}"
    );

    // A timeline written as a finished call writes it, with text that must stay text.
    let evil = "<script>alert(1)</script> \"><img src=x onerror=alert(2)>";
    let (call, ..) = calls[2];
    let timeline = json!({
        "prompts": [{"at_ms": 1200, "end_ms": 5300, "name": "hello.wav"}],
        "events": [
            {"kind": "dtmf", "at_ms": 5000, "digit": "1"},
            {"kind": "speech", "at_ms": 6000, "text": evil, "end_ms": 8000}
        ],
        "result_at_ms": 5100, "duration_ms": 12000, "ended_by": "robot"
    });
    sqlx::query(
        "UPDATE calls SET timeline = ?, transcript = ?, amd_verdict = 'human', \
         amd_reason = 'short_greeting_then_silence', amd_ms = 1100, recording = ?, \
         captured = '{\"показания\": \"01234\"}' WHERE id = ?",
    )
    .bind(timeline.to_string())
    .bind(evil)
    .bind(dir.path().join("gone.wav").display().to_string())
    .bind(call)
    .execute(&db)
    .await
    .unwrap();
    let r = page(&s, &format!("/calls/{call}"), &admin).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    for want in [
        "class=\"span prompt\"",
        "hello.wav",
        "class=\"mark key\"",
        "class=\"span speech\"",
        "class=\"mark amd\"",
        "АМД: человек",
        "короткое приветствие, затем тишина",
        "class=\"mark result\"",
        "Доволен",
        "Записи нет: файл удалён с сервера.",
        "<dt>Собрано: показания</dt><dd class=\"captured\">01234</dd>",
    ] {
        assert!(html.contains(want), "{want}: {html}");
    }
    // The transcript, in the facts, the drawing's tooltip and the table: escaped each time.
    assert!(
        html.matches("&#60;script&#62;alert(1)&#60;/script&#62;")
            .count()
            >= 3,
        "{html}"
    );
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(!html.contains("<audio"), "no player without a file");
    let r = page(&s, "/calls/999999", &admin).await;
    assert_eq!(r.status, 404);

    // A viewer reads; an agent may not.
    let r = s
        .post_json(
            "/api/v1/users",
            json!({"username": "vera", "password": "пароль-веры", "role": "viewer"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let vera = sign_in(&s, "vera", "пароль-веры").await;
    assert_eq!(page(&s, "/calls", &vera).await.status, 200);
    assert_eq!(page(&s, &format!("/calls/{call}"), &vera).await.status, 200);
    db.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sim_call_is_drawn_and_its_recording_served_with_ranges_to_signed_in_readers() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |c| c.admin_password = Secret(PASSWORD.into())).await;
    let sc = scenario(&s).await;
    project(&s, "Перезвон", sc, &[]).await;
    // Presses 1 after the message (the sim carrier's number ending in 5).
    let p = project(&s, "Опрос", sc, &["Анна;+79994000005".to_string()]).await;
    let r = s
        .call("POST", &format!("/api/v1/projects/{p}/activate"), None, b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t = Instant::now();
    let call = loop {
        let v = s.get(&format!("/api/v1/calls?project_id={p}")).await.json();
        if let Some(c) = v["items"].as_array().and_then(|i| i.first()) {
            if c["state"] == "done" {
                break c.clone();
            }
        }
        assert!(t.elapsed() < Duration::from_secs(60), "no call ended: {v}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(call["result"], "Доволен", "{call}");
    let id = call["id"].as_i64().unwrap();

    let admin = sign_in(&s, "admin", PASSWORD).await;
    let r = page(&s, &format!("/calls/{id}"), &admin).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    for want in [
        &format!("<audio class=\"recording\" controls preload=\"metadata\" src=\"/calls/{id}/recording\">"),
        "class=\"wave callee\"",
        "class=\"wave robot\"",
        "class=\"span prompt\"",
        "connecting.wav",
        "class=\"mark key\"",
        "class=\"mark amd\"",
        "class=\"mark result\"",
        "class=\"span action\"",
        "в проект",
    ] {
        assert!(html.contains(want), "{want}: {html}");
    }
    let listed = page(&s, &format!("/calls?project={p}"), &admin)
        .await
        .text();
    assert!(
        listed.contains(&format!("href=\"/calls/{id}\"")),
        "{listed}"
    );

    // The recording: whole, a range (206, the right bytes), and nothing without a session.
    let recordings: Vec<_> = std::fs::read_dir(dir.path().join("recordings"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(recordings.len(), 1, "{recordings:?}");
    let file = std::fs::read(&recordings[0]).unwrap();
    assert!(file.len() > 10_000);
    let cookie = format!("Cookie: ai_session={admin}");
    let r = s
        .raw("GET", &format!("/calls/{id}/recording"), &[&cookie], b"")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, file);
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    let r = s
        .raw(
            "GET",
            &format!("/calls/{id}/recording"),
            &[&cookie, "Range: bytes=100-1123"],
            b"",
        )
        .await;
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 100-1123/{}", file.len()).as_str())
    );
    assert_eq!(r.header("content-type"), Some("audio/wav"));
    assert_eq!(r.body, &file[100..1124]);
    let r = s
        .raw(
            "GET",
            &format!("/calls/{id}/recording"),
            &["Range: bytes=0-99"],
            b"",
        )
        .await;
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    assert!(r.body.len() < 1000 && !r.body.starts_with(b"RIFF"));
    let r = s
        .raw("GET", "/calls/999999/recording", &[&cookie], b"")
        .await;
    assert_eq!(r.status, 404);
    s.stop().await;
}
