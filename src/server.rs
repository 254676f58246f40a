//! `autoinformer serve` (docs/api.md): the store, the trunk, the dialer task and the HTTP API in
//! one process, from one `Config`. `run(config, listener, shutdown)` takes a bound listener
//! (tests bind port 0) and a shutdown signal: on it the dialer starts no new calls, calls in
//! progress finish within the grace, then the HTTP server stops. On a fresh data directory it
//! creates a demo project on the sim carrier so a first start shows a campaign dialing.
use crate::actions::smsc::SmscClient;
use crate::actions::webhook::WebhookSender;
use crate::actions::worker::{clock_ms, Worker, WorkerSettings};
use crate::api::{self, ApiSettings, AppState};
use crate::call::live::LiveSettings;
use crate::call::CallConfig;
use crate::config::Config;
use crate::dialer::greetings::GreetingKeeper;
use crate::dialer::run::{Clock, Dialer};
use crate::import::ImportLimits;
use crate::media::prompt::PromptCache;
use crate::phone::registry::Registry;
use crate::rules::attempts::RetryRule;
use crate::store::postgres::{PgPoolSize, PgStore};
use crate::store::sqlite::{PoolSizes, SqliteStore};
use crate::store::Backend;
use crate::store::NewProject;
use anyhow::Context;
use rand::RngCore;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The outbox worker's own database connections.
const OUTBOX_CONNECTIONS: u32 = 2;
/// SMSC refuses more than this many concurrent requests per login.
pub const MAX_SMSC_PARALLEL: usize = 15;

/// The database file under the data directory.
pub const DB_FILE: &str = "autoinformer.db";
/// Prompts stored through the API, under the data directory.
pub const UPLOADED_PROMPTS: &str = "prompts";

/// The demo project's scenario and prompts, bundled so `serve` needs no files around it.
const DEMO_SCENARIO: &str = include_str!("../examples/survey/demo.toml");
const DEMO_PROMPTS: [(&str, &[u8]); 2] = [
    (
        "question_agent.wav",
        include_bytes!("../examples/survey/question_agent.wav"),
    ),
    (
        "thanks.wav",
        include_bytes!("../examples/survey/thanks.wav"),
    ),
];
/// The demo project's name.
pub const DEMO_PROJECT: &str = "Демо: опрос жильцов";
/// The demo's agent user (docs/agents.md, "The demo").
pub const DEMO_DESK_USER: &str = "operator";
/// Where the demo survey copies those who are unhappy (its `add_to_project`).
pub const DEMO_CALLBACK_PROJECT: &str = "Перезвон: жалобы";

/// The demo's callers who press 3 for an agent on the sim carrier (the last one gives up
/// after 5 s in the queue): with two simulated agents a fresh install shows a transfer, a
/// caller waiting in the queue with music, and an abandon going to the callback project.
const DEMO_TRANSFER_CALLERS: [(&str, &str, &str); 4] = [
    ("Лебедева Ирина", "+79991000213", "keys:3"),
    ("Козлов Артём", "+79991000224", "keys:3"),
    ("Павлова Вера", "+79991000235", "keys:3"),
    ("Егоров Максим", "+79991000246", "keys:3/5"),
];

/// The demo's defaults on the sim carrier: its transfer callers' behaviours and two simulated
/// agents, unless the configuration says otherwise (docs/agents.md).
fn with_demo_defaults(mut cfg: Config) -> Config {
    if cfg.demo && cfg.trunk.kind == "sim" {
        for (_, number, behaviour) in DEMO_TRANSFER_CALLERS {
            cfg.trunk
                .sim
                .numbers
                .entry(number.to_string())
                .or_insert_with(|| behaviour.to_string());
        }
        if cfg.agents.sim.count == 0 {
            cfg.agents.sim.count = 2;
        }
    }
    cfg
}

/// What `run` reports once it is up (tests and the command line).
#[derive(Debug, Clone)]
pub struct Started {
    pub addr: std::net::SocketAddr,
    /// The admin token, when this start generated it (shown once).
    pub generated_token: Option<String>,
    /// The web UI's `admin` password, when this start generated it (shown once).
    pub generated_password: Option<String>,
    /// The server's webhook secret, when this start made it (shown once).
    pub generated_webhook_secret: Option<String>,
    pub demo_project: Option<i64>,
    /// The password of the demo's agent user `operator` (its first simulated agent's desk),
    /// when this start made the demo (shown once).
    pub demo_desk_password: Option<String>,
}

