//! A scenario drawn as a graph (docs/users.md, "Scenarios"): steps as boxes listing their
//! prompts, reactions (keys, phrases, silence) and completions as labelled arrows, the results
//! a call ends with as end nodes, actions as badges under the arrow that triggers them. Laid
//! out in rows by the longest way from `start` (top to bottom); arrows that close a loop (a
//! repeated question) run on the right. Pure: no I/O; every text is escaped here, so the
//! SVG may go into a page as it is.
use crate::media::prompt::PromptSource;
use crate::scenario::{Action, PlayRef, Prompt, Scenario};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write;
use std::path::Path;

/// A scenario as the drawing needs it (names as written, labels in Russian).
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub start: String,
    pub steps: Vec<FlowStep>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FlowStep {
    pub name: String,
    /// The prompts it plays, then its capture, one line each.
    pub lines: Vec<String>,
    pub exits: Vec<Exit>,
}

/// One way out of a step: a reaction, or the step completing.
#[derive(Debug, Clone, PartialEq)]
pub struct Exit {
    pub label: String,
    pub to: Target,
    /// The result it sets (shown as a badge when the call goes on).
    pub result: Option<String>,
    pub badges: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Step(String),
    /// The call ends: with this result, or (`None`) with the one set before.
    End(Option<String>),
}

/// Longest text in a box line, an arrow's label and a badge, in characters.
const BOX_CHARS: usize = 30;
const LABEL_CHARS: usize = 32;
const BADGE_CHARS: usize = 26;
/// Box and end-node sizes, gaps (px of the SVG's user space).
const BOX_W: i32 = 230;
const HEAD_H: i32 = 28;
const LINE_H: i32 = 17;
const END_W: i32 = 180;
const END_H: i32 = 34;
const GAP_X: i32 = 40;
/// Width a waypoint of a long arrow takes in its row.
const WAYPOINT_W: i32 = 16;
const MARGIN: i32 = 16;
/// Vertical room one arrow's label and badges take below its box.
const LABEL_ROW: i32 = 38;
/// Approximate width of a character at the labels' font size.
const CHAR_W: f32 = 6.6;

impl Flow {
    /// The drawing of a loaded scenario; prompt files are named relative to the first of
    /// `folders` that holds them.
    pub fn of(s: &Scenario, folders: &[&Path]) -> Self {
        let steps = s
            .steps
            .iter()
            .map(|(name, st)| {
                let mut lines: Vec<String> = st
                    .play
                    .iter()
                    .map(|p| match p {
                        PlayRef::Prompt(p) => format!("▶ {}", prompt_name(p, folders)),
                        PlayRef::Var(v) => format!("▶ {{{v}}} (число)"),
                    })
                    .collect();
                if let Some(c) = &st.capture {
                    let end = c.end.map(|k| format!(", конец «{k}»")).unwrap_or_default();
                    lines.push(format!("⌨ ввод {}: до {} цифр{end}", c.var, c.max_digits));
                }
                let mut exits: Vec<Exit> = st
                    .on
                    .iter()
                    .map(|r| {
                        let mut trig = Vec::new();
                        if let Some(k) = r.dtmf {
                            trig.push(format!("клавиша {k}"));
                        }
                        if !r.voice.is_empty() {
                            let mut said: Vec<String> =
                                r.voice.iter().take(2).map(|v| format!("«{v}»")).collect();
                            if r.voice.len() > 2 {
                                said.push("…".into());
                            }
                            trig.push(said.join(", "));
                        }
                        if r.timeout {
                            trig.push(format!("тишина {} с", st.listen.wait_s));
                        }
                        exit(trig.join(" или "), &r.next, &r.result, &r.actions)
                    })
                    .collect();
                if st.on.is_empty() || st.capture.is_some() {
                    let label = if st.capture.is_some() {
                        "введено"
                    } else {
                        "прослушал"
                    };
                    exits.push(exit(label.into(), &st.next, &st.result, &st.actions));
                }
                FlowStep {
                    name: name.clone(),
                    lines,
                    exits,
                }
            })
            .collect();
        Flow {
            start: s.start.clone(),
            steps,
        }
    }
}

