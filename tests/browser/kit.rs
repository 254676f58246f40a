//! What the browser tests share: chromedriver on a free port, a headless chromium with a fresh
//! profile, screenshots under `target/ui-screenshots/`, signing in and out, waiting for text.
//! Each area's browser test is a module of `tests/web_browser.rs` (`tests/browser/<area>.rs`).
#![allow(dead_code)]
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// chromedriver on a free port; killed on drop.
pub struct Driver {
    child: Child,
    pub port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub async fn driver() -> Driver {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed by scripts/setup.sh --test (Debian's chromium-driver)");
    let d = Driver { child, port };
    let t = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    d
}

pub async fn browser(d: &Driver, profile: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", d.port))
        .await
        .expect("a chromium session")
}

pub fn shots() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/ui-screenshots");
    std::fs::create_dir_all(&d).expect("the screenshots folder");
    d
}

pub async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("a screenshot");
    std::fs::write(shots().join(format!("{name}.png")), png).expect("writing a screenshot");
}

pub async fn sign_in(c: &Client, base: &str, user: &str, password: &str) {
    c.goto(&format!("{base}/login"))
        .await
        .expect("the login page");
    c.find(Locator::Id("username"))
        .await
        .expect("a user field")
        .send_keys(user)
        .await
        .expect("typing");
    c.find(Locator::Id("password"))
        .await
        .expect("a password field")
        .send_keys(password)
        .await
        .expect("typing");
    c.find(Locator::Css("form.login button"))
        .await
        .expect("the button")
        .click()
        .await
        .expect("clicking");
}

pub async fn sign_out(c: &Client) {
    c.find(Locator::Css("header .who button"))
        .await
        .expect("the sign-out button")
        .click()
        .await
        .expect("clicking");
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("username"))
        .await
        .expect("back on the login form");
}

/// Waits until the page's text contains `what`.
pub async fn until_text(c: &Client, what: &str, limit: Duration) -> String {
    let t = Instant::now();
    loop {
        // While a page loads, its body may not be there yet: that is "not yet".
        let body = match c.find(Locator::Css("body")).await {
            Ok(b) => b.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if body.contains(what) {
            return body;
        }
        assert!(
            t.elapsed() < limit,
            "«{what}» never appeared; the page:\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Clicks the element with `id` (`what` names it in the failure).
pub async fn click_id(c: &Client, id: &str, what: &str) {
    c.find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("{what} (#{id}): {e}"))
        .click()
        .await
        .expect("clicking");
}
