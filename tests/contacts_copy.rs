//! Copying contacts by status into another project (docs/api.md, "Contacts by status"), at the
//! size of a real base: 5,000 contacts, more than the copy's batch of 500; numbers already in
//! the target and numbers on the stop list stay behind; a second copy copies nothing; bad
//! requests say what is wrong.
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;

use serde_json::json;
use server::{error_code, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_contact_of_a_status_is_copied_once_leaving_known_and_stop_listed_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |c| c.import.max_bytes = 8 << 20).await;
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
    let mut ids = Vec::new();
    for name in ["Основной", "Перезвон"] {
        let r = s
            .post_json("/api/v1/projects", json!({"name": name, "scenario_id": sc}))
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        ids.push(r.json()["id"].as_i64().unwrap());
    }
    let (a, b) = (ids[0], ids[1]);
    let mut csv = String::from("ФИО;Телефон;Лицевой счет\n");
    for i in 0..5000 {
        csv.push_str(&format!("Абонент {i};+7999700{i:04};{}\n", 10_000 + i));
    }
    let r = s
        .call(
            "POST",
            &format!("/api/v1/projects/{a}/contacts"),
            Some("text/csv"),
            csv.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["imported"], 5000, "{}", r.text());
    // 100 numbers are in the target already; 50 others are on the stop list.
    let mut known = String::from("ФИО;Телефон\n");
    for i in 0..100 {
        known.push_str(&format!("Уже есть {i};+7999700{i:04}\n"));
    }
    let r = s
        .call(
            "POST",
            &format!("/api/v1/projects/{b}/contacts"),
            Some("text/csv"),
            known.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let stop: Vec<String> = (100..150).map(|i| format!("+7999700{i:04}")).collect();
    let r = s
        .post_json("/api/v1/stop-list", json!({"numbers": stop}))
        .await;
    assert!(r.status == 200 || r.status == 201, "{}", r.text());

    let r = s
        .post_json(
            &format!("/api/v1/projects/{a}/contacts/copy"),
            json!({"status": "not_called", "to_project_id": b}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The 50 stop-listed contacts are closed (not reached) by the stop list already; of the
    // 4,950 not called, the 100 whose number the target has stay behind.
    assert_eq!(
        r.json(),
        json!({"matched": 4950, "copied": 4850, "skipped": 100})
    );
    // The stop-listed ones have nothing that may be copied.
    let r = s
        .post_json(
            &format!("/api/v1/projects/{a}/contacts/copy"),
            json!({"status": "not_reached", "to_project_id": b}),
        )
        .await;
    assert_eq!(r.json(), json!({"matched": 50, "copied": 0, "skipped": 50}));
    let st = s.get(&format!("/api/v1/projects/{b}/stats")).await.json();
    assert_eq!(st["contacts"]["not_called"], 100 + 4850, "{st}");
    // The copies keep their fields and say where they came from.
    let last = s
        .get(&format!("/api/v1/projects/{b}/last-results?limit=5000"))
        .await
        .json();
    let copied = last["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Абонент 4999")
        .expect("the last contact copied");
    assert_eq!(copied["fields"]["Лицевой счет"], "14999", "{copied}");
    let log = s
        .get(&format!("/api/v1/projects/{b}/decisions?limit=10"))
        .await
        .json();
    assert!(
        log["items"][0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("copied from project \"Основной\""),
        "{log}"
    );
    // Again: every number is there now.
    let r = s
        .post_json(
            &format!("/api/v1/projects/{a}/contacts/copy"),
            json!({"status": "not_called", "to_project_id": b}),
        )
        .await;
    assert_eq!(
        r.json(),
        json!({"matched": 4950, "copied": 0, "skipped": 4950})
    );
    // Bad requests.
    for (body, code) in [
        (json!({"status": "not_called", "to_project_id": a}), 422),
        (json!({"status": "lost", "to_project_id": b}), 422),
        (json!({"status": "not_called", "to_project_id": 999}), 422),
        (json!(["not_called", b]), 422),
    ] {
        let r = s
            .post_json(&format!("/api/v1/projects/{a}/contacts/copy"), body.clone())
            .await;
        assert_eq!(r.status, code, "{body}: {}", r.text());
        assert_eq!(error_code(&r), "invalid");
    }
    let r = s
        .post_json(
            "/api/v1/projects/999/contacts/copy",
            json!({"status": "not_called", "to_project_id": b}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    s.stop().await;
}