/// A prompt's name as a scenario writes it.
pub fn prompt_name(p: &Prompt, folders: &[&Path]) -> String {
    match p.source() {
        PromptSource::Bundled(n) => n.to_string(),
        PromptSource::File(path) => folders
            .iter()
            .find_map(|f| path.strip_prefix(f).ok())
            .or_else(|| path.file_name().map(Path::new))
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default(),
    }
}

fn exit(label: String, next: &Option<String>, result: &Option<String>, actions: &[Action]) -> Exit {
    // A transfer or a hang-up ends the robot's part whatever `next` says.
    let ends = actions.iter().any(|a| {
        matches!(
            a,
            Action::Transfer { .. } | Action::TransferExternal { .. } | Action::Hangup
        )
    });
    let to = match next {
        Some(n) if !ends => Target::Step(n.clone()),
        _ => Target::End(result.clone()),
    };
    Exit {
        label,
        to,
        result: result.clone(),
        badges: actions.iter().map(badge).collect(),
    }
}

fn badge(a: &Action) -> String {
    match a {
        Action::Transfer { to, .. } => format!("перевод: {to}"),
        Action::TransferExternal { to } => format!("перевод на {to}"),
        Action::Sms { .. } => "SMS".into(),
        Action::AddToProject { project } => format!("в проект «{project}»"),
        Action::Hangup => "положить трубку".into(),
        Action::Webhook { .. } => "вебхук".into(),
        Action::StopList { .. } => "в стоп-лист".into(),
    }
}

/// A box, an end node or a waypoint (neither a step nor an end: not drawn), placed.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// A step's name.
    pub step: Option<String>,
    /// The result an end node stands for (`Some(None)`: «конец»).
    pub end: Option<Option<String>>,
    pub lines: Vec<String>,
    pub layer: usize,
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

/// An arrow, placed: from node to node (indices into `Layout::nodes`).
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub label: String,
    /// Badges: the result it sets on the way (when the call goes on) and its actions.
    pub badges: Vec<String>,
    /// Closes a loop (back up, or to its own box): drawn on the right.
    pub back: bool,
    /// The SVG path.
    pub d: String,
    pub label_x: i32,
    pub label_y: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub width: i32,
    pub height: i32,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// Places the steps in layers: each one row below the lowest step that leads to it, going
