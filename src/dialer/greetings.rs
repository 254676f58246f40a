//! Learned greetings kept (docs/amd.md, "Learned greetings"): the book every call matches
//! against, loaded from the store at start, and what each finished call teaches it, written
//! to the store before the book changes. The API's `/greetings` routes change it through here
//! too, so the book and the store never differ for long.
use crate::call::greetings::{GreetingBook, HeardGreeting};
use crate::clock::Clock;
use crate::media::greetings::{Greeting, Label, Learned, Library};
use crate::store::{GreetingEdit, GreetingStore, StoreError};
use std::sync::Arc;

/// Greetings heard on one number only are forgotten after this long unheard…
pub const FORGET_AFTER_S: i64 = 30 * 86_400;
/// … and past this many the oldest go (each is a few KB of memory).
pub const KEEP_UNCONFIRMED: usize = 20_000;
/// New greetings between two prunings.
const PRUNE_EVERY: u32 = 500;
/// Seconds of an uploaded greeting fingerprinted.
pub const UPLOAD_S: usize = 30;
/// Seconds of a greeting kept as its sample (what a call keeps of its audio).
pub const SAMPLE_S: usize = (crate::call::greetings::SAMPLE_MS / 1000) as usize;

/// The book and the store that keeps it.
pub struct GreetingKeeper {
    pub book: Arc<GreetingBook>,
    store: Arc<dyn GreetingStore>,
    clock: Clock,
    new_since_prune: std::sync::atomic::AtomicU32,
}

impl GreetingKeeper {
    /// Loads every greeting kept; forgets the stale ones first.
    pub async fn load(
        store: Arc<dyn GreetingStore>,
        min_numbers: usize,
        clock: Clock,
    ) -> Result<Self, StoreError> {
        let now = clock.now_s();
        store
            .prune_greetings(now - FORGET_AFTER_S, KEEP_UNCONFIRMED)
            .await?;
        let mut library = Library::new(min_numbers);
        for g in store.load_greetings().await? {
            library.add(g);
        }
        Ok(Self {
            book: GreetingBook::new(library),
            store,
            clock,
            new_since_prune: Default::default(),
        })
    }

    /// The store (the API's reads).
    pub fn store(&self) -> &dyn GreetingStore {
        self.store.as_ref()
    }

    /// Greetings in the book.
    pub fn len(&self) -> usize {
        self.book
            .library
            .read()
            .map(|l| l.greetings.len())
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn min_numbers(&self) -> usize {
        self.book
            .library
            .read()
            .map(|l| l.min_numbers)
            .unwrap_or(crate::media::greetings::MIN_NUMBERS)
    }

    /// Learns from a finished call at `now` (unix s).
    pub async fn learn(&self, heard: &HeardGreeting, now: i64) -> Result<(), StoreError> {
        match self.book.learn(heard) {
            Learned::Nothing => Ok(()),
            Learned::Again { id } => {
                let (g, first_confirmation) = {
                    let Ok(mut l) = self.book.library.write() else {
                        return Ok(());
                    };
                    let min = l.min_numbers;
                    let before = l.greetings.get(&id).map(|g| g.numbers_seen);
                    match l.seen(id, heard.number, now, heard.grow()) {
                        Some(g) => {
                            let confirmed = before.is_some_and(|b| (b as usize) < min)
                                && g.numbers_seen as usize >= min;
                            (g.clone(), confirmed)
                        }
                        None => return Ok(()),
                    }
                };
                // The sample is kept once a greeting is heard on enough numbers to decide.
                let sample = first_confirmation.then(|| wav(&heard.sample));
                if first_confirmation {
                    tracing::info!(
                        greeting = id,
                        numbers = g.numbers_seen,
                        "a greeting is learned: it decides from now on"
                    );
                }
                self.store.greeting_seen(&g, sample.as_deref()).await
            }
            Learned::New { landmarks } => {
                let g = Greeting::heard_once(0, landmarks, heard.number, now);
                let id = self.store.add_greeting(&g, "", None).await?;
                if let Ok(mut l) = self.book.library.write() {
                    l.add(Greeting { id, ..g });
                }
                let n = self
                    .new_since_prune
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n + 1 >= PRUNE_EVERY {
                    self.new_since_prune
                        .store(0, std::sync::atomic::Ordering::Relaxed);
                    self.prune(now).await?;
                }
                Ok(())
            }
        }
    }

    /// Forgets the stale greetings heard once, in the store and the book.
    pub async fn prune(&self, now: i64) -> Result<usize, StoreError> {
        let gone = self
            .store
            .prune_greetings(now - FORGET_AFTER_S, KEEP_UNCONFIRMED)
            .await?;
        if let Ok(mut l) = self.book.library.write() {
            for id in &gone {
                l.remove(*id);
            }
        }
        Ok(gone.len())
    }

    /// A greeting uploaded as known (a carrier's voicemail, an assistant's opening): it
    /// decides from the first call. Its first `UPLOAD_S` seconds count. Answers its id, or
    /// why its audio is too little.
    pub async fn upload(
        &self,
        samples: &[i16],
        name: &str,
        label: Option<Label>,
    ) -> Result<Result<i64, String>, StoreError> {
        let now = self.clock.now_s();
        let samples = &samples[..samples.len().min(UPLOAD_S * 8000)];
        let mut lm = crate::media::fingerprint::fingerprint(samples);
        lm.sort_by_key(|l| l.t);
        if lm.len() < crate::media::greetings::MIN_LANDMARKS {
            return Ok(Err(format!(
                "the audio gives {} landmarks, a greeting needs {}: upload at least 2 s of the \
                 greeting's speech",
                lm.len(),
                crate::media::greetings::MIN_LANDMARKS
            )));
        }
        let g = Greeting {
            id: 0,
            landmarks: lm,
            numbers: Vec::new(),
            numbers_seen: 0,
            times_seen: 0,
            first_seen: now,
            last_seen: now,
            label,
            not_machine: false,
            uploaded: true,
        };
        let id = self
            .store
            .add_greeting(&g, name, Some(&wav(samples)))
            .await?;
        if let Ok(mut l) = self.book.library.write() {
            l.add(Greeting { id, ..g });
        }
        Ok(Ok(id))
    }

    /// A user's label, "not a machine" or name.
    pub async fn edit(&self, id: i64, e: &GreetingEdit) -> Result<(), StoreError> {
        self.store.edit_greeting(id, e).await?;
        if let Ok(mut l) = self.book.library.write() {
            if let Some(g) = l.greetings.get_mut(&id) {
                if let Some(label) = e.label {
                    g.label = label;
                }
                if let Some(n) = e.not_machine {
                    g.not_machine = n;
                }
            }
        }
        Ok(())
    }

    pub async fn delete(&self, id: i64) -> Result<(), StoreError> {
        self.store.delete_greeting(id).await?;
        if let Ok(mut l) = self.book.library.write() {
            l.remove(id);
        }
        Ok(())
    }
}

/// The first `SAMPLE_S` seconds as a WAV file's bytes (8 kHz, 16-bit mono).
pub fn wav(samples: &[i16]) -> Vec<u8> {
    crate::media::audio::wav_8k(&samples[..samples.len().min(SAMPLE_S * 8000)])
}
