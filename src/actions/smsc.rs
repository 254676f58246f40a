//! SMSC's HTTP API (docs/actions.md, "SMS"): `send.php` and `status.php` with `fmt=3` (JSON
//! answers), as SMSC documents them. The answers are read by pure functions (`read_send`,
//! `read_status`) into what they mean for the outbox; the client around them is one thin
//! `reqwest` call each. The password never reaches a log: `Debug` hides it.
//!
//! SMSC's own `id` is not an idempotency key (status.php answers for the *last* message sent
//! with an id), so a send whose outcome is unknown is looked up with `status` before it is sent
//! again — the worker does that; this file only says which outcomes are unknown.
pub use crate::config::SmscConfig;
use serde::Deserialize;
use std::time::Duration;

/// What a send came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    /// Accepted: SMSC's id, the parts billed, the price and the balance left (roubles).
    Accepted {
        smsc_id: String,
        parts: i64,
        cost: Option<f64>,
        balance: Option<f64>,
    },
    /// Refused for good: the number or the text cannot be sent (codes 1, 5, 6, 7, 8).
    Failed { code: i64, reason: String },
    /// The login or password is wrong, or the IP is not allowed (code 2): stop sending.
    BadLogin(String),
    /// Not enough money on the account (code 3): hold every SMS and try later.
    NoMoney(String),
    /// Throttled (code 4: IP blocked for a while; 9: a duplicate or too many at once): later.
    BackOff { code: i64, reason: String },
    /// The request did not leave: SMSC could not be reached (connection refused, no route, the
    /// name does not resolve). Nothing was sent: try again after a backoff.
    NotSent(String),
    /// The request may or may not have reached SMSC (timeout, reset, 5xx, an answer that is
    /// not SMSC's): look it up with `status` before sending again.
    Unknown(String),
}

/// What status.php said of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// SMSC has no message with this id for this number (−3): it was never sent.
    NotFound,
    /// Still on its way (−2 stopped, −1 waiting, 0 handed to the operator).
    Pending(i64),
    /// Delivered (1, and 2 read, 4 link followed).
    Delivered(i64),
    /// Failed for good: 3 expired, 20 undeliverable, 22 bad number, 23 forbidden, 24 no
    /// money, 25 unavailable.
    Failed { code: i64, reason: String },
}

#[derive(Deserialize)]
struct SendJson {
    id: Option<serde_json::Value>,
    cnt: Option<serde_json::Value>,
    cost: Option<serde_json::Value>,
    balance: Option<serde_json::Value>,
    error: Option<String>,
    error_code: Option<i64>,
}

#[derive(Deserialize)]
struct StatusJson {
    status: Option<serde_json::Value>,
    err: Option<serde_json::Value>,
    error: Option<String>,
    error_code: Option<i64>,
}

fn number(v: &Option<serde_json::Value>) -> Option<f64> {
    match v {
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.trim().replace(',', ".").parse().ok(),
        _ => None,
    }
}

