//! The configuration file (TOML) and its environment overrides. Every key can be set by an
//! `AUTOINFORMER_*` variable named after its path: `listen` → `AUTOINFORMER_LISTEN`,
//! `trunk.sip.password` → `AUTOINFORMER_TRUNK_SIP_PASSWORD`. Lists take comma-separated values.
//! Secrets never reach a log: `Debug` of the SIP settings hides the password.
pub use crate::telephony::config::{SipConfig, TrunkConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The prompts folder by default (relative to the working directory; the bundled prompts are
/// used where it has no file of a name).
pub const DEFAULT_PROMPTS_DIR: &str = "prompts";

/// The production speech model's folder (fetched by `scripts/fetch-model.sh`).
pub const DEFAULT_MODEL_DIR: &str = "models/vosk-model-small-ru-0.22";

/// Prefix of every environment override.
pub const ENV_PREFIX: &str = "AUTOINFORMER_";

/// What sets a key, for messages: `` the config key `data` / AUTOINFORMER_DATA ``.
pub fn set_by(key: &str) -> String {
    format!(
        "the config key `{key}` / {ENV_PREFIX}{}",
        key.to_ascii_uppercase().replace('.', "_")
    )
}

/// Where the speech model is looked for, in order (docs/configuration.md, "Where files are
/// found"): the configured folder as given (relative to the working directory); for the default
/// folder also next to the executable (`<exe dir>/models/…`, `<exe dir>/../share/autoinformer/
/// models/…`) and in the source checkout the binary was built from. `exe` is the executable.
pub fn model_candidates(configured: &Path, exe: Option<&Path>) -> Vec<PathBuf> {
    let mut out = vec![configured.to_path_buf()];
    if configured != Path::new(DEFAULT_MODEL_DIR) {
        return out;
    }
    if let Some(dir) = exe.and_then(Path::parent) {
        out.push(dir.join(DEFAULT_MODEL_DIR));
        out.push(dir.join("../share/autoinformer").join(DEFAULT_MODEL_DIR));
    }
    out.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_MODEL_DIR));
    out
}

/// A note when a prompts folder other than the default does not exist: only the bundled
/// prompts are there to be found, which is likely not what was meant.
pub fn missing_prompts_folder(prompts: &Path) -> Option<String> {
    (prompts != Path::new(DEFAULT_PROMPTS_DIR) && !prompts.is_dir()).then(|| {
        format!(
            "the prompts folder {} does not exist (set by --prompts, {}); only the bundled \
             prompts are used",
            prompts.display(),
            set_by("prompts")
        )
    })
}

/// The model folders to try for a configured `model`, for this executable.
pub fn model_folders(configured: &Path) -> Vec<PathBuf> {
    let exe = std::env::current_exe().ok();
    model_candidates(configured, exe.as_deref())
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// HTTP listen address of `serve`.
    pub listen: String,
    /// Data directory (the SQLite database, recordings, uploaded prompts).
    pub data: PathBuf,
    /// Where the campaigns' database is: empty for the SQLite file in `data` (one node, the
    /// default), or `postgres://user:password@host:port/database` for PostgreSQL, which
    /// several robot nodes may share (docs/operations.md "PostgreSQL"). A secret: it may hold
    /// a password, and is never logged whole.
    pub database_url: Secret,
    /// Prompts directory.
    pub prompts: PathBuf,
    /// Vosk model folder.
    pub model: PathBuf,
    /// The first admin API token (`AUTOINFORMER_ADMIN_TOKEN`); when empty and no token exists
    /// yet, `serve` generates one and prints it once.
    pub admin_token: Secret,
    /// The password of the web UI's first user, `admin` (`AUTOINFORMER_ADMIN_PASSWORD`); when
    /// empty and no user exists yet, `serve` generates one and prints it once.
    pub admin_password: Secret,
    /// On a fresh data directory, `serve` creates a demo project on the sim carrier.
    pub demo: bool,
    /// The public numbering-plan registry files (CSV) to take callee time zones from, for
    /// numbers whose region the built-in geographic table does not know (mobile DEF ranges).
    pub numbering_registry: Vec<PathBuf>,
    pub calls: CallsConfig,
    pub dialer: DialerConfig,
    pub import: ImportConfig,
    pub store: StoreConfig,
    pub api: ApiConfig,
    pub sms: SmsConfig,
    pub actions: ActionsConfig,
    pub webhooks: WebhooksConfig,
    pub agents: AgentsConfig,
    pub web: WebConfig,
    pub trunk: TrunkConfig,
}

