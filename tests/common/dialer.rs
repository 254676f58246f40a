//! The dialer's test rig, shared by the dialer tests: a real SQLite file (or, in the
//! PostgreSQL run of the suites, a PostgreSQL database: `pg.rs`) with the survey scenario, a dialer on the sim carrier (calls cut by a 1 s ring timeout), a manual clock.
#![allow(dead_code)]
use autoinformer::call::live::LiveSettings;
use autoinformer::call::CallConfig;
use autoinformer::dialer::run::{Clock, Dialer};
use autoinformer::import::ImportLimits;
use autoinformer::store::postgres::{PgPoolSize, PgStore};
use autoinformer::store::sqlite::SqliteStore;
use autoinformer::store::Backend;
use autoinformer::store::NewProject;
#[allow(unused_imports)]
use autoinformer::store::{AuthStore, CampaignStore, DialerStore, ReportStore};
use autoinformer::telephony::sim::{SimConfig, SimTrunk};
use chrono::TimeZone;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[path = "pg.rs"]
pub mod pg;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct Setup {
    pub db: PathBuf,
    pub store: Arc<dyn Backend>,
    pub dialer: Dialer,
    pub clock: Clock,
    pub scenario: i64,
}

/// A store with the survey scenario, a dialer on the sim carrier (`trunk_max` calls at once,
/// every number ringing 5 s, so every call is cut by the 1 s ring timeout), its clock at `at`.
pub async fn setup(dir: &Path, trunk_max: usize, at: chrono::DateTime<chrono::Utc>) -> Setup {
    let sim = SimConfig {
        ring_min_s: 5.0,
        ring_max_s: 5.0,
        max_calls: trunk_max,
        ..Default::default()
    };
    let live = LiveSettings {
        ring_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    setup_with(dir, at, sim, live).await
}

/// As `setup`, with the sim carrier's and the calls' settings given.
pub async fn setup_with(
    dir: &Path,
    at: chrono::DateTime<chrono::Utc>,
    sim: SimConfig,
    live: LiveSettings,
) -> Setup {
    let clock = Clock::manual(at);
    let store: Arc<dyn Backend> = if pg::postgres() {
        let url = pg::database_for(dir).await;
        Arc::new(
            PgStore::open_with_clock(&url, PgPoolSize::default(), clock.clone())
                .await
                .unwrap(),
        )
    } else {
        Arc::new(
            SqliteStore::open(&dir.join("autoinformer.db"))
                .await
                .unwrap()
                .with_clock(clock.clone()),
        )
    };
    let source = std::fs::read_to_string(root().join("examples/survey/scenario.toml")).unwrap();
    let scenario = store.create_scenario("Опрос", &source).await.unwrap();
    let trunk = Arc::new(SimTrunk::new(sim, &root().join("prompts/sim")).unwrap());
    let dialer = Dialer::new(store.clone(), trunk, call_config(), live, clock.clone());
    Setup {
        db: dir.join("autoinformer.db"),
        store,
        dialer,
        clock,
        scenario,
    }
}

pub async fn project(s: &Setup, name: &str, schedule: &[&str], lines: u32, csv: &str) -> i64 {
    let p = s
        .store
        .create_project(&NewProject {
            name: name.into(),
            scenario_id: s.scenario,
            schedule: schedule.iter().map(|w| w.to_string()).collect(),
            lines,
            ..Default::default()
        })
        .await
        .unwrap();
    let r = s
        .store
        .import_contacts(
            p,
            Box::new(std::io::Cursor::new(csv.as_bytes().to_vec())),
            ImportLimits::default(),
        )
        .await
        .unwrap();
    assert!(r.rejected.is_empty(), "{r:?}");
    s.store.activate(p).await.unwrap();
    p
}

/// `n` contacts whose numbers the sim carrier never answers (last digit 0).
pub fn no_answer_contacts(n: u32, prefix: &str) -> String {
    let mut csv = String::from("Имя;Телефон;Приоритет\n");
    for i in 0..n {
        csv.push_str(&format!("Абонент {i};{prefix}{:03}0;{i}\n", i));
    }
    csv
}

pub fn msk(y: i32, m: u32, d: u32, h: u32, min: u32) -> chrono::DateTime<chrono::Utc> {
    chrono_tz::Europe::Moscow
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

/// A project made from `np` (its scenario set to the rig's), with `csv` imported, activated.
pub async fn project_with(s: &Setup, mut np: NewProject, csv: &str) -> i64 {
    np.scenario_id = s.scenario;
    let p = s.store.create_project(&np).await.unwrap();
    import(s, p, csv).await;
    s.store.activate(p).await.unwrap();
    p
}

/// Imports `csv` into `p`, asserting every row was good.
pub async fn import(s: &Setup, p: i64, csv: &str) {
    let r = s
        .store
        .import_contacts(
            p,
            Box::new(std::io::Cursor::new(csv.as_bytes().to_vec())),
            ImportLimits::default(),
        )
        .await
        .unwrap();
    assert!(r.rejected.is_empty(), "{r:?}");
}

/// The numbers dialed in a project, in order.
pub async fn dialed(s: &Setup, p: i64) -> Vec<String> {
    let mut log = s.store.decisions(p, None, 5_000).await.unwrap();
    log.reverse();
    log.into_iter()
        .filter(|d| d.decision == "dial")
        .filter_map(|d| d.number)
        .collect()
}

impl Setup {
    /// The database file.
    pub fn store_path(&self) -> &Path {
        &self.db
    }
}

/// What the rig's calls run with: the survey's prompts, no speech model.
pub fn call_config() -> CallConfig {
    CallConfig {
        prompts_dir: root().join("examples/survey"),
        speech: None,
        amd: true,
        greetings: None,
    }
}

/// A dialer on the rig's store and clock through another trunk.
pub fn dialer_with(s: &Setup, trunk: Arc<dyn autoinformer::telephony::trunk::Trunk>) -> Dialer {
    Dialer::new(
        s.store.clone(),
        trunk,
        call_config(),
        LiveSettings {
            ring_timeout: Duration::from_secs(1),
            ..Default::default()
        },
        s.clock.clone(),
    )
}