/// Runs everything until `shutdown` fires. `on_start` is called once the API is reachable.
pub async fn run(
    cfg: Config,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
    on_start: impl FnOnce(&Started) + Send + 'static,
) -> anyhow::Result<()> {
    // The body is not generic, so it is compiled once, here, and not again in every crate
    // that calls `run` (each test binary did: ~50 s of build time apiece).
    run_boxed(cfg, listener, shutdown, Box::new(on_start)).await
}

async fn run_boxed(
    cfg: Config,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
    on_start: Box<dyn FnOnce(&Started) + Send>,
) -> anyhow::Result<()> {
    let cfg = with_demo_defaults(cfg);
    let addr = listener
        .local_addr()
        .context("reading the listen address")?;
    std::fs::create_dir_all(&cfg.data).with_context(|| {
        format!(
            "creating the data directory {} (set by serve --data, {})",
            cfg.data.display(),
            crate::config::set_by("data")
        )
    })?;
    // One process per data directory: held until `run` returns (the kernel lets it go if the
    // process dies, so a crash never leaves a stale lock behind).
    let _lock = DataLock::take(&cfg.data)?;
    if let Some(note) = crate::config::missing_prompts_folder(&cfg.prompts) {
        tracing::warn!("{note}");
    }
    let registry = load_registry(&cfg.numbering_registry)?.map(Arc::new);
    // `_beat`: the node's heartbeat (PostgreSQL) runs until `run` returns.
    let (store, _beat) = open_store(&cfg, registry.clone()).await?;
    // The dialer's own connections: API load never queues its bookkeeping.
    let dialer_store = store
        .own_connections(cfg.store.dialer_connections)
        .await
        .context("opening the dialer's database connections")?;
    let generated_token = ensure_token(&*store, &cfg).await?;
    let generated_password = ensure_admin_user(&*store, &cfg).await?;
    let uploaded = cfg.data.join(UPLOADED_PROMPTS);
    restore_prompts(&*store, &uploaded).await?;
    let speech =
        crate::asr::load_speech(&crate::config::model_folders(&cfg.model)).with_context(|| {
            format!(
                "the speech model (set by {})",
                crate::config::set_by("model")
            )
        })?;
    let (trunk, sip_trunk) = crate::telephony::start_trunk_with_sip(&cfg.trunk, &cfg.prompts)
        .await
        .map_err(|e| anyhow::anyhow!("starting the {} trunk: {e}", cfg.trunk.kind))?;
    let prompt_cache = PromptCache::new();
    let settings = Arc::new(ApiSettings {
        prompts_dir: cfg.prompts.clone(),
        uploaded_prompts: uploaded.clone(),
        prompt_cache,
        speech: speech.clone(),
        import_limits: ImportLimits::from(&cfg.import),
        sms_configured: cfg.sms.smsc.is_configured(),
        webhooks: webhook_destinations(&cfg),
        actions_give_up: Duration::from_secs(cfg.actions.give_up_after_h * 3600),
    });
    let demo_project = if cfg.demo && store.project_count().await? == 0 {
        Some(create_demo(&*store, &uploaded, &cfg).await?)
    } else {
        None
    };
    let call_cfg = CallConfig {
        prompts_dir: cfg.prompts.clone(),
        speech,
        amd: cfg.calls.amd,
        greetings: None,
    };
    let live = LiveSettings {
        ring_timeout: Duration::from_secs(cfg.calls.ring_timeout_s),
        max_duration: Duration::from_secs(cfg.calls.max_call_s),
        // Absolute, so the API finds a recording whatever folder it was started from.
        recordings: cfg.calls.record.then(|| {
            std::path::absolute(&cfg.data)
                .unwrap_or_else(|_| cfg.data.clone())
                .join("recordings")
        }),
        ..Default::default()
    };
    let facts = crate::web::settings::ServerFacts::gather(
        &cfg,
        sip_trunk.clone(),
        call_cfg.speech.is_some(),
    );
    let (agents, agent_lines, transfers) = start_agents(&*store, &cfg, sip_trunk).await?;
    let demo_desk_password = match demo_project {
        Some(_) => demo_desk_user(&*store).await?,
        None => None,
    };
    let greetings = if cfg.calls.learn_greetings && cfg.calls.amd {
        let n = cfg.calls.learn_after_numbers.clamp(1, 10) as usize;
        let keeper = GreetingKeeper::load(store.clone(), n, Clock::System)
            .await
            .context("loading the learned greetings")?;
        tracing::info!(greetings = keeper.len(), "learned greetings loaded");
        Some(Arc::new(keeper))
    } else {
        None
    };
    let mut dialer = Dialer::new(dialer_store, trunk, call_cfg, live, Clock::System)
        .with_database(database_name(&cfg))
        .with_uploaded_prompts(uploaded)
        .with_transfers(transfers)
        .with_actions_give_up(Duration::from_secs(cfg.actions.give_up_after_h * 3600));
    if let Some(r) = registry {
        dialer = dialer.with_registry(r);
    }
    if let Some(k) = &greetings {
        dialer = dialer.with_greetings(k.clone());
    }
    let pacing = dialer.pacing_board();
    let preview = Some(dialer.preview_sender());
    let stop_dialing = CancellationToken::new();
    let dialer_task = tokio::spawn(dialer.run(
        Duration::from_millis(cfg.dialer.pass_ms.max(10)),
        stop_dialing.clone(),
        Duration::from_secs(cfg.dialer.shutdown_grace_s),
    ));
    let installation = store
        .installation()
        .await
        .context("reading the installation's id")?;
    let generated_webhook_secret = (installation.webhook_secret_new
        && cfg.webhooks.secret.0.trim().is_empty())
    .then(|| installation.webhook_secret.clone());
    let outbox = start_outbox(&*store, &cfg, installation).await?;
    let sms_lane = outbox.sms_lane();
    let stop_outbox = CancellationToken::new();
    let outbox_task = tokio::spawn(outbox.run(stop_outbox.clone()));
    let state = AppState {
        campaigns: store.clone(),
        reports: store.clone(),
        auth: store.clone(),
        settings,
        limit: Arc::new(crate::api::limit::RequestLimit::new(
            cfg.api.max_in_flight as usize,
            Duration::from_millis(cfg.api.queue_timeout_ms),
        )),
        sms_lane,
        agent_store: store.clone(),
        agents: agents.clone(),
        agent_lines,
        users: store.clone(),
        greetings: greetings.clone(),
        pacing,
        preview,
    };
    let stop_agents = CancellationToken::new();
    tokio::spawn(agents.run(stop_agents.clone()));
    let stop_http = CancellationToken::new();
    tokio::spawn(api::metrics::upkeep(stop_http.clone()));
    let http = {
        let stop = stop_http.clone();
        let web = crate::web::WebState {
            app: state.clone(),
            users: store.clone(),
            now_ms: Arc::new(|| Clock::System.now_ms()),
            throttle: Default::default(),
            idle_ms: (cfg.web.session_idle_min.max(1) * 60_000) as i64,
            admin: store.clone(),
            server: Arc::new(facts),
            uploads: Default::default(),
            hours: Default::default(),
        };
        let app = crate::web::router(web)
            .merge(api::router(state))
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        })
    };
    tracing::info!(%addr, "serving");
    on_start(&Started {
        addr,
        generated_token,
        generated_password,
        generated_webhook_secret,
        demo_project,
        demo_desk_password,
    });
    shutdown.cancelled().await;
    tracing::info!("shutting down: no new calls");
    stop_dialing.cancel();
    if let Err(e) = dialer_task.await {
        tracing::error!(error = %e, "the dialer task failed");
    }
    // The last calls' actions are written; what is still queued waits for the next start.
    stop_outbox.cancel();
    stop_agents.cancel();
    if let Err(e) = outbox_task.await {
        tracing::error!(error = %e, "the outbox task failed");
    }
    stop_http.cancel();
    match http.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(anyhow::anyhow!("HTTP server: {e}")),
        Err(e) => Err(anyhow::anyhow!("HTTP server task: {e}")),
    }
}

