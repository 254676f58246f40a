//! `serve` end to end: the real server on port 0 with a fresh data directory (SQLite file),
//! the sim carrier (fast rings), driven only through the HTTP API the way a user would: store
//! prompts, a scenario, a project; import a CSV with good and bad rows; activate; let the sim
//! carrier answer in every way; check statuses, results, attempt counts, last results, calls
//! and the CSV/XLSX exports; then a graceful shutdown. Retry intervals are 1 s, so the whole
//! campaign runs in real time in well under a minute.
#[path = "common/http.rs"]
mod http;

use autoinformer::config::{Config, Secret};
#[allow(unused_imports)]
use autoinformer::store::{AuthStore, CampaignStore, DialerStore, ReportStore};
use http::{request, Answer};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "test-admin-token-0123456789";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Server {
    addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    demo: Option<i64>,
    generated: Option<String>,
}

async fn start(data: &std::path::Path, token: Option<&str>, demo: bool) -> Server {
    start_with(data, token, demo, |_| {}).await
}

async fn start_with(
    data: &std::path::Path,
    token: Option<&str>,
    demo: bool,
    tweak: impl FnOnce(&mut Config),
) -> Server {
    let mut cfg = Config {
        data: data.to_path_buf(),
        prompts: root().join("prompts"),
        model: data.join("no-model"),
        demo,
        ..Default::default()
    };
    if let Some(t) = token {
        cfg.admin_token = Secret(t.into());
    }
    cfg.calls.ring_timeout_s = 3;
    cfg.calls.record = true;
    cfg.trunk.sim.ring_min_s = 0.2;
    cfg.trunk.sim.ring_max_s = 0.6;
    cfg.dialer.pass_ms = 200;
    cfg.dialer.shutdown_grace_s = 5;
    cfg.import.max_bytes = 64 * 1024;
    tweak(&mut cfg);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stop = CancellationToken::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(autoinformer::server::run(
        cfg,
        listener,
        stop.clone(),
        move |s| {
            let _ = tx.send(s.clone());
        },
    ));
    let started = tokio::time::timeout(Duration::from_secs(30), rx)
        .await
        .expect("the server starts within 30 s")
        .expect("the server reports its start");
    Server {
        addr: started.addr,
        stop,
        task,
        demo: started.demo_project,
        generated: started.generated_token,
    }
}

impl Server {
    async fn call(&self, method: &str, path: &str, ctype: Option<&str>, body: &[u8]) -> Answer {
        request(self.addr, method, path, Some(TOKEN), ctype, body).await
    }
    async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, None, b"").await
    }
    async fn post_json(&self, path: &str, v: Value) -> Answer {
        self.call(
            "POST",
            path,
            Some("application/json"),
            v.to_string().as_bytes(),
        )
        .await
    }
    async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(40), self.task)
            .await
            .expect("graceful shutdown within the grace")
            .expect("server task")
            .expect("server result");
    }
}

fn error_code(a: &Answer) -> String {
    a.json()["error"]["code"].as_str().unwrap_or("").to_string()
}

const SCENARIO: &str = r#"
name = "Опрос: уборка"
results = ["Доволен", "Недоволен"]
start = "question"

[steps.question]
play = ["question.wav"]
listen = { dtmf = true, wait_s = 3 }
barge_in = true

[[steps.question.on]]
dtmf = "1"
result = "Доволен"
next = "thanks"

[[steps.question.on]]
dtmf = "2"
result = "Недоволен"
next = "thanks"

