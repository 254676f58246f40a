//! Page times (issue 17: each page ≤ 150 ms with 1,000,000 calls and 1,000,000 contacts in the
//! store). Builds such a store — written straight into SQLite in a few statements, after the
//! server's own migrations made the schema — starts the real server on it in-process, signs in
//! over HTTP as a browser does, and times the pages a marketer opens: the projects page, a
//! project's page, the calls (first page, filtered pages, a page deep in the list, the last
//! results) and a call's timeline with a 60 s recording. Each page is asked `PAGE_TIME_REQUESTS`
//! times (30) one after another; min, median and p95 are printed beside the target.
//!
//! Five projects: one with half the contacts, four sharing the rest; one call per contact over
//! the last 30 days (the projects' calls interleaved in time, as the dialer makes them),
//! results in turn, an SMS for each «Доволен», a decision log. `PAGE_TIME_SCALE=20000` runs it
//! with 20,000 of each for a quick check. (Contacts are written as this version plans them — a
//! pick key each — or the server would re-plan them all when it opens the store.) The database lives in a temporary folder under /tmp,
//! removed at the end.
#[path = "../tests/common/http.rs"]
mod http;
#[path = "../tests/common/server.rs"]
mod server;

use autoinformer::config::Secret;
use autoinformer::store::sqlite::SqliteStore;
use autoinformer::store::{CampaignStore, NewProject};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;
use std::time::{Duration, Instant};

const PASSWORD: &str = "пароль-для-замера";
const TARGET_MS: f64 = 150.0;
const PROJECTS: i64 = 5;
const DAYS: i64 = 30;

fn main() {
    let n: i64 = std::env::var("PAGE_TIME_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let requests: usize = std::env::var("PAGE_TIME_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::Builder::new()
        .prefix("page-time-")
        .tempdir_in(std::env::temp_dir())
        .expect("a temporary folder");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let t = Instant::now();
        let ids = fill(dir.path(), n).await;
        let size = std::fs::metadata(dir.path().join("autoinformer.db")).map_or(0, |m| m.len());
        println!(
            "store: {n} contacts, {n} calls, {} projects written in {:.1} s ({:.0} MB)",
            PROJECTS,
            t.elapsed().as_secs_f64(),
            size as f64 / 1e6
        );
        let t = Instant::now();
        let s = server::start(dir.path(), |c| c.admin_password = Secret(PASSWORD.into())).await;
        println!("server started in {:.1} s", t.elapsed().as_secs_f64());
        let session = sign_in(&s).await;
        let big = ids.big_project;
        let today = chrono::Utc::now()
            .with_timezone(&chrono_tz::Europe::Moscow)
            .date_naive();
        let week_ago = today - chrono::Days::new(7);
        let pages = [
            ("projects page /", "/".to_string()),
            ("a project's page", format!("/projects/{big}")),
            ("calls, first page", "/calls".to_string()),
            (
                "calls of a project and a result",
                format!("/calls?project={big}&result=busy"),
            ),
            (
                "calls of one day a week ago",
                format!("/calls?from={week_ago}&to={week_ago}"),
            ),
            ("calls to one number", format!("/calls?number={}", ids.number)),
            (
                "calls of reached contacts",
                format!("/calls?project={big}&status=reached"),
            ),
            (
                "calls, a page deep in the list",
                format!("/calls?before={}", ids.deep_call),
            ),
            (
                "last results of a project",
                format!("/calls?tab=last&project={big}"),
            ),
            (
                "a call's timeline (60 s recording)",
                format!("/calls/{}", ids.timed_call),
            ),
        ];
        println!(
            "page times over {requests} requests each, {n} calls and {n} contacts (target ≤ {TARGET_MS:.0} ms):"
        );
        let mut slow = Vec::new();
        for (name, path) in &pages {
            let (min, median, p95, rows) = time_page(&s, path, &session, requests).await;
            let ok = p95 <= TARGET_MS;
            println!(
                "  {name:<38} min {min:>6.1} ms  median {median:>6.1} ms  p95 {p95:>6.1} ms  {:<4} ({rows} rows)",
                if ok { "ok" } else { "SLOW" }
            );
            if !ok {
                slow.push(*name);
            }
        }
        if slow.is_empty() {
            println!("every page within {TARGET_MS:.0} ms");
        } else {
            println!("over {TARGET_MS:.0} ms: {}", slow.join(", "));
        }
        s.stop().await;
    });
}

/// What the timed pages need to know of the store.
struct Filled {
    big_project: i64,
    timed_call: i64,
    deep_call: i64,
    number: String,
}

