//! Campaign store benchmark (issue 4 targets): import 1,000,000 contacts from CSV into SQLite
//! (target ≤ 20 s, bounded memory), choose the next calls with 1M contacts (p99 ≤ 2 ms), and
//! stats and last results over 1M calls (≤ 1 s); and, as a check, choosing the next calls late in a campaign
//! when most retries are not due yet. `CONTACTS=N` changes the size; `ORDER=random` scatters
//! the numbers instead of writing them in order.
use autoinformer::import::ImportLimits;
use autoinformer::store::sqlite::SqliteStore;
use autoinformer::store::NewProject;
#[allow(unused_imports)]
use autoinformer::store::{AuthStore, CampaignStore, DialerStore, ReportStore};
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

/// CPU seconds (user + system) this process has used: with two cores shared, wall time
/// depends on the neighbours, CPU time much less.
fn cpu_s() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command (which may hold spaces) in parentheses.
            let rest = s.rsplit_once(") ")?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(0.0)
}

/// Passes timed when choosing the next calls (p99 is the 10th slowest).
const PASSES: usize = 1_000;

fn main() {
    let n: u64 = std::env::var("CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let random_order = std::env::var("ORDER").is_ok_and(|v| v == "random");
    let dir = tempfile::tempdir().expect("tmp");
    let csv_path = dir.path().join("contacts.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&csv_path).expect("csv"));
        writeln!(f, "ФИО;Телефон;Лицевой счет;Адрес").expect("write");
        for i in 0..n {
            // Numbers in file order, or (ORDER=random) scattered over the range as in a real
            // base, so that the numbers index takes them anywhere (a bijection per 10M).
            let k = if random_order {
                (i / 10_000_000) * 10_000_000 + (i % 10_000_000) * 7_654_321 % 10_000_000
            } else {
                i
            };
            writeln!(
                f,
                "Абонент {i};8 (9{:02}) {:03}-{:02}-{:02};{};ул. Ленина, д. {}, кв. {}",
                10 + (k / 10_000_000) % 90,
                (k / 10_000) % 1000,
                (k / 100) % 100,
                k % 100,
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
        let cpu0 = cpu_s();
        let t = Instant::now();
        let file = std::fs::File::open(&csv_path).expect("open");
        let r = store
            .import_csv(p, file, ImportLimits::default())
            .await
            .expect("import");
        let secs = t.elapsed().as_secs_f64();
        let cpu = cpu_s() - cpu0;
        println!(
            "import: {} contacts ({:.0} MB CSV, numbers {}) in {secs:.1} s, {cpu:.1} s CPU ({:.0} rows/s; target ≤ 20 s); imported {}, duplicates {}, rejected {}; peak RSS {} MB (start {} MB)",
            n,
            size as f64 / 1e6,
            if random_order { "scattered" } else { "in order" },
            n as f64 / secs,
            r.imported,
            r.duplicates,
            r.rejected.len(),
            status_kb("VmHWM:") / 1024,
            rss0 / 1024
        );

        // Choosing the next calls: what one dialer pass asks per project (40 due contacts).
        let now = chrono::Utc::now().timestamp();
        let (p50, p99, max) = time_passes(&store, p, now).await;
        println!(
            "next calls with {n} contacts (40 due per pass, {PASSES} passes): p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms (target p99 ≤ 2 ms)"
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

        // Last results and all calls over 1M calls: what the API's pages cost (first page, a
        // page deep in the project, a filtered page) and a whole last-results walk, page by
        // page as the export does.
        let page = |name: &str, t: Instant, rows: usize| {
            println!(
                "{name}: {:.1} ms for {rows} rows (target ≤ 1 s)",
                t.elapsed().as_secs_f64() * 1000.0
            )
        };
        let t = Instant::now();
        let rows = store.last_results(p, None, 0, 100).await.expect("last").len();
        page("last results over 1M calls, first page of 100", t, rows);
        let deep = store
            .last_results(p, None, 0, 1)
            .await
            .expect("last")
            .first()
            .map(|r| r.contact_id + n as i64 * 9 / 10)
            .unwrap_or(0);
        let t = Instant::now();
        let rows = store.last_results(p, None, deep, 100).await.expect("last").len();
        page("last results, a page of 100 at 90 % of the project", t, rows);
        let t = Instant::now();
        let rows = store
            .last_results(p, Some("not_called"), 0, 100)
            .await
            .expect("last")
            .len();
        page("last results of one status, first page", t, rows);
        let t = Instant::now();
        let rows = store
            .list_calls(&autoinformer::store::CallFilter {
                project_id: Some(p),
                result: Some("busy".into()),
                limit: 100,
                ..Default::default()
            })
            .await
            .expect("calls")
            .len();
        page("all calls, newest 100 of one result", t, rows);
        let t = Instant::now();
        let (mut after, mut total) = (0, 0usize);
        loop {
            let rows = store.last_results(p, None, after, 5_000).await.expect("last");
            total += rows.len();
            match rows.last() {
                Some(r) if rows.len() == 5_000 => after = r.contact_id,
                _ => break,
            }
        }
        println!(
            "last results, the whole project page by page (the export's walk): {total} rows in {:.1} s",
            t.elapsed().as_secs_f64()
        );

        // Late in a campaign: every contact called once, 1 in 100 due for its retry now, the
        // rest later (the pass must skip 99 of every 100 it walks).
        store
            .bench_spread_retries(p, now, 100)
            .await
            .expect("retries");
        let (p50, p99, max) = time_passes(&store, p, now).await;
        println!(
            "next calls late in the campaign (all retries, 1% due): p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms"
        );
    });
}

/// Times `PASSES` passes asking for 40 due contacts: p50, p99 and max in ms.
async fn time_passes(store: &SqliteStore, p: i64, now: i64) -> (f64, f64, f64) {
    let mut times = Vec::with_capacity(PASSES);
    for _ in 0..PASSES {
        let t = Instant::now();
        store.promote_due(p, now, 20_000).await.expect("promote");
        let due = store.next_callable(p, 40).await.expect("due");
        times.push(t.elapsed().as_micros() as u64);
        assert_eq!(due.len(), 40);
    }
    times.sort_unstable();
    let ms = |q: usize| times[(times.len() * q / 100).min(times.len() - 1)] as f64 / 1000.0;
    (ms(50), ms(99), ms(100))
}
