//! Agents through `serve`'s API (docs/agents.md): create, list, change, remove, states; a
//! project whose scenario transfers cannot be activated until an agent serves it; and a
//! campaign on the sim carrier with `[agents.sim]` whose callers are transferred to the
//! simulated agents, seen in the calls and the agents' counters.
#[path = "common/baresip.rs"]
mod baresip;
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;

use serde_json::{json, Value};
use server::{error_code, start, Server};
use std::time::{Duration, Instant};

const SCENARIO: &str = r#"
name = "Оператор"
results = ["Оператор"]
start = "ask"

[steps.ask]
play = ["transfer/connecting.wav"]
listen = { dtmf = true, wait_s = 5 }
barge_in = true

[[steps.ask.on]]
dtmf = "1"
result = "Оператор"
actions = [{ transfer = "agents", callback_project = "Перезвон" }]
"#;

async fn call_json(s: &Server, method: &str, path: &str, v: Value) -> http::Answer {
    s.call(
        method,
        path,
        Some("application/json"),
        v.to_string().as_bytes(),
    )
    .await
}

/// The scenario, the callback project and a project with `contacts` (numbers), ready to be
/// activated. Answers the project's id.
async fn project(s: &Server, numbers: &[&str]) -> i64 {
    let r = s
        .call(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            SCENARIO.as_bytes(),
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
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "Соединение", "scenario_id": sc, "schedule": ["daily 00:00-24:00"], "lines": 10}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json()["id"].as_i64().unwrap();
    let mut csv = String::from("ФИО;Телефон\n");
    for (i, n) in numbers.iter().enumerate() {
        csv.push_str(&format!("Абонент {i};{n}\n"));
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
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_are_managed_through_the_api_and_a_transfer_needs_one() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |_| {}).await;
    let p = project(&s, &["+79991000015"]).await;

    // No agent serves the project: activation says what to do.
    let r = s
        .post_json(&format!("/api/v1/projects/{p}/activate"), json!({}))
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(
        r.text().contains("no enabled agent serves this project"),
        "{}",
        r.text()
    );

    // Bad agents are refused, naming what is wrong.
    for (body, code, why) in [
        (json!({"sip_user": "101", "password": "pw"}), 422, "name"),
        (json!({"name": "Анна", "password": "pw"}), 422, "sip_user"),
        (json!({"name": "Анна", "sip_user": "101"}), 422, "password"),
        (
            json!({"name": "Анна", "sip_user": "1 01", "password": "pw"}),
            422,
            "sip_user",
        ),
        (
            json!({"name": "Анна", "sip_user": "101", "password": "pw", "projects": [999]}),
            422,
            "999",
        ),
        (
            json!({"name": "Анна", "sip_user": "101", "uri": "http://x"}),
            422,
            "uri",
        ),
        (
            json!({"name": "Анна", "sip_user": "101", "password": "pw", "colour": 1}),
            422,
            "colour",
        ),
    ] {
        let r = s.post_json("/api/v1/agents", body.clone()).await;
        assert_eq!(r.status, code, "{body}: {}", r.text());
        assert!(r.text().contains(why), "{body}: {}", r.text());
    }
    let r = s
        .post_json(
            "/api/v1/agents",
            json!({"name": "Анна", "sip_user": "101", "password": "secret-101", "projects": [p]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let a = r.json();
    let id = a["id"].as_i64().unwrap();
    assert_eq!(a["kind"], "sip");
    assert_eq!(a["state"], "offline", "not registered yet: {a}");
    assert_eq!(a["has_password"], true);
    assert_eq!(a["projects"], json!([p]));
    assert!(
        !r.text().contains("secret-101") && a.get("ha1").is_none(),
        "{a}"
    );
    let dup = s
        .post_json(
            "/api/v1/agents",
            json!({"name": "Борис", "sip_user": "101", "password": "x"}),
        )
        .await;
    assert_eq!((dup.status, error_code(&dup).as_str()), (409, "conflict"));

    // States: not registered → cannot be available; a break is fine.
    let r = s
        .post_json(
            &format!("/api/v1/agents/{id}/state"),
            json!({"state": "available"}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("not registered"), "{}", r.text());
    let r = s
        .post_json(
            &format!("/api/v1/agents/{id}/state"),
            json!({"state": "paused", "reason": "обед"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["state"], "paused");
    assert_eq!(r.json()["state_reason"], "обед");
    let r = s
        .post_json(
            &format!("/api/v1/agents/{id}/state"),
            json!({"state": "asleep"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());

    // Now the project has an agent: it activates.
    let r = s
        .post_json(&format!("/api/v1/projects/{p}/activate"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    // Change, list, remove.
    let r = call_json(
        &s,
        "PATCH",
        &format!("/api/v1/agents/{id}"),
        json!({"name": "Анна П."}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["name"], "Анна П.");
    let r = call_json(
        &s,
        "PATCH",
        &format!("/api/v1/agents/{id}"),
        json!({"sip_user": "102"}),
    )
    .await;
    assert_eq!(
        r.status,
        422,
        "a new user needs the password again: {}",
        r.text()
    );
    let list = s.get("/api/v1/agents").await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    let r = s
        .call("DELETE", &format!("/api/v1/agents/{id}"), None, b"")
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = s.get(&format!("/api/v1/agents/{id}")).await;
    assert_eq!(r.status, 404);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_sets_its_own_transfer_settings_checked_and_changed_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |_| {}).await;
    let p = project(&s, &["+79991000015"]).await;
    let shown = s.get(&format!("/api/v1/projects/{p}")).await.json();
    assert_eq!(shown["transfer"], json!({}), "{shown}");
    let sc = shown["scenario_id"].as_i64().unwrap();
    // At creation: the bundled music by name, and the ranges checked.
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "Свои настройки", "scenario_id": sc,
                   "transfer": {"wrap_up_s": 0, "agent_ring_s": 20, "queue_max_wait_s": 300,
                                "queue_announce_s": 0, "hold_music": "transfer/hold.wav"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let own = r.json()["id"].as_i64().unwrap();
    let shown = s.get(&format!("/api/v1/projects/{own}")).await.json();
    assert_eq!(shown["transfer"]["agent_ring_s"], 20, "{shown}");
    assert_eq!(
        shown["transfer"]["hold_music"], "transfer/hold.wav",
        "{shown}"
    );
    for (transfer, why) in [
        (json!({"agent_ring_s": 0}), "agent_ring_s"),
        (json!({"queue_max_wait_s": 99999}), "queue_max_wait_s"),
        (json!({"hold_music": "nope.wav"}), "nope.wav"),
        (
            json!({"hold_music": "../../etc/passwd"}),
            "not a prompt's name",
        ),
        (json!({"hold_music": "/etc/passwd"}), "not a prompt's name"),
        (json!({"wrap": 1}), "unknown field"),
    ] {
        let r = s
            .post_json(
                "/api/v1/projects",
                json!({"name": "Плохие", "scenario_id": sc, "transfer": transfer}),
            )
            .await;
        assert_eq!(r.status, 422, "{transfer}: {}", r.text());
        assert!(r.text().contains(why), "{transfer}: {}", r.text());
        let r = call_json(
            &s,
            "PATCH",
            &format!("/api/v1/projects/{p}"),
            json!({ "transfer": transfer }),
        )
        .await;
        assert_eq!(r.status, 422, "PATCH {transfer}: {}", r.text());
    }
    // A stored prompt becomes the project's music; PATCH replaces the whole object.
    let wav = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/survey/thanks.wav"),
    )
    .unwrap();
    let r = s
        .call("PUT", "/api/v1/prompts/music.wav", Some("audio/wav"), &wav)
        .await;
    assert!(r.status == 200 || r.status == 201, "{}", r.text());
    let r = call_json(
        &s,
        "PATCH",
        &format!("/api/v1/projects/{p}"),
        json!({"transfer": {"hold_music": "music.wav", "wrap_up_s": 30}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["transfer"],
        json!({"hold_music": "music.wav", "wrap_up_s": 30})
    );
    let r = call_json(
        &s,
        "PATCH",
        &format!("/api/v1/projects/{p}"),
        json!({"transfer": {}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["transfer"], json!({}));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_transfers_callers_to_its_simulated_agents() {
    let dir = tempfile::tempdir().unwrap();
    let numbers: Vec<String> = (0..12).map(|i| format!("+7999400{i:04}")).collect();
    let s = start(dir.path(), |c| {
        c.agents.sim.count = 2;
        c.agents.sim.answer_min_s = 0.2;
        c.agents.sim.answer_max_s = 0.5;
        c.agents.sim.talk_min_s = 1.0;
        c.agents.sim.talk_max_s = 2.0;
        c.agents.wrap_up_s = 0;
        c.agents.queue_max_wait_s = 5;
        for (i, n) in numbers.iter().enumerate() {
            let b = if i % 4 == 0 { "keys:1/2" } else { "keys:1" };
            c.trunk.sim.numbers.insert(n.clone(), b.into());
        }
    })
    .await;
    let agents = s.get("/api/v1/agents").await.json();
    let items = agents["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2, "{agents}");
    assert!(
        items
            .iter()
            .all(|a| a["kind"] == "sim" && a["state"] == "available"),
        "{agents}"
    );
    let refs: Vec<&str> = numbers.iter().map(String::as_str).collect();
    let p = project(&s, &refs).await;
    let r = s
        .post_json(&format!("/api/v1/projects/{p}/activate"), json!({}))
        .await;
    assert_eq!(
        r.status,
        200,
        "simulated agents serve every project: {}",
        r.text()
    );
    let t = Instant::now();
    let calls = loop {
        let calls = s
            .get(&format!("/api/v1/calls?project_id={p}&limit=100"))
            .await
            .json();
        let items = calls["items"].as_array().unwrap().clone();
        if items.len() == numbers.len() && items.iter().all(|c| c["state"] == "done") {
            break items;
        }
        assert!(t.elapsed() < Duration::from_secs(120), "{calls}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let mut answered = 0;
    let mut left = 0;
    for c in &calls {
        let tr = &c["transfer"];
        assert_eq!(tr["to"], "agents", "{c}");
        if tr["answered"] == true {
            answered += 1;
            assert_eq!(c["result"], "Оператор", "{c}");
        } else {
            left += 1;
            assert!(
                c["result"] == "queue_abandoned" || c["result"] == "queue_timeout",
                "{c}"
            );
            let one = s.get(&format!("/api/v1/calls/{}", c["id"])).await.json();
            assert!(
                one["actions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["kind"] == "add_to_project"),
                "a caller left without an agent goes to the callback project: {one}"
            );
        }
    }
    assert!(answered >= 2, "{calls:?}");
    let agents = s.get("/api/v1/agents").await.json();
    let counted: i64 = agents["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["calls_today"].as_i64().unwrap())
        .sum();
    assert_eq!(counted, answered, "{agents}");
    println!("serve: {answered} callers talked to a simulated agent, {left} left the queue");
    // The calls export says how each transfer went.
    let csv = s
        .get(&format!(
            "/api/v1/projects/{p}/export?report=calls&format=csv"
        ))
        .await
        .text();
    assert!(csv.contains("Перевод"), "{csv}");
    assert!(
        csv.contains("оператор ") && csv.contains("разговор"),
        "{csv}"
    );
    // The agents' gauges: by state, and the callers waiting.
    let m = s.get("/metrics").await.text();
    assert!(
        m.contains("autoinformer_agents{state=\"available\"}"),
        "{m}"
    );
    assert!(m.contains("autoinformer_transfer_queue 0"), "{m}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_made_through_the_api_registers_its_softphone_to_serve() {
    // `serve` on a SIP trunk (nothing is dialed here): its listener is the agents' registrar.
    let dir = tempfile::tempdir().unwrap();
    let sip_port = baresip::free_ports(1)[0];
    let s = start(dir.path(), |c| {
        c.trunk.kind = "sip".into();
        c.trunk.sip.server = "127.0.0.1:9".into();
        c.trunk.sip.listen = format!("127.0.0.1:{sip_port}");
        c.trunk.sip.rtp_port_min = 48_000;
        c.trunk.sip.rtp_port_max = 48_999;
    })
    .await;
    let r = s
        .post_json(
            "/api/v1/agents",
            json!({"name": "Ольга", "sip_user": "201", "password": "pw-201-secret"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_i64().unwrap();
    let wav = baresip::tone_wav(dir.path(), "agent.wav", 1000);
    let state = |v: &Value| v["state"].as_str().unwrap_or_default().to_string();
    let r = s
        .post_json(
            "/api/v1/agents",
            json!({"name": "Пётр", "sip_user": "202", "password": "pw-202-secret"}),
        )
        .await;
    let other = r.json()["id"].as_i64().unwrap();
    {
        // A phone with a wrong password never makes its agent available — and, however often
        // it retries, does not lock out the other agent behind the same address.
        let _wrong = baresip::phone(
            dir.path(),
            "wrong",
            &format!("<sip:202@127.0.0.1:{sip_port}>;auth_pass=not-it;regint=60;answermode=auto"),
            &wav,
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
        let a = s.get(&format!("/api/v1/agents/{other}")).await.json();
        assert_eq!(state(&a), "offline", "{a}");
    }
    let _phone = baresip::phone(
        dir.path(),
        "right",
        &format!(
            "<sip:201@127.0.0.1:{sip_port}>;auth_pass=pw-201-secret;regint=60;answermode=auto"
        ),
        &wav,
    );
    let t = Instant::now();
    loop {
        let a = s.get(&format!("/api/v1/agents/{id}")).await.json();
        if state(&a) == "available" {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "never registered: {a}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Disabled: the registration no longer counts.
    let r = call_json(
        &s,
        "PATCH",
        &format!("/api/v1/agents/{id}"),
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(state(&r.json()), "offline", "{}", r.text());
    s.stop().await;
}
