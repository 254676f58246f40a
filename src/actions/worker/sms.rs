//! The SMS side of the worker: one send, the look-up of a send whose outcome is unknown (sent
//! again only when SMSC does not have it), and the delivery polls (docs/actions.md, "SMS
//! through SMSC").
use super::{
    count, update, with_error, SmsState, Worker, HOLD_NO_MONEY, POLL_FIRST, POLL_MAX,
    UNKNOWN_LOOKUP_AFTER,
};
use crate::actions::smsc::{Sent, SmscClient, Status, StatusAnswer};
use crate::actions::Payload;
use crate::store::{ActionRow, ActionStatus, ActionUpdate, AttemptLog, StoreError};

impl Worker {
    pub(super) async fn send_sms(
        &self,
        client: &SmscClient,
        a: &ActionRow,
    ) -> Result<(), StoreError> {
        let Payload::Sms { phone, text } = &a.payload else {
            return Ok(());
        };
        let now = (self.now)();
        if now > a.give_up_at {
            let u = with_error(
                update(ActionStatus::Failed, now, "failed"),
                "given up: the SMS could not be sent in time",
            );
            return self.write(a, &u).await;
        }
        if text.trim().is_empty() {
            let u = with_error(
                update(ActionStatus::Failed, now, "failed"),
                "the text is empty",
            );
            return self.write(a, &u).await;
        }
        let started = std::time::Instant::now();
        let sent = client.send(&self.sms_id(a.id), phone, text).await;
        let took = started.elapsed().as_millis() as i64;
        let now = (self.now)();
        match sent {
            Sent::Accepted {
                smsc_id,
                parts,
                cost,
                ..
            } => {
                let mut u = update(ActionStatus::Sent, now, "sent");
                u.sent_at = Some(now);
                u.external_id = Some(smsc_id);
                u.parts = Some(parts);
                u.cost = cost;
                u.next_at = Some(now + POLL_FIRST.as_millis() as i64);
                u.attempt.duration_ms = Some(took);
                self.write(a, &u).await
            }
            Sent::Failed { code, reason } => {
                let u = with_error(
                    update(ActionStatus::Failed, now, "failed"),
                    format!("SMSC refused it for good: {reason} (error {code})"),
                );
                self.write(a, &u).await
            }
            Sent::BadLogin(reason) => {
                let why = format!(
                    "SMSC refused the login: {reason} (error 2). SMS are stopped until the \
                     server is restarted with a working sms.smsc.login and sms.smsc.password"
                );
                tracing::error!("{why}");
                self.set_state(SmsState::Stopped(why.clone()));
                self.begin_hold(now).await?;
                self.requeue(a, now, now, &why).await
            }
            Sent::NoMoney(reason) => {
                let until = now + HOLD_NO_MONEY.as_millis() as i64;
                let why = format!(
                    "not enough money on the SMSC account: {reason} (error 3); every SMS waits \
                     {} min",
                    HOLD_NO_MONEY.as_secs() / 60
                );
                tracing::warn!("{why}");
                self.set_state(SmsState::HeldUntil(until, why.clone()));
                self.begin_hold(now).await?;
                let mut u = with_error(update(ActionStatus::Queued, now, "held"), why);
                u.next_at = Some(until);
                self.write(a, &u).await
            }
            Sent::BackOff { code, reason } => {
                self.retry_or_give_up(a, now, &format!("SMSC: {reason} (error {code})"), None)
                    .await
            }
            Sent::NotSent(why) => self.retry_or_give_up(a, now, &why, None).await,
            Sent::Unknown(why) => {
                tokio::time::sleep(UNKNOWN_LOOKUP_AFTER).await;
                self.resolve_unknown(a, &why).await
            }
        }
    }

