//! The schemas against the rows the API answers: same fields, same error codes.
use super::*;
use crate::store::{AmdView, CallView, Decision as StoreDecision, ProjectStats, ProjectView};
use serde_json::{json, Value};
use utoipa::openapi::{RefOr, Schema};
use utoipa::PartialSchema;

/// The property names of a schema, sorted.
fn properties<T: PartialSchema>() -> Vec<String> {
    let schema = match T::schema() {
        RefOr::T(Schema::Object(o)) => o,
        _ => panic!("not an object schema"),
    };
    let mut v: Vec<String> = schema.properties.keys().cloned().collect();
    v.sort();
    v
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}

fn a_call() -> CallView {
    CallView {
        id: 1,
        project_id: 2,
        contact_id: 3,
        contact_name: None,
        number: "+79990000001".into(),
        number_type: None,
        state: "done".into(),
        started_at: 0,
        answered_at: None,
        ended_at: None,
        duration_s: None,
        talk_s: None,
        ring_ms: None,
        talk_ms: None,
        end_reason: None,
        sip_status: None,
        result: None,
        result_label: None,
        reaction: None,
        transcript: None,
        captured: json!({}),
        amd: Some(AmdView {
            verdict: "human".into(),
            reason: None,
            decided_at_ms: None,
        }),
        recording: None,
        recording_error: Some("No space left on device (os error 28)".into()),
        cost: crate::rules::money::Kopecks(0),
        actions: vec![crate::store::ActionBrief {
            id: 1,
            kind: "sms".into(),
            status: "queued".into(),
            attempts: 0,
            last_error: None,
            cost: None,
        }],
        transfer: Some(
            serde_json::to_value(crate::call::transfer::TransferReport {
                to: "agents".into(),
                agent_id: Some(1),
                queue_ms: 1,
                agent_ring_ms: 1,
                answered: true,
                talk_ms: 1,
                misses: vec![crate::call::transfer::MissedAgent {
                    agent_id: 2,
                    reason: "no_answer",
                    ring_ms: 15_000,
                }],
                sip_status: Some(200),
                invite_ms: Some(1),
                first_audio_ms: Some(20),
            })
            .unwrap(),
        ),
        wrap_up: Some(crate::store::WrapUpView {
            disposition: "Перезвонить".into(),
            note: String::new(),
            callback_at: Some(1),
            agent_id: Some(1),
            at_ms: 1,
        }),
    }
}

#[test]
fn the_schemas_have_exactly_the_fields_of_the_rows_the_api_answers() {
    let call = a_call();
    let v = serde_json::to_value(&call).unwrap();
    assert_eq!(keys(&v), properties::<Call>());
    assert_eq!(keys(&v["amd"]), properties::<Amd>());
    assert_eq!(keys(&v["actions"][0]), properties::<ActionBrief>());
    assert_eq!(keys(&v["transfer"]), properties::<super::Transfer>());
    assert_eq!(keys(&v["wrap_up"]), properties::<super::WrapUp>());
    assert_eq!(
        keys(&v["transfer"]["misses"][0]),
        properties::<super::TransferMiss>()
    );
    let last = crate::store::LastResult {
        contact_id: 1,
        name: None,
        status: "retry".into(),
        status_label: String::new(),
        numbers: vec![],
        number_types: vec![],
        fields: Default::default(),
        priority: 0,
        calls: 1,
        last_call: Some(call),
    };
    assert_eq!(
        keys(&serde_json::to_value(&last).unwrap()),
        properties::<LastResult>()
    );
    let d = StoreDecision {
        id: 1,
        at: 0,
        contact_id: None,
        number: None,
        decision: "dial".into(),
        reason: String::new(),
    };
    assert_eq!(
        keys(&serde_json::to_value(&d).unwrap()),
        properties::<Decision>()
    );
    // The stats handler adds the SMS service's state to the store's figures.
    let stats = ProjectStats::default();
    let mut sv = serde_json::to_value(&stats).unwrap();
    let (service, note) = crate::api::actions::sms_service(&Default::default());
    sv["sms_service"] = json!(service);
    sv["sms_service_note"] = json!(note);
    sv["pacing"] = json!(null);
    assert_eq!(keys(&sv), properties::<Stats>());
    // The pacing figures as the dialer shows them.
    let view = crate::dialer::floor::ProjectPacing::default().view(
        &crate::dialer::pacing::Settings::default(),
        &crate::dialer::floor::FloorNow {
            now_ms: 0,
            agents: &[],
            talking: 0,
            queue: 0,
            active: 0,
            transfers: true,
        },
        0,
    );
    assert_eq!(
        keys(&serde_json::to_value(&view).unwrap()),
        properties::<super::Pacing>()
    );
    assert_eq!(keys(&sv["actions"]), properties::<ActionTotals>());
    assert_eq!(
        keys(&sv["transfers"]),
        properties::<super::TransferTotals>()
    );
    assert_eq!(keys(&sv["actions"]["sms"]), properties::<SmsTotals>());
    assert_eq!(
        keys(&sv["actions"]["webhooks"]),
        properties::<WebhookTotals>()
    );
    let action = crate::store::ActionView {
        id: 1,
        call_id: 1,
        contact_id: 1,
        kind: "sms".into(),
        status: "sent".into(),
        payload: json!({}),
        attempts: 1,
        last_error: None,
        cost: Some(crate::rules::money::Kopecks(350)),
        parts: Some(1),
        external_id: None,
        created_at: 0,
        sent_at: None,
        delivered_at: None,
        done_at: None,
        idempotency_key: "call-1-action-0".into(),
        log: vec![crate::store::AttemptLog {
            at: 0,
            outcome: "sent".into(),
            http_status: None,
            error: None,
            duration_ms: None,
        }],
    };
    let av = serde_json::to_value(&action).unwrap();
    assert_eq!(keys(&av), properties::<Action>());
    assert_eq!(keys(&av["log"][0]), properties::<Attempt>());
    let p = ProjectView {
        id: 1,
        name: String::new(),
        scenario_id: 1,
        status: "draft".into(),
        time_zone: String::new(),
        schedule: json!([]),
        lines: 1,
        max_calls_per_number: 1,
        retry_rules: json!({}),
        ordering: json!([]),
        callback_project_id: None,
        tariff: json!({}),
        starts_at: None,
        ends_at: None,
        type_windows: json!({}),
        created_at: 0,
        finished_at: None,
        status_reason: None,
        webhook_url: None,
        webhook_secret: None,
        transfer: crate::store::TransferOptions {
            wrap_up_s: Some(5),
            agent_ring_s: Some(10),
            queue_max_wait_s: Some(60),
            queue_announce_s: Some(0),
            hold_music: Some("hold.wav".into()),
            dispositions: Some(vec!["Договорились".into()]),
        },
        mode: crate::store::Mode::Robot,
        pacing: Default::default(),
    };
    assert_eq!(
        keys(&serde_json::to_value(&p).unwrap()),
        properties::<Project>()
    );
    // The transfer settings the API shows are the ones its schema names.
    let tv = serde_json::to_value(&p).unwrap();
    assert_eq!(
        keys(&tv["transfer"]),
        properties::<super::TransferOptions>()
    );
    let report = crate::import::ImportReport::default();
    assert_eq!(
        keys(&serde_json::to_value(&report).unwrap()),
        properties::<ImportReport>()
    );
    let problem = crate::import::RowProblem {
        row: 1,
        value: String::new(),
        kind: "empty",
        reason: String::new(),
    };
    assert_eq!(
        keys(&serde_json::to_value(&problem).unwrap()),
        properties::<RowProblem>()
    );
}

