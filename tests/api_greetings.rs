//! Learned greetings through `serve` on the sim carrier (docs/amd.md, "Learned greetings";
//! docs/api.md, "Greetings"): the sim carrier's voicemail is one recording, so after it was
//! heard on two numbers the next calls that reach it are decided `machine` (`known_greeting`)
//! in about a second; `/api/v1/greetings` lists it with its sample; a label, "not a machine",
//! an upload of a known greeting, bad input and forgetting one.
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;

use serde_json::json;
use server::{root, start};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sim_voicemail_is_learned_after_two_numbers_and_the_api_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |c| c.calls.ring_timeout_s = 5).await;
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
            json!({"name": "Автоответчики", "scenario_id": sc, "schedule": ["daily 00:00-24:00"], "lines": 1}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json()["id"].as_i64().unwrap();
    // Five subscribers whose calls the carrier's voicemail takes (last digit 4), one at a time.
    let csv: String = std::iter::once("ФИО;Телефон\n".to_string())
        .chain((0..5).map(|i| format!("Абонент {i};+7999600{i:03}4\n")))
        .collect();
    let r = s
        .call(
            "POST",
            &format!("/api/v1/projects/{p}/contacts"),
            Some("text/csv"),
            csv.as_bytes(),
        )
        .await;
    assert_eq!(r.json()["imported"], 5, "{}", r.text());
    let r = s
        .call("POST", &format!("/api/v1/projects/{p}/activate"), None, b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t = Instant::now();
    let calls = loop {
        let v = s.get(&format!("/api/v1/calls?project_id={p}")).await.json();
        let items = v["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= 5 && items.iter().all(|c| c["state"] == "done") {
            break items;
        }
        assert!(t.elapsed() < Duration::from_secs(150), "{v}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    // Oldest first.
    let mut calls = calls;
    calls.sort_by_key(|c| c["id"].as_i64());
    let reasons: Vec<String> = calls
        .iter()
        .map(|c| format!("{} at {}", c["amd"]["reason"], c["amd"]["decided_at_ms"]))
        .collect();
    println!("the sim voicemail, call by call: {reasons:?}");
    // The first two: its greeting pauses like a person's «Алло?» and this short message ends
    // before its beep, so they got the message; from the third number on it is known.
    for c in &calls[..2] {
        assert_ne!(c["amd"]["reason"], "known_greeting", "not known yet: {c}");
    }
    for c in &calls[2..] {
        assert_eq!(c["result"], "answering_machine", "{c}");
        assert_eq!(c["amd"]["reason"], "known_greeting", "{reasons:?}");
        let ms = c["amd"]["decided_at_ms"].as_u64().unwrap();
        assert!(ms <= 2_000, "decided at {ms} ms");
    }

    // The API lists it: heard on five numbers, it decides, with a sample.
    let list = s.get("/api/v1/greetings").await.json();
    assert_eq!(list["learn_after_numbers"], 2, "{list}");
    let g = list["items"][0].clone();
    assert_eq!(g["numbers_seen"], 5, "{list}");
    assert_eq!(g["decides"], true, "{list}");
    let id = g["id"].as_i64().unwrap();
    assert_eq!(g["sample"], format!("/api/v1/greetings/{id}/sample"), "{g}");
    let sample = s.get(&format!("/api/v1/greetings/{id}/sample")).await;
    assert_eq!(sample.status, 200);
    assert_eq!(sample.header("content-type"), Some("audio/wav"));
    assert!(sample.body.starts_with(b"RIFF"));

    // Labelled; marked "not a machine" it no longer decides; a bad label is refused.
    let r = s
        .call(
            "PATCH",
            &format!("/api/v1/greetings/{id}"),
            Some("application/json"),
            r#"{"label": "carrier_voicemail", "name": "Сим: голосовая почта"}"#.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["label"], "carrier_voicemail");
    let r = s
        .call(
            "PATCH",
            &format!("/api/v1/greetings/{id}"),
            Some("application/json"),
            br#"{"not_machine": true}"#,
        )
        .await;
    assert_eq!(r.json()["decides"], false, "{}", r.text());
    let r = s
        .call(
            "PATCH",
            &format!("/api/v1/greetings/{id}"),
            Some("application/json"),
            br#"{"label": "robot"}"#,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());

    // Uploads: a known greeting decides from the first call; noise and junk are refused.
    let wav = std::fs::read(root().join("prompts/sim/voicemail.wav")).unwrap();
    let r = s
        .call(
            "POST",
            "/api/v1/greetings?name=%D0%9F%D0%BE%D1%87%D1%82%D0%B0&label=carrier_voicemail",
            Some("audio/wav"),
            &wav,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let up = r.json();
    assert_eq!(
        (up["uploaded"].clone(), up["decides"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(up["name"], "Почта");
    let r = s
        .call(
            "POST",
            "/api/v1/greetings",
            Some("audio/wav"),
            b"not audio at all",
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let r = s
        .call(
            "POST",
            "/api/v1/greetings?colour=red",
            Some("audio/wav"),
            &wav,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());

    // Forgotten.
    let up_id = up["id"].as_i64().unwrap();
    let r = s
        .call("DELETE", &format!("/api/v1/greetings/{up_id}"), None, b"")
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        s.get(&format!("/api/v1/greetings/{up_id}")).await.status,
        404
    );
    s.stop().await;
}
