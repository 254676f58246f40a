//! Webhooks to the Standard Webhooks spec (issue 15 §4, docs/actions.md): `serve` on the sim
//! carrier posts each finished call to local receivers allowed by `webhooks.allow_hosts` only.
//! Every webhook is signed — with the server's secret when the project has none, with each of
//! a project's secrets during a rotation — and verifies with the spec's own crate; the body of
//! one delivery is the same bytes on every retry; a receiver's 410 Gone stops deliveries to its
//! address (a retry through the API opens it again); other 4xx answers are given up after a
//! few tries; a waiting action can be cancelled; an address the check refuses is refused when
//! the project is saved.
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;
#[path = "common/smsc.rs"]
mod smsc;

use serde_json::{json, Value};
use server::{root, start, Server};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The server's own secret (configured: `webhooks.secret`).
const SERVER_SECRET: &str = "whsec_c2VydmVyLXNpZGUtc2VjcmV0LW9mLTMyLWJ5dGVzISE=";
const NEW_SECRET: &str = "whsec_bmV3LXByb2plY3Qtc2VjcmV0LTI0LWJ5dGVzIQ==";
const OLD_SECRET: &str = "old-project-secret-0123";

/// One request a receiver got: its path, headers (lowercased names) and body.
type Got = Arc<Mutex<Vec<(String, HashMap<String, String>, Vec<u8>)>>>;

/// A receiver: `/ok` answers 200; `/gone` 410 while `gone` is set, then 200; `/bad` always
/// 400; `/flaky` 500 twice, then 200.
async fn receiver(gone: Arc<AtomicBool>) -> (SocketAddr, Got) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let got: Got = Arc::default();
    let g = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = l.accept().await else {
                continue;
            };
            let (g, gone) = (g.clone(), gone.clone());
            tokio::spawn(async move {
                let Some(r) = smsc::read_request(&mut sock).await else {
                    return;
                };
                let n = {
                    let mut g = g.lock().unwrap();
                    g.push((r.path.clone(), r.headers, r.body));
                    g.iter().filter(|x| x.0 == r.path).count()
                };
                let status = match (r.path.as_str(), n) {
                    ("/gone", _) if gone.load(Ordering::SeqCst) => "410 Gone",
                    ("/bad", _) => "400 Bad Request",
                    ("/flaky", 1 | 2) => "500 Internal Server Error",
                    _ => "200 OK",
                };
                smsc::answer(&mut sock, status, "{}").await;
            });
        }
    });
    (addr, got)
}

async fn ok(a: http::Answer, what: &str) -> Value {
    assert!(a.status / 100 == 2, "{what}: {} {}", a.status, a.text());
    a.json()
}