/// The web UI (`[web]`, docs/users.md).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// A signed-in browser unused this long must sign in again, minutes.
    pub session_idle_min: u64,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            session_idle_min: 120,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data: "data".into(),
            prompts: DEFAULT_PROMPTS_DIR.into(),
            model: DEFAULT_MODEL_DIR.into(),
            database_url: Secret::default(),
            admin_token: Secret::default(),
            admin_password: Secret::default(),
            demo: true,
            numbering_registry: Vec::new(),
            calls: CallsConfig::default(),
            dialer: DialerConfig::default(),
            import: ImportConfig::default(),
            store: StoreConfig::default(),
            api: ApiConfig::default(),
            sms: SmsConfig::default(),
            actions: ActionsConfig::default(),
            webhooks: WebhooksConfig::default(),
            agents: AgentsConfig::default(),
            web: WebConfig::default(),
            trunk: TrunkConfig::default(),
        }
    }
}

/// A secret value: `Debug` never shows it.
#[derive(Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "***" })
    }
}

/// The dialer task (`[dialer]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DialerConfig {
    /// How often a pass looks for calls to start.
    pub pass_ms: u64,
    /// On shutdown, how long calls in progress may go on before they are dropped (and closed
    /// as interrupted on the next start).
    pub shutdown_grace_s: u64,
}

impl Default for DialerConfig {
    fn default() -> Self {
        Self {
            pass_ms: 1_000,
            shutdown_grace_s: 30,
        }
    }
}

/// Database connections (`[store]`). The dialer and its calls have connections of their own,
/// so API readers never make a call's bookkeeping wait.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Read-only connections for the API's reports and exports.
    pub read_connections: u32,
    /// Connections for the API's writes (imports, projects, the stop list).
    pub write_connections: u32,
    /// The dialer's and its calls' own connections.
    pub dialer_connections: u32,
    /// PostgreSQL only: this robot node's name among the nodes sharing the database (empty:
    /// the machine's host name).
    pub node_name: String,
    /// PostgreSQL only: how long this node's leases on its calls, outbox rows and imports
    /// last without a heartbeat (it beats every third of it); after that another node takes
    /// its work over (docs/operations.md "Several nodes").
    pub node_lease_s: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            read_connections: 4,
            write_connections: 2,
            dialer_connections: 2,
            node_name: String::new(),
            node_lease_s: 15,
        }
    }
}

/// The HTTP API (`[api]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Requests served at once; more wait in a queue.
    pub max_in_flight: u32,
    /// How long a request waits for its turn before `503` with `Retry-After`.
    pub queue_timeout_ms: u64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_in_flight: 32,
            queue_timeout_ms: 2_000,
        }
    }
}

/// `[sms.smsc]` in the configuration file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmscConfig {
    /// The API's base: `send.php` and `status.php` are appended.
    pub url: String,
    pub login: String,
    pub password: Secret,
    /// The sender name; empty: SMSC's default for the account.
    pub sender: String,
    /// Requests at once (SMSC refuses more than 15 concurrent ones per login).
    pub max_parallel: usize,
    /// How long one request may take before its outcome counts as unknown.
    pub timeout_s: u64,
}

impl Default for SmscConfig {
    fn default() -> Self {
        Self {
            url: "https://smsc.ru/sys/".into(),
            login: String::new(),
            password: Secret::default(),
            sender: String::new(),
            max_parallel: 15,
            timeout_s: 30,
        }
    }
}

