//! One `serve` per data directory (issue 15 §2): a second one on the same directory refuses to
//! start, naming the first one's pid, and touches nothing of it — the first goes on serving
//! and dialing; once the first has stopped, the directory is free again. Its error goes to a
//! pipe, so it carries no terminal colour codes.
#[path = "common/child.rs"]
mod child;
#[path = "common/http.rs"]
mod http;

use child::{free_addr, root, start, wait_healthy};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "one-process-token-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_serve_on_the_same_data_directory_refuses_to_start_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            "prompts = {:?}\nmodel = {:?}\n[trunk.sim]\nring_min_s = 0.2\nring_max_s = 0.5\n",
            root().join("prompts"),
            dir.path().join("no-model"),
        ),
    )
    .unwrap();
    // The first one runs the demo campaign.
    let addr = free_addr();
    let mut first = start(&data, addr, &config, TOKEN);
    wait_healthy(addr).await;
    let pid = first.0.id();
    let t = Instant::now();
    let second = Command::new(env!("CARGO_BIN_EXE_autoinformer"))
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .arg("--data")
        .arg(&data)
        .arg("--listen")
        .arg(free_addr().to_string())
        .env("AUTOINFORMER_ADMIN_TOKEN", TOKEN)
        .env("AUTOINFORMER_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "the second serve ran: {err}");
    assert!(t.elapsed() < Duration::from_secs(20));
    assert!(
        err.contains(&format!("another autoinformer (pid {pid})"))
            && err.contains("one server per data directory"),
        "{err}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "colour codes in a log that is not a terminal: {err:?}"
    );
    // The first one never noticed: healthy, and none of its calls closed as interrupted.
    wait_healthy(addr).await;
    let calls = child::call(addr, TOKEN, "GET", "/api/v1/calls?limit=5000", None, b"").await;
    assert!(calls["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| !c["end_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("interrupted")));
    // Stopped, it frees the directory.
    first.terminate();
    let again = free_addr();
    let _third = start(&data, again, &config, TOKEN);
    wait_healthy(again).await;
}
