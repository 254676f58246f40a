//! The graph's layout and its SVG.
use super::*;
use crate::scenario::{load_str, Format, LoadOptions};

fn step(name: &str, exits: &[(&str, Target)]) -> FlowStep {
    FlowStep {
        name: name.into(),
        lines: vec![format!("▶ {name}.wav")],
        exits: exits
            .iter()
            .map(|(label, to)| Exit {
                label: label.to_string(),
                to: to.clone(),
                result: None,
                badges: Vec::new(),
            })
            .collect(),
    }
}

fn go(s: &str) -> Target {
    Target::Step(s.into())
}

fn end(r: &str) -> Target {
    Target::End(Some(r.into()))
}

fn node<'a>(l: &'a Layout, name: &str) -> &'a Node {
    l.nodes
        .iter()
        .find(|n| n.step.as_deref() == Some(name) || n.end == Some(Some(name.into())))
        .unwrap_or_else(|| panic!("no node {name}"))
}

#[test]
fn every_arrow_but_a_loop_points_down_and_a_long_one_passes_waypoints() {
    let f = Flow {
        start: "a".into(),
        steps: vec![
            step("c", &[("прослушал", end("Готово"))]),
            step("b", &[("клавиша 1", go("c")), ("клавиша 2", end("Отказ"))]),
            step("a", &[("клавиша 1", go("b")), ("клавиша 3", go("c"))]),
        ],
    };
    let l = layout(&f);
    let layers = layers(&l);
    assert_eq!(layers[&0], vec!["a"]);
    assert_eq!(layers[&1], vec!["b"]);
    let mut two = layers[&2].clone();
    two.sort();
    assert_eq!(
        two,
        vec!["= Отказ", "c"],
        "c comes after b, which leads to it"
    );
    assert_eq!(layers[&3], vec!["= Готово"]);
    // Each row lies below the one before; arrows go down from the bottom of their box.
    assert!(node(&l, "b").y > node(&l, "a").y + node(&l, "a").h);
    assert!(node(&l, "Готово").y > node(&l, "c").y + node(&l, "c").h);
    assert_eq!(l.edges.len(), 5);
    assert!(l.edges.iter().all(|e| !e.back), "{:?}", l.edges);
    // a → c passes a waypoint in b's row, beside b.
    let ac = l.edges.iter().find(|e| e.label == "клавиша 3").unwrap();
    assert_eq!(ac.d.matches('L').count(), 3, "{}", ac.d);
    let waypoint = l
        .nodes
        .iter()
        .find(|n| n.step.is_none() && n.end.is_none())
        .unwrap();
    assert_eq!(waypoint.layer, 1);
    let b = node(&l, "b");
    assert!(waypoint.x + waypoint.w <= b.x || waypoint.x >= b.x + b.w);
}

#[test]
fn boxes_never_overlap_and_everything_fits_in_the_picture() {
    let mut steps = vec![step(
        "start",
        &[
            ("1", go("s1")),
            ("2", go("s2")),
            ("3", go("s3")),
            ("4", go("s4")),
            ("тишина 10 с", end("Молчит")),
        ],
    )];
    for i in 1..=4 {
        steps.push(step(
            &format!("s{i}"),
            &[("прослушал", end(&format!("r{}", i % 2)))],
        ));
    }
    let l = layout(&Flow {
        start: "start".into(),
        steps,
    });
    for (i, a) in l.nodes.iter().enumerate() {
        assert!(a.x >= 0 && a.y >= 0 && a.x + a.w <= l.width && a.y + a.h <= l.height);
        for b in &l.nodes[i + 1..] {
            let apart =
                a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
            assert!(apart, "{a:?} overlaps {b:?}");
        }
    }
    for e in &l.edges {
        assert!(e.label_x < l.width && e.label_y < l.height, "{e:?}");
    }
    // The labels of one box's arrows are on separate rows.
    let mut ys: Vec<i32> = l
        .edges
        .iter()
        .filter(|e| e.from == 0)
        .map(|e| e.label_y)
        .collect();
    ys.dedup();
    assert_eq!(ys.len(), 5, "{ys:?}");
}

