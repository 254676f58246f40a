//! A project's settings checked and changed: the checks every project passes at creation and
//! at each edit (one place, so `POST /projects`, `PATCH /projects/{id}` and the web UI's forms
//! refuse the same values with the same messages, each naming its field), and an edit as the
//! fields it changes. Pure: whatever needs the database (a scenario that exists, a name not
//! taken) is the store's.
use super::{parse_local_datetime, Mode, NewProject, PacingOptions, StoreError, TransferOptions};
use crate::rules::attempts::{AttemptRules, RetryRule, RuleError};
use crate::rules::decide::OrderBy;
use crate::rules::schedule::{Schedule, ScheduleError, TypeWindows};
use crate::rules::tariff::Tariff;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Longest project name, in characters (it heads reports and export file names).
pub const MAX_PROJECT_NAME: usize = 200;

/// The most lines a project may have (far above any trunk: a typo, not a campaign).
pub const MAX_LINES: u32 = 100_000;

/// A setting refused: the field (`schedule`, `transfer`, …), why in a message that names it
/// (the API's), and the same for people in Russian (the web UI's forms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    pub field: &'static str,
    pub message: String,
    pub ru: String,
}

impl SettingError {
    pub fn new(field: &'static str, message: impl Into<String>, ru: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
            ru: ru.into(),
        }
    }
}

impl std::fmt::Display for SettingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<SettingError> for StoreError {
    fn from(e: SettingError) -> Self {
        StoreError::Invalid(e.message)
    }
}

/// What checking a project's settings yields besides the texts it keeps.
#[derive(Debug, Clone)]
pub struct CheckedSettings {
    pub schedule: Schedule,
    /// The retry rules with the defaults for the results not given.
    pub rules: AttemptRules,
    /// Unix s.
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
}

/// A schedule's refusal in Russian.
fn schedule_ru(e: &ScheduleError) -> String {
    match e {
        ScheduleError::Zone(z) => {
            format!("«{z}» — не часовой пояс: укажите зону IANA, например Europe/Moscow.")
        }
        ScheduleError::Interval(w) => {
            format!("«{w}»: время пишется как ЧЧ:ММ-ЧЧ:ММ, например «mon-fri 09:00-21:00».")
        }
        ScheduleError::Days(d) => format!("«{d}»: дни пишутся как mon-fri, sat,sun или daily."),
        ScheduleError::NumberType(k) => {
            format!("Тип номера «{k}» неизвестен: mobile, work, home или other.")
        }
        ScheduleError::NoTypeWindows(k) => {
            format!("У типа «{k}» нет окон: дайте хотя бы одно или уберите тип.")
        }
        ScheduleError::NoWindows => "Укажите хотя бы одно окно, например «mon-fri 09:00-21:00»: \
             без окон проект никогда не позвонит."
            .into(),
    }
}

