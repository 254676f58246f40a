//! SMSC's answers (docs/actions.md, "SMS"): what `send.php`, `status.php` and `balance.php`
//! answer with `fmt=3` (JSON), as SMSC documents them, read by pure functions into what they
//! mean for the outbox. Outside input: fuzzed (`fuzz/`, `smsc_answer`). The client that asks
//! is `smsc`.
use crate::rules::money::Kopecks;
use serde::Deserialize;
/// What a send came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    /// Accepted: SMSC's id, the parts billed, the price and the balance left (roubles).
    Accepted {
        smsc_id: String,
        parts: i64,
        cost: Option<Kopecks>,
        balance: Option<Kopecks>,
    },
    /// Refused for good: the number or the text cannot be sent (codes 1, 5, 6, 7, 8).
    Failed { code: i64, reason: String },
    /// The login or password is wrong, or the IP is not allowed (code 2): stop sending.
    BadLogin(String),
    /// Not enough money on the account (code 3): hold every SMS and try later.
    NoMoney(String),
    /// Throttled (code 4: IP blocked for a while): later.
    BackOff { code: i64, reason: String },
    /// The request did not leave: SMSC could not be reached (connection refused, no route, the
    /// name does not resolve). Nothing was sent: try again after a backoff.
    NotSent(String),
    /// The request may or may not have reached SMSC (timeout, reset, 5xx, an answer that is
    /// not SMSC's), or SMSC answered error 9 — which also means "the same request arrived
    /// already within a minute": look it up with `status` before sending again.
    Unknown(String),
}

/// What status.php said, with what SMSC billed for the message when it says (`all=1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusAnswer {
    pub status: Status,
    /// The message's price.
    pub cost: Option<Kopecks>,
    /// Parts billed.
    pub parts: Option<i64>,
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
    cost: Option<serde_json::Value>,
    sms_cnt: Option<serde_json::Value>,
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

/// Money as SMSC writes it (a string or a number of roubles), read exactly.
fn money(v: &Option<serde_json::Value>) -> Option<Kopecks> {
    match v {
        Some(serde_json::Value::Number(n)) => Kopecks::parse_rubles(&n.to_string()),
        Some(serde_json::Value::String(s)) => Kopecks::parse_rubles(s),
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
            // "More than one identical send within a minute" is among its meanings: an earlier
            // try of this very SMS may have gone out. Never sent blind: looked up first.
            9 => Sent::Unknown(format!("SMSC: {reason} (error 9)")),
            _ => Sent::BackOff { code, reason },
        };
    }
    match text(&j.id) {
        Some(smsc_id) => Sent::Accepted {
            smsc_id,
            parts: number(&j.cnt).map_or(1, |n| n as i64),
            cost: money(&j.cost),
            balance: money(&j.balance),
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
pub fn read_status(status: u16, body: &str) -> Result<StatusAnswer, String> {
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
    let status = match code {
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
    };
    Ok(StatusAnswer {
        status,
        cost: money(&j.cost),
        parts: number(&j.sms_cnt).map(|n| n as i64),
    })
}

#[derive(Deserialize)]
struct BalanceJson {
    balance: Option<serde_json::Value>,
    error: Option<String>,
    error_code: Option<i64>,
}

/// Reads balance.php's answer (`{"balance": "1024.50"}`, or `{error, error_code}`): the
/// money left on the account.
pub fn read_balance(status: u16, body: &str) -> Result<Kopecks, String> {
    if status >= 500 {
        return Err(format!("SMSC answered HTTP {status}"));
    }
    let j: BalanceJson = serde_json::from_str(body).map_err(|_| {
        format!(
            "SMSC's balance answer is not its JSON (HTTP {status}): {}",
            body.chars().take(120).collect::<String>()
        )
    })?;
    if let Some(code) = j.error_code {
        return Err(format!(
            "SMSC refused the balance request: {} (error {code})",
            j.error.unwrap_or_default()
        ));
    }
    money(&j.balance).ok_or_else(|| "SMSC's balance answer has no balance".to_string())
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
                cost: Some(Kopecks(390)),
                balance: Some(Kopecks(102_450))
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
        assert!(
            matches!(refused(9), Sent::Unknown(ref w) if w.contains("error 9")),
            "error 9 may be a duplicate: looked up, never sent blind"
        );
        assert!(matches!(read_send(502, "Bad Gateway"), Sent::Unknown(_)));
        assert!(matches!(read_send(200, "<html>"), Sent::Unknown(_)));
        assert!(matches!(read_send(200, "{}"), Sent::Unknown(_)));
    }

    #[test]
    fn balance_answers_are_money_or_why_not() {
        assert_eq!(
            read_balance(200, r#"{"balance": "1024.50"}"#),
            Ok(Kopecks(102_450))
        );
        assert_eq!(
            read_balance(200, r#"{"balance": 12.3}"#),
            Ok(Kopecks(1_230))
        );
        let e = read_balance(200, r#"{"error": "authorise error", "error_code": 2}"#);
        assert!(matches!(e, Err(ref w) if w.contains("error 2")), "{e:?}");
        assert!(read_balance(200, "{}").is_err());
        assert!(read_balance(503, "busy").is_err());
        assert!(read_balance(200, "<html>").is_err());
    }

    #[test]
    fn status_answers_say_not_found_pending_delivered_or_failed() {
        let st = |b: &str| read_status(200, b).map(|a| a.status);
        assert_eq!(st(r#"{"status": -3}"#), Ok(Status::NotFound));
        assert_eq!(st(r#"{"status": "0"}"#), Ok(Status::Pending(0)));
        assert_eq!(st(r#"{"status": 1}"#), Ok(Status::Delivered(1)));
        assert!(matches!(
            st(r#"{"status": 20, "err": 1}"#),
            Ok(Status::Failed { code: 20, .. })
        ));
        // all=1: what SMSC billed comes with it.
        let a = read_status(
            200,
            r#"{"status": 1, "err": 0, "cost": "4.10", "sms_cnt": 2, "phone": "79161234567"}"#,
        )
        .unwrap();
        assert_eq!((a.cost, a.parts), (Some(Kopecks(410)), Some(2)));
        assert!(read_status(200, r#"{"error": "x", "error_code": 2}"#).is_err());
        assert!(read_status(500, "").is_err());
    }
}
