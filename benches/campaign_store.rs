//! Campaign store benchmark (issue 4 targets): import 1,000,000 contacts from CSV into SQLite
//! (target ≤ 20 s, bounded memory), choose the next calls with 1M contacts (p99 ≤ 2 ms), and
//! stats over 1M calls (≤ 1 s). `CONTACTS=N` changes the size.
use autoinformer::store::import::ImportLimits;
use autoinformer::store::sqlite::SqliteStore;
use autoinformer::store::NewProject;
use std::io::Write;
use std::time::Instant;

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let n: u64 = std::env::var("CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tmp");
    let csv_path = dir.path().join("contacts.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&csv_path).expect("csv"));
        writeln!(f, "ФИО;Телефон;Лицевой счет;Адрес").expect("write");
        for i in 0..n {
            writeln!(
                f,
                "Абонент {i};8 (9{:02}) {:03}-{:02}-{:02};{};ул. Ленина, д. {}, кв. {}",
                10 + (i / 10_000_000) % 90,
                (i / 10_000) % 1000,
                (i / 100) % 100,
                i % 100,
                1_000_000 + i,
                i % 200,
                i % 300
            )
            .expect("write");
        }
    }
    let size = std::fs::metadata(&csv_path).map(|m| m.len()).unwrap_or(0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = SqliteStore::open(&dir.path().join("bench.db")).await.expect("db");
        let sc = store.create_scenario("s", "s").await.expect("scenario");
        let p = store
            .create_project(&NewProject {
                name: "bench".into(),
                scenario_id: sc,
                ..Default::default()
            })
            .await
            .expect("project");
        let rss0 = status_kb("VmRSS:");
        let t = Instant::now();
        let file = std::fs::File::open(&csv_path).expect("open");
        let r = store
            .import_csv(p, file, ImportLimits::default())
            .await
            .expect("import");
        let secs = t.elapsed().as_secs_f64();
        println!(
            "import: {} contacts ({:.0} MB CSV) in {secs:.1} s ({:.0} rows/s; target ≤ 20 s); imported {}, duplicates {}, rejected {}; peak RSS {} MB (start {} MB)",
            n,
            size as f64 / 1e6,
            n as f64 / secs,
            r.imported,
            r.duplicates,
            r.rejected.len(),
            status_kb("VmHWM:") / 1024,
            rss0 / 1024
        );

        // Choosing the next calls: what one dialer pass asks per project (40 due contacts).
        let now = chrono::Utc::now().timestamp();
        let mut times = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            let due = store.due_contacts(p, now, 40).await.expect("due");
            times.push(t.elapsed().as_micros() as u64);
            assert_eq!(due.len(), 40);
        }
        times.sort_unstable();
        println!(
            "next calls with {n} contacts (40 due per pass): p50 {:.2} ms, p99 {:.2} ms (target p99 ≤ 2 ms)",
            times[times.len() / 2] as f64 / 1000.0,
            times[times.len() * 99 / 100] as f64 / 1000.0
        );

        // Stats over one call per contact.
        store.bench_fill_calls(p).await.expect("fill calls");
        let t = Instant::now();
        let st = store.stats(p).await.expect("stats");
        println!(
            "stats over {} calls: {:.0} ms (target ≤ 1 s)",
            st.calls,
            t.elapsed().as_secs_f64() * 1000.0
        );
    });
}
