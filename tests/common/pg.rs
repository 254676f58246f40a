//! The suites that run against both stores (issue 20 §1): with `AUTOINFORMER_TEST_BACKEND=
//! postgres` they use PostgreSQL instead of SQLite, each test in a database of its own on
//! the server `AUTOINFORMER_TEST_PG` names (`scripts/test.sh` starts a throwaway one with
//! `scripts/pg.sh` and runs these suites a second time). Without the variable the test
//! starts its own server the same way (slower: a cluster per test).
#![allow(dead_code)]
use sqlx::Connection;
use std::sync::atomic::{AtomicU32, Ordering};

/// Whether this run is the PostgreSQL run of the shared suites.
pub fn postgres() -> bool {
    std::env::var("AUTOINFORMER_TEST_BACKEND").is_ok_and(|v| v == "postgres")
}

/// A server started for this test process when `AUTOINFORMER_TEST_PG` is not given; it is
/// stopped (and its directory removed) when the process ends.
struct OwnServer {
    url: String,
    dir: std::path::PathBuf,
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = std::process::Command::new(root().join("scripts/pg.sh"))
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

static OWN: std::sync::Mutex<Option<OwnServer>> = std::sync::Mutex::new(None);

extern "C" fn stop_own_server() {
    if let Ok(mut own) = OWN.lock() {
        own.take();
    }
}

/// The server's URL: the one given, or one this process starts.
fn server_url() -> String {
    if let Ok(url) = std::env::var("AUTOINFORMER_TEST_PG") {
        return url;
    }
    let mut own = OWN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = own.as_ref() {
        return s.url.clone();
    }
    let dir = std::env::temp_dir().join(format!("autoinformer-pg-{}", std::process::id()));
    let out = std::process::Command::new(root().join("scripts/pg.sh"))
        .arg("start")
        .arg(&dir)
        .output()
        .expect("running scripts/pg.sh");
    assert!(
        out.status.success(),
        "scripts/pg.sh start failed (set AUTOINFORMER_TEST_PG to a server's URL instead): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
    *own = Some(OwnServer {
        url: url.clone(),
        dir,
    });
    extern "C" {
        fn atexit(f: extern "C" fn()) -> i32;
    }
    // SAFETY: registering a plain function to run at exit.
    unsafe {
        atexit(stop_own_server);
    }
    url
}

static N: AtomicU32 = AtomicU32::new(0);

/// A new, empty database on the test server: its URL.
pub async fn fresh_database() -> String {
    let server = server_url();
    let name = format!(
        "t_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let mut c = sqlx::PgConnection::connect(&server)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test PostgreSQL {server}: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .await
        .expect("CREATE DATABASE");
    let _ = c.close().await;
    // The server's URL with the database replaced.
    match server.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("AUTOINFORMER_TEST_PG {server:?} has no /database"),
    }
}

static BY_DATA: std::sync::Mutex<Option<std::collections::HashMap<std::path::PathBuf, String>>> =
    std::sync::Mutex::new(None);

/// The database of a data directory: a new one the first time, the same one when a test
/// starts a server again on the same directory (a restart keeps its database, as with SQLite).
pub async fn database_for(data: &std::path::Path) -> String {
    let known = BY_DATA
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(Default::default)
        .get(data)
        .cloned();
    if let Some(url) = known {
        return url;
    }
    let url = fresh_database().await;
    BY_DATA
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(Default::default)
        .insert(data.to_path_buf(), url.clone());
    url
}
