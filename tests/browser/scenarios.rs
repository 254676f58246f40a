//! The scenarios and prompts pages in chromium: a scenario with a problem shows it at its
//! line; fixed, it is saved and drawn as a graph; a prompt uploads from a file, lists with its
//! duration and plays (the `<audio>` element reports the duration). Screenshots
//! `30-scenarios-*`, `31-prompts-*`.
use crate::kit::{browser, driver, shot, sign_in, until_text};
use crate::server::start;
use autoinformer::config::Secret;
use fantoccini::{Client, Locator};
use std::time::{Duration, Instant};

const PASSWORD: &str = "пароль-админа-1";

/// Line 9 names a step that does not exist.
const BROKEN: &str = "name = \"Опрос о качестве\"\nresults = [\"Доволен\", \"Недоволен\", \"Перевод\"]\nstart = \"question\"\n\n\
[steps.question]\nplay = [\"transfer/connecting.wav\"]\n[[steps.question.on]]\ndtmf = \"1\"\nnext = \"thank\"\n\
result = \"Доволен\"\n[[steps.question.on]]\ndtmf = \"2\"\nresult = \"Недоволен\"\n\
actions = [{ sms = \"Жаль! Перезвоним, {name}\" }]\n[[steps.question.on]]\ndtmf = \"0\"\nresult = \"Перевод\"\n\
actions = [{ transfer = \"agents\" }]\n[[steps.question.on]]\ntimeout = true\nnext = \"question\"\n";

const THANKS: &str = "\n[steps.thanks]\nplay = [\"transfer/hold.wav\"]\n";

async fn type_source(c: &Client, text: &str) {
    let area = c
        .find(Locator::Id("source"))
        .await
        .expect("the scenario's text");
    area.clear().await.expect("clearing the text");
    area.send_keys(text).await.expect("typing the scenario");
}

async fn click(c: &Client, id: &str) {
    c.find(Locator::Id(id))
        .await
        .unwrap_or_else(|_| panic!("#{id}"))
        .click()
        .await
        .expect("clicking");
}

fn tone_wav(path: &std::path::Path, ms: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 22_050,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("a wav file");
    for i in 0..(ms as u64 * 22_050 / 1000) {
        let t = i as f32 / 22_050.0;
        let v = (f32::sin(t * 2.0 * std::f32::consts::PI * 330.0) * 9_000.0) as i16;
        w.write_sample(v).expect("a sample");
    }
    w.finalize().expect("the wav file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_is_fixed_and_drawn_and_a_prompt_uploaded_and_played() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |c| c.admin_password = Secret(PASSWORD.into())).await;
    let base = format!("http://{}", s.addr);
    let d = driver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&d, profile.path()).await;
    sign_in(&c, &base, "admin", PASSWORD).await;
    until_text(&c, "Проекты", Duration::from_secs(10)).await;

    // A new scenario with a problem: shown at its line, the line marked beside the text.
    c.goto(&format!("{base}/scenarios"))
        .await
        .expect("the scenarios");
    until_text(&c, "Сценариев пока нет", Duration::from_secs(10)).await;
    click(&c, "new-scenario").await;
    until_text(&c, "Текст сценария", Duration::from_secs(10)).await;
    type_source(&c, BROKEN).await;
    click(&c, "save").await;
    let body = until_text(&c, "строка 9", Duration::from_secs(10)).await;
    assert!(body.contains("unknown step `thank`"), "{body}");
    let marked = c
        .find(Locator::Css("#listing li.bad"))
        .await
        .expect("a marked line");
    assert_eq!(marked.attr("id").await.unwrap().as_deref(), Some("line-9"));
    assert!(marked.text().await.unwrap().contains("next = \"thank\""));
    shot(&c, "30-scenarios-error").await;

    // Fixed: saved, and drawn.
    type_source(&c, &(BROKEN.replace("\"thank\"", "\"thanks\"") + THANKS)).await;
    click(&c, "save").await;
    until_text(&c, "Сохранено", Duration::from_secs(10)).await;
    let graph = c
        .find(Locator::Css("#graph svg.graph"))
        .await
        .expect("the graph");
    let drawn = graph.text().await.unwrap_or_default();
    for text in [
        "question",
        "thanks",
        "клавиша 1",
        "клавиша 2",
        "Недоволен",
        "Перевод",
        "SMS",
        "перевод: agents",
    ] {
        assert!(drawn.contains(text), "«{text}» not drawn: {drawn}");
    }
    shot(&c, "30-scenarios-graph").await;
    c.goto(&format!("{base}/scenarios"))
        .await
        .expect("the list");
    until_text(&c, "Опрос о качестве", Duration::from_secs(10)).await;
    shot(&c, "30-scenarios-list").await;

    // A prompt uploaded from a file, then measured and played.
    let wav = dir.path().join("приветствие.wav");
    tone_wav(&wav, 2000);
    c.goto(&format!("{base}/prompts"))
        .await
        .expect("the prompts");
    until_text(&c, "Аудиозаписи", Duration::from_secs(10)).await;
    c.find(Locator::Id("file"))
        .await
        .expect("the file field")
        .send_keys(&wav.display().to_string())
        .await
        .expect("choosing the file");
    click(&c, "upload").await;
    until_text(&c, "Загружено: приветствие.wav", Duration::from_secs(20)).await;
    let row = c
        .find(Locator::Css("tr[data-prompt=\"приветствие.wav\"]"))
        .await
        .expect("its row");
    let text = row.text().await.unwrap_or_default();
    assert!(
        text.contains("0:02,0") && text.contains("загружен"),
        "{text}"
    );
    // The first player on the page is the stored prompt's: its audio loads and plays.
    let t = Instant::now();
    c.execute(
        "const a = document.querySelector('audio'); a.preload = 'auto'; a.load(); return true;",
        vec![],
    )
    .await
    .expect("loading the audio");
    let duration = loop {
        let d = c
            .execute("return document.querySelector('audio').duration", vec![])
            .await
            .expect("the duration");
        if let Some(d) = d.as_f64().filter(|d| *d > 0.0) {
            break d;
        }
        assert!(t.elapsed() < Duration::from_secs(15), "no duration: {d}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!((duration - 2.0).abs() < 0.05, "{duration}");
    let played = c
        .execute_async(
            "const done = arguments[arguments.length - 1]; const a = document.querySelector('audio');\
             a.play().then(() => setTimeout(() => done(a.currentTime), 400), e => done(String(e)));",
            vec![],
        )
        .await
        .expect("playing");
    assert!(played.as_f64().unwrap_or(0.0) > 0.0, "{played}");
    // Every level measured (in the background, the table refreshes itself).
    let t = Instant::now();
    while until_text(&c, "Аудиозаписи", Duration::from_secs(5))
        .await
        .contains("измеряется")
    {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "levels never measured"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    shot(&c, "31-prompts-list").await;
    let r = s
        .call(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            "name = \"Приветствие\"\nresults = [\"Прослушал\"]\nstart = \"hello\"\n\
             [steps.hello]\nplay = [\"приветствие.wav\", \"transfer/hold.wav\"]\nresult = \"Прослушал\"\n"
                .as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_i64().unwrap();
    c.goto(&format!("{base}/scenarios/{id}"))
        .await
        .expect("its page");
    until_text(&c, "Записи сценария", Duration::from_secs(10)).await;
    let players = c
        .find_all(Locator::Css("#players audio"))
        .await
        .expect("players");
    assert_eq!(players.len(), 2);
    shot(&c, "31-prompts-in-scenario").await;
    c.close().await.expect("closing the browser");
    s.stop().await;
}