#[test]
fn every_error_code_the_api_answers_is_in_the_schema() {
    use crate::api::error::ApiError;
    use crate::store::StoreError;
    let schema = serde_json::to_value(ErrorCode::schema()).unwrap();
    let codes: Vec<&str> = schema["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for e in [
        ApiError::bad_request(""),
        ApiError::invalid(""),
        ApiError::not_found(""),
        ApiError::unauthorized(""),
        ApiError::too_large(""),
        ApiError::internal(""),
        StoreError::Conflict(String::new()).into(),
        StoreError::TooManyActive(vec![]).into(),
        ApiError::new(
            axum::http::StatusCode::RANGE_NOT_SATISFIABLE,
            "range_not_satisfiable",
            "",
        ),
    ] {
        assert!(codes.contains(&e.code), "{} is not in {codes:?}", e.code);
    }
}

#[test]
fn the_request_schemas_take_what_the_store_takes() {
    // Every field of a new project (the store's defaults written out), its rules and tariff.
    let full = serde_json::to_value(crate::store::NewProject::default()).unwrap();
    assert_eq!(keys(&full), properties::<NewProject>());
    assert_eq!(keys(&full["tariff"]), properties::<Tariff>());
    assert_eq!(keys(&full["tariff"]), properties::<TariffIn>());
    let rules = crate::rules::attempts::AttemptRules::default();
    let rules = serde_json::to_value(&rules.per_result).unwrap();
    assert_eq!(keys(&rules), properties::<RetryRules>());
    assert_eq!(keys(&rules), properties::<RetryRulesIn>());
    assert_eq!(keys(&rules["busy"]), properties::<RetryRule>());
    let mut retryable: Vec<String> = crate::rules::attempts::RETRYABLE
        .iter()
        .map(|r| r.to_string())
        .collect();
    retryable.sort();
    assert_eq!(retryable, properties::<RetryRules>());
    // The orderings and statuses serialize to the schema's enums.
    use crate::rules::decide::OrderBy as O;
    for o in [
        O::NewFirst,
        O::RetriesFirst,
        O::Priority,
        O::OldestFirst,
        O::NewestFirst,
        O::FewestAttempts,
    ] {
        let v = serde_json::to_value(o).unwrap();
        let _: OrderBy = serde_json::from_value(v.clone()).unwrap_or_else(|_| panic!("{v}"));
    }
    assert_eq!(
        properties::<TypeWindows>(),
        ["home", "mobile", "other", "work"]
    );
    use crate::phone::NumberKind as K;
    for k in [K::Mobile, K::Work, K::Home, K::Other] {
        let v = serde_json::to_value(k).unwrap();
        let _: NumberType = serde_json::from_value(v.clone()).unwrap_or_else(|_| panic!("{v}"));
    }
    use crate::rules::attempts::ContactStatus as S;
    for s in [S::NotCalled, S::Retry, S::Reached, S::NotReached] {
        let v = serde_json::to_value(s).unwrap();
        let _: ContactStatus = serde_json::from_value(v.clone()).unwrap_or_else(|_| panic!("{v}"));
    }
}
