//! Secrets never reach a log (docs/operations.md, "Secrets"). The real `autoinformer serve` (a
//! child process, the sim carrier) runs with every secret set — the admin token and password,
//! SMSC's password, the server's and a project's webhook signing secrets, the SIP trunk's
//! password, the PostgreSQL database's password in `database_url` (the campaigns run on a
//! throwaway PostgreSQL server: `tests/common/pg.rs`) — at the most verbose log level (`AUTOINFORMER_LOG=trace`), and is used the way an
//! installation is: a user and an agent are made with passwords, someone signs in with a wrong
//! password and then the right one, a campaign sends SMS through SMSC's HTTP API (the local fake
//! of tests/common/smsc.rs, which checks the password) and signed webhooks. Then its whole
//! output — every line of stdout and stderr, start to stop — holds none of the secrets, in any
//! form they travel in (as is, URL-encoded).
#[path = "common/child.rs"]
mod child;
#[path = "common/http.rs"]
mod http;
#[path = "common/pg.rs"]
mod pg;
#[path = "common/smsc.rs"]
mod smsc;

use child::{free_addr, root, wait_healthy};
use serde_json::{json, Value};
use smsc::FakeSmsc;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

const TOKEN: &str = "ai-tok-Kq81sXw93LmZp0Ra";
const ADMIN_PASSWORD: &str = "Adm1n-Pw-Rz7Lq2Vb";
const SMSC_PASSWORD: &str = "Smsc-Pw-Tf5Nw8Kd&x=1";
const SERVER_WEBHOOK_SECRET: &str = "Srv-Whsec-Gh3Jk6Lm9Pq2";
const PROJECT_WEBHOOK_SECRET: &str = "Prj-Whsec-Uv4Wx7Yz0Ab3";
const TRUNK_PASSWORD: &str = "Trk-Pw-Cd5Ef8Gh1";
const AGENT_PASSWORD: &str = "Agt-Pw-Ij2Kl5Mn8";
const USER_PASSWORD: &str = "Usr-Pw-Op6Qr9St2";
const DATABASE_PASSWORD: &str = "Db-Pw-Wx4Yz7Ab0";
const WRONG_PASSWORD: &str = "Wrong-Pw-Uv3Wx6Yz9";
const PEOPLE: usize = 24;

async fn call(addr: SocketAddr, method: &str, path: &str, ct: Option<&str>, body: &[u8]) -> Value {
    child::call(addr, TOKEN, method, path, ct, body).await
}

/// Signs in through the login form; the answer's status.
async fn sign_in(addr: SocketAddr, user: &str, password: &str) -> u16 {
    let page = http::request_with(addr, "GET", "/login", &[], b"").await;
    let csrf = page.cookie("ai_login_csrf").expect("a login csrf cookie");
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("username", user)
        .append_pair("password", password)
        .append_pair("csrf", &csrf)
        .finish();
    let a = http::request_with(
        addr,
        "POST",
        "/login",
        &[
            format!("Cookie: ai_login_csrf={csrf}"),
            "Content-Type: application/x-www-form-urlencoded".into(),
        ],
        body.as_bytes(),
    )
    .await;
    a.status
}

fn scenario(hook: SocketAddr) -> String {
    format!(
        r#"name = "SMS и вебхук"
results = ["Согласен", "Отказ"]
start = "question"

[steps.question]
play = ["question.wav"]
listen = {{ dtmf = true, wait_s = 10 }}
barge_in = true

[[steps.question.on]]
dtmf = "1"
result = "Согласен"
actions = [{{ sms = "{{name}}, спасибо за ответ!" }}, {{ webhook = "http://{hook}/agreed" }}]
next = "thanks"

[[steps.question.on]]
dtmf = "2"
result = "Отказ"
next = "thanks"

[steps.thanks]
play = ["thanks.wav"]
"#
    )
}