/// Opens the campaigns' database `database_url` names: the SQLite file in the data
/// directory when it is empty, else PostgreSQL (docs/operations.md "PostgreSQL").
async fn open_store(
    cfg: &Config,
    registry: Option<Arc<Registry>>,
) -> anyhow::Result<(Arc<dyn Backend>, Option<tokio_util::sync::DropGuard>)> {
    let url = cfg.database_url.0.trim();
    if url.is_empty() {
        let mut store = SqliteStore::open_with(
            &cfg.data.join(DB_FILE),
            PoolSizes {
                writers: cfg.store.write_connections,
                readers: cfg.store.read_connections,
            },
        )
        .await
        .context("opening the database")?;
        if let Some(r) = registry {
            store = store.with_registry(r);
        }
        return Ok((Arc::new(store), None));
    }
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        anyhow::bail!(
            "database_url ({}) is {}: it must be empty (SQLite in the data directory) or a \
             postgres://user:password@host:port/database URL",
            crate::config::set_by("database_url"),
            crate::store::postgres::redacted(url)
        );
    }
    let node_name = node_name(cfg);
    let lease = Duration::from_secs(cfg.store.node_lease_s.clamp(3, 600));
    let mut store = PgStore::open_node(
        url,
        PgPoolSize {
            connections: cfg.store.write_connections + cfg.store.read_connections,
        },
        Clock::System,
        &node_name,
        lease,
    )
    .await
    .with_context(|| {
        format!(
            "opening the PostgreSQL database {} (set by {})",
            crate::store::postgres::redacted(url),
            crate::config::set_by("database_url")
        )
    })?;
    if let Some(r) = registry {
        store = store.with_registry(r);
    }
    let node = store.node().map(|n| n.id).unwrap_or_default();
    tracing::info!(node, name = %node_name, lease_s = lease.as_secs(), "registered as a robot node");
    // The heartbeat on a connection of its own: API load never delays it past a lease.
    let beat = store
        .own_connections(1)
        .await
        .context("opening the heartbeat's database connection")?;
    let stop_beat = CancellationToken::new();
    tokio::spawn(heartbeat(
        beat,
        lease / 3,
        url.to_string(),
        stop_beat.clone(),
    ));
    tracing::info!(database = %crate::store::postgres::redacted(url), "campaigns on PostgreSQL");
    Ok((Arc::new(store), Some(stop_beat.drop_guard())))
}

