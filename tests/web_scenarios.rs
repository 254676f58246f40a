//! The scenarios and prompts pages over HTTP (docs/users.md, "Scenarios", "Prompts"): a
//! scenario with a problem comes back with the problem at its line and nothing stored; a
//! fixed one is stored and drawn (steps, arrows' labels, results, badges); names and prompts
//! like `<script>` and `"><img onerror>` are escaped in the page and in the SVG; a viewer
//! reads but cannot save; forged CSRF is refused; a prompt uploads, lists with its duration
//! and the scenario that uses it, plays only with a session; an oversized one gets a message.
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;
#[path = "common/web.rs"]
mod web;

use autoinformer::config::Secret;
use serde_json::json;
use server::{start, Server};
use web::{csrf_field, page, post_form, sign_in};

const PASSWORD: &str = "пароль-админа-1";
const EVIL_SCRIPT: &str = "<script>alert(1)</script>";
const EVIL_IMG: &str = "\"><img src=x onerror=alert(2)>";

/// A multipart form: text fields, then the file.
fn multipart(fields: &[(&str, &str)], file: (&str, &[u8])) -> (String, Vec<u8>) {
    let boundary = "----autoinformer-test-7d9f".to_string();
    let mut b = Vec::new();
    for (k, v) in fields {
        b.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    b.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n",
            file.0
        )
        .as_bytes(),
    );
    b.extend_from_slice(file.1);
    b.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (boundary, b)
}

async fn upload(
    s: &Server,
    session: &str,
    fields: &[(&str, &str)],
    file: (&str, &[u8]),
) -> http::Answer {
    let (boundary, body) = multipart(fields, file);
    s.raw(
        "POST",
        "/prompts",
        &[
            &format!("Cookie: ai_session={session}"),
            &format!("Content-Type: multipart/form-data; boundary={boundary}"),
            &format!("Content-Length: {}", body.len()),
        ],
        &body,
    )
    .await
}