/// round no loop (the longest way from `start`), so every arrow but those closing a loop
/// points down; each end node one row below the lowest box that ends there. An arrow over
/// several rows passes through a waypoint in each, placed like a narrow box. Within a row,
/// boxes sit under the boxes that lead to them.
pub fn layout(flow: &Flow) -> Layout {
    let n = flow.steps.len();
    let index: HashMap<&str, usize> = flow
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let step_of = |e: &Exit| match &e.to {
        Target::Step(t) => index.get(t.as_str()).copied(),
        Target::End(_) => None,
    };
    // Depth-first from start (then from any step it does not reach): an arrow to a step still
    // being walked closes a loop.
    let mut order: Vec<usize> = Vec::new();
    let mut state = vec![0u8; n]; // 0 unseen, 1 on the path, 2 done
    let mut closes_loop: Vec<Vec<bool>> = flow
        .steps
        .iter()
        .map(|s| vec![false; s.exits.len()])
        .collect();
    let roots = index
        .get(flow.start.as_str())
        .copied()
        .into_iter()
        .chain(0..n);
    for root in roots {
        if state[root] != 0 {
            continue;
        }
        state[root] = 1;
        order.push(root);
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(top) = stack.last_mut() {
            let (i, k) = *top;
            top.1 += 1;
            if let Some(e) = flow.steps[i].exits.get(k) {
                if let Some(j) = step_of(e) {
                    match state[j] {
                        0 => {
                            state[j] = 1;
                            order.push(j);
                            stack.push((j, 0));
                        }
                        1 => closes_loop[i][k] = true,
                        _ => {}
                    }
                }
            } else {
                state[i] = 2;
                stack.pop();
            }
        }
    }
    // The longest way down, over the arrows that close no loop (in walking order: a step
    // comes after every step that leads to it).
    let mut layer = vec![0usize; n];
    let mut incoming = vec![0usize; n];
    for (i, s) in flow.steps.iter().enumerate() {
        for (k, e) in s.exits.iter().enumerate() {
            if let (Some(j), false) = (step_of(e), closes_loop[i][k]) {
                incoming[j] += 1;
            }
        }
    }
    let mut ready: VecDeque<usize> = order
        .iter()
        .copied()
        .filter(|&i| incoming[i] == 0)
        .collect();
    while let Some(i) = ready.pop_front() {
        for (k, e) in flow.steps[i].exits.iter().enumerate() {
            if let (Some(j), false) = (step_of(e), closes_loop[i][k]) {
                layer[j] = layer[j].max(layer[i] + 1);
                incoming[j] -= 1;
                if incoming[j] == 0 {
                    ready.push_back(j);
                }
            }
        }
    }
    let mut nodes: Vec<Node> = order
        .iter()
        .map(|&i| {
            let s = &flow.steps[i];
            Node {
                step: Some(s.name.clone()),
                end: None,
                lines: s.lines.clone(),
                layer: layer[i],
                x: 0,
                y: 0,
                w: BOX_W,
                h: HEAD_H + LINE_H * s.lines.len() as i32 + if s.lines.is_empty() { 4 } else { 8 },
            }
        })
        .collect();
    let node_of_step: HashMap<usize, usize> =
        order.iter().enumerate().map(|(nd, &i)| (i, nd)).collect();
    // End nodes, in the order arrows reach them, one row below their lowest box.
    let mut ends: Vec<Option<String>> = Vec::new();
    for &i in &order {
        for e in &flow.steps[i].exits {
            if let Target::End(r) = &e.to {
                let below = layer[i] + 1;
                match ends.iter().position(|x| x == r) {
                    Some(p) => {
                        let nd = n + p;
                        nodes[nd].layer = nodes[nd].layer.max(below);
                    }
                    None => {
                        ends.push(r.clone());
                        nodes.push(Node {
                            step: None,
                            end: Some(r.clone()),
                            lines: Vec::new(),
                            layer: below,
                            x: 0,
                            y: 0,
                            w: END_W,
                            h: END_H,
                        });
                    }
                }
            }
        }
    }
    // Every arrow, with the waypoints of one over several rows.
    let mut arrows: Vec<Arrow> = Vec::new();
    for &i in &order {
        for (k, e) in flow.steps[i].exits.iter().enumerate() {
            let from = node_of_step[&i];
            let to = match &e.to {
                Target::Step(_) => match step_of(e) {
                    Some(j) => node_of_step[&j],
                    None => continue,
                },
                Target::End(r) => n + ends.iter().position(|x| x == r).unwrap_or(0),
            };
            let back = closes_loop[i][k] || nodes[to].layer <= nodes[from].layer;
            let mut via = Vec::new();
            if !back {
                for l in nodes[from].layer + 1..nodes[to].layer {
                    via.push(nodes.len());
                    nodes.push(Node {
                        step: None,
                        end: None,
                        lines: Vec::new(),
                        layer: l,
                        x: 0,
                        y: 0,
                        w: WAYPOINT_W,
                        h: 0,
                    });
                }
            }
            arrows.push(Arrow {
                from,
                to,
                via,
                back,
                exit: e,
            });
        }
    }
    place(&mut nodes, &arrows);
    // Arrows leave a box left to right in the order of where they go.
    arrows.sort_by_key(|a| (a.from, nodes[a.first_hop()].x));
    route(nodes, &arrows)
}

/// An arrow while it is laid out.
struct Arrow<'a> {
    from: usize,
    to: usize,
    /// Waypoints, one a row, top to bottom.
    via: Vec<usize>,
    back: bool,
    exit: &'a Exit,
}