/// Checks every setting of a project that needs nothing but itself: the name, the schedule and
/// its zone, the windows per number type, the start and the end, the retry rules and max
/// calls, the lines, the tariff, the transfer settings, the webhook's address (its form; where
/// it resolves is the API's) and secret. The first refused setting is answered.
pub fn check_settings(p: &NewProject) -> Result<CheckedSettings, SettingError> {
    let name = p.name.trim();
    if name.is_empty() {
        return Err(SettingError::new(
            "name",
            "name is empty",
            "Укажите название проекта.",
        ));
    }
    let chars = name.chars().count();
    if chars > MAX_PROJECT_NAME {
        return Err(SettingError::new(
            "name",
            format!("name: {chars} characters; a project name has at most {MAX_PROJECT_NAME}"),
            format!("Название длиннее {MAX_PROJECT_NAME} символов ({chars})."),
        ));
    }
    let windows: Vec<&str> = p.schedule.iter().map(String::as_str).collect();
    let schedule = Schedule::new(&p.time_zone, &windows).map_err(|e| {
        let field = match e {
            ScheduleError::Zone(_) => "time_zone",
            _ => "schedule",
        };
        SettingError::new(field, e.to_string(), schedule_ru(&e))
    })?;
    TypeWindows::parse(&p.type_windows).map_err(|e| {
        SettingError::new(
            "type_windows",
            format!("type_windows: {e}"),
            schedule_ru(&e),
        )
    })?;
    let when = |field: &'static str, t: &Option<String>| {
        t.as_deref()
            .map(|t| {
                parse_local_datetime(t, schedule.tz).map_err(|e| {
                    SettingError::new(
                        field,
                        format!("{field}: {e}"),
                        format!(
                            "«{}» — не дата и время: пишите как 2026-12-01 09:00 (время проекта).",
                            t.trim()
                        ),
                    )
                })
            })
            .transpose()
    };
    let starts_at = when("starts_at", &p.starts_at)?;
    let ends_at = when("ends_at", &p.ends_at)?;
    if let (Some(a), Some(b)) = (starts_at, ends_at) {
        if b <= a {
            return Err(SettingError::new(
                "ends_at",
                "ends_at must be later than starts_at",
                "Конец должен быть позже начала.",
            ));
        }
    }
    if let Some(url) = &p.webhook_url {
        crate::scenario::check_webhook_url(url).map_err(|e| {
            SettingError::new(
                "webhook_url",
                format!("webhook_url: {e}"),
                "Адрес вебхука: http:// или https:// и имя хоста, например \
                 https://crm.example.ru/hooks.",
            )
        })?;
    }
    if let Some(secret) = &p.webhook_secret {
        super::sqlite::check_webhook_secret(secret).map_err(|e| {
            SettingError::new(
                "webhook_secret",
                format!("webhook_secret: {e}"),
                "Секрет вебхука: не короче 16 символов (или whsec_ и 24–64 байта в base64).",
            )
        })?;
    }
    let rules = AttemptRules::new(p.max_calls_per_number, p.retry_rules.clone()).map_err(|e| {
        let (field, ru) = match &e {
            RuleError::MaxCalls(_) => (
                "max_calls_per_number",
                "Звонков на один номер — 1 или 2.".to_string(),
            ),
            RuleError::Attempts(r) => (
                "retry_rules",
                format!("«{}»: попыток подряд — не меньше 1.", result_ru(r)),
            ),
            RuleError::UnknownResult(r) => (
                "retry_rules",
                format!("«{r}» — не результат, после которого звонят ещё раз."),
            ),
        };
        SettingError::new(field, e.to_string(), ru)
    })?;
    if p.lines == 0 {
        return Err(SettingError::new(
            "lines",
            "lines must be at least 1",
            "Линий — не меньше одной.",
        ));
    }
    if p.lines > MAX_LINES {
        return Err(SettingError::new(
            "lines",
            format!("lines: {}; a project has at most {MAX_LINES}", p.lines),
            format!("Линий — не больше {MAX_LINES}."),
        ));
    }
    p.tariff
        .validate()
        .map_err(|e| SettingError::new("tariff", e, "Цены тарифа — числа не меньше нуля."))?;
    p.transfer.validate().map_err(|e| {
        let ru = if e.starts_with("transfer.hold_music") {
            "Музыка ожидания — имя сохранённой или встроенной записи, например transfer/hold.wav."
                .to_string()
        } else {
            "Значение вне допустимых пределов: после звонка 0–3600 с, звонок оператору 1–300 с, \
             ожидание в очереди 1–3600 с, объявления 0–3600 с."
                .to_string()
        };
        SettingError::new("transfer", e, ru)
    })?;
    p.pacing.validate().map_err(|e| {
        SettingError::new(
            "pacing",
            e,
            "Значение вне допустимых пределов: звонков на оператора 1–10, ожидание в очереди \
             5–600 с, доля брошенных 0,005–0,2, ожидание оператора 1–600 с, время разговора, \
             после звонка и до ответа 1–3600 с.",
        )
    })?;
    Ok(CheckedSettings {
        schedule,
        rules,
        starts_at,
        ends_at,
    })
}