impl SmscConfig {
    /// Whether SMS can be sent at all (a login and a password are set).
    pub fn is_configured(&self) -> bool {
        !self.login.trim().is_empty() && !self.password.0.is_empty()
    }

    /// What to set when it is not.
    pub const MISSING: &'static str = "SMS actions need SMSC: set sms.smsc.login and \
         sms.smsc.password (AUTOINFORMER_SMS_SMSC_LOGIN, AUTOINFORMER_SMS_SMSC_PASSWORD)";
}

/// SMS (`[sms]`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsConfig {
    pub smsc: SmscConfig,
}

/// The outbox (`[actions]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActionsConfig {
    /// How long a call's actions are tried (SMS sends, webhooks) before they are given up.
    pub give_up_after_h: u64,
}

impl Default for ActionsConfig {
    fn default() -> Self {
        Self {
            give_up_after_h: 24,
        }
    }
}

/// Live agents and transfers (`[agents]`, docs/agents.md).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AgentsConfig {
    /// After-call work before an agent is offered the next call, seconds.
    pub wrap_up_s: u64,
    /// An agent whose phone rings this long is paused ("missed a call") and the next tried.
    pub agent_ring_s: u64,
    /// The longest a transferred caller waits for an agent (then `queue_timeout`).
    pub queue_max_wait_s: u64,
    /// How often the «вы в очереди» prompt interrupts the hold music (0: never).
    pub queue_announce_s: u64,
    /// Hold music (a file in the prompts folder or a path); empty: the bundled piece.
    pub hold_music: String,
    /// Simulated agents.
    pub sim: crate::agents::sim::SimAgentsConfig,
}

impl Default for AgentsConfig {
    fn default() -> Self {
        Self {
            wrap_up_s: 10,
            agent_ring_s: 15,
            queue_max_wait_s: 120,
            queue_announce_s: 30,
            hold_music: String::new(),
            sim: Default::default(),
        }
    }
}

/// Webhooks (`[webhooks]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Requests at once.
    pub parallel: usize,
    /// How long a receiver may take to answer.
    pub timeout_s: u64,
    /// Webhooks may go to loopback and private addresses (tests; trusted internal receivers).
    pub allow_private: bool,
    /// Receivers allowed although their address is loopback or private, each `host:port`
    /// (`127.0.0.1:9000`, `crm.lan:8443`): one receiver on the same host or network without
    /// opening every private address.
    pub allow_hosts: Vec<String>,
    /// Signs the webhooks of projects without a `webhook_secret` of their own (`whsec_…`, or
    /// any text of 16+ characters). Empty: `serve` makes one at its first start, keeps it in
    /// the database and prints it once.
    pub secret: Secret,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            parallel: 16,
            timeout_s: 10,
            allow_private: false,
            allow_hosts: Vec::new(),
            secret: Secret::default(),
        }
    }
}

/// Contact imports (`[import]`). Every limit is a whole-file error: nothing is imported.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImportConfig {
    /// Largest file accepted as sent (bytes); larger ones are refused while streaming (413).
    /// Spreadsheets are held whole in memory and have their own ceiling of 256 MiB.
    pub max_bytes: u64,
    /// Most a spreadsheet's parts may unpack to (bytes, counted while decompressing, before
    /// the file is read): a small XLSX can unpack to gigabytes (422).
    pub max_unpacked_bytes: u64,
    /// Most data rows in one file, any format (422).
    pub max_rows: u64,
}

impl Default for ImportConfig {
    fn default() -> Self {
        Self {
            max_bytes: 2 << 30,
            max_unpacked_bytes: 1 << 30,
            max_rows: 5_000_000,
        }
    }
}