impl Arrow<'_> {
    fn first_hop(&self) -> usize {
        self.via.first().copied().unwrap_or(self.to)
    }

    fn last_hop(&self) -> usize {
        self.via.last().copied().unwrap_or(self.from)
    }

    /// Each downward link (node above, node below).
    fn links(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let chain: Vec<usize> = std::iter::once(self.from)
            .chain(self.via.iter().copied())
            .chain(std::iter::once(self.to))
            .collect();
        (0..chain.len() - 1)
            .filter(move |_| !self.back)
            .map(move |i| (chain[i], chain[i + 1]))
    }
}

/// Orders each row by the mean x of the nodes above that lead to it, then sets x and y.
fn place(nodes: &mut [Node], arrows: &[Arrow<'_>]) {
    let links: Vec<(usize, usize)> = arrows.iter().flat_map(|a| a.links()).collect();
    let layers = nodes.iter().map(|n| n.layer).max().map_or(0, |m| m + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); layers];
    for (i, n) in nodes.iter().enumerate() {
        rows[n.layer].push(i);
    }
    let row_width = |row: &[usize], nodes: &[Node]| -> i32 {
        row.iter().map(|&i| nodes[i].w).sum::<i32>() + GAP_X * (row.len() as i32 - 1).max(0)
    };
    let width = rows.iter().map(|r| row_width(r, nodes)).max().unwrap_or(0);
    let mut y = MARGIN;
    for (l, slot) in rows.iter_mut().enumerate() {
        let mut row = std::mem::take(slot);
        if l > 0 {
            let key = |i: usize| -> f32 {
                let above: Vec<f32> = links
                    .iter()
                    .filter(|(_, b)| *b == i)
                    .map(|(a, _)| (nodes[*a].x + nodes[*a].w / 2) as f32)
                    .collect();
                if above.is_empty() {
                    f32::MAX
                } else {
                    above.iter().sum::<f32>() / above.len() as f32
                }
            };
            let keys: HashMap<usize, f32> = row.iter().map(|&i| (i, key(i))).collect();
            row.sort_by(|a, b| keys[a].total_cmp(&keys[b]));
        }
        let mut x = MARGIN + (width - row_width(&row, nodes)) / 2;
        let tallest = row
            .iter()
            .filter(|&&i| nodes[i].step.is_some() || nodes[i].end.is_some())
            .map(|&i| nodes[i].h)
            .max()
            .unwrap_or(0);
        for &i in &row {
            nodes[i].x = x;
            nodes[i].y = y;
            if nodes[i].step.is_none() && nodes[i].end.is_none() {
                // A waypoint spans its row.
                nodes[i].h = tallest;
            }
            x += nodes[i].w + GAP_X;
        }
        // Room below for the labels of the arrows leaving this row's boxes.
        let most_exits = row
            .iter()
            .map(|&i| arrows.iter().filter(|a| a.from == i && !a.back).count() as i32)
            .max()
            .unwrap_or(0);
        y += tallest + 30 + LABEL_ROW * most_exits.max(1);
        *slot = row;
    }
}