/// A WAV file: `ms` of a 440 Hz tone at 16 kHz.
fn tone_wav(ms: u32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cur = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
    for i in 0..ms * 16 {
        let v =
            (f32::sin(i as f32 * 2.0 * std::f32::consts::PI * 440.0 / 16_000.0) * 10_000.0) as i16;
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
    cur.into_inner()
}

/// Line 9 names a step that does not exist.
const BROKEN: &str = "name = \"Опрос\"\nresults = [\"Доволен\", \"Недоволен\"]\nstart = \"q\"\n\n\
[steps.q]\nplay = [\"transfer/connecting.wav\"]\n[[steps.q.on]]\ndtmf = \"1\"\nnext = \"nowhere\"\n\
result = \"Доволен\"\n[[steps.q.on]]\ndtmf = \"2\"\nresult = \"Недоволен\"\n\
actions = [{ sms = \"Жаль\" }]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn problems_at_their_lines_the_graph_escaping_and_roles() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |c| c.admin_password = Secret(PASSWORD.into())).await;
    let admin = sign_in(&s, "admin", PASSWORD).await;
    let list = page(&s, "/scenarios", &admin).await;
    assert_eq!(list.status, 200, "{}", list.text());
    assert!(list.text().contains("Сценариев пока нет"));
    let new = page(&s, "/scenarios/new", &admin).await;
    assert_eq!(new.status, 200);
    let csrf = csrf_field(&new.text());

    // A problem: the answer lists it at its line and marks the line; nothing is stored.
    let a = post_form(
        &s,
        "/scenarios",
        &admin,
        &[("csrf", &csrf), ("source", BROKEN)],
    )
    .await;
    assert_eq!(a.status, 422, "{}", a.text());
    let html = a.text();
    assert!(
        html.contains("строка 9</a>: шаг «q»: `on[0].next`: unknown step `nowhere`"),
        "{html}"
    );
    assert!(html.contains("<li id=\"line-9\" class=\"bad\">"), "{html}");
    assert!(!html.contains("<li id=\"line-8\" class=\"bad\">"), "{html}");
    assert!(
        !html.contains("<svg class=\"graph\""),
        "no drawing of a text that does not pass"
    );
    assert_eq!(
        s.get("/api/v1/scenarios/1").await.status,
        404,
        "nothing stored"
    );
    // Browsers send CRLF: the lines stay the same.
    let crlf = BROKEN.replace('\n', "\r\n");
    let a = post_form(
        &s,
        "/scenarios",
        &admin,
        &[("csrf", &csrf), ("source", &crlf)],
    )
    .await;
    assert!(a.text().contains("строка 9</a>"), "{}", a.text());

    // Fixed: stored, and drawn.
    let fixed =
        BROKEN.replace("nowhere", "thanks") + "\n[steps.thanks]\nplay = [\"transfer/hold.wav\"]\n";
    let a = post_form(
        &s,
        "/scenarios",
        &admin,
        &[("csrf", &csrf), ("source", &fixed)],
    )
    .await;
    assert_eq!(a.status, 303, "{}", a.text());
    let at = a.header("location").unwrap().to_string();
    assert!(
        at.starts_with("/scenarios/") && at.ends_with("?saved=1"),
        "{at}"
    );
    let html = page(&s, &at, &admin).await.text();
    assert!(html.contains("Сохранено"), "{html}");
    let svg = &html[html.find("<svg class=\"graph\"").expect("the graph")..];
    let svg = &svg[..svg.find("</svg>").unwrap()];
    for text in [
        "q",
        "thanks",
        "клавиша 1",
        "клавиша 2",
        "Недоволен",
        "результат: Доволен",
        "SMS",
        "конец",
        "▶ transfer/connecting.wav",
    ] {
        assert!(svg.contains(text), "«{text}» not in the graph: {svg}");
    }
    // Its prompts play inline.
    assert!(
        html.contains(
            "<audio controls preload=\"none\" src=\"/prompts/audio?name=transfer/connecting.wav\">"
        ),
        "{html}"
    );
    // The stored scenario never changes: a change is saved as a new one.
    assert!(
        html.contains("Сохранить как новый") && html.contains("name=\"from\""),
        "{html}"
    );
    let id: i64 = at["/scenarios/".len()..at.find('?').unwrap()]
        .parse()
        .unwrap();
    let a = post_form(
        &s,
        "/scenarios",
        &admin,
        &[
            ("csrf", &csrf),
            ("source", &fixed.replace("Опрос", "Опрос 2")),
            ("from", &id.to_string()),
        ],
    )
    .await;
    assert_eq!(a.status, 303);
    assert_ne!(a.header("location").unwrap(), at.as_str());
    assert_eq!(
        s.get(&format!("/api/v1/scenarios/{id}")).await.json()["name"],
        "Опрос"
    );

    // Scripts in names, results and prompts are text in the page and in the SVG.
    let evil = format!(
        "name = \"{EVIL_SCRIPT}\"\nresults = [{img}]\nstart = \"{EVIL_SCRIPT}\"\n\
         [steps.\"{EVIL_SCRIPT}\"]\nplay = [\"transfer/hold.wav\"]\nresult = {img}\n",
        img = toml_string(EVIL_IMG)
    );
    let a = post_form(
        &s,
        "/scenarios",
        &admin,
        &[("csrf", &csrf), ("source", &evil)],
    )
    .await;
    assert_eq!(a.status, 303, "{}", a.text());
    let html = page(&s, a.header("location").unwrap(), &admin).await.text();
    assert!(
        !html.contains("<script>alert") && !html.contains("<img src=x"),
        "{html}"
    );
    let svg = &html[html.find("<svg class=\"graph\"").expect("the graph")..];
    assert!(
        svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{svg}"
    );
    assert!(
        svg.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"),
        "{svg}"
    );
    let list = page(&s, "/scenarios", &admin).await.text();
    assert!(
        !list.contains("<script>alert") && list.contains("&#60;script&#62;"),
        "{list}"
    );
    // A prompt named like a script: its problem and the marked line are text too.
    let bad_prompt = format!(
        "name = \"x\"\nresults = [\"r\"]\nstart = \"m\"\n[steps.m]\nplay = [{}]\nresult = \"r\"\n",
        toml_string(&format!("{EVIL_SCRIPT}{EVIL_IMG}.wav"))
    );
    let a = post_form(
        &s,
        "/scenarios",
        &admin,
        &[("csrf", &csrf), ("source", &bad_prompt)],
    )
    .await;
    assert_eq!(a.status, 422);
    let html = a.text();
    assert!(html.contains("строка 5</a>"), "{html}");
    assert!(
        !html.contains("<script>alert") && !html.contains("<img src=x"),
        "{html}"
    );

    // A forged or missing token changes nothing.
    let before = page(&s, "/scenarios", &admin)
        .await
        .text()
        .matches("data-scenario=")
        .count();
    let a = post_form(
        &s,
        "/scenarios",
        &admin,
        &[("csrf", "forged"), ("source", &fixed)],
    )
    .await;
    assert_eq!(a.status, 403, "{}", a.text());
    let a = post_form(&s, "/scenarios", &admin, &[("source", &fixed)]).await;
    assert_eq!(a.status, 403, "{}", a.text());
    let after = page(&s, "/scenarios", &admin)
        .await
        .text()
        .matches("data-scenario=")
        .count();
    assert_eq!(before, after);

    // A viewer reads, without the save button, and cannot save.
    let r = s
        .post_json(
            "/api/v1/users",
            json!({"username": "vera", "password": "пароль-веры", "role": "viewer"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let viewer = sign_in(&s, "vera", "пароль-веры").await;
    let html = page(&s, &format!("/scenarios/{id}"), &viewer).await.text();
    assert!(
        html.contains("<svg class=\"graph\"") && html.contains("readonly"),
        "{html}"
    );
    assert!(
        !html.contains("id=\"save\"") && !html.contains("Новый сценарий"),
        "{html}"
    );
    let vcsrf = csrf_field(&html);
    let a = post_form(
        &s,
        "/scenarios",
        &viewer,
        &[("csrf", &vcsrf), ("source", &fixed)],
    )
    .await;
    assert_eq!(a.status, 403, "{}", a.text());
    assert!(a.text().contains("Нет доступа"));
    assert_eq!(page(&s, "/scenarios/new", &viewer).await.status, 403);
    // No session: the login form.
    let a = s.raw("GET", "/scenarios", &[], b"").await;
    assert_eq!((a.status, a.header("location")), (303, Some("/login")));
    assert_eq!(page(&s, "/scenarios/987654", &admin).await.status, 404);
    s.stop().await;
}

/// A TOML basic string.
fn toml_string(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_upload_list_play_and_refuse_what_they_must() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |c| c.admin_password = Secret(PASSWORD.into())).await;
    let admin = sign_in(&s, "admin", PASSWORD).await;
    let html = page(&s, "/prompts", &admin).await.text();
    assert!(
        html.contains("transfer/connecting.wav")
            && html.contains("enctype=\"multipart/form-data\""),
        "{html}"
    );
    let csrf = csrf_field(&html);

    // An upload: a 16 kHz WAV named by its file, spaces made `_`.
    let wav = tone_wav(1500);
    let a = upload(
        &s,
        &admin,
        &[("csrf", &csrf), ("name", "")],
        ("приветствие 1.wav", &wav),
    )
    .await;
    assert_eq!(a.status, 303, "{}", a.text());
    let to = a.header("location").unwrap().to_string();
    assert!(to.starts_with("/prompts?uploaded="), "{to}");
    // A scenario uses it; the list says so, with the duration and the level measured.
    let sc = "name = \"Приветствие\"\nresults = [\"Прослушал\"]\nstart = \"m\"\n\
              [steps.m]\nplay = [\"приветствие_1.wav\"]\nresult = \"Прослушал\"\n";
    let r = s
        .call(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            sc.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let sc_id = r.json()["id"].as_i64().unwrap();
    let html = page(&s, &to, &admin).await.text();
    assert!(html.contains("Загружено: приветствие_1.wav"), "{html}");
    let row = &html[html
        .find("<tr data-prompt=\"приветствие_1.wav\">")
        .expect("its row")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("загружен") && row.contains("0:01,5"), "{row}");
    assert!(
        row.contains(&format!("<a href=\"/scenarios/{sc_id}\">Приветствие</a>")),
        "{row}"
    );
    assert!(row.contains("src=\"/prompts/audio?name=%D0%BF"), "{row}");
    // The stored prompts come first.
    assert!(html.find("приветствие_1.wav").unwrap() < html.find("numbers/5.wav").unwrap());

    // It plays as an 8 kHz WAV, to a session only.
    let url = "/prompts/audio?name=%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82%D1%81%D1%82%D0%B2%D0%B8%D0%B5_1.wav";
    let a = s.raw("GET", url, &[], b"").await;
    assert_eq!((a.status, a.header("location")), (303, Some("/login")));
    let a = s
        .raw(
            "GET",
            url,
            &["Authorization: Bearer test-admin-token-0123456789"],
            b"",
        )
        .await;
    assert_eq!(a.status, 303, "a bearer token is not a session");
    let a = page(&s, url, &admin).await;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.header("content-type"), Some("audio/wav"));
    assert_eq!(&a.body[..4], b"RIFF");
    assert_eq!(a.body.len(), 44 + 1500 * 16, "1.5 s at 8 kHz, 16-bit");
    assert_eq!(
        page(&s, "/prompts/audio?name=../data.db", &admin)
            .await
            .status,
        404
    );
    assert_eq!(
        page(&s, "/prompts/audio?name=/etc/passwd", &admin)
            .await
            .status,
        404
    );
    assert_eq!(
        page(&s, "/prompts/audio?name=numbers/5.wav", &admin)
            .await
            .status,
        200
    );
    // The scenario's page plays it too.
    let html = page(&s, &format!("/scenarios/{sc_id}"), &admin)
        .await
        .text();
    assert!(
        html.contains("<audio controls preload=\"none\" src=\"/prompts/audio?name=%D0%BF"),
        "{html}"
    );

    // Not audio: said beside the file field; a bad name beside the name.
    let a = upload(
        &s,
        &admin,
        &[("csrf", &csrf), ("name", "x.wav")],
        ("x.wav", b"not audio at all"),
    )
    .await;
    assert_eq!(a.status, 422, "{}", a.text());
    assert!(
        a.text().contains("id=\"file-error\"") && a.text().contains("Это не звук"),
        "{}",
        a.text()
    );
    let a = upload(
        &s,
        &admin,
        &[("csrf", &csrf), ("name", "../x.wav")],
        ("x.wav", &wav),
    )
    .await;
    assert_eq!(a.status, 422);
    assert!(a.text().contains("id=\"name-error\""), "{}", a.text());
    let a = upload(
        &s,
        &admin,
        &[("csrf", &csrf), ("name", EVIL_IMG)],
        ("x.wav", &wav),
    )
    .await;
    assert_eq!(a.status, 422);
    assert!(!a.text().contains("<img src=x"), "{}", a.text());
    // Over 64 MiB: a page that says so, not a bare 413.
    let big = vec![0u8; (64 << 20) + 1];
    let a = upload(
        &s,
        &admin,
        &[("csrf", &csrf), ("name", "big.wav")],
        ("big.wav", &big),
    )
    .await;
    assert_eq!(a.status, 413);
    assert!(
        a.text().contains("Файл больше 64 МиБ") && a.text().contains("<form"),
        "{}",
        a.text()
    );
    drop(big);
    // A forged token, and a viewer: refused, nothing stored.
    let a = upload(&s, &admin, &[("csrf", "forged")], ("forged.wav", &wav)).await;
    assert_eq!(a.status, 403, "{}", a.text());
    let r = s
        .post_json(
            "/api/v1/users",
            json!({"username": "vera", "password": "пароль-веры", "role": "viewer"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let viewer = sign_in(&s, "vera", "пароль-веры").await;
    let html = page(&s, "/prompts", &viewer).await.text();
    assert!(
        !html.contains("multipart/form-data") && html.contains("приветствие_1.wav"),
        "{html}"
    );
    let vcsrf = csrf_field(&html);
    let a = upload(&s, &viewer, &[("csrf", &vcsrf)], ("viewer.wav", &wav)).await;
    assert_eq!(a.status, 403);
    assert_eq!(page(&s, url, &viewer).await.status, 200, "a viewer plays");
    let names: Vec<String> = s.get("/api/v1/prompts").await.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["приветствие_1.wav"]);
    s.stop().await;
}
