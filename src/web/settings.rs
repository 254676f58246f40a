//! The settings page (docs/users.md, "Settings"; the admin's, read-only): the server's version
//! and data directory, the trunk (the sim carrier, or the SIP trunk with its address and the
//! calls it carries now), SMSC (the SMS lane's state, the account's balance as SMSC's
//! balance.php says — asked with a short timeout and kept five minutes — and the last SMS
//! outcomes), the speech model (which folder, or where it was looked for and how to get one),
//! the import limits, and the counts of what the store holds. `serve` gathers what does not
//! change into `ServerFacts` at start.
use super::admin::{bytes_text, count_text, when_ms_text};
use super::pages::render;
use super::{Page, Refused, WebState};
use crate::actions::smsc::SmscClient;
use crate::actions::worker::SmsState;
use crate::config::Config;
use crate::rules::money::Kopecks;
use crate::telephony::sip::SipTrunk;
use crate::users::Role;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the settings page waits for SMSC's balance.
const BALANCE_TIMEOUT_S: u64 = 3;
/// How long a balance is shown before SMSC is asked again (an answer that failed: a minute).
const BALANCE_KEEP: Duration = Duration::from_secs(300);
const BALANCE_FAILED_KEEP: Duration = Duration::from_secs(60);
/// SMS outcomes shown.
const LAST_SMS: u32 = 5;

/// What the settings page shows of the server that does not change while it runs.
pub struct ServerFacts {
    pub data_dir: PathBuf,
    pub db_file: PathBuf,
    /// `sim` or `sip`.
    pub trunk_kind: String,
    /// The trunk's settings as lines of text (never a password).
    pub trunk_lines: Vec<String>,
    pub sip: Option<Arc<SipTrunk>>,
    /// The speech model's folder, when one was loaded.
    pub model: Option<PathBuf>,
    /// Where a model was looked for.
    pub model_looked_in: Vec<PathBuf>,
    pub smsc: Option<Smsc>,
}

/// SMSC as configured, with its balance kept a while.
pub struct Smsc {
    pub url: String,
    pub login: String,
    pub sender: String,
    client: SmscClient,
    balance: tokio::sync::Mutex<Option<(Instant, Result<Kopecks, String>)>>,
}

impl Smsc {
    /// The balance, from SMSC at most every five minutes (one request at a time).
    async fn balance(&self) -> Result<Kopecks, String> {
        let mut g = self.balance.lock().await;
        if let Some((at, r)) = g.as_ref() {
            let keep = if r.is_ok() {
                BALANCE_KEEP
            } else {
                BALANCE_FAILED_KEEP
            };
            if at.elapsed() < keep {
                return r.clone();
            }
        }
        let r = self.client.balance().await;
        if let Err(e) = &r {
            tracing::warn!(error = %e, "SMSC's balance");
        }
        *g = Some((Instant::now(), r.clone()));
        r
    }
}

impl ServerFacts {
    /// What `serve` knows at start: its configuration, the SIP trunk if it runs one, whether a
    /// speech model was loaded.
    pub fn gather(cfg: &Config, sip: Option<Arc<SipTrunk>>, model_loaded: bool) -> Self {
        let looked = crate::config::model_folders(&cfg.model);
        let model = model_loaded
            .then(|| looked.iter().find(|d| d.exists()).cloned())
            .flatten();
        let data_dir = std::path::absolute(&cfg.data).unwrap_or_else(|_| cfg.data.clone());
        let t = &cfg.trunk;
        let trunk_lines = if t.kind == "sip" {
            vec![
                format!("сервер оператора: {} ({})", t.sip.server, t.sip.transport),
                format!(
                    "исходящий прокси: {}",
                    if t.sip.outbound_proxy.is_empty() {
                        "нет"
                    } else {
                        &t.sip.outbound_proxy
                    }
                ),
                format!(
                    "логин: {}",
                    if t.sip.username.is_empty() {
                        "—"
                    } else {
                        &t.sip.username
                    }
                ),
                format!("кодеки: {}", t.sip.codecs.join(", ")),
                format!("не больше {} звонков одновременно", t.sip.max_calls),
                "регистрация у оператора не используется: каждый звонок проходит проверку \
                 (digest) на INVITE"
                    .into(),
            ]
        } else {
            vec![
                "симулятор оператора: звонки не уходят в сеть, ответы разыгрываются по \
                 номерам"
                    .into(),
                format!(
                    "гудки {}–{} с, не больше {} звонков одновременно",
                    format!("{:.1}", t.sim.ring_min_s).replace('.', ","),
                    format!("{:.1}", t.sim.ring_max_s).replace('.', ","),
                    t.sim.max_calls
                ),
                format!("номеров с заданным поведением: {}", t.sim.numbers.len()),
            ]
        };
        let smsc = cfg.sms.smsc.is_configured().then(|| {
            let mut c = cfg.sms.smsc.clone();
            c.timeout_s = BALANCE_TIMEOUT_S;
            SmscClient::new(c).ok().map(|client| Smsc {
                url: cfg.sms.smsc.url.clone(),
                login: cfg.sms.smsc.login.clone(),
                sender: cfg.sms.smsc.sender.clone(),
                client,
                balance: tokio::sync::Mutex::new(None),
            })
        });
        Self {
            db_file: data_dir.join(crate::server::DB_FILE),
            data_dir,
            trunk_kind: t.kind.clone(),
            trunk_lines,
            sip,
            model,
            model_looked_in: looked,
            smsc: smsc.flatten(),
        }
    }
}

