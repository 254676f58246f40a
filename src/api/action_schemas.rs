//! The outbox's bodies as OpenAPI schemas (docs/actions.md): a call's actions in short, a
//! project's actions with their delivery logs, a project's action totals. Mirrors of the store's
//! rows, checked field for field by `schemas`' tests.
#![allow(dead_code)] // Mirror types: read by the schema generator, never built.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One action of a call, in short (`store::ActionBrief`).
#[derive(Serialize, ToSchema)]
pub struct ActionBrief {
    pub id: i64,
    pub kind: ActionKind,
    pub status: ActionStatus,
    /// Attempts so far.
    pub attempts: i64,
    /// Why the last attempt did not succeed (or a note on a done one).
    #[schema(required = true)]
    pub last_error: Option<String>,
    /// Roubles: an SMS as SMSC billed it.
    #[schema(required = true)]
    pub cost: Option<f64>,
}

/// What an action does.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Sms,
    AddToProject,
    StopList,
    Webhook,
}

/// Where an action stands: `queued` (waiting for its turn or a retry), `sending` (being
/// carried out), `sent` (an SMS SMSC accepted; delivery is polled), and the final ones:
/// `delivered` (an SMS), `done`, `failed` (`last_error` says why).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    Queued,
    Sending,
    Sent,
    Delivered,
    Done,
    Failed,
}

/// An action with what it carries and every attempt (`store::ActionView`).
#[derive(Serialize, ToSchema)]
pub struct Action {
    pub id: i64,
    pub call_id: i64,
    pub contact_id: i64,
    pub kind: ActionKind,
    pub status: ActionStatus,
    /// What it carries, resolved when the call ended: an SMS's `phone` and `text`; the
    /// `project` to copy into and the `first_number`; the `numbers` to list and the `reason`;
    /// a webhook's `url` and the `call` JSON posted.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub attempts: i64,
    #[schema(required = true)]
    pub last_error: Option<String>,
    /// Roubles (SMS).
    #[schema(required = true)]
    pub cost: Option<f64>,
    /// SMS parts billed.
    #[schema(required = true)]
    pub parts: Option<i64>,
    /// SMSC's message id, the copied contact's id, or the webhook receiver's HTTP status.
    #[schema(required = true)]
    pub external_id: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    #[schema(required = true)]
    pub sent_at: Option<i64>,
    #[schema(required = true)]
    pub delivered_at: Option<i64>,
    #[schema(required = true)]
    pub done_at: Option<i64>,
    /// The same on every attempt (`call-{call_id}-action-{place}`): a webhook's
    /// `Idempotency-Key`, SMSC's `id` for an SMS being its `id`.
    pub idempotency_key: String,
    /// Every attempt, oldest first.
    pub log: Vec<Attempt>,
}

/// One attempt of an action (`store::AttemptLog`).
#[derive(Serialize, ToSchema)]
pub struct Attempt {
    /// Unix ms.
    pub at: i64,
    /// `sent`, `delivered`, `done`, `retry`, `failed`, `held`, `checked`, `unknown`.
    pub outcome: String,
    /// The receiver's HTTP status (webhooks).
    #[schema(required = true)]
    pub http_status: Option<i64>,
    #[schema(required = true)]
    pub error: Option<String>,
    #[schema(required = true)]
    pub duration_ms: Option<i64>,
}

/// A page of a project's actions, newest first.
#[derive(Serialize, ToSchema)]
pub struct ActionPage {
    pub items: Vec<Action>,
    /// `before` for the next page; `null` when this one was not full.
    #[schema(required = true)]
    pub next: Option<i64>,
}

/// A project's action totals (`store::ActionStats`).
#[derive(Serialize, ToSchema)]
pub struct ActionTotals {
    pub sms: SmsTotals,
    /// Contacts copied into other projects.
    pub added_to_projects: u64,
    /// Opt-outs carried out (numbers put on the stop list by a call).
    pub opted_out: u64,
    pub webhooks: WebhookTotals,
}

/// SMS of a project.
#[derive(Serialize, ToSchema)]
pub struct SmsTotals {
    /// Waiting to be sent (or being sent).
    pub queued: u64,
    /// Accepted by SMSC (delivered ones included).
    pub sent: u64,
    pub delivered: u64,
    pub failed: u64,
    /// Roubles, as SMSC billed.
    pub cost: f64,
}

/// Webhooks of a project.
#[derive(Serialize, ToSchema)]
pub struct WebhookTotals {
    pub queued: u64,
    /// Answered 2xx.
    pub delivered: u64,
    pub failed: u64,
}