/// Per-call settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallsConfig {
    /// Ring timeout before CANCEL → `no_answer`.
    pub ring_timeout_s: u64,
    /// Longest answered call.
    pub max_call_s: u64,
    /// Record answered calls (stereo WAV under `<data>/recordings`).
    pub record: bool,
    /// Answering-machine detection.
    pub amd: bool,
    /// Learn the recorded greetings calls meet (docs/amd.md, "Learned greetings").
    pub learn_greetings: bool,
    /// A greeting heard on calls to this many other numbers is a recording.
    pub learn_after_numbers: u32,
}

impl Default for CallsConfig {
    fn default() -> Self {
        Self {
            ring_timeout_s: 40,
            max_call_s: 600,
            record: true,
            amd: true,
            learn_greetings: true,
            learn_after_numbers: crate::media::greetings::MIN_NUMBERS as u32,
        }
    }
}

/// A configuration problem, with where it came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("environment variable {var}: {reason}")]
    Env { var: String, reason: String },
}

impl Config {
    /// Loads `path` (if given) and applies the environment on top.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(path, |k| std::env::var(k).ok())
    }

    /// As `load`, with the environment given as a lookup (tests).
    pub fn load_with_env(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let file_err = |reason: String| ConfigError::File {
            path: path.map(|p| p.display().to_string()).unwrap_or_default(),
            reason,
        };
        let mut value = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    file_err(format!(
                        "cannot read the configuration file (--config / AUTOINFORMER_CONFIG): {e}"
                    ))
                })?;
                text.parse::<toml::Table>()
                    .map_err(|e| file_err(parse_error(&text, &e)))?
            }
            None => toml::Table::new(),
        };
        secrets_are_text(&value, "").map_err(file_err)?;
        // Validate the file alone first, so its errors name the file.
        Config::deserialize(toml::Value::Table(value.clone()))
            .map_err(|e| file_err(redact(&e.to_string())))?;
        let defaults = toml::Value::try_from(Config::default())
            .map_err(|e| file_err(format!("internal: {e}")))?;
        if let toml::Value::Table(d) = &defaults {
            apply_env(&mut value, d, ENV_PREFIX, &env)?;
        }
        Config::deserialize(toml::Value::Table(value)).map_err(|e| ConfigError::Env {
            var: format!("{ENV_PREFIX}*"),
            reason: redact(&e.to_string()),
        })
    }
}

/// Whether a key holds a secret (its value never appears in an error): any key named like a
/// password, a secret or a token (`trunk.sip.password`, `admin_token`).
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["password", "passwd", "secret", "token"]
        .iter()
        .any(|w| k.contains(w))
}

