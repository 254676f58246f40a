//! Learned greetings (docs/amd.md, "Learned greetings"): the recordings the robot has met on
//! calls — carrier voicemails, voice assistants, IVR menus — kept as fingerprints, and what
//! makes one decide. A recording is the same audio on every call and a person never is: a
//! greeting heard on calls to at least `min_numbers` other numbers (or uploaded as known) is
//! a machine when it is heard again. Pure: the index, the matcher and the rules; the store
//! and the files that keep them are the callers'.
use super::fingerprint::{probes, Landmark, COLUMN_MS};
use std::collections::HashMap;

/// Landmarks in a row of the matcher's votes: offsets within this many columns agree (a lost
/// frame or a jittery peak moves a pair by a column or two).
pub const OFFSET_BUCKET: i32 = 2;
/// A match is sure when this many landmarks agree on one offset…
pub const MIN_SCORE: u32 = 52;
/// … and they are at least this share (per cent) of the landmarks heard within the matched
/// stretch (a long call that happens to share a few pairs with a greeting is no match).
pub const MIN_SHARE_PCT: u32 = 8;
/// Heard on calls to this many other numbers, a greeting decides (the default of
/// `amd.learn_after_numbers`).
pub const MIN_NUMBERS: usize = 2;
/// What of a call is fingerprinted and kept: its first seconds from the answer.
pub const LISTEN_MS: u64 = 6_000;
/// A greeting kept has at most this many landmarks (the first ones)…
pub const MAX_LANDMARKS: usize = 600;
/// … and grows to at most this many with what later calls hear of it (other parts of it
/// when joined late, its landmarks as another codec leaves them).
pub const MAX_GROWN_LANDMARKS: usize = 1_500;
/// … and at least this many, else it is too little to know again (a short «Алло»).
pub const MIN_LANDMARKS: usize = 40;
/// Numbers remembered per greeting (only how many differ matters past a few).
pub const MAX_NUMBERS: usize = 16;

/// What a greeting is, as a user labelled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    CarrierVoicemail,
    Assistant,
    Ivr,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::CarrierVoicemail => "carrier_voicemail",
            Label::Assistant => "assistant",
            Label::Ivr => "ivr",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "carrier_voicemail" => Some(Label::CarrierVoicemail),
            "assistant" => Some(Label::Assistant),
            "ivr" => Some(Label::Ivr),
            _ => None,
        }
    }
}

/// One greeting as the library keeps it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Greeting {
    pub id: i64,
    pub landmarks: Vec<Landmark>,
    /// Hashes of the numbers it was heard on, distinct, at most `MAX_NUMBERS`.
    pub numbers: Vec<u64>,
    /// Distinct numbers it was heard on (past `MAX_NUMBERS` too).
    pub numbers_seen: u32,
    pub times_seen: u32,
    pub first_seen: i64,
    pub last_seen: i64,
    pub label: Option<Label>,
    /// Marked "not a machine": it never decides.
    pub not_machine: bool,
    /// Uploaded as known: it decides from the first call.
    pub uploaded: bool,
}

impl Greeting {
    /// A greeting heard once, on `number` at `now`.
    pub fn heard_once(id: i64, landmarks: Vec<Landmark>, number: u64, now: i64) -> Self {
        Self {
            id,
            landmarks,
            numbers: vec![number],
            numbers_seen: 1,
            times_seen: 1,
            first_seen: now,
            last_seen: now,
            label: None,
            not_machine: false,
            uploaded: false,
        }
    }

    /// Whether hearing it on a call to `number` decides `machine`.
    pub fn decides(&self, number: u64, min_numbers: usize) -> bool {
        if self.not_machine {
            return false;
        }
        if self.uploaded {
            return true;
        }
        let others = self.numbers.iter().filter(|n| **n != number).count();
        let beyond = (self.numbers_seen as usize).saturating_sub(self.numbers.len());
        others + beyond >= min_numbers
    }
}

/// Where each hash occurs: greeting and column.
#[derive(Debug, Default)]
pub struct GreetingIndex {
    postings: HashMap<u32, Vec<(u32, u32)>>,
    /// Store id → the index's own dense id.
    ids: HashMap<i64, u32>,
    back: Vec<i64>,
}

impl GreetingIndex {
    pub fn insert(&mut self, id: i64, landmarks: &[Landmark]) {
        let slot = *self.ids.entry(id).or_insert_with(|| {
            self.back.push(id);
            (self.back.len() - 1) as u32
        });
        for l in landmarks {
            self.postings.entry(l.hash).or_default().push((slot, l.t));
        }
    }