pub struct SmsLine {
    pub at: String,
    pub project: i64,
    pub status: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    page: Page,
    version: &'static str,
    data_dir: String,
    db_size: String,
    trunk_kind: String,
    trunk_lines: Vec<String>,
    sip_address: Option<String>,
    calls_up: i64,
    agents_registered: usize,
    smsc: Option<(String, String, String)>,
    sms_state: String,
    balance: Option<Result<String, String>>,
    last_sms: Vec<SmsLine>,
    model: Option<String>,
    model_looked_in: Vec<String>,
    import_max: String,
    form_max: String,
    import_rows: String,
    counts: Vec<(&'static str, String)>,
}

fn sms_state_text(s: &SmsState) -> String {
    match s {
        SmsState::Off => "не настроен: SMS-действия ждут, проекты с ними не запускаются".into(),
        SmsState::Running => "работает".into(),
        SmsState::HeldUntil(ms, why) => {
            format!("приостановлен до {}: {why}", when_ms_text(*ms))
        }
        SmsState::Stopped(why) => format!("остановлен до перезапуска: {why}"),
    }
}

/// `GET /settings`.
pub async fn page(State(s): State<WebState>, headers: HeaderMap) -> Response {
    let v = match s.viewer_who(&headers, Role::administers).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let f = &s.server;
    let fail = |e: crate::store::StoreError| Refused::Failed(e.to_string()).into_response();
    let counts = match s.admin.counts().await {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let calls_up = match s.app.reports.call_totals().await {
        Ok(t) => t.up,
        Err(e) => return fail(e),
    };
    let last_sms = match s.admin.last_sms(LAST_SMS).await {
        Ok(l) => l
            .into_iter()
            .map(|o| SmsLine {
                at: when_ms_text(o.at),
                project: o.project_id,
                status: o.status,
                error: o.last_error.unwrap_or_default(),
            })
            .collect(),
        Err(e) => return fail(e),
    };
    let balance = match &f.smsc {
        Some(smsc) => Some(
            smsc.balance()
                .await
                .map(|k| format!("{} ₽", k.decimal().replace('.', ","))),
        ),
        None => None,
    };
    let limits = &s.app.settings.import_limits;
    let registered = s
        .app
        .agents
        .all_live()
        .values()
        .filter(|l| l.state != crate::agents::pool::AgentState::Offline)
        .count();
    render(
        &SettingsPage {
            page: Page::new(Some(&v), "/settings"),
            version: env!("CARGO_PKG_VERSION"),
            data_dir: f.data_dir.display().to_string(),
            db_size: std::fs::metadata(&f.db_file)
                .map(|m| bytes_text(m.len()))
                .unwrap_or_else(|_| "—".into()),
            trunk_kind: f.trunk_kind.clone(),
            trunk_lines: f.trunk_lines.clone(),
            sip_address: f.sip.as_ref().map(|t| t.local_addr().to_string()),
            calls_up,
            agents_registered: registered,
            smsc: f
                .smsc
                .as_ref()
                .map(|c| (c.url.clone(), c.login.clone(), c.sender.clone())),
            sms_state: sms_state_text(&s.app.sms_lane.get()),
            balance,
            last_sms,
            model: f.model.as_ref().map(|p| p.display().to_string()),
            model_looked_in: f
                .model_looked_in
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            import_max: bytes_text(limits.max_bytes),
            form_max: bytes_text(
                limits
                    .max_bytes
                    .min(crate::api::upload::MAX_FORM_BYTES as u64),
            ),
            import_rows: count_text(limits.max_rows as i64),
            counts: vec![
                ("проектов", count_text(counts.projects)),
                ("контактов", count_text(counts.contacts)),
                ("звонков", count_text(counts.calls)),
                ("пользователей", count_text(counts.users)),
                ("операторов", count_text(counts.agents)),
                ("номеров в стоп-листе", count_text(counts.stop_list)),
            ],
        },
        StatusCode::OK,
    )
}