async fn project(s: &Server, name: &str, scenario: i64, extra: Value) -> http::Answer {
    let mut body = json!({
        "name": name, "scenario_id": scenario, "schedule": ["daily 00:00-24:00"], "lines": 5,
        "retry_rules": {"busy": {"attempts": 1, "interval_s": 1}},
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    s.post_json("/api/v1/projects", body).await
}

/// A project of `n` busy numbers (one short call each), activated.
async fn campaign(s: &Server, name: &str, sc: i64, extra: Value, prefix: &str, n: usize) -> i64 {
    let p = ok(project(s, name, sc, extra).await, name).await["id"]
        .as_i64()
        .unwrap();
    let mut csv = String::from("ФИО;Телефон\n");
    for i in 0..n {
        csv.push_str(&format!("Абонент {i};+7999{prefix}{i:04}1\n"));
    }
    ok(
        s.call(
            "POST",
            &format!("/api/v1/projects/{p}/contacts"),
            Some("text/csv"),
            csv.as_bytes(),
        )
        .await,
        "import",
    )
    .await;
    ok(
        s.call("POST", &format!("/api/v1/projects/{p}/activate"), None, b"")
            .await,
        "activate",
    )
    .await;
    p
}

async fn webhooks_of(s: &Server, p: i64) -> Vec<Value> {
    s.get(&format!("/api/v1/projects/{p}/actions?kind=webhook"))
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn wait(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let t = Instant::now();
    while !check().await {
        assert!(t.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Whether a request verifies with `secret` by the Standard Webhooks crate (a receiver's way).
fn verifies(secret: &str, headers: &HashMap<String, String>, body: &[u8]) -> bool {
    let mut h = ::http::HeaderMap::new();
    for k in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        if let Some(v) = headers.get(k) {
            h.insert(k, v.parse().unwrap());
        }
    }
    let wh = if secret.starts_with("whsec_") {
        standardwebhooks::Webhook::new(secret).unwrap()
    } else {
        standardwebhooks::Webhook::from_bytes(secret.as_bytes().to_vec()).unwrap()
    };
    wh.verify(body, &h).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_webhook_is_signed_to_the_spec_and_receivers_answers_are_honoured() {
    let gone_now = Arc::new(AtomicBool::new(true));
    let (hook, got) = receiver(gone_now.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |c| {
        c.webhooks.allow_hosts = vec![hook.to_string()];
        c.webhooks.secret = autoinformer::config::Secret(SERVER_SECRET.into());
        c.webhooks.timeout_s = 2;
    })
    .await;
    for name in ["question.wav", "thanks.wav"] {
        let wav = std::fs::read(root().join("examples/survey").join(name)).unwrap();
        ok(
            s.call("PUT", &format!("/api/v1/prompts/{name}"), None, &wav)
                .await,
            "prompt",
        )
        .await;
    }
    let survey = std::fs::read(root().join("examples/survey/scenario.toml")).unwrap();
    let sc = ok(
        s.call(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            &survey,
        )
        .await,
        "scenario",
    )
    .await["id"]
        .as_i64()
        .unwrap();
    ok(
        project(&s, "Перезвон: жалобы", sc, json!({})).await,
        "callback",
    )
    .await;

    // Saved only where webhooks may go: another port of the allowed host is private.
    let other = SocketAddr::new(hook.ip(), hook.port().wrapping_add(1));
    let r = project(
        &s,
        "Чужой",
        sc,
        json!({"webhook_url": format!("http://{other}/x")}),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text());

    let url = |path: &str| format!("http://{hook}{path}");
    let unsigned = campaign(
        &s,
        "Без секрета",
        sc,
        json!({"webhook_url": url("/ok")}),
        "10",
        2,
    )
    .await;
    let rotating = campaign(
        &s,
        "Смена секрета",
        sc,
        json!({"webhook_url": url("/ok"), "webhook_secret": format!("{NEW_SECRET} {OLD_SECRET}")}),
        "11",
        1,
    )
    .await;
    let gone = campaign(
        &s,
        "Ушедший",
        sc,
        json!({"webhook_url": url("/gone")}),
        "12",
        3,
    )
    .await;
    let bad = campaign(
        &s,
        "Плохой",
        sc,
        json!({"webhook_url": url("/bad")}),
        "13",
        1,
    )
    .await;
    let flaky = campaign(
        &s,
        "Сбойный",
        sc,
        json!({"webhook_url": url("/flaky")}),
        "14",
        2,
    )
    .await;

    // Signed with the server's secret, and with each secret of a rotation.
    wait("the signed webhooks", Duration::from_secs(60), async || {
        let g = got.lock().unwrap();
        g.iter().filter(|x| x.0 == "/ok").count() >= 3
    })
    .await;
    let calls_of = |p: i64, g: &[(String, HashMap<String, String>, Vec<u8>)]| {
        g.iter()
            .filter(|x| serde_json::from_slice::<Value>(&x.2).unwrap()["project"]["id"] == p)
            .cloned()
            .collect::<Vec<_>>()
    };
    {
        let g = got.lock().unwrap().clone();
        for (_, h, body) in calls_of(unsigned, &g) {
            assert!(verifies(SERVER_SECRET, &h, &body), "server secret: {h:?}");
            assert!(h["webhook-id"].starts_with("call-"), "{h:?}");
            assert_eq!(h["webhook-id"], h["idempotency-key"]);
        }
        let rot = calls_of(rotating, &g);
        assert_eq!(rot.len(), 1);
        let (_, h, body) = &rot[0];
        assert_eq!(h["webhook-signature"].split(' ').count(), 2, "{h:?}");
        assert!(verifies(NEW_SECRET, h, body) && verifies(OLD_SECRET, h, body));
        assert!(!verifies(SERVER_SECRET, h, body));
        // The deprecated header still comes, with the first secret.
        assert!(h.contains_key("x-autoinformer-signature"));
    }

    // 410 Gone: the deliveries fail, and once one has heard it no later one to that address
    // is even tried.
    wait("the 410", Duration::from_secs(60), async || {
        let hooks = webhooks_of(&s, gone).await;
        hooks.len() == 3 && hooks.iter().all(|a| a["status"] == "failed")
    })
    .await;
    let hooks = webhooks_of(&s, gone).await;
    assert!(hooks
        .iter()
        .all(|a| a["last_error"].as_str().unwrap().contains("410 Gone")));
    let asked = got
        .lock()
        .unwrap()
        .iter()
        .filter(|x| x.0 == "/gone")
        .count();
    assert!((1..=3).contains(&asked), "{asked}");
    let later = campaign(
        &s,
        "Ушедший 2",
        sc,
        json!({"webhook_url": url("/gone")}),
        "15",
        2,
    )
    .await;
    wait("the later 410s", Duration::from_secs(60), async || {
        let hooks = webhooks_of(&s, later).await;
        hooks.len() == 2 && hooks.iter().all(|a| a["status"] == "failed")
    })
    .await;
    let asked_after = got
        .lock()
        .unwrap()
        .iter()
        .filter(|x| x.0 == "/gone")
        .count();
    assert_eq!(asked_after, asked, "no delivery to a gone address is tried");
    // A retry through the API opens the address again (the receiver is back: 200).
    gone_now.store(false, Ordering::SeqCst);
    let id = hooks[0]["id"].as_i64().unwrap();
    let r = ok(
        s.call("POST", &format!("/api/v1/actions/{id}/retry"), None, b"")
            .await,
        "retry",
    )
    .await;
    assert_eq!(r["status"], "queued", "{r}");
    wait("the retried webhook", Duration::from_secs(30), async || {
        s.get(&format!("/api/v1/actions/{id}")).await.json()["status"] == "done"
    })
    .await;
    // A finished action is not retried, nor cancelled.
    for what in ["retry", "cancel"] {
        let r = s
            .call("POST", &format!("/api/v1/actions/{id}/{what}"), None, b"")
            .await;
        assert_eq!(r.status, 409, "{what}: {}", r.text());
    }

    // Flaky: the same bytes on every attempt; a waiting one can be cancelled.
    wait(
        "the flaky receiver's third answer",
        Duration::from_secs(60),
        async || {
            webhooks_of(&s, flaky)
                .await
                .iter()
                .any(|a| a["status"] == "done")
        },
    )
    .await;
    let hooks = webhooks_of(&s, flaky).await;
    let done = hooks.iter().find(|a| a["status"] == "done").unwrap();
    let key = done["idempotency_key"].as_str().unwrap();
    let bodies: Vec<Vec<u8>> = got
        .lock()
        .unwrap()
        .iter()
        .filter(|x| x.1.get("webhook-id").map(String::as_str) == Some(key))
        .map(|x| x.2.clone())
        .collect();
    assert!(bodies.len() >= 2, "{}", bodies.len());
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "the same body every attempt"
    );
    if let Some(waiting) = hooks.iter().find(|a| a["status"] == "queued") {
        let id = waiting["id"].as_i64().unwrap();
        let r = ok(
            s.call("POST", &format!("/api/v1/actions/{id}/cancel"), None, b"")
                .await,
            "cancel",
        )
        .await;
        assert_eq!(r["status"], "failed");
        assert_eq!(r["last_error"], "cancelled through the API");
    }

    // A receiver that refuses the request itself (400): given up after three tries.
    wait("the 4xx give-up", Duration::from_secs(60), async || {
        webhooks_of(&s, bad)
            .await
            .iter()
            .all(|a| a["status"] == "failed")
    })
    .await;
    let hooks = webhooks_of(&s, bad).await;
    assert_eq!(hooks[0]["attempts"], 3, "{}", hooks[0]);
    assert!(hooks[0]["last_error"]
        .as_str()
        .unwrap()
        .contains("refused it 3 times"));
    // The webhook of a project changes through PATCH: a new address (checked), a rotated
    // secret; refused values are refused as at creation.
    let path = format!("/api/v1/projects/{bad}");
    let r = s
        .call(
            "PATCH",
            &path,
            Some("application/json"),
            json!({"webhook_url": url("/ok"), "webhook_secret": format!("{NEW_SECRET} {OLD_SECRET}")})
                .to_string()
                .as_bytes(),
        )
        .await;
    let v = ok(r, "patch").await;
    assert_eq!(v["webhook_url"], url("/ok"));
    assert!(
        v["webhook_secret"].as_str().unwrap().starts_with("whsec_…"),
        "{v}"
    );
    for body in [
        json!({"webhook_url": format!("http://{other}/x")}),
        json!({"lines": 0}),
        json!({"webhook_secret": "short"}),
    ] {
        let r = s
            .call(
                "PATCH",
                &path,
                Some("application/json"),
                body.to_string().as_bytes(),
            )
            .await;
        assert_eq!(r.status, 422, "{body}: {}", r.text());
    }
    let r = s
        .call(
            "PATCH",
            &path,
            Some("application/json"),
            br#"{"webhook_secret": null}"#,
        )
        .await;
    assert!(ok(r, "back to the server's secret").await["webhook_secret"].is_null());
    let metrics = s.get("/metrics").await.text();
    assert!(
        metrics.contains(
            "autoinformer_actions_given_up_total{kind=\"webhook\",reason=\"client_error\"}"
        ),
        "{metrics}"
    );
    s.stop().await;
}
