//! What the admin pages of the web UI read (docs/users.md): an import's progress and the
//! values it refused, the stop list searched by the start of a number, the server's counts and
//! the last SMS outcomes. Plain data and the trait each backend implements; nothing here
//! writes.
use super::StoreError;
use async_trait::async_trait;

/// Refused values kept per import for the full list (the answer lists only the first ones):
/// at about 150 bytes a value, a file of nothing but bad rows keeps at most ~150 MB, and only
/// until the next import into its project.
pub const MAX_KEPT_REJECTS: u64 = 1_000_000;

/// How an import is followed while it runs.
#[derive(Debug, Default)]
pub struct ImportWatch {
    /// The upload's size in bytes, if known (a `Content-Length`): progress is shown against it.
    pub size: Option<u64>,
    /// Gets the import's id as soon as it is registered.
    pub begun: Option<tokio::sync::oneshot::Sender<i64>>,
}

/// An import as the store tracks it: running (figures so far), done (its report's figures)
/// or failed (why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportStatus {
    pub id: i64,
    pub project_id: i64,
    /// `running`, `done` or `failed`.
    pub state: String,
    /// Unix s.
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub rows_read: u64,
    pub imported: u64,
    pub duplicates: u64,
    /// Refused values (a row may have several).
    pub rejected: u64,
    pub bytes_read: u64,
    pub bytes_total: Option<u64>,
    pub error: Option<String>,
    /// Refused values kept for the full list (at most `MAX_KEPT_REJECTS`).
    pub rejects_kept: u64,
}

/// One refused value of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectRow {
    /// File order among the import's refused values (the cursor of the next page).
    pub seq: i64,
    pub row: u64,
    pub value: String,
    pub kind: String,
    pub reason: String,
}

/// The server's totals (the settings page).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerCounts {
    pub projects: i64,
    pub contacts: i64,
    pub calls: i64,
    pub users: i64,
    pub agents: i64,
    pub stop_list: i64,
}

/// An SMS as the outbox last left it.
#[derive(Debug, Clone, PartialEq)]
pub struct SmsOutcome {
    pub id: i64,
    pub project_id: i64,
    pub status: String,
    pub last_error: Option<String>,
    /// Unix ms of its last change.
    pub at: i64,
}

#[async_trait]
pub trait AdminStore: Send + Sync {
    /// One import.
    async fn import_status(&self, id: i64) -> Result<Option<ImportStatus>, StoreError>;
    /// The newest import of a project.
    async fn latest_import(&self, project_id: i64) -> Result<Option<ImportStatus>, StoreError>;
    /// An import's refused values in file order, after `after_seq` (0: from the first).
    async fn import_rejects(
        &self,
        import_id: i64,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<RejectRow>, StoreError>;
    /// Listed numbers (E.164) starting with `prefix`, after `after`, by number: `(number,
    /// reason, added_at)`.
    async fn stop_list_find(
        &self,
        prefix: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, String, i64)>, StoreError>;
    async fn counts(&self) -> Result<ServerCounts, StoreError>;
    /// The newest SMS actions, newest first.
    async fn last_sms(&self, limit: u32) -> Result<Vec<SmsOutcome>, StoreError>;
}
