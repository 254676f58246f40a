//! `serve` started in-process for API tests: a fresh data directory, the sim carrier, a known
//! admin token, port 0. Include it next to the HTTP client:
//! `#[path = "common/http.rs"] mod http;` and `#[path = "common/server.rs"] mod server;`.
#![allow(dead_code)]
use crate::http::{parse, request, Answer};
use autoinformer::config::{Config, Secret};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

#[path = "pg.rs"]
pub mod pg;

pub const TOKEN: &str = "test-admin-token-0123456789";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct Server {
    pub addr: SocketAddr,
    /// What the server reported at its start (generated secrets, the demo).
    pub started: autoinformer::server::Started,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Starts `serve` on `data` with the test token, no demo, fast sim rings; `tweak` adjusts.
pub async fn start(data: &std::path::Path, tweak: impl FnOnce(&mut Config)) -> Server {
    let mut cfg = Config {
        data: data.to_path_buf(),
        prompts: root().join("prompts"),
        model: data.join("no-model"),
        demo: false,
        admin_token: Secret(TOKEN.into()),
        ..Default::default()
    };
    cfg.trunk.sim.ring_min_s = 0.2;
    cfg.trunk.sim.ring_max_s = 0.6;
    cfg.dialer.pass_ms = 200;
    cfg.dialer.shutdown_grace_s = 1;
    cfg.import.max_bytes = 64 * 1024;
    if pg::postgres() {
        cfg.database_url = Secret(pg::database_for(data).await);
    }
    tweak(&mut cfg);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
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
        started,
        stop,
        task,
    }
}

impl Server {
    pub async fn call(&self, method: &str, path: &str, ctype: Option<&str>, body: &[u8]) -> Answer {
        request(self.addr, method, path, Some(TOKEN), ctype, body).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, None, b"").await
    }

    pub async fn post_json(&self, path: &str, v: Value) -> Answer {
        self.call(
            "POST",
            path,
            Some("application/json"),
            v.to_string().as_bytes(),
        )
        .await
    }

    /// A request with exactly the given header lines (no token added). The body is written
    /// while the answer is read, and a write the server cut short (it answered early) is no
    /// failure: the answer is what counts.
    pub async fn raw(&self, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Answer {
        let s = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        let (mut rd, mut wr) = s.into_split();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        for h in headers {
            head.push_str(h);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        let body = body.to_vec();
        let writer = tokio::spawn(async move {
            if wr.write_all(head.as_bytes()).await.is_ok() {
                let _ = wr.write_all(&body).await;
            }
            wr
        });
        let mut raw = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(30), rd.read_to_end(&mut raw)).await;
        writer.abort();
        assert!(!raw.is_empty(), "no answer to {method} {path}");
        parse(&raw)
    }

    /// Graceful shutdown.
    pub async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(40), self.task)
            .await
            .expect("graceful shutdown")
            .expect("server task")
            .expect("server result");
    }
}

/// The `error.code` of an answer (empty when the body is not the API's error shape).
pub fn error_code(a: &Answer) -> String {
    serde_json::from_slice::<Value>(&a.body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
        .unwrap_or_default()
}