/// A webhook receiver that answers 200 to everything; how many it took.
async fn receiver() -> (SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let got = n.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = l.accept().await {
            let got = got.clone();
            tokio::spawn(async move {
                if smsc::read_request(&mut sock).await.is_some() {
                    got.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    smsc::answer(&mut sock, "200 OK", "{}").await;
                }
            });
        }
    });
    (addr, n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_run_with_every_secret_set_logs_none_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let fake = FakeSmsc::start("robot", SMSC_PASSWORD).await;
    let (hook, hooks) = receiver().await;
    // The test server trusts 127.0.0.1, so the password is carried but never checked: what
    // matters is that it never reaches the log.
    let database = pg::fresh_database().await.replacen(
        "://autoinformer@",
        &format!("://autoinformer:{DATABASE_PASSWORD}@"),
        1,
    );
    assert!(database.contains(DATABASE_PASSWORD), "{database}");
    let cfg = dir.path().join("serve.toml");
    std::fs::write(
        &cfg,
        format!(
            "demo = false\nprompts = {:?}\nmodel = {:?}\n\
             [calls]\nring_timeout_s = 5\n\
             [dialer]\npass_ms = 200\nshutdown_grace_s = 5\n\
             [trunk.sim]\nring_min_s = 0.3\nring_max_s = 1.0\n\
             [trunk.sip]\nusername = \"robot\"\n\
             [sms.smsc]\nurl = {:?}\nlogin = \"robot\"\ntimeout_s = 5\n\
             [webhooks]\nallow_private = true\ntimeout_s = 2\n",
            root().join("prompts"),
            dir.path().join("no-model"),
            fake.url(),
        ),
    )
    .unwrap();
    let log = dir.path().join("serve.log");
    let out = std::fs::File::create(&log).unwrap();
    let addr = free_addr();
    let mut serve = child::Serve(
        Command::new(env!("CARGO_BIN_EXE_autoinformer"))
            .arg("serve")
            .arg("--config")
            .arg(&cfg)
            .arg("--data")
            .arg(&data)
            .arg("--listen")
            .arg(addr.to_string())
            .env("AUTOINFORMER_LOG", "trace")
            .env("AUTOINFORMER_ADMIN_TOKEN", TOKEN)
            .env("AUTOINFORMER_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("AUTOINFORMER_SMS_SMSC_PASSWORD", SMSC_PASSWORD)
            .env("AUTOINFORMER_WEBHOOKS_SECRET", SERVER_WEBHOOK_SECRET)
            .env("AUTOINFORMER_TRUNK_SIP_PASSWORD", TRUNK_PASSWORD)
            .env("AUTOINFORMER_DATABASE_URL", &database)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("serve starts"),
    );
    wait_healthy(addr).await;

    // People with passwords, and a sign-in that fails before one that works.
    let js = Some("application/json");
    call(
        addr,
        "POST",
        "/api/v1/users",
        js,
        json!({"username": "manager1", "password": USER_PASSWORD, "role": "manager"})
            .to_string()
            .as_bytes(),
    )
    .await;
    call(
        addr,
        "POST",
        "/api/v1/agents",
        js,
        json!({"name": "Оператор", "sip_user": "301", "password": AGENT_PASSWORD})
            .to_string()
            .as_bytes(),
    )
    .await;
    assert_ne!(sign_in(addr, "admin", WRONG_PASSWORD).await, 303);
    assert_eq!(sign_in(addr, "admin", ADMIN_PASSWORD).await, 303);
    assert_eq!(sign_in(addr, "manager1", USER_PASSWORD).await, 303);

    // A campaign that sends SMS and signed webhooks.
    for name in ["question.wav", "thanks.wav"] {
        let wav = std::fs::read(root().join("examples/survey/thanks.wav")).unwrap();
        call(addr, "PUT", &format!("/api/v1/prompts/{name}"), None, &wav).await;
    }
    let sc = call(
        addr,
        "POST",
        "/api/v1/scenarios",
        Some("application/toml"),
        scenario(hook).as_bytes(),
    )
    .await["id"]
        .clone();
    let p = call(
        addr,
        "POST",
        "/api/v1/projects",
        js,
        json!({
            "name": "Секреты", "scenario_id": sc, "schedule": ["daily 00:00-24:00"], "lines": 12,
            "webhook_url": format!("http://{hook}/calls"), "webhook_secret": PROJECT_WEBHOOK_SECRET,
        })
        .to_string()
        .as_bytes(),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let mut csv = String::from("Имя;Телефон\n");
    for i in 0..PEOPLE {
        csv.push_str(&format!("Абонент {i};+79997{i:05}5\n"));
    }
    call(
        addr,
        "POST",
        &format!("/api/v1/projects/{p}/contacts"),
        Some("text/csv"),
        csv.as_bytes(),
    )
    .await;
    call(
        addr,
        "POST",
        &format!("/api/v1/projects/{p}/activate"),
        None,
        b"",
    )
    .await;
    let t = Instant::now();
    let st = loop {
        let st = call(
            addr,
            "GET",
            &format!("/api/v1/projects/{p}/stats"),
            None,
            b"",
        )
        .await;
        let a = &st["actions"];
        if st["contacts"]["not_called"] == 0
            && st["contacts"]["in_call"] == 0
            && st["contacts"]["retry"] == 0
            && a["sms"]["queued"] == 0
            && a["webhooks"]["queued"] == 0
        {
            break st;
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "the campaign never settled: {st}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let agreed = st["results"]["Согласен"].as_u64().unwrap_or(0) as usize;
    assert!(agreed > 0, "nobody agreed, no SMS to send: {st}");
    assert_eq!(fake.messages().len(), agreed, "an SMS per agreement: {st}");
    assert!(
        hooks.load(std::sync::atomic::Ordering::SeqCst) > agreed,
        "webhooks: {st}"
    );
    serve.terminate();

    let text = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
    assert!(
        text.lines().count() > 1_000,
        "a trace-level run logs plenty; got {} lines",
        text.lines().count()
    );
    for secret in [
        TOKEN,
        ADMIN_PASSWORD,
        SMSC_PASSWORD,
        SERVER_WEBHOOK_SECRET,
        PROJECT_WEBHOOK_SECRET,
        TRUNK_PASSWORD,
        AGENT_PASSWORD,
        USER_PASSWORD,
        WRONG_PASSWORD,
        DATABASE_PASSWORD,
    ] {
        let encoded: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        for form in [secret.to_string(), encoded] {
            if let Some(line) = text.lines().find(|l| l.contains(&form)) {
                panic!("a secret ({form}) in the log: {line}");
            }
        }
    }
}
