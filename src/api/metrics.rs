//! `GET /metrics` (docs/operations.md, "Metrics"): the `metrics` facade, recorded into by the
//! calls, the SIP trunk, the dialer and the HTTP layer with one-line `counter!`/`histogram!`
//! statements, rendered by the Prometheus exporter. The families computed from the database
//! (calls up, calls by result, projects by status) are set at each scrape, so they survive a
//! restart and agree with the reports.
//!
//! One family is not the exporter's: the RTP send lateness is recorded for every 20 ms frame of
//! every call, and the exporter's histograms keep each value until they are drained (a list
//! that allocates as it grows). `Recorder` hands that one name a fixed-bucket histogram of
//! atomics instead: a record is a few relaxed adds and never allocates.
use super::error::ApiResult;
use super::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, SharedString, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Calls in progress now (database).
pub const CALLS_UP: &str = "autoinformer_calls_up";
/// Finished calls by result (database).
pub const CALLS_TOTAL: &str = "autoinformer_calls_total";
/// Answered calls ended by "no audio from the callee" (database).
pub const CALLS_WITHOUT_AUDIO: &str = "autoinformer_calls_without_audio_total";
/// Projects by status (database).
pub const PROJECTS: &str = "autoinformer_projects";
/// HTTP answers by route template and status (this process).
pub const HTTP_REQUESTS: &str = "autoinformer_http_requests_total";
/// Answered calls by answering-machine verdict (`call::live`).
pub const AMD_VERDICTS: &str = "autoinformer_amd_verdicts_total";
/// Calls by the SIP final status of their INVITE (`call::live`; the sim carrier's too).
pub const SIP_FINAL: &str = "autoinformer_sip_final_total";
/// How late each RTP frame left against its 20 ms slot (`call::live`).
pub const RTP_SEND_LATENESS: &str = "autoinformer_rtp_send_lateness_seconds";
/// Outcomes of the outbox's actions by kind (`actions::worker`).
pub const ACTIONS_TOTAL: &str = "autoinformer_actions_total";
/// The SMS service's state, 1 for the current one (the worker's lane).
pub const SMS_SERVICE: &str = "autoinformer_sms_service";
/// Each dialing project's pacing at the dialer's last pass (docs/pacing.md), by `project`
/// id: the dial level, the calls allowed, in flight and waiting, agents by state, the abandon
/// share (`window` today or 15min) and the measured averages (`what` talk, wrap_up, answer).
pub const PACING_LEVEL: &str = "autoinformer_pacing_dial_level";
pub const PACING_ALLOWED: &str = "autoinformer_pacing_allowed_calls";
pub const PACING_IN_FLIGHT: &str = "autoinformer_pacing_calls_in_flight";
pub const PACING_QUEUE: &str = "autoinformer_pacing_queue";
pub const PACING_AGENTS: &str = "autoinformer_pacing_agents";
pub const PACING_ABANDON: &str = "autoinformer_pacing_abandon_share";
pub const PACING_MEASURED: &str = "autoinformer_pacing_measured_seconds";
/// How long one dialer pass took (`dialer::run`).
pub const DIALER_PASS: &str = "autoinformer_dialer_pass_seconds";

/// Upper bounds of the RTP lateness buckets, seconds: a frame 20 ms late is a whole frame.
const LATENESS_BOUNDS: [f64; 9] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.1, 0.5];
/// Upper bounds of the dialer pass buckets, seconds (a pass is every `dialer.pass_ms`).
const PASS_BOUNDS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// A histogram of fixed buckets over atomics: records without locks or allocation.
pub struct FixedHistogram {
    bounds: &'static [f64],
    /// One per bound, then the overflow (not cumulative).
    counts: Vec<AtomicU64>,
    /// Sum of the values, nanoseconds (the values are seconds).
    sum_ns: AtomicU64,
}