/// A result's Russian label (its code when it has none).
fn result_ru(code: &str) -> &str {
    crate::scenario::system_result::label_ru(code).unwrap_or(code)
}

/// A change to a project (`PATCH /projects/{id}`): each field given replaces the project's,
/// each left out stays. `null` clears the fields that may be empty (`callback_project_id`,
/// `starts_at`, `ends_at`, `webhook_url`, `webhook_secret`); for the others it is refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectEdit {
    #[serde(default, deserialize_with = "present")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub scenario_id: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    pub time_zone: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub schedule: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    pub lines: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    pub max_calls_per_number: Option<u32>,
    /// Per retryable result; the results not given keep their rules.
    #[serde(default, deserialize_with = "present")]
    pub retry_rules: Option<BTreeMap<String, RetryRule>>,
    #[serde(default, deserialize_with = "present")]
    pub ordering: Option<Vec<OrderBy>>,
    #[serde(default, deserialize_with = "present")]
    pub callback_project_id: Option<Option<i64>>,
    /// Replaces the tariff (prices not given take the defaults).
    #[serde(default, deserialize_with = "present")]
    pub tariff: Option<Tariff>,
    #[serde(default, deserialize_with = "present")]
    pub starts_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub ends_at: Option<Option<String>>,
    /// Replaces the windows per number type (`{}`: none).
    #[serde(default, deserialize_with = "present")]
    pub type_windows: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    pub webhook_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub webhook_secret: Option<Option<String>>,
    /// Replaces the project's transfer settings (`{}`: the server's).
    #[serde(default, deserialize_with = "present")]
    pub transfer: Option<TransferOptions>,
    /// Another pacing mode: takes effect at the dialer's next pass (docs/pacing.md).
    #[serde(default, deserialize_with = "present")]
    pub mode: Option<Mode>,
    /// Replaces the pacing settings (`{}`: the defaults).
    #[serde(default, deserialize_with = "present")]
    pub pacing: Option<PacingOptions>,
    /// The agents who serve the project (by id), replacing those who did; agents who serve
    /// every project (the simulated ones) stay so.
    #[serde(default, deserialize_with = "present")]
    pub agents: Option<Vec<i64>>,
}

/// A field that is there (`Some`), apart from one left out (`None`, the default). For an
/// `Option<Option<T>>` field `null` is `Some(None)`; for an `Option<T>` field it is refused.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

impl ProjectEdit {
    /// The project's settings after this change. Start and end kept as they were are read
    /// again in the (new) zone: `2026-12-01 09:00` stays 09:00 there.
    pub fn apply(&self, mut p: NewProject) -> NewProject {
        fn set<T: Clone>(to: &mut T, from: &Option<T>) {
            if let Some(v) = from {
                *to = v.clone();
            }
        }
        set(&mut p.name, &self.name);
        set(&mut p.scenario_id, &self.scenario_id);
        set(&mut p.time_zone, &self.time_zone);
        set(&mut p.schedule, &self.schedule);
        set(&mut p.lines, &self.lines);
        set(&mut p.max_calls_per_number, &self.max_calls_per_number);
        if let Some(given) = &self.retry_rules {
            p.retry_rules
                .extend(given.iter().map(|(k, v)| (k.clone(), *v)));
        }
        set(&mut p.ordering, &self.ordering);
        set(&mut p.callback_project_id, &self.callback_project_id);
        set(&mut p.tariff, &self.tariff);
        set(&mut p.starts_at, &self.starts_at);
        set(&mut p.ends_at, &self.ends_at);
        set(&mut p.type_windows, &self.type_windows);
        set(&mut p.webhook_url, &self.webhook_url);
        set(&mut p.webhook_secret, &self.webhook_secret);
        set(&mut p.transfer, &self.transfer);
        set(&mut p.mode, &self.mode);
        set(&mut p.pacing, &self.pacing);
        p
    }