/// Draws the arrows: downwards from the bottom of a box through its waypoints to the top of
/// the next (labels near their box, one row each), backwards along a lane on the right.
fn route(nodes: Vec<Node>, arrows: &[Arrow<'_>]) -> Layout {
    let right = nodes.iter().map(|n| n.x + n.w).max().unwrap_or(0);
    let mut out = Vec::new();
    let mut lanes = 0;
    let mut back_labels: Vec<i32> = Vec::new();
    let mut widest = right + MARGIN;
    for (ai, a) in arrows.iter().enumerate() {
        let e = a.exit;
        let (f, t) = (&nodes[a.from], &nodes[a.to]);
        let mut badges = Vec::new();
        if let (Some(r), Target::Step(_)) = (&e.result, &e.to) {
            badges.push(format!("результат: {r}"));
        }
        badges.extend(e.badges.iter().cloned());
        let label = clip(&e.label, LABEL_CHARS);
        let text_w = text_width(&label).max(
            badges
                .iter()
                .map(|b| text_width(&clip(b, BADGE_CHARS)) + 14)
                .sum::<i32>(),
        );
        let (d, label_x, label_y) = if !a.back {
            // This arrow's place among those leaving its box downwards, and among those
            // arriving at its target from above.
            let outs: Vec<usize> = (0..arrows.len())
                .filter(|&x| arrows[x].from == a.from && !arrows[x].back)
                .collect();
            let k = outs.iter().position(|&x| x == ai).unwrap_or(0) as i32;
            let mut ins: Vec<usize> = (0..arrows.len())
                .filter(|&x| arrows[x].to == a.to && !arrows[x].back)
                .collect();
            ins.sort_by_key(|&x| nodes[arrows[x].last_hop()].x);
            let j = ins.iter().position(|&x| x == ai).unwrap_or(0) as i32;
            let (x1, y1) = (f.x + f.w * (k + 1) / (outs.len() as i32 + 1), f.y + f.h);
            let (x2, y2) = (t.x + t.w * (j + 1) / (ins.len() as i32 + 1), t.y - 2);
            let mut points = vec![(x1, y1)];
            for &w in &a.via {
                let c = nodes[w].x + nodes[w].w / 2;
                points.push((c, nodes[w].y));
                points.push((c, nodes[w].y + nodes[w].h));
            }
            points.push((x2, y2));
            // The label sits on the first stretch, one row per arrow of the box.
            let (nx, ny) = points[1];
            let ly = (y1 + 16 + LABEL_ROW * k).min(ny.max(y1 + 16));
            let frac = if ny == y1 {
                0.0
            } else {
                (ly - y1) as f32 / (ny - y1) as f32
            };
            let lx = x1 + ((nx - x1) as f32 * frac) as i32 + 6;
            let d = points
                .iter()
                .enumerate()
                .map(|(i, (x, y))| format!("{}{x},{y}", if i == 0 { "M" } else { "L" }))
                .collect::<Vec<_>>()
                .join(" ");
            (d, lx, ly)
        } else {
            // Arrows back from one box leave it one under the other.
            let j = arrows[..ai]
                .iter()
                .filter(|x| x.back && x.from == a.from)
                .count() as i32;
            let lane = right + 30 + 22 * lanes;
            lanes += 1;
            let y1 = f.y + f.h / 2 + 6 + 8 * j;
            let y2 = t.y + t.h / 2 - 6;
            let (x1, x2) = (f.x + f.w, t.x + t.w + 2);
            // Out to the lane, along it, and back in, with rounded corners.
            let r = ((y1 - y2).abs() / 2).min(10);
            let dir = if y2 < y1 { -1 } else { 1 };
            let d = format!(
                "M{x1},{y1} L{a},{y1} Q{lane},{y1} {lane},{b1} L{lane},{b2} Q{lane},{y2} {a},{y2} L{x2},{y2}",
                a = lane - r,
                b1 = y1 + dir * r,
                b2 = y2 - dir * r,
            );
            // The label beside the lane, below any other there already.
            let lx = lane + 6;
            let mut ly = (y1 + y2) / 2 + 4;
            while back_labels
                .iter()
                .any(|&y: &i32| (y - ly).abs() < LABEL_ROW)
            {
                ly += LABEL_ROW;
            }
            back_labels.push(ly);
            (d, lx, ly)
        };
        widest = widest.max(label_x + text_w + MARGIN);
        out.push(Edge {
            from: a.from,
            to: a.to,
            label,
            badges,
            back: a.back,
            d,
            label_x,
            label_y,
        });
    }
    let height = nodes
        .iter()
        .map(|n| n.y + n.h)
        .chain(out.iter().map(|e| e.label_y + 24))
        .max()
        .unwrap_or(0)
        + MARGIN;
    Layout {
        width: widest.max(2 * MARGIN),
        height,
        nodes,
        edges: out,
    }
}

/// The SVG of a layout (sizes as SVG attributes: the page's CSP allows no inline styles).
pub fn svg(l: &Layout) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" \
         width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"Граф сценария\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\"/></marker></defs>",
        w = l.width,
        h = l.height
    );
    for e in &l.edges {
        let class = if e.back { "edge back" } else { "edge" };
        let _ = write!(
            s,
            "<path class=\"{class}\" d=\"{}\" marker-end=\"url(#arrow)\"/>",
            e.d
        );
    }
    for n in &l.nodes {
        node_svg(&mut s, n);
    }
    // Labels last: above every line.
    for e in &l.edges {
        let _ = write!(
            s,
            "<g class=\"edge-label\"><title>{}</title>",
            esc(&e.label)
        );
        if !e.label.is_empty() {
            let w = text_width(&e.label) + 6;
            let _ = write!(
                s,
                "<rect class=\"label-bg\" x=\"{}\" y=\"{}\" width=\"{w}\" height=\"16\" rx=\"3\"/>\
                 <text x=\"{}\" y=\"{}\">{}</text>",
                e.label_x - 3,
                e.label_y - 12,
                e.label_x,
                e.label_y,
                esc(&e.label)
            );
        }
        let mut bx = e.label_x;
        for b in &e.badges {
            let text = clip(b, BADGE_CHARS);
            let w = text_width(&text) + 10;
            let class = if b.starts_with("результат: ") {
                "badge result"
            } else {
                "badge"
            };
            let _ = write!(
                s,
                "<g class=\"{class}\"><title>{}</title><rect x=\"{bx}\" y=\"{}\" width=\"{w}\" \
                 height=\"16\" rx=\"8\"/><text x=\"{}\" y=\"{}\">{}</text></g>",
                esc(b),
                e.label_y + 5,
                bx + 5,
                e.label_y + 17,
                esc(&text)
            );
            bx += w + 4;
        }
        s.push_str("</g>");
    }
    s.push_str("</svg>");
    s
}

