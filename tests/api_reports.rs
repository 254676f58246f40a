//! What a marketer meets in the reports (issue 15 §5), on `serve` running its demo campaign
//! on the sim carrier with recordings on: every view of a call shows the same actions; the
//! result filter works wherever calls are listed; recordings stream through the API (with
//! range requests, to token holders only) instead of being a server path; stats say the
//! project's status and who is in a call right now, with money exact to the kopeck; the
//! decision log filters by contact; and a contacts export of one status imports back as the
//! same contacts.
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;

use serde_json::{json, Value};
use server::{start, Server};
use std::time::{Duration, Instant};

/// Waits until the demo campaign has a call copied into the callback project (a done
/// add_to_project) and most calls are over.
async fn demo_with_an_action(s: &Server) -> Value {
    let t = Instant::now();
    loop {
        let calls = s.get("/api/v1/calls?project_id=1&limit=100").await.json();
        let items = calls["items"].as_array().unwrap().clone();
        let copied = items.iter().find(|c| {
            c["actions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["kind"] == "add_to_project" && a["status"] == "done")
        });
        let done = items.iter().filter(|c| c["state"] == "done").count();
        if let (Some(c), true) = (copied, done >= 6) {
            return c.clone();
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the demo never copied a contact: {calls}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_report_shows_the_same_call_and_a_contacts_export_imports_back() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |c| {
        c.demo = true;
        c.calls.record = true;
        // The demo's transfers to its simulated agents end within seconds.
        c.agents.sim.talk_min_s = 1.0;
        c.agents.sim.talk_max_s = 3.0;
        c.agents.queue_max_wait_s = 10;
    })
    .await;
    let copied = demo_with_an_action(&s).await;
    let id = copied["id"].as_i64().unwrap();
    let contact = copied["contact_id"].as_i64().unwrap();

    // The same actions in GET /calls, GET /calls/{id} and last-results.
    let one = s.get(&format!("/api/v1/calls/{id}")).await.json();
    assert_eq!(one["actions"], copied["actions"], "{one}");
    let last = s
        .get("/api/v1/projects/1/last-results?limit=100")
        .await
        .json();
    let row = last["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["contact_id"] == contact)
        .unwrap()
        .clone();
    if row["last_call"]["id"] == id {
        assert_eq!(row["last_call"]["actions"], one["actions"], "{row}");
    }

    // The result filter, wherever calls are listed.
    let result = one["result"].as_str().unwrap().to_string();
    let q = |p: &str| format!("{p}{}", urlencode(&result));
    let listed = s.get(&q("/api/v1/calls?project_id=1&result=")).await.json();
    assert!(listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["result"] == result.as_str()));
    let filtered = s.get(&q("/api/v1/projects/1/last-results?result=")).await;
    assert_eq!(filtered.status, 200, "{}", filtered.text());
    let filtered = filtered.json();
    assert!(!filtered["items"].as_array().unwrap().is_empty());
    assert!(filtered["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["last_call"]["result"] == result.as_str()));
    let csv = s
        .get(&q(
            "/api/v1/projects/1/export?report=calls&format=csv&result=",
        ))
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text());
    let text = csv.text();
    let data: Vec<&str> = text.lines().skip(1).filter(|l| !l.is_empty()).collect();
    assert!(!data.is_empty());
    assert!(data.iter().all(|l| l.contains(&result)), "{text}");
    let bad = s
        .get("/api/v1/projects/1/last-results?result=nonsense")
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text());
    // status with report=calls: the calls of the contacts of that status.
    let r = s
        .get("/api/v1/projects/1/export?report=calls&format=csv&status=reached")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    // Recordings stream through the API, with ranges, to token holders only.
    let rec = one["recording"]
        .as_str()
        .expect("an answered call is recorded");
    assert_eq!(rec, format!("/api/v1/calls/{id}/recording"));
    let wav = s.get(rec).await;
    assert_eq!(wav.status, 200);
    assert_eq!(wav.header("content-type"), Some("audio/wav"));
    assert_eq!(&wav.body[..4], b"RIFF");
    let part = s
        .raw(
            "GET",
            rec,
            &[
                &format!("Authorization: Bearer {}", server::TOKEN),
                "Range: bytes=0-99",
            ],
            b"",
        )
        .await;
    assert_eq!(part.status, 206, "{}", part.text());
    assert_eq!(part.body.len(), 100);
    assert!(part
        .header("content-range")
        .is_some_and(|r| r.starts_with("bytes 0-99/")));
    let outside = s
        .raw(
            "GET",
            rec,
            &[
                &format!("Authorization: Bearer {}", server::TOKEN),
                "Range: bytes=999999999-",
            ],
            b"",
        )
        .await;
    assert_eq!(outside.status, 416, "{}", outside.text());
    let anonymous = s.raw("GET", rec, &[], b"").await;
    assert_eq!(anonymous.status, 401);
    let unanswered =
        s.get("/api/v1/calls?project_id=1&result=busy").await.json()["items"][0]["id"].as_i64();
    if let Some(u) = unanswered {
        let r = s.get(&format!("/api/v1/calls/{u}/recording")).await;
        assert_eq!(r.status, 404, "{}", r.text());
    }

    // Stats: the status, contacts in a call now, money exact to the kopeck.
    let st = s.get("/api/v1/projects/1/stats").await.json();
    assert!(st["status"].is_string(), "{st}");
    assert!(st["contacts"]["in_call"].is_u64(), "{st}");
    let cost = st["cost"].to_string();
    assert!(
        cost.split('.').nth(1).is_none_or(|d| d.len() <= 2),
        "money prints as kopecks: {cost}"
    );
    assert!(
        st["sms_service_note"].is_null(),
        "the demo sends no SMS: {st}"
    );

    // The decision log of one contact.
    let log = s
        .get(&format!(
            "/api/v1/projects/1/decisions?contact_id={contact}"
        ))
        .await
        .json();
    let items = log["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|d| d["contact_id"] == contact), "{log}");

    // A contacts export of one status imports back as the same contacts (the campaign paused
    // and its calls over, so no status moves meanwhile).
    s.call("POST", "/api/v1/projects/1/pause", None, b"").await;
    let t = Instant::now();
    while s.get("/api/v1/projects/1/stats").await.json()["contacts"]["in_call"] != 0 {
        assert!(t.elapsed() < Duration::from_secs(60), "calls never ended");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let status = "reached".to_string();
    assert_eq!(row["status"], "reached", "{row}");
    let export = s
        .get(&format!(
            "/api/v1/projects/1/export?report=contacts&format=csv&status={status}"
        ))
        .await;
    assert_eq!(export.status, 200);
    let exported = export.body.clone();
    let scenario = s.get("/api/v1/projects/1").await.json()["scenario_id"].clone();
    let p = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "Повторно", "scenario_id": scenario}),
        )
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let imported = s
        .call(
            "POST",
            &format!("/api/v1/projects/{p}/contacts"),
            Some("text/csv"),
            &exported,
        )
        .await;
    assert_eq!(imported.status, 200, "{}", imported.text());
    let report = imported.json();
    assert!(
        report["rejected"].as_array().unwrap().is_empty(),
        "{report}"
    );
    let before = s
        .get(&format!(
            "/api/v1/projects/1/last-results?status={status}&limit=100"
        ))
        .await
        .json();
    let after = s
        .get(&format!("/api/v1/projects/{p}/last-results?limit=100"))
        .await
        .json();
    let shape = |v: &Value| -> Vec<Value> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                json!([
                    r["name"],
                    r["numbers"],
                    r["number_types"],
                    r["fields"],
                    r["priority"]
                ])
            })
            .collect()
    };
    assert_eq!(
        shape(&after),
        shape(&before),
        "the round trip keeps the contacts"
    );
    assert!(
        after["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["fields"].get("Статус").is_none() && r["fields"].get("Звонков").is_none()),
        "report columns are not contact fields: {after}"
    );
    s.stop().await;
}

/// Percent-encodes a query value.
fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