impl FixedHistogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_ns: AtomicU64::new(0),
        }
    }

    /// Prometheus text for this histogram under `name`.
    pub fn render(&self, name: &str, help: &str, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0;
        for (i, bound) in self.bounds.iter().enumerate() {
            cumulative += self.counts[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.counts[self.bounds.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}

impl metrics::HistogramFn for FixedHistogram {
    fn record(&self, value: f64) {
        let value = if value.is_finite() {
            value.max(0.0)
        } else {
            0.0
        };
        let i = self
            .bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(self.bounds.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ns
            .fetch_add((value * 1e9) as u64, Ordering::Relaxed);
    }
}

/// The process's recorder: the Prometheus exporter's, with the RTP lateness served by a
/// `FixedHistogram`.
#[derive(Clone)]
pub struct Recorder {
    prometheus: Arc<PrometheusRecorder>,
    lateness: Arc<FixedHistogram>,
}

impl metrics::Recorder for Recorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.prometheus.describe_counter(key, unit, description)
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.prometheus.describe_gauge(key, unit, description)
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.prometheus.describe_histogram(key, unit, description)
    }
    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        self.prometheus.register_counter(key, metadata)
    }
    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        self.prometheus.register_gauge(key, metadata)
    }
    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        if key.name() == RTP_SEND_LATENESS {
            Histogram::from_arc(self.lateness.clone())
        } else {
            self.prometheus.register_histogram(key, metadata)
        }
    }
}

/// What `/metrics` renders.
pub struct Exporter {
    recorder: Recorder,
    handle: PrometheusHandle,
    /// Whether `recorder` is the process's global recorder (another one may have been set
    /// first by an embedding program: then only the database families are shown).
    pub global: bool,
}

static EXPORTER: OnceLock<Exporter> = OnceLock::new();

/// The process's exporter, installed as the global `metrics` recorder on first use.
pub fn exporter() -> &'static Exporter {
    EXPORTER.get_or_init(|| {
        let prometheus = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(DIALER_PASS.into()), &PASS_BOUNDS)
            .expect("the pass buckets are not empty")
            .build_recorder();
        let handle = prometheus.handle();
        let recorder = Recorder {
            prometheus: Arc::new(prometheus),
            lateness: Arc::new(FixedHistogram::new(&LATENESS_BOUNDS)),
        };
        let global = metrics::set_global_recorder(recorder.clone()).is_ok();
        if !global {
            tracing::warn!(
                "another metrics recorder is installed: /metrics shows only the database's figures"
            );
        }
        metrics::with_local_recorder(&recorder, describe);
        Exporter {
            recorder,
            handle,
            global,
        }
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_gauge!(CALLS_UP, "Calls in progress now.");
    describe_counter!(
        CALLS_TOTAL,
        "Finished calls by result, all projects, as the database holds them."
    );
    describe_counter!(
        CALLS_WITHOUT_AUDIO,
        "Answered calls that got no audio from the callee (a broken media path: check NAT and trunk.sip.rtp_ip)."
    );
    describe_gauge!(PROJECTS, "Projects by status.");
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP answers by route template and status, since the process started."
    );
    describe_counter!(
        AMD_VERDICTS,
        "Answered calls by answering-machine verdict, since the process started."
    );
    describe_counter!(
        SIP_FINAL,
        "Calls by the final status of their INVITE, since the process started."
    );
    describe_counter!(
        ACTIONS_TOTAL,
        "Outcomes of the outbox's actions (sms, add_to_project, stop_list, webhook) by attempt outcome, since the process started."
    );
    describe_gauge!(
        SMS_SERVICE,
        "The SMS service: 1 for its state now (off, running, held for money, stopped on a refused login)."
    );
    describe_gauge!(
        PACING_LEVEL,
        "A dialing project's predictive dial level (1.0: callers left without an agent expected at the abandon target)."
    );
    describe_gauge!(PACING_ALLOWED, "Calls a dialing project's pacing allows now (robot: lines in use as a ceiling; agents' modes: calls on their way to the agents).");
    describe_gauge!(PACING_IN_FLIGHT, "A dialing project's calls up now.");
    describe_gauge!(
        PACING_QUEUE,
        "A dialing project's callers waiting for an agent now."
    );
    describe_gauge!(PACING_AGENTS, "A dialing project's agents by state.");
    describe_gauge!(
        PACING_ABANDON,
        "A dialing project's share of abandoned transfers, today and over the last 15 minutes."
    );
    describe_gauge!(
        PACING_MEASURED,
        "A dialing project's measured talk, wrap-up and time-to-queue averages, seconds."
    );
    describe_histogram!(
        DIALER_PASS,
        Unit::Seconds,
        "How long each dialer pass took, since the process started."
    );
}

