//! Learned greetings as stored (docs/amd.md, "Learned greetings"; migration 0016): the
//! fingerprints, where and how often they were heard, a sample, and what users said of them.
use super::StoreError;
use crate::media::greetings::{Greeting, Label};
use async_trait::async_trait;

/// A greeting as the API lists it (no fingerprint, no sample).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GreetingView {
    pub id: i64,
    pub name: String,
    pub label: Option<Label>,
    pub not_machine: bool,
    pub uploaded: bool,
    pub numbers_seen: u32,
    pub times_seen: u32,
    pub first_seen: i64,
    pub last_seen: i64,
    /// Landmarks in its fingerprint.
    pub landmarks: usize,
    /// Whether it has a sample (`GET /greetings/{id}/sample`).
    pub has_sample: bool,
    /// Whether it decides `machine` now (uploaded, or heard on enough numbers, and not
    /// marked "not a machine").
    pub decides: bool,
}

/// A user's change of a greeting (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct GreetingEdit {
    /// `Some(None)`: unlabelled.
    pub label: Option<Option<Label>>,
    pub not_machine: Option<bool>,
    pub name: Option<String>,
}

#[async_trait]
pub trait GreetingStore: Send + Sync {
    /// Every greeting with its fingerprint (loaded into the library at start).
    async fn load_greetings(&self) -> Result<Vec<Greeting>, StoreError>;
    /// Keeps a new greeting; answers its id (the `id` given is ignored).
    async fn add_greeting(
        &self,
        g: &Greeting,
        name: &str,
        sample: Option<&[u8]>,
    ) -> Result<i64, StoreError>;
    /// Writes what a call changed of a greeting heard again (numbers, counts, last seen, the
    /// landmarks it grew by), and its sample when it has none yet.
    async fn greeting_seen(&self, g: &Greeting, sample: Option<&[u8]>) -> Result<(), StoreError>;
    async fn list_greetings(&self, min_numbers: usize) -> Result<Vec<GreetingView>, StoreError>;
    async fn greeting(&self, id: i64, min_numbers: usize) -> Result<GreetingView, StoreError>;
    /// The sample WAV (`NotFound` without the greeting; `None` without a sample).
    async fn greeting_sample(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError>;
    async fn edit_greeting(&self, id: i64, e: &GreetingEdit) -> Result<(), StoreError>;
    async fn delete_greeting(&self, id: i64) -> Result<(), StoreError>;
    /// Forgets greetings heard on one number only, unlabelled, not uploaded, not seen since
    /// `before` (unix s), and the oldest of them past `keep`; answers their ids.
    async fn prune_greetings(&self, before: i64, keep: usize) -> Result<Vec<i64>, StoreError>;
}