    pub fn remove(&mut self, id: i64, landmarks: &[Landmark]) {
        let Some(slot) = self.ids.remove(&id) else {
            return;
        };
        for l in landmarks {
            if let Some(p) = self.postings.get_mut(&l.hash) {
                p.retain(|(s, _)| *s != slot);
                if p.is_empty() {
                    self.postings.remove(&l.hash);
                }
            }
        }
    }

    /// Postings held (the index's size).
    pub fn postings(&self) -> usize {
        self.postings.values().map(Vec::len).sum()
    }

    fn id_of(&self, slot: u32) -> Option<i64> {
        self.back.get(slot as usize).copied()
    }
}

/// A greeting heard on this call, as sure as the votes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub id: i64,
    /// Landmarks agreeing on the offset.
    pub score: u32,
    /// The call's column where the greeting started (the offset).
    pub offset: i32,
}

/// One call's votes: each landmark heard votes for every greeting holding its hash, at the
/// offset between the two.
#[derive(Debug, Default)]
pub struct Matcher {
    votes: HashMap<(u32, i32), u32>,
    heard: u32,
    /// A greeting not to match (tests: a recording against all the others).
    skip: Option<i64>,
    best: Option<(u32, i32, u32)>,
}

impl Matcher {
    pub fn new() -> Self {
        Self::default()
    }

    /// A matcher that never names greeting `id`.
    pub fn excluding(mut self, id: i64) -> Self {
        self.skip = Some(id);
        self
    }

    /// Adds the call's new landmarks.
    pub fn add(&mut self, index: &GreetingIndex, landmarks: &[Landmark]) {
        let skip = self.skip.and_then(|id| index.ids.get(&id).copied());
        for l in landmarks {
            self.heard += 1;
            let mut voted: [(u32, i32); 32] = [(u32::MAX, 0); 32];
            let mut n = 0;
            let found = probes(l.hash).filter_map(|h| index.postings.get(&h));
            for &(slot, t) in found.flatten() {
                if Some(slot) == skip {
                    continue;
                }
                let bucket = (l.t as i32 - t as i32).div_euclid(OFFSET_BUCKET);
                // A landmark votes once per greeting and offset.
                if voted[..n].contains(&(slot, bucket)) {
                    continue;
                }
                if n < voted.len() {
                    voted[n] = (slot, bucket);
                    n += 1;
                }
                *self.votes.entry((slot, bucket)).or_insert(0) += 1;
                let score = self.score(slot, bucket);
                if self.best.is_none_or(|(_, _, s)| score > s) {
                    self.best = Some((slot, bucket, score));
                }
            }
        }
    }

    fn score(&self, slot: u32, bucket: i32) -> u32 {
        (bucket - 1..=bucket + 1)
            .map(|b| self.votes.get(&(slot, b)).copied().unwrap_or(0))
            .sum()
    }

    /// The best greeting so far, if the match is sure.
    pub fn sure(&self, index: &GreetingIndex) -> Option<Match> {
        let (slot, bucket, score) = self.best?;
        let share_ok = score * 100 >= MIN_SHARE_PCT * self.heard.max(1);
        (score >= MIN_SCORE && share_ok).then(|| Match {
            id: index.id_of(slot).unwrap_or(-1),
            score,
            offset: bucket * OFFSET_BUCKET,
        })
    }

    /// The best candidate whatever its score (for learning: the same greeting again).
    pub fn best(&self, index: &GreetingIndex) -> Option<Match> {
        let (slot, bucket, score) = self.best?;
        Some(Match {
            id: index.id_of(slot)?,
            score,
            offset: bucket * OFFSET_BUCKET,
        })
    }
}

/// What the learning of a call comes to.
#[derive(Debug, Clone, PartialEq)]
pub enum Learned {
    /// Heard before: this greeting was heard again on this number.
    Again { id: i64 },
    /// New: keep these landmarks as a greeting heard once.
    New { landmarks: Vec<Landmark> },
    /// Nothing to keep: too little audio, or a person (keys pressed, an answer heard).
    Nothing,
}