/// Drains the exporter's histograms now and then (they keep their values until drained).
pub async fn upkeep(stop: tokio_util::sync::CancellationToken) {
    let handle = exporter().handle.clone();
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tick.tick() => handle.run_upkeep(),
            _ = stop.cancelled() => return,
        }
    }
}

/// Counts one HTTP answer (the `count` middleware).
pub fn http_answer(route: &str, status: u16) {
    metrics::counter!(HTTP_REQUESTS, "route" => route.to_string(), "status" => status.to_string())
        .increment(1);
}

/// Prometheus metrics (docs/operations.md, "Metrics").
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "server",
    responses((status = 200, description = "The Prometheus text format (docs/operations.md, \"Metrics\").", content_type = "text/plain", body = String))
)]
pub async fn metrics(State(s): State<AppState>) -> ApiResult<Response> {
    let totals = s.reports.call_totals().await?;
    let projects = s.campaigns.list_projects().await?;
    let e = exporter();
    metrics::with_local_recorder(&e.recorder, || {
        metrics::gauge!(CALLS_UP).set(totals.up as f64);
        for (result, n) in &totals.by_result {
            metrics::counter!(CALLS_TOTAL, "result" => result.clone()).absolute(*n as u64);
        }
        metrics::counter!(CALLS_WITHOUT_AUDIO).absolute(totals.without_audio as u64);
        for status in ["draft", "active", "paused", "finished"] {
            let n = projects.iter().filter(|p| p.status == status).count();
            metrics::gauge!(PROJECTS, "status" => status).set(n as f64);
        }
        let board = s.pacing.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for (id, v) in &board {
            let p = id.to_string();
            metrics::gauge!(PACING_LEVEL, "project" => p.clone()).set(v.dial_level);
            metrics::gauge!(PACING_ALLOWED, "project" => p.clone()).set(f64::from(v.allowed));
            metrics::gauge!(PACING_IN_FLIGHT, "project" => p.clone()).set(f64::from(v.in_flight));
            metrics::gauge!(PACING_QUEUE, "project" => p.clone()).set(f64::from(v.queue));
            for st in crate::agents::pool::AgentState::NAMES {
                let n = v.agents.get(st).copied().unwrap_or(0);
                metrics::gauge!(PACING_AGENTS, "project" => p.clone(), "state" => st)
                    .set(f64::from(n));
            }
            for (window, share) in [
                ("today", v.abandon_share_today),
                ("15min", v.abandon_share_15min),
            ] {
                metrics::gauge!(PACING_ABANDON, "project" => p.clone(), "window" => window)
                    .set(share.unwrap_or(0.0));
            }
            for (what, x) in [
                ("talk", v.talk_s),
                ("wrap_up", v.wrap_up_s),
                ("answer", v.answer_s),
            ] {
                if let Some(x) = x {
                    metrics::gauge!(PACING_MEASURED, "project" => p.clone(), "what" => what).set(x);
                }
            }
        }
        let sms = s.sms_lane.get();
        for state in crate::actions::worker::SmsState::NAMES {
            metrics::gauge!(SMS_SERVICE, "state" => state).set(if state == sms.name() {
                1.0
            } else {
                0.0
            });
        }
    });
    let mut out = e.handle.render();
    e.recorder.lateness.render(
        RTP_SEND_LATENESS,
        "How late each RTP frame was sent against its 20 ms slot, since the process started.",
        &mut out,
    );
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics::HistogramFn;

    #[test]
    fn the_fixed_histogram_renders_cumulative_buckets() {
        static BOUNDS: [f64; 2] = [0.001, 0.01];
        let h = FixedHistogram::new(&BOUNDS);
        for v in [0.0, 0.0005, 0.002, 0.5, -1.0, f64::NAN] {
            h.record(v);
        }
        let mut out = String::new();
        h.render("x_seconds", "X.", &mut out);
        assert!(out.contains("x_seconds_bucket{le=\"0.001\"} 4\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"0.01\"} 5\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"+Inf\"} 6\n"), "{out}");
        assert!(out.contains("x_seconds_count 6\n"), "{out}");
        assert!(out.contains("x_seconds_sum 0.5025\n"), "{out}");
    }
}
