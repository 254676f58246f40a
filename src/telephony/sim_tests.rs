//! The simulated carrier: behaviours, its audio, its line limit.
use super::*;

#[test]
fn behaviours_parse_and_bad_ones_are_explained() {
    assert_eq!("busy".parse(), Ok(Behaviour::Busy));
    assert_eq!(
        "rfc4733:12#".parse(),
        Ok(Behaviour::Keys {
            keys: "12#".into(),
            rfc4733: true,
            hang_up_after_s: None,
        })
    );
    assert_eq!(
        "keys:3/10".parse(),
        Ok(Behaviour::Keys {
            keys: "3".into(),
            rfc4733: false,
            hang_up_after_s: Some(10),
        })
    );
    assert!("keys:3/x".parse::<Behaviour>().is_err());
    assert_eq!("says:да".parse(), Ok(Behaviour::Says("да".into())));
    let e = "keys:x".parse::<Behaviour>().unwrap_err();
    assert!(e.contains("keys:DIGITS"), "{e}");
}

#[test]
fn the_default_mapping_shows_every_outcome_by_last_digit() {
    let all: Vec<Behaviour> = (0..10)
        .map(|d| default_behaviour(&format!("+7999000000{d}")))
        .collect();
    let mut kinds: Vec<String> = all
        .iter()
        .map(|b| {
            format!("{b:?}")
                .split([' ', '('])
                .next()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    kinds.dedup();
    assert_eq!(all.len(), 10);
    assert!(all.contains(&Behaviour::Voicemail) && all.contains(&Behaviour::Unreachable));
    assert_eq!(kinds.len(), 9, "{kinds:?}");
}

fn request(number: &str) -> DialRequest {
    DialRequest {
        call_id: "t".into(),
        number: number.into(),
        caller_id: None,
    }
}

#[tokio::test]
async fn the_line_limit_refuses_a_call_and_a_finished_call_frees_its_line() {
    let cfg = SimConfig {
        max_calls: 1,
        ring_min_s: 0.0,
        ring_max_s: 0.0,
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let trunk = SimTrunk::new(cfg, dir.path()).unwrap();
    let mut busy = trunk.dial(request("+79990000001")).await.unwrap();
    let refused = trunk.dial(request("+79990000002")).await.err();
    assert!(
        matches!(refused, Some(TrunkError::LinesFull { max: 1 })),
        "{refused:?}"
    );
    while let Some(ev) = busy.events.recv().await {
        if matches!(ev, LegEvent::Ended(_)) {
            break;
        }
    }
    for _ in 0..200 {
        if trunk.calls_up() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(trunk.calls_up(), 0);
    assert!(trunk.dial(request("+79990000002")).await.is_ok());
}

#[test]
fn audio_comes_bundled_a_prompts_folder_overrides_it_and_says_files_are_decoded_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let bundled = SimTrunk::new(SimConfig::default(), dir.path()).unwrap();
    crate::media::prompt::write_test_wav(&dir.path().join("da.wav"), 100);
    let reading = dir.path().join("reading.wav");
    crate::media::prompt::write_test_wav(&reading, 200);
    let mut cfg = SimConfig::default();
    let file = reading.display().to_string();
    cfg.numbers
        .insert("+79990000001".into(), format!("says:{file}"));
    cfg.numbers
        .insert("+79990000002".into(), "says:привет".into());
    let own = SimTrunk::new(cfg, dir.path()).unwrap();
    assert_eq!(own.audio.words["да"].len(), 800, "the folder's own da.wav");
    assert!(bundled.audio.words["да"].len() > 800, "the bundled one");
    assert_eq!(own.audio.words[&file].len(), 1600);
    assert!(!own.audio.words.contains_key("привет"), "stays silent");
    let absurd = SimConfig {
        ring_max_s: 1e300,
        ..Default::default()
    };
    assert!(SimTrunk::new(absurd, dir.path()).is_err());
}