fn text(v: &Option<serde_json::Value>) -> Option<String> {
    match v {
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Reads send.php's answer (HTTP `status`, `body`).
pub fn read_send(status: u16, body: &str) -> Sent {
    if status >= 500 {
        return Sent::Unknown(format!("SMSC answered HTTP {status}"));
    }
    let Ok(j) = serde_json::from_str::<SendJson>(body) else {
        return Sent::Unknown(format!(
            "SMSC's answer is not its JSON (HTTP {status}): {}",
            body.chars().take(120).collect::<String>()
        ));
    };
    if let Some(code) = j.error_code {
        let reason = j.error.unwrap_or_else(|| format!("error {code}"));
        return match code {
            1 | 5 | 6 | 7 | 8 => Sent::Failed { code, reason },
            2 => Sent::BadLogin(reason),
            3 => Sent::NoMoney(reason),
            4 | 9 => Sent::BackOff { code, reason },
            _ => Sent::BackOff { code, reason },
        };
    }
    match text(&j.id) {
        Some(smsc_id) => Sent::Accepted {
            smsc_id,
            parts: number(&j.cnt).map_or(1, |n| n as i64),
            cost: number(&j.cost),
            balance: number(&j.balance),
        },
        None => Sent::Unknown(format!(
            "SMSC's answer has neither an id nor an error: {}",
            body.chars().take(120).collect::<String>()
        )),
    }
}

/// What a status code means, in words.
fn status_words(code: i64) -> &'static str {
    match code {
        3 => "expired: not delivered in time",
        20 => "cannot be delivered",
        22 => "bad number",
        23 => "forbidden",
        24 => "not enough money",
        25 => "the number is unavailable",
        _ => "failed",
    }
}

/// Reads status.php's answer; `Err` when it says nothing usable (ask again later).
pub fn read_status(status: u16, body: &str) -> Result<Status, String> {
    if status >= 500 {
        return Err(format!("SMSC answered HTTP {status}"));
    }
    let j: StatusJson = serde_json::from_str(body).map_err(|_| {
        format!(
            "SMSC's status answer is not its JSON (HTTP {status}): {}",
            body.chars().take(120).collect::<String>()
        )
    })?;
    if let Some(code) = j.error_code {
        return Err(format!(
            "SMSC refused the status request: {} (error {code})",
            j.error.unwrap_or_default()
        ));
    }
    let code = number(&j.status)
        .map(|c| c as i64)
        .ok_or_else(|| "SMSC's status answer has no status".to_string())?;
    Ok(match code {
        -3 => Status::NotFound,
        -2..=0 => Status::Pending(code),
        1 | 2 | 4 => Status::Delivered(code),
        c => Status::Failed {
            code: c,
            reason: match number(&j.err) {
                Some(e) if e != 0.0 => format!("{} (SMSC status {c}, error {e})", status_words(c)),
                _ => format!("{} (SMSC status {c})", status_words(c)),
            },
        },
    })
}

/// The client.
pub struct SmscClient {
    http: reqwest::Client,
    cfg: SmscConfig,
}

impl SmscClient {
    pub fn new(cfg: SmscConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(cfg.timeout_s.max(1)))
            .build()
            .map_err(|e| format!("the SMSC client: {e}"))?;
        Ok(Self { http, cfg })
    }

    fn endpoint(&self, name: &str) -> String {
        let base = self.cfg.url.trim_end_matches('/');
        format!("{base}/{name}")
    }

    /// Sends one SMS with our `id` (the outbox row).
    pub async fn send(&self, id: i64, phone: &str, text: &str) -> Sent {
        let id = id.to_string();
        let mut form = vec![
            ("login", self.cfg.login.as_str()),
            ("psw", self.cfg.password.0.as_str()),
            ("phones", phone),
            ("mes", text),
            ("charset", "utf-8"),
            ("fmt", "3"),
            ("cost", "3"),
            ("id", id.as_str()),
        ];
        if !self.cfg.sender.is_empty() {
            form.push(("sender", self.cfg.sender.as_str()));
        }
        match self
            .http
            .post(self.endpoint("send.php"))
            .form(&form)
            .send()
            .await
        {
            Ok(r) => {
                let status = r.status().as_u16();
                match r.text().await {
                    Ok(body) => read_send(status, &body),
                    Err(e) => Sent::Unknown(format!("reading SMSC's answer: {e}")),
                }
            }
            // A connection never made carried nothing; past that, whether the request reached
            // SMSC cannot be told from here: unknown.
            Err(e) if e.is_connect() => {
                Sent::NotSent(format!("sending to SMSC: {}", without_url(e)))
            }
            Err(e) => Sent::Unknown(format!("sending to SMSC: {}", without_url(e))),
        }
    }

    /// Asks what became of our message `id` to `phone`.
    pub async fn status(&self, id: i64, phone: &str) -> Result<Status, String> {
        let id = id.to_string();
        let form = [
            ("login", self.cfg.login.as_str()),
            ("psw", self.cfg.password.0.as_str()),
            ("phone", phone),
            ("id", id.as_str()),
            ("fmt", "3"),
            ("charset", "utf-8"),
        ];
        let r = self
            .http
            .post(self.endpoint("status.php"))
            .form(&form)
            .send()
            .await
            .map_err(|e| format!("asking SMSC: {}", without_url(e)))?;
        let status = r.status().as_u16();
        let body = r
            .text()
            .await
            .map_err(|e| format!("reading SMSC's answer: {e}"))?;
        read_status(status, &body)
    }
}

/// A request error's words without its URL (a GET would carry the password in it; ours are
/// POSTs, but the rule holds anyway).
fn without_url(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "failed"
    };
    format!("{kind}: {}", e.without_url())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_answers_map_to_what_the_outbox_does() {
        assert_eq!(
            read_send(
                200,
                r#"{"id": 42, "cnt": 2, "cost": "3.9", "balance": "1024.5"}"#
            ),
            Sent::Accepted {
                smsc_id: "42".into(),
                parts: 2,
                cost: Some(3.9),
                balance: Some(1024.5)
            }
        );
        let refused = |code: i64| {
            read_send(
                200,
                &format!(r#"{{"error": "e{code}", "error_code": {code}}}"#),
            )
        };
        for code in [1, 5, 6, 7, 8] {
            assert!(matches!(refused(code), Sent::Failed { .. }), "{code}");
        }
        assert!(matches!(refused(2), Sent::BadLogin(_)));
        assert!(matches!(refused(3), Sent::NoMoney(_)));
        assert!(matches!(refused(4), Sent::BackOff { code: 4, .. }));
        assert!(matches!(refused(9), Sent::BackOff { code: 9, .. }));
        assert!(matches!(read_send(502, "Bad Gateway"), Sent::Unknown(_)));
        assert!(matches!(read_send(200, "<html>"), Sent::Unknown(_)));
        assert!(matches!(read_send(200, "{}"), Sent::Unknown(_)));
    }

    #[test]
    fn status_answers_say_not_found_pending_delivered_or_failed() {
        assert_eq!(read_status(200, r#"{"status": -3}"#), Ok(Status::NotFound));
        assert_eq!(
            read_status(200, r#"{"status": "0"}"#),
            Ok(Status::Pending(0))
        );
        assert_eq!(
            read_status(200, r#"{"status": 1}"#),
            Ok(Status::Delivered(1))
        );
        assert!(matches!(
            read_status(200, r#"{"status": 20, "err": 1}"#),
            Ok(Status::Failed { code: 20, .. })
        ));
        assert!(read_status(200, r#"{"error": "x", "error_code": 2}"#).is_err());
        assert!(read_status(500, "").is_err());
    }

    #[test]
    fn the_password_is_not_in_debug() {
        let c = SmscConfig {
            password: crate::config::Secret("s3cret-pass".into()),
            ..Default::default()
        };
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(!c.is_configured());
    }
}
