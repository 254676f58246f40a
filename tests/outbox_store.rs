//! The outbox's store side (issue 15 §3): every state change of an action is compare-and-set
//! on the state its attempt began in, so a late outcome never overwrites what happened
//! meanwhile (a retry or cancel through the API, another path of the worker).
#[path = "common/outbox_db.rs"]
mod outbox_db;

use autoinformer::store::{ActionStatus, ActionUpdate, AttemptLog, CampaignStore, OutboxStore};
use outbox_db::{insert_actions, store_with_a_call};
use sqlx::Row;

fn sent(at: i64) -> ActionUpdate {
    ActionUpdate {
        status: ActionStatus::Sent,
        next_at: Some(at + 20_000),
        last_error: None,
        cost: None,
        parts: Some(1),
        external_id: Some("x-1".into()),
        sent_at: Some(at),
        delivered_at: None,
        done_at: None,
        attempt: AttemptLog {
            at,
            outcome: "sent".into(),
            http_status: None,
            error: None,
            duration_ms: None,
        },
    }
}

#[tokio::test]
async fn an_outcome_is_written_only_while_the_action_is_in_the_state_its_attempt_began_in() {
    let dir = tempfile::tempdir().unwrap();
    let (store, raw, call) = store_with_a_call(dir.path()).await;
    insert_actions(&raw, call, 2, "'queued'", "0").await;
    let claimed = store
        .claim_actions(&[autoinformer::store::ActionKind::Sms], 0, 1)
        .await
        .unwrap();
    let a = &claimed[0];
    assert_eq!(a.status, ActionStatus::Sending);
    // Meanwhile the action was cancelled through the API… no: it is in flight, so the API
    // refuses; the other one, still waiting, is cancelled.
    let other = if a.id == 1 { 2 } else { 1 };
    assert!(store.cancel_action(a.id, 5).await.is_err(), "in flight");
    store.cancel_action(other, 5).await.unwrap();
    // A late outcome for the cancelled one (as if an attempt had begun in `sending`): refused.
    assert!(!store
        .update_action(other, ActionStatus::Sending, &sent(10))
        .await
        .unwrap());
    let (status, lines): (String, i64) = {
        let r = sqlx::query(
            "SELECT status, (SELECT COUNT(*) FROM action_attempts WHERE action_id = ?1) \
             FROM actions WHERE id = ?1",
        )
        .bind(other)
        .fetch_one(&raw)
        .await
        .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(
        (status.as_str(), lines),
        ("failed", 1),
        "only the cancel's line"
    );
    // The claimed one's outcome is written: it is still `sending`.
    assert!(store
        .update_action(a.id, ActionStatus::Sending, &sent(10))
        .await
        .unwrap());
    // Its outcome again, from a stale `sending`: refused, nothing written twice.
    assert!(!store
        .update_action(a.id, ActionStatus::Sending, &sent(11))
        .await
        .unwrap());
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM action_attempts WHERE action_id = ?")
        .bind(a.id)
        .fetch_one(&raw)
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}
