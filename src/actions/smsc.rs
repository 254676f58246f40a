//! SMSC's HTTP API (docs/actions.md, "SMS"): `send.php` and `status.php` with `fmt=3` (JSON
//! answers), as SMSC documents them. The answers are read by pure functions (`read_send`,
//! `read_status`, in `smsc_answers`) into what they mean for the outbox; the client around them
//! is one thin `reqwest` call each. The password never reaches a log: `Debug` hides it.
//!
//! SMSC's own `id` is not an idempotency key (status.php answers for the *last* message sent
//! with an id), so a send whose outcome is unknown is looked up with `status` before it is sent
//! again — the worker does that; this file only says which outcomes are unknown.
pub use super::smsc_answers::{read_balance, read_send, read_status, Sent, Status, StatusAnswer};
pub use crate::config::SmscConfig;
use crate::rules::money::Kopecks;
use crate::store::SmscSlots;
use std::time::Duration;

/// The client.
pub struct SmscClient {
    http: reqwest::Client,
    cfg: SmscConfig,
    /// SMSC's request slots shared with other robot nodes on the same login (PostgreSQL):
    /// every request holds one. Alone, the worker's own semaphore is the limit.
    shared: Option<std::sync::Arc<dyn SmscSlots>>,
}

/// How often a request waiting for a shared slot looks again.
const SLOT_POLL: Duration = Duration::from_millis(20);

impl SmscClient {
    pub fn new(cfg: SmscConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(cfg.timeout_s.max(1)))
            .build()
            .map_err(|e| format!("the SMSC client: {e}"))?;
        Ok(Self {
            http,
            cfg,
            shared: None,
        })
    }

    /// Every request holds one of `slots`, shared with the other nodes sending with this
    /// login, so that together they keep SMSC's limit of requests at once.
    pub fn with_shared_slots(mut self, slots: std::sync::Arc<dyn SmscSlots>) -> Self {
        self.shared = Some(slots);
        self
    }

    /// Runs `request` holding a shared slot (when slots are shared): waits for a free one up
    /// to the request timeout. An error means no request was made.
    async fn in_slot<T>(&self, request: impl std::future::Future<Output = T>) -> Result<T, String> {
        let Some(slots) = &self.shared else {
            return Ok(request.await);
        };
        let timeout = Duration::from_secs(self.cfg.timeout_s.max(1));
        // The slot's lease covers the request's own timeout and a margin: a node that stops
        // mid-request frees its slot after it.
        let hold_ms =
            i64::try_from((timeout + Duration::from_secs(5)).as_millis()).unwrap_or(i64::MAX);
        let waited = tokio::time::Instant::now();
        let slot = loop {
            match slots.take_smsc_slot(hold_ms).await {
                Ok(Some(slot)) => break slot,
                Ok(None) if waited.elapsed() < timeout => tokio::time::sleep(SLOT_POLL).await,
                Ok(None) => {
                    return Err(format!(
                        "every SMSC request slot of the login stayed busy for {} s",
                        timeout.as_secs()
                    ))
                }
                Err(e) => return Err(format!("taking an SMSC request slot: {e}")),
            }
        };
        let out = request.await;
        if let Err(e) = slots.give_smsc_slot(slot).await {
            // Its lease frees it in a few seconds.
            tracing::warn!(slot, error = %e, "giving an SMSC request slot back");
        }
        Ok(out)
    }

    fn endpoint(&self, name: &str) -> String {
        let base = self.cfg.url.trim_end_matches('/');
        format!("{base}/{name}")
    }

    /// Sends one SMS with our `id` (`sms_id`: the installation and the outbox row).
    pub async fn send(&self, id: &str, phone: &str, text: &str) -> Sent {
        // No slot: nothing was sent, so it may be tried again.
        self.in_slot(self.send_now(id, phone, text))
            .await
            .unwrap_or_else(Sent::NotSent)
    }

    async fn send_now(&self, id: &str, phone: &str, text: &str) -> Sent {
        let mut form = vec![
            ("login", self.cfg.login.as_str()),
            ("psw", self.cfg.password.0.as_str()),
            ("phones", phone),
            ("mes", text),
            ("charset", "utf-8"),
            ("fmt", "3"),
            ("cost", "3"),
            ("id", id),
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

    /// Asks what became of our message `id` to `phone`, with its price and parts (`all=1`).
    pub async fn status(&self, id: &str, phone: &str) -> Result<StatusAnswer, String> {
        self.in_slot(self.status_now(id, phone)).await?
    }

    async fn status_now(&self, id: &str, phone: &str) -> Result<StatusAnswer, String> {
        let form = [
            ("login", self.cfg.login.as_str()),
            ("psw", self.cfg.password.0.as_str()),
            ("phone", phone),
            ("id", id),
            ("fmt", "3"),
            ("all", "1"),
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

impl SmscClient {
    /// The money left on the account (balance.php, as SMSC's API and its own client libraries
    /// document it). Sends nothing; the settings page asks, through a cache.
    pub async fn balance(&self) -> Result<Kopecks, String> {
        self.in_slot(self.balance_now()).await?
    }

    async fn balance_now(&self) -> Result<Kopecks, String> {
        let form = [
            ("login", self.cfg.login.as_str()),
            ("psw", self.cfg.password.0.as_str()),
            ("fmt", "3"),
            ("charset", "utf-8"),
        ];
        let r = self
            .http
            .post(self.endpoint("balance.php"))
            .form(&form)
            .send()
            .await
            .map_err(|e| format!("asking SMSC: {}", without_url(e)))?;
        let status = r.status().as_u16();
        let body = r
            .text()
            .await
            .map_err(|e| format!("reading SMSC's answer: {e}"))?;
        read_balance(status, &body)
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
    fn the_password_is_not_in_debug() {
        let c = SmscConfig {
            password: crate::config::Secret("s3cret-pass".into()),
            ..Default::default()
        };
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(!c.is_configured());
    }
}