/// The campaigns' database as logs name it: the PostgreSQL URL without its password, or the
/// SQLite file.
fn database_name(cfg: &Config) -> String {
    let url = cfg.database_url.0.trim();
    if url.is_empty() {
        cfg.data.join(DB_FILE).display().to_string()
    } else {
        crate::store::postgres::redacted(url)
    }
}

/// This node's name: `[store] node_name`, else the host name.
fn node_name(cfg: &Config) -> String {
    let set = cfg.store.node_name.trim();
    if !set.is_empty() {
        return set.to_string();
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "autoinformer".into())
}

/// Renews this node's leases every `every` for as long as the process runs; a failure (the
/// database away) is a warning naming the database, and its end an info line.
async fn heartbeat(store: PgStore, every: Duration, url: String, stop: CancellationToken) {
    let db = crate::store::postgres::redacted(&url);
    let mut failing = false;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        match store.heartbeat().await {
            Ok(_) if failing => {
                failing = false;
                tracing::info!(database = %db, "the database answers again: heartbeats resumed");
            }
            Ok(_) => {}
            Err(e) => {
                if !failing {
                    tracing::warn!(database = %db, error = %e, "heartbeat failed: the database does not answer");
                }
                failing = true;
            }
        }
    }
}

/// The lock file under the data directory.
pub const LOCK_FILE: &str = "autoinformer.lock";

/// The data directory's lock: an exclusive `flock` on `<data>/autoinformer.lock`, with the
/// holder's pid written in it. A second `serve` on the same directory refuses to start: it
/// would close the first one's live calls as interrupted, dial beside it over the same lines,
/// and requeue its imports and outbox (several robot nodes share PostgreSQL, not a SQLite
/// file).
pub struct DataLock {
    _file: std::fs::File,
}

impl DataLock {
    /// Takes the lock of `data`, or says who holds it.
    pub fn take(data: &Path) -> anyhow::Result<Self> {
        use std::io::{Read, Seek, Write};
        let path = data.join(LOCK_FILE);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    "another process".to_string()
                } else {
                    format!("another autoinformer (pid {holder})")
                };
                anyhow::bail!(
                    "{who} is serving the data directory {}: one server per data directory. \
                     Stop it first, or give this one another directory (serve --data, \
                     AUTOINFORMER_DATA)",
                    data.display()
                );
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()))
            }
        }
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .and_then(|()| file.flush())
            .with_context(|| format!("writing the pid into {}", path.display()))?;
        Ok(Self { _file: file })
    }
}