#[test]
fn an_arrow_back_to_the_same_or_an_earlier_step_runs_on_the_right() {
    let f = Flow {
        start: "q".into(),
        steps: vec![
            step("q", &[("тишина 10 с", go("q")), ("клавиша 1", go("again"))]),
            step("again", &[("клавиша 0", go("q")), ("прослушал", end("Да"))]),
        ],
    };
    let l = layout(&f);
    let back: Vec<&Edge> = l.edges.iter().filter(|e| e.back).collect();
    assert_eq!(back.len(), 2, "{:?}", l.edges);
    let right = l.nodes.iter().map(|n| n.x + n.w).max().unwrap();
    for e in back {
        assert!(e.label_x > right, "{e:?}");
        assert!(
            e.d.contains('Q'),
            "along a lane with rounded corners: {}",
            e.d
        );
    }
    let svg = svg(&l);
    assert!(svg.contains("тишина 10 с") && svg.contains("клавиша 0"));
    assert!(svg.contains("class=\"edge back\""));
}

#[test]
fn every_text_in_the_svg_is_escaped() {
    let evil = "<script>alert(1)</script>";
    let img = "\"><img src=x onerror=alert(2)>";
    let mut s = step(evil, &[(img, end(img))]);
    s.lines = vec![format!("▶ {img}.wav")];
    s.exits[0].badges = vec![format!("в проект «{evil}»")];
    let out = draw(&Flow {
        start: evil.into(),
        steps: vec![s],
    });
    assert!(!out.contains("<script") && !out.contains("<img"), "{out}");
    assert!(
        out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{out}"
    );
    assert!(out.contains("&quot;&gt;&lt;img"), "{out}");
    assert!(!out.contains("style="), "no inline styles: {out}");
}

#[test]
fn a_loaded_scenario_becomes_steps_reactions_results_and_badges() {
    let src = r#"
name = "Опрос"
results = ["Доволен", "Недоволен", "Перевод"]
start = "question"

[steps.question]
play = ["transfer/connecting.wav"]
[[steps.question.on]]
dtmf = "1"
result = "Доволен"
next = "thanks"
[[steps.question.on]]
dtmf = "2"
result = "Недоволен"
actions = [{ sms = "Жаль, {name}" }]
[[steps.question.on]]
dtmf = "0"
result = "Перевод"
actions = [{ transfer = "agents" }]
next = "thanks"
[[steps.question.on]]
timeout = true
next = "question"

[steps.thanks]
play = ["transfer/hold.wav"]
"#;
    let dir = tempfile::tempdir().unwrap();
    let opts = LoadOptions {
        prompts_dir: dir.path().to_path_buf(),
        speech: None,
    };
    let s = load_str(src, Format::Toml, "t", None, &opts).expect("a valid scenario");
    let f = Flow::of(&s, &[dir.path()]);
    let q = f.steps.iter().find(|s| s.name == "question").unwrap();
    assert_eq!(q.lines, vec!["▶ transfer/connecting.wav"]);
    let labels: Vec<&str> = q.exits.iter().map(|e| e.label.as_str()).collect();
    assert_eq!(
        labels,
        vec!["клавиша 1", "клавиша 2", "клавиша 0", "тишина 10 с"]
    );
    assert_eq!(q.exits[0].to, go("thanks"));
    assert_eq!(q.exits[1].to, end("Недоволен"));
    assert_eq!(q.exits[1].badges, vec!["SMS"]);
    // A transfer ends the robot's part whatever `next` says.
    assert_eq!(q.exits[2].to, end("Перевод"));
    assert_eq!(q.exits[2].badges, vec!["перевод: agents"]);
    let t = f.steps.iter().find(|s| s.name == "thanks").unwrap();
    assert_eq!(t.exits[0].label, "прослушал");
    assert_eq!(t.exits[0].to, Target::End(None), "the result set before");
    let out = draw(&f);
    for text in [
        "question",
        "thanks",
        "клавиша 2",
        "Недоволен",
        "SMS",
        "результат: Доволен",
        "конец",
        "transfer/connecting.wav",
    ] {
        assert!(out.contains(text), "{text} missing: {out}");
    }
}
