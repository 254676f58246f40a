//! `/metrics` after a small campaign on the sim carrier (docs/operations.md, "Metrics"): every
//! family is there, of its type, with values that agree with the calls the API reports —
//! calls by result and projects by status from the database, AMD verdicts and SIP final
//! statuses per call, RTP send lateness per frame, dialer passes, HTTP answers by route
//! template (never a path with its ids) and status. One test in its own binary: the metrics
//! recorder is the process's.
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;
#[path = "common/smsc.rs"]
mod smsc;

use serde_json::json;
use server::{root, start};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const SCENARIO: &str = r#"
name = "Опрос"
results = ["Доволен", "Недоволен"]
start = "question"

[steps.question]
play = ["thanks.wav"]
listen = { dtmf = true, wait_s = 3 }

[[steps.question.on]]
dtmf = "1"
result = "Доволен"
next = "bye"

[[steps.question.on]]
dtmf = "2"
result = "Недоволен"
next = "bye"

[steps.bye]
play = ["thanks.wav"]
"#;

/// The samples of a scrape by `name{labels}` as written, and the `# TYPE` of each family.
fn parse(text: &str) -> (BTreeMap<String, f64>, BTreeMap<String, String>) {
    let mut samples = BTreeMap::new();
    let mut types = BTreeMap::new();
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("# TYPE ") {
            let (name, kind) = t.split_once(' ').unwrap();
            types.insert(name.to_string(), kind.to_string());
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let (key, value) = line.rsplit_once(' ').unwrap();
            let v: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
            samples.insert(key.to_string(), v);
        }
    }
    (samples, types)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_family_is_scraped_with_plausible_values_after_a_campaign() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |cfg| {
        cfg.calls.ring_timeout_s = 3;
        cfg.webhooks.allow_private = true;
    })
    .await;
    // A webhook receiver answering 200: every call's webhook counts in the outbox's metric.
    let hooks = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = hooks.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = hooks.accept().await {
            tokio::spawn(async move {
                if smsc::read_request(&mut sock).await.is_some() {
                    smsc::answer(&mut sock, "200 OK", "{}").await;
                }
            });
        }
    });
    let wav = std::fs::read(root().join("examples/survey/thanks.wav")).unwrap();
    let r = s
        .call("PUT", "/api/v1/prompts/thanks.wav", None, &wav)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = s
        .call(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            SCENARIO.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let scenario = r.json()["id"].as_i64().unwrap();
    let once = json!({"attempts": 1, "interval_s": 1});
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({
                "name": "Метрики", "scenario_id": scenario, "schedule": ["daily 00:00-24:00"],
                "max_calls_per_number": 1,
                "webhook_url": format!("http://{hook}/calls"),
                "webhook_secret": "metrics-webhook-secret-01",
                "retry_rules": {"no_answer": once, "busy": once, "rejected": once,
                                "system": once, "answering_machine": once},
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json()["id"].as_i64().unwrap();
    // The sim carrier by last digit: 1 busy, 2 declines (603), 4 voicemail, 5 presses 1.
    let csv = "Телефон\n+79990000011\n+79990000022\n+79990000034\n+79990000045\n";
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
    while s.get(&format!("/api/v1/projects/{p}")).await.json()["status"] != "finished" {
        assert!(
            t.elapsed() < Duration::from_secs(40),
            "the campaign never finished"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let calls = s.get("/api/v1/calls").await.json()["items"].clone();
    let calls = calls.as_array().unwrap();
    assert_eq!(calls.len(), 4, "{calls:?}");
    let answered = calls.iter().filter(|c| !c["answered_at"].is_null()).count() as f64;
    let with_status = |st: i64| calls.iter().filter(|c| c["sip_status"] == st).count() as f64;
    // Answers to count: a 404 of a handler, a 404 of the router, a 401.
    assert_eq!(s.get("/api/v1/projects/999999").await.status, 404);
    assert_eq!(s.get("/no/such/route").await.status, 404);
    let a = http::request(s.addr, "GET", "/api/v1/projects", None, None, b"").await;
    assert_eq!(a.status, 401);

    // Every call's webhook delivered.
    let t = Instant::now();
    while s.get(&format!("/api/v1/projects/{p}/stats")).await.json()["actions"]["webhooks"]
        ["delivered"]
        != 4
    {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "webhooks not delivered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let m = s.get("/metrics").await;
    assert_eq!(m.status, 200);
    assert!(
        m.header("content-type").unwrap().starts_with("text/plain"),
        "{:?}",
        m.headers
    );
    let text = m.text();
    println!("{text}");
    let (samples, types) = parse(&text);
    let get = |key: &str| -> f64 {
        *samples
            .get(key)
            .unwrap_or_else(|| panic!("no sample {key} in the scrape (above)"))
    };
    for (family, kind) in [
        ("autoinformer_calls_up", "gauge"),
        ("autoinformer_calls_total", "counter"),
        ("autoinformer_calls_without_audio_total", "counter"),
        ("autoinformer_projects", "gauge"),
        ("autoinformer_http_requests_total", "counter"),
        ("autoinformer_amd_verdicts_total", "counter"),
        ("autoinformer_sip_final_total", "counter"),
        ("autoinformer_rtp_send_lateness_seconds", "histogram"),
        ("autoinformer_dialer_pass_seconds", "histogram"),
        ("autoinformer_actions_total", "counter"),
        ("autoinformer_sms_service", "gauge"),
    ] {
        assert_eq!(
            types.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }

    // The outbox: each call's webhook done once; SMS off (SMSC is not configured).
    assert_eq!(
        get("autoinformer_actions_total{kind=\"webhook\",outcome=\"done\"}"),
        4.0
    );
    assert_eq!(get("autoinformer_sms_service{state=\"off\"}"), 1.0);
    assert_eq!(get("autoinformer_sms_service{state=\"running\"}"), 0.0);

    // From the database: they agree with the calls and the project.
    assert_eq!(get("autoinformer_calls_up"), 0.0);
    assert_eq!(get("autoinformer_calls_total{result=\"busy\"}"), 1.0);
    assert_eq!(get("autoinformer_calls_total{result=\"rejected\"}"), 1.0);
    assert_eq!(get("autoinformer_calls_total{result=\"Доволен\"}"), 1.0);
    let by_result: f64 = samples
        .iter()
        .filter(|(k, _)| k.starts_with("autoinformer_calls_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(by_result, 4.0);
    assert_eq!(get("autoinformer_calls_without_audio_total"), 0.0);
    assert_eq!(get("autoinformer_projects{status=\"finished\"}"), 1.0);
    for st in ["draft", "active", "paused"] {
        assert_eq!(
            get(&format!("autoinformer_projects{{status=\"{st}\"}}")),
            0.0
        );
    }

    // Per call: one verdict per answered call, one final status per call.
    let verdicts: f64 = ["human", "machine", "unknown"]
        .iter()
        .filter_map(|v| {
            samples.get(&format!(
                "autoinformer_amd_verdicts_total{{verdict=\"{v}\"}}"
            ))
        })
        .sum();
    assert_eq!(verdicts, answered, "one verdict per answered call");
    assert!(get("autoinformer_amd_verdicts_total{verdict=\"human\"}") >= 1.0);
    assert_eq!(get("autoinformer_sip_final_total{status=\"486\"}"), 1.0);
    assert_eq!(get("autoinformer_sip_final_total{status=\"603\"}"), 1.0);
    assert_eq!(
        get("autoinformer_sip_final_total{status=\"200\"}"),
        with_status(200)
    );
    assert_eq!(with_status(200), answered);

    // Histograms: cumulative buckets ending in the count, plausible sums.
    let histogram = |name: &str| -> (f64, f64) {
        let buckets: Vec<(f64, f64)> = samples
            .iter()
            .filter_map(|(k, v)| {
                let le = k.strip_prefix(&format!("{name}_bucket{{le=\""))?;
                let le = le.strip_suffix("\"}")?;
                Some((
                    if le == "+Inf" {
                        f64::INFINITY
                    } else {
                        le.parse().unwrap()
                    },
                    *v,
                ))
            })
            .collect();
        let mut sorted = buckets.clone();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(sorted.len() >= 5, "{name}: {sorted:?}");
        assert!(
            sorted.windows(2).all(|w| w[0].1 <= w[1].1),
            "{name}: buckets are cumulative: {sorted:?}"
        );
        let count = get(&format!("{name}_count"));
        assert_eq!(sorted.last().unwrap(), &(f64::INFINITY, count), "{name}");
        (count, get(&format!("{name}_sum")))
    };
    let (frames, late) = histogram("autoinformer_rtp_send_lateness_seconds");
    // Answered calls sent at least a second of audio each: 50 frames a second.
    assert!(frames >= 50.0 * answered, "{frames} frames");
    assert!(
        late >= 0.0 && late / frames < 0.02,
        "mean lateness {} s",
        late / frames
    );
    let (passes, took) = histogram("autoinformer_dialer_pass_seconds");
    assert!(passes >= 3.0, "{passes} passes");
    assert!(took / passes < 1.0, "mean pass {} s", took / passes);

    // HTTP answers by route template and status, never a path with its ids.
    assert!(
        get("autoinformer_http_requests_total{route=\"/api/v1/projects/{id}\",status=\"200\"}")
            >= 1.0
    );
    assert!(
        get("autoinformer_http_requests_total{route=\"/api/v1/projects/{id}\",status=\"404\"}")
            >= 1.0
    );
    assert!(
        get("autoinformer_http_requests_total{route=\"/api/v1/projects\",status=\"201\"}") >= 1.0
    );
    assert!(
        get("autoinformer_http_requests_total{route=\"/api/v1/projects\",status=\"401\"}") >= 1.0
    );
    assert!(get("autoinformer_http_requests_total{route=\"unmatched\",status=\"404\"}") >= 1.0);
    for key in samples
        .keys()
        .filter(|k| k.starts_with("autoinformer_http_requests_total{"))
    {
        let route = key
            .split("route=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(route == "unmatched" || route.starts_with('/'), "{key}");
        assert!(
            !route
                .split('/')
                .any(|seg| !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit())),
            "a route label with an id: {key}"
        );
    }
    s.stop().await;
}