/// Where webhooks may go, from `[webhooks]`.
pub fn webhook_destinations(cfg: &Config) -> crate::actions::webhook::Destinations {
    crate::actions::webhook::Destinations {
        allow_private: cfg.webhooks.allow_private,
        allow_hosts: cfg.webhooks.allow_hosts.clone(),
    }
}

/// The outbox worker on its own connections, with SMSC when it is configured.
async fn start_outbox(
    store: &dyn Backend,
    cfg: &Config,
    installation: crate::store::shared::Installation,
) -> anyhow::Result<Worker> {
    let sms = if cfg.sms.smsc.is_configured() {
        let mut client = SmscClient::new(cfg.sms.smsc.clone())
            .map_err(|e| anyhow::anyhow!("SMSC ([sms.smsc]): {e}"))?;
        // Several nodes on one login keep SMSC's limit together (PostgreSQL).
        if let Some(slots) = store.shared_smsc_slots() {
            client = client.with_shared_slots(slots);
        }
        tracing::info!(url = %cfg.sms.smsc.url, login = %cfg.sms.smsc.login, "SMS through SMSC");
        Some(client)
    } else {
        tracing::info!("SMSC is not configured: projects with SMS actions cannot start");
        None
    };
    let webhooks = WebhookSender::new(
        Duration::from_secs(cfg.webhooks.timeout_s.max(1)),
        webhook_destinations(cfg),
    )
    .map_err(|e| anyhow::anyhow!("webhooks: {e}"))?;
    // The configured secret wins over the one made at the first start.
    let configured = cfg.webhooks.secret.0.trim();
    let webhook_secret = if configured.is_empty() {
        installation.webhook_secret
    } else {
        crate::store::shared::check_webhook_secret(configured).map_err(|e| {
            anyhow::anyhow!(
                "webhooks.secret ({}): {e}",
                crate::config::set_by("webhooks.secret")
            )
        })?;
        configured.to_string()
    };
    let own = store
        .own_connections(OUTBOX_CONNECTIONS)
        .await
        .context("opening the outbox's database connections")?;
    Ok(Worker::new(
        own,
        sms,
        webhooks,
        WorkerSettings {
            sms_parallel: cfg.sms.smsc.max_parallel.clamp(1, MAX_SMSC_PARALLEL),
            webhook_parallel: cfg.webhooks.parallel.max(1),
            installation: installation.id,
            webhook_secret,
        },
        clock_ms(Clock::System),
    ))
}

/// Loads the numbering-plan registry files, later files winning where ranges overlap; a file
/// that cannot be read stops the start (naming it), rows it cannot place are logged.
fn load_registry(paths: &[std::path::PathBuf]) -> anyhow::Result<Option<Registry>> {
    let mut all: Option<Registry> = None;
    for path in paths {
        // The error names the file; its own message already holds its cause.
        let (r, problems) = Registry::load_file(path, crate::phone::registry::MAX_FILE_BYTES)
            .map_err(|e| {
                anyhow::anyhow!(
                    "{e} (the file is listed in {})",
                    crate::config::set_by("numbering_registry")
                )
            })?;
        tracing::info!(
            file = %path.display(),
            ranges = r.len(),
            rows = r.rows(),
            problems = problems.len(),
            "numbering-plan registry loaded"
        );
        for p in problems.iter().take(20) {
            tracing::warn!(file = %path.display(), line = p.line, value = %p.value, reason = %p.reason, "registry row skipped");
        }
        match &mut all {
            Some(a) => a.extend(r),
            None => all = Some(r),
        }
    }
    Ok(all)
}

/// Makes sure an admin token exists: the configured one, or a new one (answered, to print).
async fn ensure_token(store: &dyn Backend, cfg: &Config) -> anyhow::Result<Option<String>> {
    let configured = cfg.admin_token.0.trim();
    if !configured.is_empty() {
        if configured.len() < 16 {
            anyhow::bail!(
                "admin_token (AUTOINFORMER_ADMIN_TOKEN) is {} characters: use at least 16",
                configured.len()
            );
        }
        store.add_token("admin (configured)", configured).await?;
        return Ok(None);
    }
    if store.token_count().await? > 0 {
        return Ok(None);
    }
    let mut raw = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let token: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    store.add_token("admin (generated)", &token).await?;
    Ok(Some(token))
}