/// Secrets are strings: a bare number (a numeric password) or any other non-string value is
/// refused with the key named and a hint to quote it, never with the value.
fn secrets_are_text(table: &toml::Table, prefix: &str) -> Result<(), String> {
    for (key, v) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match v {
            toml::Value::String(_) => {}
            toml::Value::Table(t) if !is_secret_key(key) => secrets_are_text(t, &path)?,
            _ if is_secret_key(key) => {
                return Err(format!(
                    "`{path}` is a secret and must be a quoted string, not {} (the value is not \
                     shown): quote it, e.g. {key} = \"...\"",
                    v.type_str()
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// A TOML syntax error; when the line it points at sets a secret, the line is not quoted.
fn parse_error(text: &str, e: &toml::de::Error) -> String {
    let Some(span) = e.span() else {
        return e.to_string();
    };
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = &text[line_start..line_end];
    let key = line.split('=').next().unwrap_or("").trim();
    if !line.contains('=') || !is_secret_key(key) {
        return e.to_string();
    }
    let number = text[..line_start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count() + 1;
    format!(
        "TOML parse error at line {number}, column {column} (the line sets the secret `{key}` \
         and is not shown): {}",
        e.message().trim()
    )
}

/// Drops the quoted value from a deserialisation error about a secret key (`invalid type:
/// integer `…`` followed by `in `trunk.sip.password``): such errors show the key, not the value.
fn redact(message: &str) -> String {
    let about_secret = message
        .lines()
        .filter_map(|l| l.trim().strip_prefix("in `"))
        .any(|p| p.trim_end_matches('`').split('.').any(is_secret_key));
    if !about_secret {
        return message.to_string();
    }
    message
        .lines()
        .map(|l| {
            if l.trim().starts_with("in `") {
                return l.to_string();
            }
            // Every backtick-quoted part of the other lines is a value.
            let mut out = String::new();
            for (i, part) in l.split('`').enumerate() {
                out.push_str(if i % 2 == 1 {
                    "(value not shown)"
                } else {
                    part
                });
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Overlays `AUTOINFORMER_<PATH>` variables on `value`, guided by the defaults' shape.
fn apply_env(
    value: &mut toml::Table,
    defaults: &toml::Table,
    prefix: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    for (key, default) in defaults {
        let var = format!("{prefix}{}", key.to_ascii_uppercase());
        match default {
            toml::Value::Table(inner) => {
                let entry = value
                    .entry(key.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                if let toml::Value::Table(t) = entry {
                    apply_env(t, inner, &format!("{var}_"), env)?;
                }
            }
            _ => {
                let Some(raw) = env(&var) else { continue };
                let bad = |reason: String| ConfigError::Env {
                    var: var.clone(),
                    reason,
                };
                // The value as errors show it: never a secret's.
                let shown = if is_secret_key(key) {
                    "the value (not shown)".to_string()
                } else {
                    format!("{raw:?}")
                };
                let v = match default {
                    toml::Value::String(_) => toml::Value::String(raw),
                    toml::Value::Integer(_) => toml::Value::Integer(
                        raw.trim()
                            .parse()
                            .map_err(|_| bad(format!("{shown} is not a whole number")))?,
                    ),
                    toml::Value::Float(_) => toml::Value::Float(
                        raw.trim()
                            .parse()
                            .map_err(|_| bad(format!("{shown} is not a number")))?,
                    ),
                    toml::Value::Boolean(_) => {
                        toml::Value::Boolean(match raw.trim().to_ascii_lowercase().as_str() {
                            "1" | "true" | "yes" | "on" => true,
                            "0" | "false" | "no" | "off" => false,
                            _ => return Err(bad(format!("{shown} is not true/false"))),
                        })
                    }
                    toml::Value::Array(_) => toml::Value::Array(
                        raw.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(|s| toml::Value::String(s.to_string()))
                            .collect(),
                    ),
                    _ => continue,
                };
                value.insert(key.clone(), v);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn the_default_model_is_looked_for_next_to_the_executable_and_in_the_checkout_but_a_set_one_only_where_it_is(
    ) {
        let exe = Path::new("/opt/ai/bin/autoinformer");
        let c = model_candidates(Path::new(DEFAULT_MODEL_DIR), Some(exe));
        assert_eq!(
            c,
            vec![
                PathBuf::from(DEFAULT_MODEL_DIR),
                Path::new("/opt/ai/bin").join(DEFAULT_MODEL_DIR),
                Path::new("/opt/ai/bin/../share/autoinformer").join(DEFAULT_MODEL_DIR),
                Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_MODEL_DIR),
            ]
        );
        let own = Path::new("models/vosk-model-ru-0.42");
        assert_eq!(model_candidates(own, Some(exe)), vec![own.to_path_buf()]);
        assert_eq!(
            set_by("numbering_registry"),
            "the config key `numbering_registry` / AUTOINFORMER_NUMBERING_REGISTRY"
        );
    }

    #[test]
    fn a_config_file_that_cannot_be_read_names_the_option_and_the_variable() {
        let e = Config::load_with_env(Some(Path::new("/nonexistent/c.toml")), |_| None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/nonexistent/c.toml") && e.contains("AUTOINFORMER_CONFIG"),
            "{e}"
        );
    }

    #[test]
    fn the_environment_overrides_the_file_key_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "[trunk]\nkind = \"sip\"\n[trunk.sip]\nserver = \"10.0.0.1:5060\"\nusername = \"robot\"\n",
        )
        .unwrap();
        let env: HashMap<&str, &str> = [
            ("AUTOINFORMER_TRUNK_SIP_PASSWORD", "s3cret"),
            (
                "AUTOINFORMER_TRUNK_SIP_CALLER_IDS",
                "+74950000001, +74950000002",
            ),
            ("AUTOINFORMER_CALLS_RING_TIMEOUT_S", "25"),
            ("AUTOINFORMER_LISTEN", "127.0.0.1:9000"),
        ]
        .into();
        let c = Config::load_with_env(Some(&p), |k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(c.trunk.kind, "sip");
        assert_eq!(c.trunk.sip.server, "10.0.0.1:5060");
        assert_eq!(c.trunk.sip.password, "s3cret");
        assert_eq!(c.trunk.sip.caller_ids, ["+74950000001", "+74950000002"]);
        assert_eq!(c.calls.ring_timeout_s, 25);
        assert_eq!(c.listen, "127.0.0.1:9000");
        let dbg = format!("{:?}", c);
        assert!(!dbg.contains("s3cret"), "{dbg}");
    }

    #[test]
    fn errors_about_secret_keys_never_show_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        for (text, key) in [
            (
                "[trunk.sip]\npassword = 98765432123\n",
                "trunk.sip.password",
            ),
            ("admin_token = 98765432123\n", "admin_token"),
            ("admin_token = 98765432123.5\n", "admin_token"),
            (
                "[trunk.sip]\npassword = [98765432123]\n",
                "trunk.sip.password",
            ),
            // A syntax error on a secret's line: the line is not quoted.
            ("[trunk.sip]\npassword = 98765432123x\n", "password"),
            ("[trunk.sip]\npassword = \"98765432123\n", "password"),
        ] {
            std::fs::write(&p, text).unwrap();
            let e = Config::load_with_env(Some(&p), |_| None)
                .unwrap_err()
                .to_string();
            assert!(!e.contains("98765432123"), "{text:?}: {e}");
            assert!(e.contains(key) && e.contains("c.toml"), "{text:?}: {e}");
        }
        std::fs::write(&p, "[trunk.sip]\npassword = 98765432123\n").unwrap();
        let e = Config::load_with_env(Some(&p), |_| None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("quote it"), "{e}");
        // A quoted numeric password is fine.
        std::fs::write(&p, "[trunk.sip]\npassword = \"98765432123\"\n").unwrap();
        let c = Config::load_with_env(Some(&p), |_| None).unwrap();
        assert_eq!(c.trunk.sip.password, "98765432123");
        // Other keys still show their value.
        std::fs::write(&p, "listen = 8080\n").unwrap();
        let e = Config::load_with_env(Some(&p), |_| None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("8080"), "{e}");
        // The safety net under any other deserialisation error about a secret.
        assert_eq!(
            redact("invalid value: string `hunter2`, expected x\nin `trunk.sip.password`"),
            "invalid value: string (value not shown), expected x\nin `trunk.sip.password`"
        );
        assert_eq!(
            redact("invalid type: integer `8080`\nin `listen`"),
            "invalid type: integer `8080`\nin `listen`"
        );
        assert!(is_secret_key("admin_token") && is_secret_key("webhook_secret"));
        assert!(!is_secret_key("username") && !is_secret_key("server"));
    }

    #[test]
    fn bad_values_name_the_file_or_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[calls]\nring_timeot_s = 3\n").unwrap();
        let e = Config::load_with_env(Some(&p), |_| None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.toml") && e.contains("ring_timeot_s"), "{e}");
        let e = Config::load_with_env(None, |k| {
            (k == "AUTOINFORMER_CALLS_MAX_CALL_S").then(|| "soon".to_string())
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("AUTOINFORMER_CALLS_MAX_CALL_S") && e.contains("soon"),
            "{e}"
        );
    }
}