    /// This edit without the fields that would leave `current` as it is (a form sends every
    /// field: only what was changed is an edit, and only a change of how contacts are planned
    /// plans them again). `agents` is left to the caller.
    pub fn changes_from(mut self, current: &NewProject) -> ProjectEdit {
        fn same<T: PartialEq>(v: &mut Option<T>, cur: &T) {
            if v.as_ref() == Some(cur) {
                *v = None;
            }
        }
        same(&mut self.name, &current.name);
        same(&mut self.scenario_id, &current.scenario_id);
        same(&mut self.time_zone, &current.time_zone);
        same(&mut self.schedule, &current.schedule);
        same(&mut self.lines, &current.lines);
        same(
            &mut self.max_calls_per_number,
            &current.max_calls_per_number,
        );
        if let Some(given) = &self.retry_rules {
            if given
                .iter()
                .all(|(k, v)| current.retry_rules.get(k) == Some(v))
            {
                self.retry_rules = None;
            }
        }
        same(&mut self.ordering, &current.ordering);
        same(&mut self.callback_project_id, &current.callback_project_id);
        same(&mut self.tariff, &current.tariff);
        same(&mut self.starts_at, &current.starts_at);
        same(&mut self.ends_at, &current.ends_at);
        same(&mut self.type_windows, &current.type_windows);
        same(&mut self.webhook_url, &current.webhook_url);
        same(&mut self.webhook_secret, &current.webhook_secret);
        same(&mut self.transfer, &current.transfer);
        same(&mut self.mode, &current.mode);
        same(&mut self.pacing, &current.pacing);
        self
    }

    /// Whether the edit changes how contacts are planned (their gates, order keys, retries):
    /// then every open contact of the project is planned again.
    pub fn replans(&self) -> bool {
        self.time_zone.is_some()
            || self.schedule.is_some()
            || self.max_calls_per_number.is_some()
            || self.retry_rules.is_some()
            || self.ordering.is_some()
            || self.type_windows.is_some()
    }

    /// The names of the fields given, for the decision log.
    pub fn fields(&self) -> Vec<&'static str> {
        let given = [
            ("name", self.name.is_some()),
            ("scenario_id", self.scenario_id.is_some()),
            ("time_zone", self.time_zone.is_some()),
            ("schedule", self.schedule.is_some()),
            ("lines", self.lines.is_some()),
            ("max_calls_per_number", self.max_calls_per_number.is_some()),
            ("retry_rules", self.retry_rules.is_some()),
            ("ordering", self.ordering.is_some()),
            ("callback_project_id", self.callback_project_id.is_some()),
            ("tariff", self.tariff.is_some()),
            ("starts_at", self.starts_at.is_some()),
            ("ends_at", self.ends_at.is_some()),
            ("type_windows", self.type_windows.is_some()),
            ("webhook_url", self.webhook_url.is_some()),
            ("webhook_secret", self.webhook_secret.is_some()),
            ("transfer", self.transfer.is_some()),
            ("mode", self.mode.is_some()),
            ("pacing", self.pacing.is_some()),
            ("agents", self.agents.is_some()),
        ];
        given.iter().filter(|(_, g)| *g).map(|(n, _)| *n).collect()
    }
}