/// Makes sure the web UI has a user: on a database without any, `admin` with the configured
/// password, or a generated one (answered, to print once).
async fn ensure_admin_user(store: &dyn Backend, cfg: &Config) -> anyhow::Result<Option<String>> {
    if store.user_count().await? > 0 {
        return Ok(None);
    }
    let configured = cfg.admin_password.0.trim().to_string();
    let generated = configured.is_empty();
    let password = if generated {
        crate::web::session::random_token()[..20].to_string()
    } else {
        crate::users::password::check_new(&configured)
            .map_err(|e| anyhow::anyhow!("admin_password (AUTOINFORMER_ADMIN_PASSWORD): {e}"))?;
        configured
    };
    let pw = password.clone();
    let hash = tokio::task::spawn_blocking(move || crate::users::password::hash(&pw))
        .await
        .context("hashing the admin password")?
        .map_err(anyhow::Error::msg)?;
    store
        .create_user("admin", &hash, crate::users::Role::Admin, None)
        .await
        .context("creating the admin user")?;
    Ok(generated.then_some(password))
}

/// The demo's agent user: `operator`, at the desk of the first simulated agent, so a fresh
/// install shows the agent desk's cards as the demo's callers are transferred. Answers its
/// generated password; none without a simulated agent or when the name is taken.
async fn demo_desk_user(store: &dyn Backend) -> anyhow::Result<Option<String>> {
    use crate::store::AgentKind;
    let agents = store.agents().await.context("reading the agents")?;
    let Some(agent) = agents
        .iter()
        .find(|a| a.kind == AgentKind::Sim && a.enabled)
    else {
        return Ok(None);
    };
    if store.user_by_name(DEMO_DESK_USER).await?.is_some() {
        return Ok(None);
    }
    let password = crate::web::session::random_token()[..20].to_string();
    let pw = password.clone();
    let hash = tokio::task::spawn_blocking(move || crate::users::password::hash(&pw))
        .await
        .context("hashing the demo agent's password")?
        .map_err(anyhow::Error::msg)?;
    store
        .create_user(
            DEMO_DESK_USER,
            &hash,
            crate::users::Role::Agent,
            Some(agent.id),
        )
        .await
        .context("creating the demo's agent user")?;
    Ok(Some(password))
}

/// Writes every stored prompt to the uploaded-prompts folder (the database is the truth).
async fn restore_prompts(store: &dyn Backend, dir: &Path) -> anyhow::Result<()> {
    for (name, data) in store.prompts().await? {
        let path = dir.join(&name);
        let same = tokio::fs::read(&path).await.is_ok_and(|d| d == data);
        if !same {
            crate::api::write_prompt_file(&path, &data)
                .await
                .with_context(|| format!("writing the prompt {}", path.display()))?;
        }
    }
    Ok(())
}

/// The demo project: the bundled survey, one contact per sim behaviour (some with two
/// numbers), dialing round the clock with short retry intervals, active.
async fn create_demo(store: &dyn Backend, uploaded: &Path, cfg: &Config) -> anyhow::Result<i64> {
    for (name, data) in DEMO_PROMPTS {
        store.put_prompt(name, data).await?;
        crate::api::write_prompt_file(&uploaded.join(name), data).await?;
    }
    let scenario = store
        .create_scenario("Опрос: уборка подъезда", DEMO_SCENARIO)
        .await?;
    let quick = RetryRule {
        attempts: 2,
        interval_s: 20,
    };
    let retry_rules: BTreeMap<String, RetryRule> = crate::rules::attempts::RETRYABLE
        .iter()
        .map(|r| (r.to_string(), quick))
        .collect();
    let id = store
        .create_project(&NewProject {
            name: DEMO_PROJECT.into(),
            scenario_id: scenario,
            schedule: vec!["daily 00:00-24:00".into()],
            lines: 5,
            retry_rules,
            ..Default::default()
        })
        .await?;
    let report = store
        .import_contacts(
            id,
            Box::new(std::io::Cursor::new(demo_contacts().into_bytes())),
            ImportLimits::from(&cfg.import),
        )
        .await?;
    tracing::info!(?report, "demo contacts imported");
    // The survey copies the unhappy into a callback project (a draft: a manager calls them).
    store
        .create_project(&NewProject {
            name: DEMO_CALLBACK_PROJECT.into(),
            scenario_id: scenario,
            ..Default::default()
        })
        .await?;
    store.activate(id).await?;
    Ok(id)
}