[steps.thanks]
play = ["thanks.wav"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_runs_through_the_api_from_import_to_exports() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), Some(TOKEN), false).await;

    // Auth: everything but /healthz needs the token.
    let h = request(s.addr, "GET", "/healthz", None, None, b"").await;
    assert_eq!(h.status, 200);
    let no = request(s.addr, "GET", "/api/v1/projects", None, None, b"").await;
    assert_eq!((no.status, error_code(&no).as_str()), (401, "unauthorized"));
    let bad = request(s.addr, "GET", "/api/v1/projects", Some("wrong"), None, b"").await;
    assert_eq!(bad.status, 401);
    assert_eq!(
        s.get("/api/v1/openapi.json").await.json()["openapi"],
        "3.1.0"
    );

    // Prompts: a short one for both steps; garbage is refused with 422.
    let wav = std::fs::read(root().join("examples/survey/thanks.wav")).unwrap();
    for name in ["question.wav", "thanks.wav"] {
        let r = s
            .call("PUT", &format!("/api/v1/prompts/{name}"), None, &wav)
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let junk = s
        .call("PUT", "/api/v1/prompts/junk.wav", None, b"not audio at all")
        .await;
    assert_eq!((junk.status, error_code(&junk).as_str()), (422, "invalid"));

    // A bad scenario lists every problem with its place; the good one is stored.
    let broken = SCENARIO.replace("next = \"thanks\"", "next = \"nowhere\"");
    let r = s
        .call(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            broken.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let problems = r.json()["error"]["details"]["problems"].clone();
    assert!(problems.as_array().unwrap().len() >= 2, "{problems}");
    assert!(problems[0]["line"].as_u64().is_some(), "{problems}");
    let r = s
        .call(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            SCENARIO.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let scenario_id = r.json()["id"].as_i64().unwrap();

    // Projects: invalid values are 422 naming the value; defaults fill the rest.
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "x", "scenario_id": scenario_id, "max_calls_per_number": 3}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.text().contains("max_calls_per_number is 3"),
        "{}",
        r.text()
    );
    let r = s
        .post_json("/api/v1/projects", json!({"name": "x", "scenario_id": 999}))
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "x", "scenario_id": scenario_id, "colour": 1}),
        )
        .await;
    assert_eq!(r.status, 422, "unknown fields are refused: {}", r.text());
    let rule = json!({"attempts": 2, "interval_s": 1});
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({
                "name": "Опрос жильцов", "scenario_id": scenario_id,
                "schedule": ["daily 00:00-24:00"], "lines": 20,
                "retry_rules": {"no_answer": rule, "busy": rule, "rejected": {"attempts": 1, "interval_s": 1},
                                "system": rule, "answering_machine": rule},
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json()["id"].as_i64().unwrap();
    let dup = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "Опрос жильцов", "scenario_id": scenario_id}),
        )
        .await;
    assert_eq!(dup.status, 409);

    // No contacts yet: activation is refused.
    let r = s
        .call("POST", &format!("/api/v1/projects/{p}/activate"), None, b"")
        .await;
    assert_eq!(r.status, 422, "{}", r.text());

    // Import: every sim behaviour by last digit, a two-number contact, and bad rows.
    let mut csv = String::from("ФИО;Телефон;Телефон 2;Лицевой счет\n");
    for d in 0..10 {
        csv.push_str(&format!("Абонент {d};8 (999) 100-00-0{d};;{}\n", 5000 + d));
    }
    csv.push_str("Два номера;+79992000001;+7 999 200-00-05;6000\n");
    csv.push_str("Казахстан;+7 701 234 56 78;;6001\n");
    csv.push_str("Мусор;позвонить вечером;;6002\n");
    csv.push_str("Дубль;+79991000003;;6003\n");
    let r = s
        .call(
            "POST",
            &format!("/api/v1/projects/{p}/contacts"),
            Some("text/csv"),
            csv.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let rep = r.json();
    assert_eq!(rep["imported"], 11, "{rep}");
    assert_eq!(rep["duplicates"], 1, "{rep}");
    let rejected: Vec<(u64, String)> = rep["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["row"].as_u64().unwrap(),
                x["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        [
            (13, "+7 701 234 56 78".to_string()),
            (14, "позвонить вечером".to_string())
        ]
    );
    // Too large (the test config allows 64 KiB): refused, nothing imported.
    let big = "phone\n".to_string() + &"+79161234567\n".repeat(6000);
    let r = s
        .call(
            "POST",
            &format!("/api/v1/projects/{p}/contacts"),
            Some("text/csv"),
            big.as_bytes(),
        )
        .await;
    assert_eq!((r.status, error_code(&r).as_str()), (413, "too_large"));
    let r = s
        .call(
            "POST",
            &format!("/api/v1/projects/{p}/contacts"),
            Some("text/csv"),
            b"a;b\n1;2\n",
        )
        .await;
    assert_eq!(r.status, 422, "no phone column: {}", r.text());
    for (what, body) in [
        ("empty", &b""[..]),
        (
            "a broken workbook",
            &b"PK\x03\x04 this is no spreadsheet"[..],
        ),
    ] {
        let r = s
            .call(
                "POST",
                &format!("/api/v1/projects/{p}/contacts"),
                None,
                body,
            )
            .await;
        assert_eq!(
            (r.status, error_code(&r).as_str()),
            (422, "invalid"),
            "{what}: {}",
            r.text()
        );
    }
    let r = s
        .call(
            "POST",
            "/api/v1/projects/9999/contacts",
            Some("text/csv"),
            b"phone\n+79161234567\n",
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    let st = s.get(&format!("/api/v1/projects/{p}/stats")).await.json();
    assert_eq!(st["contacts"]["not_called"], 11, "{st}");

    // Activate and let the sim carrier answer.
    let r = s
        .call("POST", &format!("/api/v1/projects/{p}/activate"), None, b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let deadline = Instant::now() + Duration::from_secs(120);
    let st = loop {
        let st = s.get(&format!("/api/v1/projects/{p}/stats")).await.json();
        let open = st["contacts"]["not_called"].as_u64().unwrap()
            + st["contacts"]["retry"].as_u64().unwrap()
            + st["contacts"]["in_call"].as_u64().unwrap();
        if open == 0 {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "the campaign did not finish: {st}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(st["contacts"]["reached"], 6, "{st}");
    assert_eq!(st["contacts"]["not_reached"], 5, "{st}");
    let res = |k: &str| st["results"][k].as_u64().unwrap_or(0);
    assert_eq!(res("no_answer"), 2, "{st}");
    assert_eq!(res("busy"), 3, "{st}");
    assert_eq!(res("rejected"), 1, "{st}");
    assert_eq!(res("system"), 2, "{st}");
    assert_eq!(res("answering_machine"), 2, "{st}");
    assert_eq!(res("Доволен"), 2, "{st}");
    assert_eq!(res("Недоволен"), 1, "{st}");
    assert_eq!(res("not_listened"), 3, "{st}");
    assert_eq!(st["calls"], 16, "{st}");
    assert!(st["cost"].as_f64().unwrap() > 0.0);

    // Calls: newest first, paginated, filtered.
    let page1 = s
        .get("/api/v1/calls?project_id=".to_string().as_str())
        .await;
    assert_eq!(
        page1.status, 400,
        "a bad query is a 400 in the API's format"
    );
    let page1 = s
        .get(&format!("/api/v1/calls?project_id={p}&limit=10"))
        .await
        .json();
    let items = page1["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    assert!(items
        .windows(2)
        .all(|w| w[0]["id"].as_i64() > w[1]["id"].as_i64()));
    let next = page1["next"].as_i64().unwrap();
    let page2 = s
        .get(&format!(
            "/api/v1/calls?project_id={p}&limit=10&before={next}"
        ))
        .await
        .json();
    assert_eq!(page2["items"].as_array().unwrap().len(), 6);
    assert!(page2["next"].is_null());
    let busy = s
        .get(&format!("/api/v1/calls?project_id={p}&result=busy"))
        .await
        .json();
    let busy = busy["items"].as_array().unwrap();
    assert_eq!(busy.len(), 3);
    assert!(busy
        .iter()
        .all(|c| c["result_label"] == "Занято" && c["sip_status"] == 486));
    let q = "%D0%94%D0%BE%D0%B2%D0%BE%D0%BB%D0%B5%D0%BD"; // Доволен
    let happy = s
        .get(&format!("/api/v1/calls?project_id={p}&result={q}"))
        .await
        .json();
    let happy = happy["items"].as_array().unwrap();
    assert_eq!(happy.len(), 2);
    assert!(happy
        .iter()
        .all(|c| c["reaction"] == "1" && c["amd"]["verdict"] == "human"));
    // Recordings are the API's route, never the file's place on the server.
    for c in happy {
        let r = c["recording"].as_str().unwrap();
        assert_eq!(r, format!("/api/v1/calls/{}/recording", c["id"]));
        let wav = s.get(r).await;
        assert_eq!((wav.status, &wav.body[..4]), (200, &b"RIFF"[..]));
    }

    // Last results: one row per contact; the two-number contact was reached on its 2nd number.
    let last = s
        .get(&format!("/api/v1/projects/{p}/last-results?limit=100"))
        .await
        .json();
    let rows = last["items"].as_array().unwrap();
    assert_eq!(rows.len(), 11);
    let two = rows.iter().find(|r| r["name"] == "Два номера").unwrap();
    assert_eq!(two["numbers"], json!(["+79992000001", "+79992000005"]));
    assert_eq!(two["calls"], 2);
    assert_eq!(two["status"], "reached");
    assert_eq!(two["last_call"]["number"], "+79992000005");
    assert_eq!(two["last_call"]["result"], "Доволен");
    assert_eq!(two["fields"]["Лицевой счет"], "6000");
    let noans = rows.iter().find(|r| r["name"] == "Абонент 0").unwrap();
    assert_eq!(
        (noans["calls"].as_i64(), noans["status"].as_str()),
        (Some(2), Some("not_reached"))
    );
    let reached = s
        .get(&format!("/api/v1/projects/{p}/last-results?status=reached"))
        .await
        .json();
    assert_eq!(reached["items"].as_array().unwrap().len(), 6);

    // Exports: CSV with BOM and `;`, XLSX that a spreadsheet reader opens.
    let r = s
        .get(&format!(
            "/api/v1/projects/{p}/export?report=calls&format=csv"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    assert!(r.header("content-disposition").unwrap().contains(".csv"));
    assert!(r.body.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM for Excel");
    let mut rd = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(&r.body[3..]);
    let headers = rd.headers().unwrap().clone();
    assert!(headers.iter().any(|h| h == "Результат"), "{headers:?}");
    let type_col = headers
        .iter()
        .position(|h| h == "Тип номера")
        .expect("a number type column");
    let recs: Vec<csv::StringRecord> = rd.records().map(|x| x.unwrap()).collect();
    assert_eq!(recs.len(), 16);
    assert!(
        recs.iter()
            .all(|x| ["мобильный", "рабочий", "домашний", "другой"].contains(&&x[type_col])),
        "every call names its number's type: {:?}",
        recs.iter()
            .map(|x| x[type_col].to_string())
            .collect::<Vec<_>>()
    );
    assert!(recs
        .iter()
        .any(|x| x.iter().any(|c| c == "Обнаружен автоответчик (системный)")));
    let r = s
        .get(&format!(
            "/api/v1/projects/{p}/export?report=last&format=xlsx"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    use calamine::Reader;
    let mut wb = calamine::Xlsx::new(std::io::Cursor::new(r.body.clone())).expect("an xlsx");
    let sheet = wb.worksheet_range_at(0).unwrap().unwrap();
    assert_eq!(sheet.height(), 12, "header + one row per contact");
    let r = s
        .get(&format!(
            "/api/v1/projects/{p}/export?report=contacts&format=csv&status=not_reached"
        ))
        .await;
    assert_eq!(r.status, 200);
    let n = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(&r.body[3..])
        .records()
        .count();
    assert_eq!(n, 5);
    let r = s
        .get(&format!(
            "/api/v1/projects/{p}/export?report=everything&format=csv"
        ))
        .await;
    assert_eq!(r.status, 400, "{}", r.text());

    // Every contact is closed and no call is up: the project finishes and frees its slot.
    let t = Instant::now();
    while s.get(&format!("/api/v1/projects/{p}")).await.json()["status"] != "finished" {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the project never finished"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Metrics.
    let m = s.get("/metrics").await.text();
    assert!(
        m.contains("autoinformer_calls_total{result=\"busy\"} 3"),
        "{m}"
    );
    assert!(
        m.contains("autoinformer_projects{status=\"finished\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("autoinformer_calls_without_audio_total 0"),
        "{m}"
    );

    // Stop list: a listed number is never dialed.
    let r = s
        .post_json(
            "/api/v1/stop-list",
            json!({"numbers": ["8 916 123-45-67", "garbage"]}),
        )
        .await
        .json();
    assert_eq!(r["added"], json!(["+79161234567"]));
    assert_eq!(r["rejected"].as_array().unwrap().len(), 1);

    // Pause stops new calls.
    let r = s
        .call("POST", &format!("/api/v1/projects/{p}/pause"), None, b"")
        .await;
    assert_eq!(r.status, 200);
    s.stop().await;
}

/// An XLSX workbook with a header and rows of text cells (phone numbers as numbers where
/// they parse, as Excel users store them).
fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            match v.parse::<f64>() {
                Ok(n) if r > 0 => ws.write_number(r as u32, c as u16, n).map(|_| ()),
                _ => ws.write_string(r as u32, c as u16, *v).map(|_| ()),
            }
            .unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

/// A multipart form with one file field.
fn multipart(field: &str, file_name: &str, data: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----autoinformer-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nимпорт\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_active_projects_refuse_a_sixth_with_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), Some(TOKEN), false).await;
    let sc = store_survey(&s).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        // Outside any schedule so nothing dials: the rule is about activation.
        let id = s
            .post_json(
                "/api/v1/projects",
                json!({"name": format!("Проект {i}"), "scenario_id": sc, "schedule": ["mon 03:00-03:01"]}),
            )
            .await
            .json()["id"]
            .as_i64()
            .unwrap();
        let r = if i < 5 {
            s.call(
                "POST",
                &format!("/api/v1/projects/{id}/contacts"),
                Some("text/csv"),
                format!("phone\n+7999300000{i}\n").as_bytes(),
            )
            .await
        } else {
            // The sixth gets its contacts as an XLSX workbook in a multipart form.
            let book = xlsx(&[
                &["ФИО", "Мобильный", "Адрес"],
                &["Орлова", "79993000005", "ул. Мира, 1"],
                &["Казах", "77012345678", "Алматы"],
                &["Два", "8 999 300-00-06, +79993000007", ""],
            ]);
            let (ctype, body) = multipart("file", "база.xlsx", &book);
            s.call(
                "POST",
                &format!("/api/v1/projects/{id}/contacts"),
                Some(&ctype),
                &body,
            )
            .await
        };
        assert_eq!(r.status, 200, "{}", r.text());
        if i == 5 {
            let rep = r.json();
            assert_eq!(rep["imported"], 2, "{rep}");
            assert_eq!(rep["rejected"][0]["row"], 3, "{rep}");
            assert_eq!(rep["rejected"][0]["value"], "77012345678", "{rep}");
            let last = s
                .get(&format!("/api/v1/projects/{id}/last-results"))
                .await
                .json();
            assert_eq!(
                last["items"][1]["numbers"],
                json!(["+79993000006", "+79993000007"])
            );
            assert_eq!(last["items"][0]["fields"]["Адрес"], "ул. Мира, 1");
        }
        ids.push(id);
    }
    for id in &ids[..5] {
        let r = s
            .call(
                "POST",
                &format!("/api/v1/projects/{id}/activate"),
                None,
                b"",
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = s
        .call(
            "POST",
            &format!("/api/v1/projects/{}/activate", ids[5]),
            None,
            b"",
        )
        .await;
    assert_eq!(r.status, 409);
    let e = r.json();
    assert_eq!(e["error"]["code"], "too_many_active");
    assert_eq!(
        e["error"]["details"]["active"],
        json!(["Проект 0", "Проект 1", "Проект 2", "Проект 3", "Проект 4"])
    );
    assert_eq!(
        s.get(&format!("/api/v1/projects/{}", ids[5])).await.json()["status"],
        "draft",
        "nothing changed"
    );
    // A scenario whose prompt file has gone from the disk no longer starts: 422 naming it.
    std::fs::remove_file(dir.path().join("prompts/question.wav")).unwrap();
    s.call(
        "POST",
        &format!("/api/v1/projects/{}/pause", ids[4]),
        None,
        b"",
    )
    .await;
    let r = s
        .call(
            "POST",
            &format!("/api/v1/projects/{}/activate", ids[4]),
            None,
            b"",
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("question.wav"), "{}", r.text());
    std::fs::write(
        dir.path().join("prompts/question.wav"),
        std::fs::read(root().join("examples/survey/thanks.wav")).unwrap(),
    )
    .unwrap();
    let r = s
        .call(
            "POST",
            &format!("/api/v1/projects/{}/activate", ids[4]),
            None,
            b"",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Pausing one frees a place.
    s.call(
        "POST",
        &format!("/api/v1/projects/{}/pause", ids[0]),
        None,
        b"",
    )
    .await;
    let r = s
        .call(
            "POST",
            &format!("/api/v1/projects/{}/activate", ids[5]),
            None,
            b"",
        )
        .await;
    assert_eq!(r.status, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_data_directory_gets_a_token_printed_once_and_a_demo_campaign_that_dials() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), None, true).await;
    let token = s
        .generated
        .clone()
        .expect("a generated token on a fresh start");
    let demo = s.demo.expect("a demo project on a fresh start");
    let addr = s.addr;
    let get = |path: String| {
        let t = token.clone();
        async move { request(addr, "GET", &path, Some(&t), None, b"").await }
    };
    let p = get(format!("/api/v1/projects/{demo}")).await.json();
    assert_eq!(p["status"], "active");
    // Calls are placed and results arrive within seconds.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let st = get(format!("/api/v1/projects/{demo}/stats")).await.json();
        if st["calls"].as_u64().unwrap() >= 5 {
            break;
        }
        assert!(Instant::now() < deadline, "no demo results: {st}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    s.stop().await;
    // A restart keeps the token, prints none, and makes no second demo.
    let s2 = start(dir.path(), None, true).await;
    assert!(s2.generated.is_none());
    assert!(s2.demo.is_none());
    let r = request(s2.addr, "GET", "/api/v1/projects", Some(&token), None, b"").await;
    let names: Vec<String> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        [
            autoinformer::server::DEMO_PROJECT,
            autoinformer::server::DEMO_CALLBACK_PROJECT
        ],
        "the demo and the callback project its survey copies into"
    );
    s2.stop().await;
}

/// Stores the prompts and the scenario, creates an active project dialing round the clock
/// with `lines` lines over `csv`; answers its id.
async fn campaign(s: &Server, lines: u32, csv: &str) -> i64 {
    let sc = store_survey(s).await;
    let p = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "Остановка", "scenario_id": sc, "schedule": ["daily 00:00-24:00"], "lines": lines}),
        )
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
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
    p
}

/// Waits until `n` calls of the project are up.
async fn calls_up(s: &Server, p: i64, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let calls = s.get(&format!("/api/v1/calls?project_id={p}")).await.json();
        let up = calls["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["state"] == "dialing")
            .count();
        if up >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{n} calls never came up: {calls}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Six silent people (the sim's last digit 8): each call lasts the prompt plus 3 s.
fn silent_people() -> String {
    let mut csv = String::from("phone\n");
    for i in 0..6 {
        csv.push_str(&format!("+7999800{i:03}8\n"));
    }
    csv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_new_calls_at_once_and_lets_calls_in_progress_finish() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_with(dir.path(), Some(TOKEN), false, |c| {
        c.dialer.shutdown_grace_s = 20
    })
    .await;
    let p = campaign(&s, 3, &silent_people()).await;
    calls_up(&s, p, 3).await;
    s.stop().await;
    // The three calls ended normally with their real result; nobody else was dialed.
    let store = autoinformer::store::sqlite::SqliteStore::open(&dir.path().join("autoinformer.db"))
        .await
        .unwrap();
    let st = store.stats(p).await.unwrap();
    assert_eq!(st.calls, 3, "{st:?}");
    assert_eq!(st.results.get("not_listened"), Some(&3), "{st:?}");
    assert_eq!(st.contacts["not_called"], 3, "{st:?}");
    assert!(store.in_flight().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_cut_by_the_shutdown_grace_are_closed_as_system_on_restart_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_with(dir.path(), Some(TOKEN), false, |c| {
        c.dialer.shutdown_grace_s = 0
    })
    .await;
    let p = campaign(&s, 3, &silent_people()).await;
    calls_up(&s, p, 3).await;
    s.stop().await;
    let store = autoinformer::store::sqlite::SqliteStore::open(&dir.path().join("autoinformer.db"))
        .await
        .unwrap();
    assert_eq!(
        store.in_flight().await.unwrap().len(),
        3,
        "left in progress"
    );
    drop(store);
    // Restart: recovery closes them as `system` (interrupted) before any new dialing, and
    // the contacts are retried by the rules (system: 30 min), never dialed twice at once.
    let s = start_with(dir.path(), Some(TOKEN), false, |c| {
        c.dialer.pass_ms = 60_000
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let st = loop {
        let st = s.get(&format!("/api/v1/projects/{p}/stats")).await.json();
        if st["results"]["system"] == 3 {
            break st;
        }
        assert!(Instant::now() < deadline, "not recovered: {st}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(st["contacts"]["retry"], 3, "{st}");
    let calls = s
        .get(&format!("/api/v1/calls?project_id={p}&result=system"))
        .await
        .json();
    assert!(calls["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["reaction"] == "interrupted"));
    s.stop().await;
}

/// Stores the two prompts (a short one for both) and the survey scenario; answers its id.
async fn store_survey(s: &Server) -> i64 {
    let wav = std::fs::read(root().join("examples/survey/thanks.wav")).unwrap();
    for name in ["question.wav", "thanks.wav"] {
        let r = s
            .call("PUT", &format!("/api/v1/prompts/{name}"), None, &wav)
            .await;
        assert!(r.status == 201 || r.status == 200, "{}", r.text());
    }
    let r = s
        .call(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            SCENARIO.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_the_concurrency_limit_get_503_with_retry_after_then_are_served() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let s = start_with(dir.path(), Some(TOKEN), false, |c| {
        c.api.max_in_flight = 1;
        c.api.queue_timeout_ms = 200;
        c.import.max_bytes = 1 << 20;
    })
    .await;
    let sc = store_survey(&s).await;
    let p = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "Лимит", "scenario_id": sc}),
        )
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    // An upload that never finishes holds the only slot.
    let mut slow = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/projects/{p}/contacts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: text/csv\r\nContent-Length: 100000\r\n\r\nФИО;Телефон\n"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = Instant::now();
    let r = s.get("/api/v1/projects").await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(error_code(&r), "busy");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "refused after the queue wait, not hung"
    );
    // /healthz is never limited.
    assert_eq!(
        request(s.addr, "GET", "/healthz", None, None, b"")
            .await
            .status,
        200
    );
    drop(slow);
    let t = Instant::now();
    loop {
        let r = s.get("/api/v1/projects").await;
        if r.status == 200 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "the slot never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.stop().await;
}