fn node_svg(s: &mut String, n: &Node) {
    match (&n.step, &n.end) {
        (Some(name), _) => {
            let _ = write!(
                s,
                "<g class=\"step\"><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"6\"/>\
                 <text class=\"name\" x=\"{}\" y=\"{}\">{}</text>",
                esc(name),
                n.x,
                n.y,
                n.w,
                n.h,
                n.x + 10,
                n.y + 19,
                esc(&clip(name, BOX_CHARS))
            );
            for (i, line) in n.lines.iter().enumerate() {
                let _ = write!(
                    s,
                    "<text class=\"line\" x=\"{}\" y=\"{}\">{}</text>",
                    n.x + 10,
                    n.y + HEAD_H + 12 + LINE_H * i as i32,
                    esc(&clip(line, BOX_CHARS + 2))
                );
            }
            s.push_str("</g>");
        }
        (None, Some(result)) => {
            let (class, text) = match result {
                Some(r) => ("end", r.as_str()),
                None => ("end none", "конец"),
            };
            let _ = write!(
                s,
                "<g class=\"{class}\"><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\"/>\
                 <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></g>",
                esc(text),
                n.x,
                n.y,
                n.w,
                n.h,
                n.h / 2,
                n.x + n.w / 2,
                n.y + n.h / 2 + 5,
                esc(&clip(text, 24))
            );
        }
        _ => {}
    }
}

/// The drawing of a scenario, as SVG.
pub fn draw(flow: &Flow) -> String {
    svg(&layout(flow))
}

/// Text for SVG (and HTML): `&`, `<`, `>`, `"` and `'` escaped.
pub fn esc(t: &str) -> String {
    let mut o = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// At most `n` characters, an ellipsis when cut.
fn clip(t: &str, n: usize) -> String {
    if t.chars().count() <= n {
        t.to_string()
    } else {
        let mut s: String = t.chars().take(n.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

fn text_width(t: &str) -> i32 {
    (t.chars().count() as f32 * CHAR_W).ceil() as i32
}

/// The steps of each layer, by name (tests and debugging).
pub fn layers(l: &Layout) -> BTreeMap<usize, Vec<String>> {
    let mut out: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for n in &l.nodes {
        let name = match (&n.step, &n.end) {
            (Some(s), _) => s.clone(),
            (None, Some(Some(r))) => format!("= {r}"),
            (None, Some(None)) => "= конец".into(),
            (None, None) => continue,
        };
        out.entry(n.layer).or_default().push(name);
    }
    out
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
