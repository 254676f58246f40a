//! A call's page (docs/users.md, "The call timeline"): what is known of the call, its stereo
//! recording playable in the page (`/calls/{id}/recording`, range requests, signed-in readers
//! only), and a drawing on one time axis — both channels as waveforms (callee, robot), the
//! prompts played, keys and speech with its transcript, the answering-machine verdict with its
//! reason, the transfer (queue, agent, talk), the result, and the actions with their delivery
//! state. The drawing is SVG made by the server: numbers here, every text through the
//! template's escaping.
use super::calls::{action_words, local_time, mm_ss};
use super::pages::render;
use super::waveform;
use super::{Page, Refused, WebState};
use crate::call::{CallEvent, EndedBy, Timeline};
use crate::store::{CallView, StoreError};
use crate::users::Role;
use askama::Template;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Where the plot starts (the lanes' names are to its left) and how wide it is: one waveform
/// column per pixel.
pub const X0: f64 = 110.0;
pub const WIDTH: f64 = 1000.0;
/// The lanes, top to bottom (y of each lane's top, height of a marker lane).
const CALLEE_MID: f64 = 40.0;
const ROBOT_MID: f64 = 110.0;
const WAVE_HALF: f64 = 28.0;
const LANE_H: f64 = 18.0;
const PROMPTS_Y: f64 = 148.0;
const CALLEE_Y: f64 = 174.0;
const EVENTS_Y: f64 = 200.0;
const ACTIONS_Y: f64 = 226.0;
const TRANSFER_Y: f64 = 252.0;
const AXIS_Y: f64 = 278.0;
/// The drawing's height.
pub const HEIGHT: f64 = 300.0;
/// Width of one action's badge.
const BADGE_W: f64 = 150.0;

/// A waveform lane.
pub struct Wave {
    pub label: &'static str,
    pub class: &'static str,
    pub label_y: String,
    pub path: String,
}

/// A span on a lane (a prompt, an utterance, the queue, the talk with an agent).
pub struct Span {
    pub class: &'static str,
    pub x: String,
    pub y: String,
    pub width: String,
    pub text_x: String,
    pub text_y: String,
    /// What fits in it ("" when nothing does).
    pub label: String,
    /// The whole of it (a tooltip).
    pub title: String,
}

/// The width a mark's label takes per character (11 px sans).
const MARK_CHAR_W: f64 = 6.5;

/// A moment on a lane (a key, the verdict, the result, an action, the end).
pub struct Mark {
    pub class: &'static str,
    pub x: String,
    pub y: String,
    pub text_x: String,
    pub text_y: String,
    /// `start`, or `end` near the right edge (the label goes to the mark's left).
    pub anchor: &'static str,
    pub label: String,
    pub title: String,
    /// A line down the waveforms too.
    pub guide: bool,
}

pub struct Tick {
    pub x: String,
    pub label: String,
}

/// One line of the events table under the drawing.
pub struct Row {
    pub at: String,
    pub what: String,
    pub detail: String,
}

/// One action of the call.
pub struct ActionLine {
    pub id: i64,
    pub what: String,
    pub status: String,
    pub attempts: i64,
    pub error: String,
}

#[derive(Template)]
#[template(path = "call.html")]
struct CallPage {
    page: Page,
    id: i64,
    project_id: i64,
    project: String,
    contact_id: i64,
    contact: String,
    number: String,
    started: String,
    zone: String,
    live: bool,
    result: String,
    end_reason: String,
    ring: String,
    talk: String,
    cost: String,
    sip: String,
    /// The recording can be played; else why not.
    recording: bool,
    no_recording: Option<&'static str>,
    /// Why the recording stopped early or is missing (a failed write), in the server's words.
    recording_error: Option<String>,
    /// The drawing (answered calls).
    drawn: bool,
    total_ms: u64,
    x0: f64,
    width: f64,
    view_w: f64,
    height: f64,
    axis_y: f64,
    waves: Vec<Wave>,
    spans: Vec<Span>,
    marks: Vec<Mark>,
    ticks: Vec<Tick>,
    lanes: Vec<(&'static str, String)>,
    rows: Vec<Row>,
    actions: Vec<ActionLine>,
    transcript: String,
    /// The contact file's other columns.
    fields: Vec<(String, String)>,
    /// What the scenario captured (`capture` steps: a meter reading, a date).
    captured: Vec<(String, String)>,
    /// The agent's wrap-up of a transferred call, once written.
    wrap_up: Option<WrapUpLine>,
}

/// An agent's wrap-up as the page shows it.
pub struct WrapUpLine {
    pub disposition: String,
    pub note: String,
    /// The call back asked for, in the project's time, or ''.
    pub callback: String,
    pub agent: String,
    pub at: String,
}

/// Captured values as `name: text` pairs (strings without their quotes).
fn captured_pairs(v: &serde_json::Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    (k.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn f1(v: f64) -> String {
    format!("{v:.1}")
}

/// Milliseconds as `m:ss.s`.
fn at(ms: u64) -> String {
    format!("{}:{:02}.{}", ms / 60_000, ms / 1000 % 60, ms % 1000 / 100)
}

/// Milliseconds as `3,4 с` (under a minute) or `m:ss`.
fn secs(ms: i64) -> String {
    if ms < 60_000 {
        format!("{},{} с", ms.max(0) / 1000, ms.max(0) % 1000 / 100)
    } else {
        mm_ss(ms)
    }
}

/// The AMD verdict in Russian.
pub fn verdict_ru(v: &str) -> &'static str {
    match v {
        "human" => "человек",
        "machine" => "автоответчик",
        _ => "не определено",
    }
}

/// The AMD reason in Russian.
pub fn amd_reason_ru(code: &str) -> &'static str {
    match code {
        "short_greeting_then_silence" => "короткое приветствие, затем тишина",
        "long_greeting" => "говорил не переставая, как запись",
        "long_greeting_then_silence" => "длинное приветствие, затем тишина",
        "silence" => "ничего не сказал",
        "undecided" => "явных признаков нет",
        "beep" => "сигнал автоответчика",
        "beep_after_greeting" => "сигнал после приветствия",
        "sit" => "сигналы оператора связи (SIT)",
        "long_speech_after_greeting" => "долго говорил после приветствия",
        "carrier_phrase" => "фраза автоответчика оператора",
        "known_greeting" => "запись, звучавшая на других номерах",
        "assistant" => "голосовой помощник (знакомая запись)",
        "dtmf" => "нажал клавишу",
        "no_decision" => "звонок кончился раньше решения",
        "not_answered" => "звонок не отвечен",
        _ => "причина не указана",
    }
}

/// Text cut to what fits in `width` pixels (about 6.5 px a character at the drawing's size).
fn fit(text: &str, width: f64) -> String {
    let room = ((width - 6.0) / 6.5).floor();
    if room < 2.0 {
        return String::new();
    }
    let room = room as usize;
    if text.chars().count() <= room {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(room - 1).collect();
        t.push('…');
        t
    }
}

/// The drawing's time scale.
struct Scale {
    total_ms: u64,
}

impl Scale {
    fn x(&self, ms: u64) -> f64 {
        X0 + (ms.min(self.total_ms) as f64 / self.total_ms.max(1) as f64) * WIDTH
    }

    fn span(
        &self,
        class: &'static str,
        y: f64,
        from: u64,
        to: u64,
        label: &str,
        title: String,
    ) -> Span {
        let x = self.x(from);
        let w = (self.x(to) - x).max(2.0);
        Span {
            class,
            x: f1(x),
            y: f1(y),
            width: f1(w),
            text_x: f1(x + 3.0),
            text_y: f1(y + 13.0),
            label: fit(label, w),
            title,
        }
    }

    fn mark(
        &self,
        class: &'static str,
        y: f64,
        ms: u64,
        label: &str,
        title: String,
        guide: bool,
    ) -> Mark {
        let x = self.x(ms);
        let room = label.chars().count() as f64 * MARK_CHAR_W + 12.0;
        let left = x + room > X0 + WIDTH + 8.0;
        Mark {
            class,
            x: f1(x),
            y: f1(y + LANE_H / 2.0),
            text_x: f1(if left { x - 9.0 } else { x + 9.0 }),
            text_y: f1(y + 13.0),
            anchor: if left { "end" } else { "start" },
            label: label.to_string(),
            title,
            guide,
        }
    }

    /// Ticks at a round step, 5 to 12 of them.
    fn ticks(&self) -> Vec<Tick> {
        let steps = [
            1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000,
        ];
        let step = steps
            .into_iter()
            .find(|s| self.total_ms / s <= 12)
            .unwrap_or(1_200_000);
        (0..=self.total_ms / step)
            .map(|i| Tick {
                x: f1(self.x(i * step)),
                label: mm_ss((i * step) as i64),
            })
            .collect()
    }
}

/// What the drawing and the table show of an answered call.
struct Drawing {
    spans: Vec<Span>,
    marks: Vec<Mark>,
    rows: Vec<(u64, Row)>,
}

fn row(ms: u64, what: &str, detail: String) -> (u64, Row) {
    (
        ms,
        Row {
            at: at(ms),
            what: what.to_string(),
            detail,
        },
    )
}

/// The markers of a call on `scale`.
fn draw(c: &CallView, t: &Timeline, agent: Option<String>, scale: &Scale) -> Drawing {
    let mut d = Drawing {
        spans: Vec::new(),
        marks: Vec::new(),
        rows: vec![row(0, "Ответ", String::new())],
    };
    for p in &t.prompts {
        let title = format!("Промпт {} ({}–{})", p.name, at(p.at_ms), at(p.end_ms));
        d.spans.push(scale.span(
            "prompt",
            PROMPTS_Y,
            p.at_ms,
            p.end_ms,
            &p.name,
            title.clone(),
        ));
        d.rows.push(row(
            p.at_ms,
            "Промпт",
            format!("{} до {}", p.name, at(p.end_ms)),
        ));
    }
    for e in &t.events {
        match e {
            CallEvent::Dtmf { at_ms, digit } => {
                let title = format!("Клавиша {digit} в {}", at(*at_ms));
                d.marks
                    .push(scale.mark("key", CALLEE_Y, *at_ms, &digit.to_string(), title, false));
                d.rows.push(row(*at_ms, "Клавиша", digit.to_string()));
            }
            CallEvent::Speech {
                at_ms,
                text,
                end_ms,
            } => {
                let title = format!("Речь ({}–{}): «{text}»", at(*at_ms), at(*end_ms));
                d.spans
                    .push(scale.span("speech", CALLEE_Y, *at_ms, *end_ms, text, title));
                d.rows
                    .push(row(*at_ms, "Речь", format!("«{text}» до {}", at(*end_ms))));
            }
        }
    }
    if let Some(a) = &c.amd {
        let ms = a.decided_at_ms.unwrap_or(0).max(0) as u64;
        let reason = a.reason.as_deref().map(amd_reason_ru).unwrap_or("");
        let verdict = verdict_ru(&a.verdict);
        let title = format!("Автоответчик? {verdict}: {reason} ({})", at(ms));
        d.marks
            .push(scale.mark("amd", EVENTS_Y, ms, &format!("АМД: {verdict}"), title, true));
        d.rows.push(row(ms, "АМД", format!("{verdict}: {reason}")));
    }
    let end_ms = scale.total_ms;
    let result_ms = t.result_at_ms.unwrap_or(end_ms);
    let result = c.result_label.clone().unwrap_or_default();
    if !result.is_empty() {
        d.marks.push(scale.mark(
            "result",
            EVENTS_Y,
            result_ms,
            &result,
            format!("Результат «{result}» в {}", at(result_ms)),
            true,
        ));
        d.rows.push(row(result_ms, "Результат", result.clone()));
    }
    // The actions follow the result that set them: badges side by side from there.
    let mut x = scale
        .x(result_ms)
        .min(X0 + WIDTH - BADGE_W * c.actions.len() as f64)
        .max(X0);
    for a in &c.actions {
        let words = action_words(&a.kind, &a.status);
        let title = match &a.last_error {
            Some(e) => format!("{words}; попыток {}; {e}", a.attempts),
            None => format!("{words}; попыток {}", a.attempts),
        };
        d.spans.push(Span {
            class: if a.status == "failed" {
                "action failed"
            } else {
                "action"
            },
            x: f1(x),
            y: f1(ACTIONS_Y),
            width: f1(BADGE_W - 4.0),
            text_x: f1(x + 3.0),
            text_y: f1(ACTIONS_Y + 13.0),
            label: fit(&words, BADGE_W - 4.0),
            title,
        });
        x += BADGE_W;
    }
    if let (Some(tr), Some(start)) = (&c.transfer, t.transfer_at_ms) {
        let queue = tr["queue_ms"].as_u64().unwrap_or(0);
        let talk = tr["talk_ms"].as_u64().unwrap_or(0);
        let to = tr["to"].as_str().unwrap_or("agents");
        let target = if to == "agents" {
            agent.clone().unwrap_or_else(|| "оператор".into())
        } else {
            format!("номер {to}")
        };
        let q = format!("ожидание {}", mm_ss(queue as i64));
        d.spans.push(scale.span(
            "queue",
            TRANSFER_Y,
            start,
            start + queue,
            &q,
            format!("Перевод: {q}"),
        ));
        let mut detail = q.clone();
        if tr["answered"].as_bool() == Some(true) {
            let words = format!("{target}, разговор {}", mm_ss(talk as i64));
            d.spans.push(scale.span(
                "talk",
                TRANSFER_Y,
                start + queue,
                start + queue + talk,
                &words,
                format!("Перевод: {words}"),
            ));
            detail.push_str(&format!("; ответил {words}"));
        } else {
            detail.push_str("; никто не ответил");
        }
        d.rows.push(row(start, "Перевод", detail));
    }
    if let Some(by) = t.ended_by {
        let who = match by {
            EndedBy::Robot => "робот положил трубку",
            EndedBy::Callee => "абонент положил трубку",
        };
        d.rows
            .push(row(t.duration_ms.max(result_ms), "Конец", who.into()));
    }
    declutter(&mut d.marks);
    d
}

/// Labels of marks on one lane that would print over each other: the later mark keeps its
/// label (the result over the verdict that led to it), the earlier keeps its dot and tooltip;
/// the table under the drawing lists both.
fn declutter(marks: &mut [Mark]) {
    let extent = |m: &Mark| {
        let x: f64 = m.text_x.parse().unwrap_or(0.0);
        let w = m.label.chars().count() as f64 * MARK_CHAR_W;
        if m.anchor == "end" {
            (x - w, x)
        } else {
            (x, x + w)
        }
    };
    for i in (0..marks.len()).rev() {
        if marks[i].label.is_empty() {
            continue;
        }
        let (a0, a1) = extent(&marks[i]);
        let hidden = marks[i + 1..].iter().any(|m| {
            let (b0, b1) = extent(m);
            m.text_y == marks[i].text_y && !m.label.is_empty() && a0 < b1 && b0 < a1
        });
        if hidden {
            marks[i].label.clear();
        }
    }
}

/// `GET /calls/{id}`.
pub async fn page(
    State(s): State<WebState>,
    Path(id): Path<i64>,
    headers: axum::http::HeaderMap,
) -> Response {
    let v = match s.viewer_who(&headers, Role::reads).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let fail = |e: StoreError| Refused::Failed(e.to_string()).into_response();
    let c = match s.app.reports.call(id).await {
        Ok(c) => c,
        Err(StoreError::NotFound(_)) => {
            return (StatusCode::NOT_FOUND, "Нет такого звонка").into_response()
        }
        Err(e) => return fail(e),
    };
    let (project, zone) = match s.app.campaigns.project(c.project_id).await {
        Ok(p) => (p.name, p.time_zone),
        Err(e) => return fail(e),
    };
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Europe::Moscow);
    let timeline: Timeline = match s.app.reports.call_timeline(id).await {
        Ok(t) => t
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default(),
        Err(e) => return fail(e),
    };
    // The recording, read off the request's async workers.
    let path = match s.app.reports.recording_path(id).await {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let (envelope, no_recording) = match path {
        None if c.answered_at.is_none() => (None, Some("Записи нет: звонок не был отвечен.")),
        None => (
            None,
            Some("Записи нет: запись звонков выключена или прервана."),
        ),
        Some(p) => {
            match tokio::task::spawn_blocking(move || waveform::envelope(&p, WIDTH as usize)).await
            {
                Ok(Ok(e)) => (Some(e), None),
                Ok(Err(waveform::WaveError::Read(hound::Error::IoError(_)))) => {
                    (None, Some("Записи нет: файл удалён с сервера."))
                }
                Ok(Err(e)) => {
                    tracing::warn!(call = id, error = %e, "a recording that cannot be drawn");
                    (
                        None,
                        Some("Запись повреждена: её нельзя ни показать, ни проиграть."),
                    )
                }
                Err(e) => return Refused::Failed(e.to_string()).into_response(),
            }
        }
    };
    let fields = match s.app.reports.contact_fields(c.contact_id).await {
        Ok(f) => f
            .into_iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .collect(),
        Err(StoreError::NotFound(_)) => Vec::new(),
        Err(e) => return fail(e),
    };
    let wrap_up = match &c.wrap_up {
        Some(w) => {
            let agent = match w.agent_id {
                Some(a) => s.app.agent_store.agent(a).await.ok().map(|a| a.name),
                None => None,
            };
            Some(WrapUpLine {
                disposition: w.disposition.clone(),
                note: w.note.clone(),
                callback: w.callback_at.map(|t| local_time(t, tz)).unwrap_or_default(),
                agent: agent.unwrap_or_default(),
                at: local_time(w.at_ms.div_euclid(1000), tz),
            })
        }
        None => None,
    };
    let answered = c.answered_at.is_some();
    let total_ms = envelope
        .as_ref()
        .map(|e| e.duration_ms)
        .unwrap_or(0)
        .max(timeline.duration_ms)
        .max(c.talk_ms.unwrap_or(0).max(0) as u64)
        .max(1_000);
    let scale = Scale { total_ms };
    let agent = match c.transfer.as_ref().and_then(|t| t["agent_id"].as_i64()) {
        Some(a) => s.app.agent_store.agent(a).await.ok().map(|a| a.name),
        None => None,
    };
    let drawing = if answered {
        draw(&c, &timeline, agent, &scale)
    } else {
        Drawing {
            spans: Vec::new(),
            marks: Vec::new(),
            rows: Vec::new(),
        }
    };
    let mut rows = drawing.rows;
    rows.sort_by_key(|(ms, _)| *ms);
    let waves = envelope
        .as_ref()
        .map(|e| {
            let names = [
                ("Абонент", "callee", CALLEE_MID),
                ("Робот", "robot", ROBOT_MID),
            ];
            e.channels
                .iter()
                .zip(names)
                .map(|(ch, (label, class, mid))| {
                    // A recording shorter than the axis fills its share of it.
                    let w = WIDTH * e.duration_ms as f64 / total_ms as f64;
                    Wave {
                        label,
                        class,
                        label_y: f1(mid + 4.0),
                        path: waveform::path(ch, X0, w, mid, WAVE_HALF),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let lanes = vec![
        ("Промпты", f1(PROMPTS_Y + 13.0)),
        ("Клавиши, речь", f1(CALLEE_Y + 13.0)),
        ("АМД, результат", f1(EVENTS_Y + 13.0)),
        ("Действия", f1(ACTIONS_Y + 13.0)),
        ("Перевод", f1(TRANSFER_Y + 13.0)),
    ];
    let actions = c
        .actions
        .iter()
        .map(|a| ActionLine {
            id: a.id,
            what: action_words(&a.kind, &a.status),
            status: a.status.clone(),
            attempts: a.attempts,
            error: a.last_error.clone().unwrap_or_default(),
        })
        .collect();
    render(
        &CallPage {
            page: Page::new(Some(&v), "/calls"),
            id,
            project_id: c.project_id,
            project,
            contact_id: c.contact_id,
            contact: c.contact_name.clone().unwrap_or_default(),
            number: c.number.clone(),
            started: local_time(c.started_at, tz),
            zone: tz.name().to_string(),
            live: c.state == "dialing",
            result: c.result_label.clone().unwrap_or_default(),
            end_reason: c.end_reason.clone().unwrap_or_default(),
            ring: c.ring_ms.map(secs).unwrap_or_default(),
            talk: c.talk_ms.map(secs).unwrap_or_default(),
            cost: c.cost.decimal().replace('.', ","),
            sip: c.sip_status.map(|s| s.to_string()).unwrap_or_default(),
            recording: envelope.is_some(),
            // A failed write says why itself: not also "off or interrupted".
            no_recording: no_recording.filter(|_| c.recording_error.is_none()),
            recording_error: c.recording_error.clone(),
            drawn: answered,
            total_ms,
            x0: X0,
            width: WIDTH,
            view_w: X0 + WIDTH + 10.0,
            height: HEIGHT,
            axis_y: AXIS_Y,
            waves,
            spans: drawing.spans,
            marks: drawing.marks,
            ticks: scale.ticks(),
            lanes,
            rows: rows.into_iter().map(|(_, r)| r).collect(),
            actions,
            transcript: c.transcript.clone().unwrap_or_default(),
            fields,
            captured: captured_pairs(&c.captured),
            wrap_up,
        },
        StatusCode::OK,
    )
}

/// `GET /calls/{id}/recording`: the stereo WAV for a signed-in reader, with range requests
/// (the page's player seeks).
pub async fn recording(State(s): State<WebState>, Path(id): Path<i64>, req: Request) -> Response {
    if let Err(r) = s.viewer_who(req.headers(), Role::reads).await {
        return r.into_response();
    }
    match crate::api::recordings::serve(&s.app, id, req).await {
        Ok(r) => r,
        Err(e) => (e.status, e.message).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_fit_their_span_and_the_axis_ticks_at_round_steps() {
        assert_eq!(fit("короткое", 100.0), "короткое");
        assert_eq!(fit("очень длинная расшифровка речи", 60.0), "очень д…");
        assert_eq!(fit("abc", 10.0), "");
        let s = Scale { total_ms: 95_000 };
        let t = s.ticks();
        assert_eq!(t.len(), 10);
        assert_eq!(t[1].label, "0:10");
        assert_eq!(t[0].x, "110.0");
        assert_eq!(s.x(95_000), X0 + WIDTH);
        assert_eq!(s.x(500_000), X0 + WIDTH);
        assert_eq!(at(65_432), "1:05.4");
        assert_eq!(secs(3_456), "3,4 с");
        assert_eq!(secs(65_432), "1:05");
        // A mark near the right edge is labelled on its left.
        let m = s.mark("result", EVENTS_Y, 95_000, "Доволен", String::new(), true);
        assert_eq!((m.anchor, m.text_x.as_str()), ("end", "1101.0"));
        let m = s.mark("result", EVENTS_Y, 0, "Доволен", String::new(), true);
        assert_eq!(m.anchor, "start");
        assert_eq!(amd_reason_ru("beep"), "сигнал автоответчика");
    }

    #[test]
    fn labels_that_would_print_over_each_other_leave_the_later_one() {
        // A machine decided at 1.08 s of a 1.1 s call: the verdict and the result, both at the
        // right edge. A key at the start keeps its label.
        let s = Scale { total_ms: 1_100 };
        let mut marks = vec![
            s.mark("key", EVENTS_Y, 0, "1", String::new(), false),
            s.mark(
                "amd",
                EVENTS_Y,
                1_080,
                "АМД: автоответчик",
                String::new(),
                true,
            ),
            s.mark(
                "result",
                EVENTS_Y,
                1_100,
                "Автоответчик",
                String::new(),
                true,
            ),
        ];
        declutter(&mut marks);
        let labels: Vec<&str> = marks.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(labels, ["1", "", "Автоответчик"]);
        // Far apart, both stay.
        let mut marks = vec![
            s.mark("amd", EVENTS_Y, 0, "АМД: человек", String::new(), true),
            s.mark("result", EVENTS_Y, 1_100, "Прослушал", String::new(), true),
        ];
        declutter(&mut marks);
        assert!(marks.iter().all(|m| !m.label.is_empty()));
    }
}