    /// An SMS whose send may or may not have reached SMSC: asked about, sent again only when
    /// SMSC does not have it. What SMSC billed for it, its parts and id are taken from the
    /// answer, so the project's SMS cost counts it. While SMSC cannot be asked it stays
    /// `sending`; past its give-up time it fails saying its outcome is unknown.
    pub(super) async fn resolve_unknown(&self, a: &ActionRow, why: &str) -> Result<(), StoreError> {
        let (Some(client), Payload::Sms { phone, .. }) = (self.sms.as_ref(), &a.payload) else {
            return Ok(());
        };
        let now = (self.now)();
        let id = self.sms_id(a.id);
        let answer = client.status(&id, phone).await;
        let billed = |u: &mut ActionUpdate, ans: &StatusAnswer| {
            u.cost = ans.cost;
            u.parts = ans.parts;
            u.external_id = Some(id.clone());
        };
        match answer {
            Ok(ans) => match &ans.status {
                Status::NotFound => {
                    let note = format!("{why}; SMSC does not have it: sending again");
                    self.retry_or_give_up(a, now, &note, None).await
                }
                Status::Failed { reason, .. } => {
                    let mut u = with_error(update(ActionStatus::Failed, now, "failed"), reason);
                    billed(&mut u, &ans);
                    self.write(a, &u).await
                }
                Status::Delivered(_) => {
                    let mut u = update(ActionStatus::Delivered, now, "delivered");
                    u.sent_at = Some(now);
                    u.delivered_at = Some(now);
                    u.attempt.error = Some(format!("{why}; SMSC has it: not sent again"));
                    billed(&mut u, &ans);
                    self.write(a, &u).await
                }
                Status::Pending(_) => {
                    let mut u = update(ActionStatus::Sent, now, "checked");
                    u.attempt.error = Some(format!("{why}; SMSC has it: not sent again"));
                    u.sent_at = Some(now);
                    u.next_at = Some(now + POLL_FIRST.as_millis() as i64);
                    billed(&mut u, &ans);
                    self.write(a, &u).await
                }
            },
            Err(e) if now > a.give_up_at => {
                // Never sent blind, and not asked about for ever either.
                let u = with_error(
                    update(ActionStatus::Failed, now, "failed"),
                    format!(
                        "outcome unknown: SMSC could not be asked until the give-up time ({e}); \
                         the SMS may or may not have been sent — look it up in SMSC's \
                         account by id {id}"
                    ),
                );
                self.write(a, &u).await
            }
            Err(e) => {
                // Still unknown: it stays `sending` and is looked up again later; never sent
                // blindly.
                self.store
                    .log_attempt(
                        a.id,
                        &AttemptLog {
                            at: now,
                            outcome: "unknown".into(),
                            http_status: None,
                            error: Some(format!("{why}; looking it up failed: {e}")),
                            duration_ms: None,
                        },
                    )
                    .await
                    .map(|()| count("sms", "unknown"))
            }
        }
    }

    /// Asks whether a sent SMS has been delivered.
    pub(super) async fn poll(&self, client: &SmscClient, a: &ActionRow) -> Result<(), StoreError> {
        let Payload::Sms { phone, .. } = &a.payload else {
            return Ok(());
        };
        let now = (self.now)();
        let r = client.status(&self.sms_id(a.id), phone).await;
        let age = now - a.created_at;
        let next =
            now + (age / 4).clamp(POLL_FIRST.as_millis() as i64, POLL_MAX.as_millis() as i64);
        match r.map(|a| a.status) {
            Ok(Status::Delivered(_)) => {
                let mut u = update(ActionStatus::Delivered, now, "delivered");
                u.delivered_at = Some(now);
                self.write(a, &u).await
            }
            Ok(Status::Failed { reason, .. }) => {
                let u = with_error(update(ActionStatus::Failed, now, "failed"), reason);
                self.write(a, &u).await
            }
            other => {
                let mut u = update(ActionStatus::Sent, now, "checked");
                u.next_at = Some(if now > a.give_up_at { i64::MAX } else { next });
                if now > a.give_up_at {
                    u = with_error(u, "delivery not confirmed in time: polling stopped");
                } else if let Err(e) = other {
                    u = with_error(u, e);
                }
                self.write(a, &u).await
            }
        }
    }
}