/// Makes the schema with the server's migrations, then writes the rows in bulk.
async fn fill(dir: &std::path::Path, n: i64) -> Filled {
    let db = dir.join("autoinformer.db");
    let store = SqliteStore::open(&db).await.expect("the store");
    let scenario = "name = \"Опрос\"\nresults = [\"Доволен\", \"Недоволен\"]\nstart = \"q\"\n\
                    [steps.q]\nplay = [\"transfer/connecting.wav\"]\nlisten = { dtmf = true, wait_s = 6 }\n\
                    [[steps.q.on]]\ndtmf = \"1\"\nresult = \"Доволен\"\n\
                    [[steps.q.on]]\ndtmf = \"2\"\nresult = \"Недоволен\"\n";
    let sc = store
        .create_scenario("Опрос", scenario)
        .await
        .expect("scenario");
    let mut projects = Vec::new();
    for i in 0..PROJECTS {
        let id = store
            .create_project(&NewProject {
                name: format!("Кампания {}", i + 1),
                scenario_id: sc,
                time_zone: "Europe/Moscow".into(),
                schedule: vec!["daily 09:00-21:00".into()],
                lines: 30,
                max_calls_per_number: 1,
                ..Default::default()
            })
            .await
            .expect("project");
        projects.push(id);
    }
    drop(store);
    let mut c = SqliteConnectOptions::new()
        .filename(&db)
        .pragma("synchronous", "OFF")
        .pragma("cache_size", "-262144")
        .pragma("temp_store", "MEMORY")
        .connect()
        .await
        .expect("a connection for the bulk writes");
    let now = chrono::Utc::now().timestamp();
    // Contacts: half in the first project, the rest shared; statuses in a fixed mix.
    let rest = n - n / 2;
    for (i, p) in (0..).zip(&projects) {
        // The rest shared by the other four, the remainder one each to the first of them.
        let m = if i == 0 {
            n / 2
        } else {
            rest / (PROJECTS - 1) + i64::from(i <= rest % (PROJECTS - 1))
        };
        let sql = format!(
            "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < {m}) \
             INSERT INTO contacts (project_id, seq, name, fields, priority, status, next_at, created_at, pick_key) \
             SELECT {p}, i, 'Абонент ' || i, '{{\"Лицевой счет\":\"' || (1000000 + i) || '\"}}', 0, \
             CASE WHEN i % 20 < 8 THEN 'not_called' WHEN i % 20 < 12 THEN 'retry' \
                  WHEN i % 20 < 17 THEN 'reached' ELSE 'not_reached' END, \
             CASE WHEN i % 20 < 8 THEN {now} WHEN i % 20 < 12 THEN {now} + 3600 END, {now}, \
             CAST(printf('%08d', i) AS BLOB) FROM s"
        );
        sqlx::query(&sql).execute(&mut c).await.expect("contacts");
    }
    sqlx::query(
        "INSERT INTO contact_numbers (contact_id, project_id, idx, e164, kind) \
         SELECT id, project_id, 0, '+79' || printf('%09d', id), 'mobile' FROM contacts ORDER BY id",
    )
    .execute(&mut c)
    .await
    .expect("numbers");
    // One call per contact over the last 30 days, the projects' calls interleaved in time as
    // the dialer makes them (ids grow with start times).
    let span = DAYS * 86_400;
    let base = now - span;
    sqlx::query(&format!(
        "INSERT INTO calls (project_id, contact_id, number, state, started_at, answered_at, ended_at, \
         sip_status, result, ring_ms, talk_ms, cost_kop, amd_verdict, amd_reason, amd_ms) \
         SELECT project_id, id, e164, 'done', t, CASE WHEN k >= 4 THEN t + 8 END, t + 40, \
         CASE k WHEN 1 THEN 486 WHEN 2 THEN 603 WHEN 3 THEN 480 WHEN 0 THEN 487 ELSE 200 END, \
         CASE k WHEN 0 THEN 'no_answer' WHEN 1 THEN 'busy' WHEN 2 THEN 'rejected' WHEN 3 THEN 'system' \
                WHEN 4 THEN 'answering_machine' WHEN 5 THEN 'Доволен' ELSE 'Недоволен' END, \
         8000, CASE WHEN k >= 4 THEN 32000 END, CASE WHEN k >= 4 THEN 160 ELSE 0 END, \
         CASE WHEN k = 4 THEN 'machine' WHEN k > 4 THEN 'human' END, \
         CASE WHEN k = 4 THEN 'beep' WHEN k > 4 THEN 'short_greeting_then_silence' END, \
         CASE WHEN k >= 4 THEN 1200 END \
         FROM (SELECT c.id, c.project_id, x.e164, c.id % 7 AS k, \
               {base} + (ROW_NUMBER() OVER (ORDER BY CAST(c.seq AS REAL) / z.n, c.id) - 1) * {span} / {n} AS t \
               FROM contacts c JOIN contact_numbers x ON x.contact_id = c.id \
               JOIN (SELECT project_id, COUNT(*) AS n FROM contacts GROUP BY project_id) z \
               ON z.project_id = c.project_id) \
         ORDER BY t"
    ))
    .execute(&mut c)
    .await
    .expect("calls");
    // An SMS for each «Доволен», delivered; the dialer's log.
    sqlx::query(&format!(
        "INSERT INTO actions (call_id, idx, project_id, contact_id, kind, payload, status, attempts, \
         next_at, give_up_at, created_at, cost_kop, external_id) \
         SELECT id, 0, project_id, contact_id, 'sms', '{{}}', 'delivered', 1, 0, 0, {now}, 250, 'smsc-' || id \
         FROM calls WHERE result = 'Доволен' ORDER BY id"
    ))
    .execute(&mut c)
    .await
    .expect("actions");
    sqlx::query(
        "INSERT INTO decisions (at, project_id, contact_id, number, decision, reason) \
         SELECT started_at, project_id, contact_id, number, 'dial', 'due, line free' \
         FROM calls WHERE id % 10 = 0 ORDER BY id",
    )
    .execute(&mut c)
    .await
    .expect("decisions");
    sqlx::query("UPDATE projects SET status = 'paused'")
        .execute(&mut c)
        .await
        .expect("projects");
    let big = projects[0];
    // The timed call: the big project's newest answered one, with a 60 s recording and its
    // timeline.
    let (timed, number): (i64, String) = sqlx::query_as(
        "SELECT id, number FROM calls WHERE project_id = ? AND result = 'Доволен' \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(big)
    .fetch_one(&mut c)
    .await
    .expect("a call to time");
    let wav = dir.join("recordings").join(format!("{timed}.wav"));
    write_recording(&wav, 60);
    let timeline = serde_json::json!({
        "prompts": [{"at_ms": 1200, "end_ms": 9400, "name": "question.wav"},
                    {"at_ms": 14000, "end_ms": 19000, "name": "thanks.wav"}],
        "events": [{"kind": "dtmf", "at_ms": 9900, "digit": "1"},
                   {"kind": "speech", "at_ms": 20000, "end_ms": 23000, "text": "спасибо до свидания"}],
        "result_at_ms": 10000, "duration_ms": 60000, "ended_by": "callee"
    });
    sqlx::query("UPDATE calls SET recording = ?, timeline = ?, talk_ms = 60000 WHERE id = ?")
        .bind(wav.display().to_string())
        .bind(timeline.to_string())
        .bind(timed)
        .execute(&mut c)
        .await
        .expect("the timed call");
    sqlx::query("PRAGMA optimize")
        .execute(&mut c)
        .await
        .expect("optimize");
    Filled {
        big_project: big,
        timed_call: timed,
        deep_call: n * 9 / 10,
        number,
    }
}

/// A stereo 8 kHz recording of `secs` seconds: the callee and the robot take turns talking.
fn write_recording(path: &std::path::Path, secs: u32) {
    std::fs::create_dir_all(path.parent().expect("a folder")).expect("recordings folder");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("a recording");
    for i in 0..secs * 8000 {
        let t = f64::from(i) / 8000.0;
        let tone = (t * 2.0 * std::f64::consts::PI * 300.0).sin() * 8000.0;
        let robot_talks = (t as u32 / 4).is_multiple_of(2);
        let (l, r) = if robot_talks {
            (0.0, tone)
        } else {
            (tone * 0.6, 0.0)
        };
        w.write_sample(l as i16).expect("sample");
        w.write_sample(r as i16).expect("sample");
    }
    w.finalize().expect("the recording's header");
}

fn cookie_of(a: &http::Answer, name: &str) -> Option<String> {
    a.headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .find_map(|(_, c)| {
            let (k, v) = c.split(';').next()?.split_once('=')?;
            (k.trim() == name && !v.is_empty()).then(|| v.to_string())
        })
}

/// Signs in as the admin, as a browser does; answers the session cookie.
async fn sign_in(s: &server::Server) -> String {
    let page = s.raw("GET", "/login", &[], b"").await;
    let csrf = cookie_of(&page, "ai_login_csrf").expect("a login csrf cookie");
    let body = format!("username=admin&password={}&csrf={csrf}", percent(PASSWORD));
    let a = s
        .raw(
            "POST",
            "/login",
            &[
                &format!("Cookie: ai_login_csrf={csrf}"),
                "Content-Type: application/x-www-form-urlencoded",
                &format!("Content-Length: {}", body.len()),
            ],
            body.as_bytes(),
        )
        .await;
    assert_eq!(a.status, 303, "signing in: {}", a.text());
    cookie_of(&a, "ai_session").expect("a session")
}

fn percent(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Asks for `path` `n` times after two warm-up requests: min, median, p95 in ms, and the rows
/// (calls, contacts, projects, events) the page listed.
async fn time_page(
    s: &server::Server,
    path: &str,
    session: &str,
    n: usize,
) -> (f64, f64, f64, usize) {
    let cookie = format!("Cookie: ai_session={session}");
    for _ in 0..2 {
        let a = s.raw("GET", path, &[&cookie], b"").await;
        assert_eq!(a.status, 200, "{path}: {}", a.text());
    }
    let mut ms = Vec::with_capacity(n);
    let mut rows = 0;
    for _ in 0..n {
        let t = Instant::now();
        let a = s.raw("GET", path, &[&cookie], b"").await;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(a.status, 200, "{path}");
        let html = a.text();
        rows = ["<tr data-", "<tr><td"]
            .iter()
            .map(|m| html.matches(m).count())
            .sum();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: usize| ms[(ms.len() * q / 100).min(ms.len() - 1)];
    (ms[0], at(50), at(95), rows)
}