/// The agents of this process: the stored ones (and the simulated ones of `[agents.sim]`) in
/// the live pool, and the transfer settings of `[agents]`.
async fn start_agents(
    store: &dyn Backend,
    cfg: &Config,
    sip: Option<Arc<crate::telephony::sip::SipTrunk>>,
) -> anyhow::Result<(
    Arc<crate::agents::service::Agents>,
    Arc<crate::api::agents::AgentLines>,
    crate::dialer::calls::TransferBase,
)> {
    use crate::call::transfer::TransferSettings;
    let a = &cfg.agents;
    a.sim.check().map_err(anyhow::Error::msg)?;
    let clock = Clock::System;
    let agents = crate::agents::service::Agents::new(Arc::new(move || clock.now_ms()));
    let directory = Arc::new(crate::api::agents::StoreDirectory::new(
        agents.clone(),
        sip.clone(),
    ));
    if let Some(t) = &sip {
        t.set_directory(directory.clone());
    }
    let lines = Arc::new(crate::api::agents::AgentLines {
        sim: a.sim.clone(),
        sim_voice: crate::agents::sim::SimAgentLine::bundled_voice().map_err(anyhow::Error::msg)?,
        sip,
        directory,
    });
    store
        .ensure_sim_agents(a.sim.count)
        .await
        .context("setting up the simulated agents ([agents.sim])")?;
    for row in store.agents().await.context("reading the agents")? {
        lines.stored(&agents, &row);
    }
    let settings = TransferSettings::from_config(a, &cfg.prompts).map_err(anyhow::Error::msg)?;
    let base = crate::dialer::calls::TransferBase {
        agents: agents.clone(),
        settings,
    };
    Ok((agents, lines, base))
}

/// Demo contacts: the sim carrier picks each number's behaviour by its last digit.
fn demo_contacts() -> String {
    let people = [
        ("Иванов Иван", "8 (999) 100-00-15", ""), // presses 1 (in-band)
        ("Петрова Анна", "+7 999 100-00-26", ""), // presses 2 (RFC 4733)
        ("Сидоров Пётр", "+79991000031", "+79991000045"), // busy, then a person on the 2nd
        ("Кузнецова Ольга", "89991000042", ""),   // declines (603)
        ("Смирнов Алексей", "+7 999 100 00 53", ""), // unreachable (SIT)
        ("Волкова Мария", "+7 999 100 00 64", ""), // carrier voicemail
        ("Морозов Дмитрий", "+7 999 100 00 78", ""), // silent
        ("Новикова Елена", "+7 999 100 00 89", ""), // hangs up mid-message
        ("Фёдоров Игорь", "+7 999 100 00 90", "+7 999 100 01 05"), // no answer, then presses 1
        ("Соколова Татьяна", "+7 999 100 01 16", ""), // presses 2
    ];
    let mut csv = String::from("ФИО;Телефон;Телефон 2;Лицевой счет\n");
    for (i, (name, a, b)) in people.iter().enumerate() {
        csv.push_str(&format!("{name};{a};{b};{}\n", 100_201 + i));
    }
    // Those who press 3 for an agent.
    for (i, (name, number, _)) in DEMO_TRANSFER_CALLERS.iter().enumerate() {
        csv.push_str(&format!("{name};{number};;{}\n", 100_301 + i));
    }
    // More subscribers the carrier's voicemail takes (last digit 4): one recording, so it is
    // learned and decided in about a second once heard on two numbers (docs/amd.md).
    for (i, (name, number)) in DEMO_VOICEMAIL_CALLERS.iter().enumerate() {
        csv.push_str(&format!("{name};{number};;{}\n", 100_401 + i));
    }
    csv
}

/// The demo's further voicemail subscribers (docs/amd.md, "Learned greetings").
const DEMO_VOICEMAIL_CALLERS: [(&str, &str); 3] = [
    ("Орлова Светлана", "+79991000214"),
    ("Лебедев Кирилл", "+79991000224"),
    ("Зайцева Ксения", "+79991000234"),
];