/// A number as the library remembers it: a hash, never the number.
pub fn number_key(number: &str) -> u64 {
    // FNV-1a: stable across versions and machines (the store keeps it).
    number
        .bytes()
        .filter(u8::is_ascii_digit)
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// All greetings known, and the index to find them.
#[derive(Debug, Default)]
pub struct Library {
    pub greetings: HashMap<i64, Greeting>,
    pub index: GreetingIndex,
    pub min_numbers: usize,
}

impl Library {
    pub fn new(min_numbers: usize) -> Self {
        Self {
            min_numbers: min_numbers.max(1),
            ..Default::default()
        }
    }

    pub fn add(&mut self, g: Greeting) {
        if let Some(old) = self.greetings.remove(&g.id) {
            self.index.remove(old.id, &old.landmarks);
        }
        self.index.insert(g.id, &g.landmarks);
        self.greetings.insert(g.id, g);
    }

    pub fn remove(&mut self, id: i64) -> Option<Greeting> {
        let g = self.greetings.remove(&id)?;
        self.index.remove(id, &g.landmarks);
        Some(g)
    }

    /// Whether a sure match decides on a call to `number`; its greeting if so.
    pub fn deciding(&self, m: &Match, number: u64) -> Option<&Greeting> {
        self.greetings
            .get(&m.id)
            .filter(|g| g.decides(number, self.min_numbers))
    }

    /// What to learn from a call to `number` that heard `landmarks` in its first
    /// `LISTEN_MS` (masked where the robot's echo or tones were), whose best match was
    /// `matched`, and where the callee showed to be a person (`person`) or not.
    pub fn learn(&self, landmarks: &[Landmark], matched: Option<Match>, person: bool) -> Learned {
        if let Some(m) = matched.filter(|m| self.greetings.contains_key(&m.id)) {
            return Learned::Again { id: m.id };
        }
        if person || landmarks.len() < MIN_LANDMARKS {
            return Learned::Nothing;
        }
        let mut kept: Vec<Landmark> = landmarks
            .iter()
            .filter(|l| u64::from(l.t) * COLUMN_MS < LISTEN_MS)
            .copied()
            .collect();
        kept.sort_by_key(|l| l.t);
        kept.truncate(MAX_LANDMARKS);
        if kept.len() < MIN_LANDMARKS {
            return Learned::Nothing;
        }
        Learned::New { landmarks: kept }
    }

    /// Notes a greeting heard again on `number` at `now`, and grows it with the `heard`
    /// landmarks at the match's `offset` that it lacks (up to `MAX_GROWN_LANDMARKS`).
    pub fn seen(
        &mut self,
        id: i64,
        number: u64,
        now: i64,
        heard: Option<(&[Landmark], i32)>,
    ) -> Option<&Greeting> {
        if let (Some((landmarks, offset)), Some(g)) = (heard, self.greetings.get(&id)) {
            let have: std::collections::HashSet<(u32, u32)> =
                g.landmarks.iter().map(|l| (l.hash, l.t / 4)).collect();
            let room = MAX_GROWN_LANDMARKS.saturating_sub(g.landmarks.len());
            let new: Vec<Landmark> = landmarks
                .iter()
                .filter_map(|l| {
                    let t = i64::from(l.t) - i64::from(offset);
                    let t = u32::try_from(t).ok()?;
                    (!have.contains(&(l.hash, t / 4))).then_some(Landmark { hash: l.hash, t })
                })
                .filter(|l| u64::from(l.t) * COLUMN_MS < LISTEN_MS * 2)
                .take(room)
                .collect();
            if !new.is_empty() {
                self.index.insert(id, &new);
                if let Some(g) = self.greetings.get_mut(&id) {
                    g.landmarks.extend(new);
                }
            }
        }
        let g = self.greetings.get_mut(&id)?;
        g.times_seen += 1;
        g.last_seen = now;
        if !g.numbers.contains(&number) {
            g.numbers_seen += 1;
            if g.numbers.len() < MAX_NUMBERS {
                g.numbers.push(number);
            }
        }
        Some(g)
    }
}

/// Landmarks as stored: 8 bytes each (hash, column; little-endian).
pub fn encode(landmarks: &[Landmark]) -> Vec<u8> {
    let mut out = Vec::with_capacity(landmarks.len() * 8);
    for l in landmarks {
        out.extend_from_slice(&l.hash.to_le_bytes());
        out.extend_from_slice(&l.t.to_le_bytes());
    }
    out
}

/// Landmarks from their stored bytes (a torn tail is dropped).
pub fn decode(bytes: &[u8]) -> Vec<Landmark> {
    bytes
        .chunks_exact(8)
        .map(|c| Landmark {
            hash: u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
            t: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lm(hash: u32, t: u32) -> Landmark {
        Landmark { hash, t }
    }

    /// A greeting of `n` distinct pairs, one every two columns.
    fn greeting(seed: u32, n: u32) -> Vec<Landmark> {
        (0..n)
            .map(|i| {
                lm(
                    seed.wrapping_mul(7919).wrapping_add(i * 104_729) & 0x7_ffff,
                    i * 2,
                )
            })
            .collect()
    }

    fn g(id: i64, landmarks: Vec<Landmark>, numbers: &[u64]) -> Greeting {
        Greeting {
            id,
            landmarks,
            numbers: numbers.to_vec(),
            numbers_seen: numbers.len() as u32,
            times_seen: numbers.len() as u32,
            first_seen: 0,
            last_seen: 0,
            label: None,
            not_machine: false,
            uploaded: false,
        }
    }

    #[test]
    fn a_greeting_heard_late_matches_at_its_offset_and_a_stranger_does_not() {
        let mut lib = Library::new(2);
        lib.add(g(1, greeting(1, 200), &[10, 11]));
        lib.add(g(2, greeting(2, 200), &[12]));
        // Greeting 1 joined 75 columns in, heard from a call's column 30 on.
        let heard: Vec<Landmark> = greeting(1, 200)
            .into_iter()
            .filter(|l| l.t >= 150)
            .map(|l| lm(l.hash, l.t - 150 + 30))
            .collect();
        let mut m = Matcher::new();
        m.add(&lib.index, &heard[..MIN_SCORE as usize - 1]);
        assert_eq!(m.sure(&lib.index), None, "not sure on too few");
        m.add(&lib.index, &heard[MIN_SCORE as usize - 1..]);
        let hit = m.sure(&lib.index).expect("sure");
        assert_eq!(hit.id, 1);
        assert!((hit.offset - -120).abs() <= OFFSET_BUCKET, "{hit:?}");
        // Heard on two other numbers: it decides on a third, not on one of its own two.
        assert!(lib.deciding(&hit, 99).is_some());
        assert!(lib.deciding(&hit, 10).is_none());
        let mut stranger = Matcher::new();
        stranger.add(&lib.index, &greeting(3, 200));
        assert_eq!(stranger.sure(&lib.index), None);
    }

    #[test]
    fn not_a_machine_never_decides_and_uploaded_ones_decide_at_once() {
        let mut a = g(1, greeting(1, 100), &[1, 2, 3]);
        assert!(a.decides(9, 2));
        a.not_machine = true;
        assert!(!a.decides(9, 2));
        let mut b = g(2, greeting(2, 100), &[]);
        assert!(!b.decides(9, 2));
        b.uploaded = true;
        assert!(b.decides(9, 2));
    }

    #[test]
    fn learning_adds_numbers_once_and_keeps_new_greetings_but_not_people() {
        let mut lib = Library::new(2);
        let heard = greeting(5, 300);
        let Learned::New { landmarks } = lib.learn(&heard, None, false) else {
            panic!("a new greeting");
        };
        assert!(landmarks.len() <= MAX_LANDMARKS);
        lib.add(g(7, landmarks, &[1]));
        assert_eq!(lib.learn(&heard, None, true), Learned::Nothing, "a person");
        assert_eq!(
            lib.learn(&heard[..10], None, false),
            Learned::Nothing,
            "too little"
        );
        let mut m = Matcher::new();
        m.add(&lib.index, &heard);
        let hit = m.sure(&lib.index);
        assert_eq!(lib.learn(&heard, hit, false), Learned::Again { id: 7 });
        lib.seen(7, 1, 5, None);
        lib.seen(7, 2, 6, None);
        lib.seen(7, 2, 7, None);
        let kept = &lib.greetings[&7];
        assert_eq!(
            (kept.numbers_seen, kept.times_seen, kept.last_seen),
            (2, 4, 7)
        );
        lib.remove(7);
        assert_eq!(lib.index.postings(), 0);
    }

    #[test]
    fn landmarks_survive_their_bytes() {
        let l = greeting(9, 50);
        assert_eq!(decode(&encode(&l)), l);
        assert_eq!(decode(&encode(&l)[..17]).len(), 2, "a torn tail is dropped");
        assert_eq!(number_key("+7 (999) 123-45-67"), number_key("79991234567"));
        assert_ne!(number_key("+79991234567"), number_key("+79991234568"));
    }
}