/// What deleting contacts by status did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeleteCount {
    /// Contacts of that status gone from the project (those in a call are never touched).
    pub deleted: u64,
    /// Of these, the ones whose calls keep their history: hidden from every count, list and
    /// export, not removed from the database.
    pub kept_for_history: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> NewProject {
        NewProject {
            name: "Опрос".into(),
            scenario_id: 1,
            ..Default::default()
        }
    }

    #[test]
    fn each_refused_setting_names_its_field() {
        type Spoil = Box<dyn Fn(&mut NewProject)>;
        let cases: Vec<(Spoil, &str)> = vec![
            (Box::new(|p| p.name = " ".into()), "name"),
            (Box::new(|p| p.name = "я".repeat(201)), "name"),
            (Box::new(|p| p.time_zone = "MSK".into()), "time_zone"),
            (Box::new(|p| p.schedule = vec![]), "schedule"),
            (
                Box::new(|p| p.schedule = vec!["mon-fri 9-21".into()]),
                "schedule",
            ),
            (Box::new(|p| p.lines = 0), "lines"),
            (
                Box::new(|p| p.max_calls_per_number = 3),
                "max_calls_per_number",
            ),
            (
                Box::new(|p| {
                    p.retry_rules.insert(
                        "busy".into(),
                        RetryRule {
                            attempts: 0,
                            interval_s: 60,
                        },
                    );
                }),
                "retry_rules",
            ),
            (
                Box::new(|p| p.starts_at = Some("завтра".into())),
                "starts_at",
            ),
            (
                Box::new(|p| {
                    p.starts_at = Some("2026-12-02 10:00".into());
                    p.ends_at = Some("2026-12-01 10:00".into());
                }),
                "ends_at",
            ),
            (
                Box::new(|p| {
                    p.type_windows
                        .insert("pager".into(), vec!["daily 09:00-10:00".into()]);
                }),
                "type_windows",
            ),
            (Box::new(|p| p.tariff.per_second = -1.0), "tariff"),
            (Box::new(|p| p.transfer.agent_ring_s = Some(0)), "transfer"),
            (
                Box::new(|p| p.webhook_url = Some("ftp://x".into())),
                "webhook_url",
            ),
            (
                Box::new(|p| p.webhook_secret = Some("short".into())),
                "webhook_secret",
            ),
        ];
        assert!(check_settings(&base()).is_ok());
        for (bad, field) in cases {
            let mut p = base();
            bad(&mut p);
            let e = check_settings(&p).expect_err(field);
            assert_eq!(e.field, field, "{}", e.message);
        }
    }

    #[test]
    fn an_edit_changes_what_it_gives_and_merges_retry_rules() {
        let e: ProjectEdit = serde_json::from_str(
            r#"{"lines": 3, "retry_rules": {"busy": {"attempts": 1, "interval_s": 60}},
                "starts_at": null, "webhook_url": null}"#,
        )
        .unwrap();
        let mut p = base();
        p.retry_rules.insert(
            "no_answer".into(),
            RetryRule {
                attempts: 2,
                interval_s: 900,
            },
        );
        p.starts_at = Some("2026-12-01 09:00".into());
        p.webhook_url = Some("https://crm.example.ru/h".into());
        let q = e.apply(p.clone());
        assert_eq!(q.lines, 3);
        assert_eq!(q.retry_rules.len(), 2, "busy added, no_answer kept");
        assert_eq!((q.starts_at, q.webhook_url), (None, None));
        assert_eq!((q.name, q.schedule), (p.name, p.schedule));
        assert!(e.replans());
        assert_eq!(
            e.fields(),
            ["lines", "retry_rules", "starts_at", "webhook_url"]
        );
        // A field that may not be empty refuses null; unknown fields are refused.
        assert!(serde_json::from_str::<ProjectEdit>(r#"{"lines": null}"#).is_err());
        assert!(serde_json::from_str::<ProjectEdit>(r#"{"colour": 1}"#).is_err());
        let lines_only: ProjectEdit = serde_json::from_str(r#"{"lines": 1}"#).unwrap();
        assert!(!lines_only.replans());
        // A whole form of which only the lines differ is an edit of the lines.
        let mut cur = base();
        cur.retry_rules = AttemptRules::default().per_result;
        let form = ProjectEdit {
            name: Some(cur.name.clone()),
            schedule: Some(cur.schedule.clone()),
            lines: Some(3),
            retry_rules: Some(cur.retry_rules.clone()),
            ordering: Some(cur.ordering.clone()),
            callback_project_id: Some(None),
            starts_at: Some(None),
            tariff: Some(cur.tariff),
            ..Default::default()
        };
        assert_eq!(form.changes_from(&cur).fields(), ["lines"]);
    }
}
