//! Users, sessions, API tokens, the admin pages' reads and learned greetings, read and checked
//! the same by both backends: the column lists that are valid SQL in both, the row mappers
//! (over `&impl Cols`) and the checks and error translations around the SQL.
//! `sqlite/{users,admin,greetings}.rs` and `postgres/{users,admin,greetings}.rs` hold only
//! their SQL.
use super::Cols;
use crate::media::fingerprint::Landmark;
use crate::media::greetings::{Greeting, Label};
use crate::store::admin::{ImportStatus, RejectRow, ServerCounts, SmsOutcome};
use crate::store::greetings::GreetingView;
use crate::store::{SessionRow, StoreError, TokenRow, UserEdit, UserRow};
use crate::users::Role;

// ---------------------------------------------------------------------------------------------
// Users, sessions, tokens.

/// The columns `user_row` reads, in order.
pub const USER_COLUMNS: &str = "id, username, password_hash, role, agent_id, disabled, created_at";

/// The columns `session_row` reads, in order (`s` the session, `u` its user).
pub const SESSION_COLUMNS: &str = "s.csrf, s.created_at, s.last_seen, u.id, u.username, \
     u.password_hash, u.role, u.agent_id, u.disabled, u.created_at";

/// The columns `token_row` reads, in order.
pub const TOKEN_COLUMNS: &str = "id, name, role, user_id, created_at";

/// A user from the `USER_COLUMNS` starting at column `at`.
pub fn user_row(r: &impl Cols, at: usize) -> Result<UserRow, StoreError> {
    let role: String = r.get(at + 3);
    Ok(UserRow {
        id: r.get(at),
        username: r.get(at + 1),
        password_hash: r.get(at + 2),
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Db(format!("user role {role:?} is not known")))?,
        agent_id: r.get(at + 4),
        disabled: r.get::<i64>(at + 5) != 0,
        created_at: r.get(at + 6),
    })
}

/// A session and its user from the `SESSION_COLUMNS`.
pub fn session_row(r: &impl Cols) -> Result<SessionRow, StoreError> {
    Ok(SessionRow {
        csrf: r.get(0),
        created_at: r.get(1),
        last_seen: r.get(2),
        user: user_row(r, 3)?,
    })
}

/// A token as listed, from the `TOKEN_COLUMNS`.
pub fn token_row(r: &impl Cols) -> Result<TokenRow, StoreError> {
    let role: String = r.get(2);
    Ok(TokenRow {
        id: r.get(0),
        name: r.get(1),
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Db(format!("token role {role:?} is not known")))?,
        user_id: r.get(3),
        created_at: r.get(4),
    })
}

/// A new user's name as kept (trimmed), or why it cannot be one.
pub fn check_username(username: &str) -> Result<&str, StoreError> {
    let name = username.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(StoreError::Invalid(
            "username: 1 to 100 characters, no control characters".into(),
        ));
    }
    Ok(name)
}

/// What a user is found by (`users.login`): the name trimmed, in lower case, so that names
/// are unique and found in any letter case.
pub fn login_of(username: &str) -> String {
    username.trim().to_lowercase()
}

/// A failed INSERT of a new user as the caller sees it: the name taken (`Conflict`), an agent
/// that does not exist (`Invalid`), or the database's own error.
pub fn create_user_error(e: sqlx::Error, name: &str, agent_id: Option<i64>) -> StoreError {
    if super::is_unique_violation(&e) {
        StoreError::Conflict(format!("a user named {name:?} exists"))
    } else if is_foreign_key_violation(&e) {
        StoreError::Invalid(format!("agent_id {agent_id:?}: no such agent"))
    } else {
        e.into()
    }
}

/// A failed UPDATE of a user (`change_user`): an agent that does not exist is `Invalid`.
pub fn change_user_error(err: sqlx::Error, e: &UserEdit<'_>) -> StoreError {
    if is_foreign_key_violation(&err) {
        StoreError::Invalid(format!(
            "agent_id {:?}: no such agent",
            e.agent_id.flatten()
        ))
    } else {
        err.into()
    }
}

/// Whether a change of a user ends their sessions: a new role, password or agent, or a
/// disabling (a session must not outlive what it was signed in as).
pub fn ends_sessions(e: &UserEdit<'_>) -> bool {
    e.role.is_some()
        || e.password_hash.is_some()
        || e.disabled == Some(true)
        || e.agent_id.is_some()
}

fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_foreign_key_violation())
}

// ---------------------------------------------------------------------------------------------
// The admin pages' reads.

/// An import with its progress, read by `import_status` (add a WHERE, an ORDER BY).
pub const IMPORT_SELECT: &str = "SELECT id, project_id, state, started_at, finished_at, \
     rows_read, COALESCE(imported, 0), COALESCE(duplicates, 0), COALESCE(rejected, 0), \
     bytes_read, bytes_total, error, \
     (SELECT COALESCE(MAX(seq), 0) FROM import_rejects r WHERE r.import_id = imports.id) \
     FROM imports";

/// The server's totals, read by `server_counts`.
pub const COUNTS_SELECT: &str = "SELECT (SELECT COUNT(*) FROM projects), \
     (SELECT COUNT(*) FROM contacts), (SELECT COUNT(*) FROM calls), \
     (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM agents), \
     (SELECT COUNT(*) FROM stop_list)";

/// A count column (never negative in practice; a negative one reads as 0).
fn count(r: &impl Cols, i: usize) -> u64 {
    r.get::<i64>(i).max(0) as u64
}

/// An import from `IMPORT_SELECT`'s columns.
pub fn import_status(r: &impl Cols) -> ImportStatus {
    ImportStatus {
        id: r.get(0),
        project_id: r.get(1),
        state: r.get(2),
        started_at: r.get(3),
        finished_at: r.get(4),
        rows_read: count(r, 5),
        imported: count(r, 6),
        duplicates: count(r, 7),
        rejected: count(r, 8),
        bytes_read: count(r, 9),
        bytes_total: r.get::<Option<i64>>(10).map(|n| n.max(0) as u64),
        error: r.get(11),
        rejects_kept: count(r, 12),
    }
}

/// A refused value from the columns `seq, row, value, kind, reason`.
pub fn reject_row(r: &impl Cols) -> RejectRow {
    RejectRow {
        seq: r.get(0),
        row: count(r, 1),
        value: r.get(2),
        kind: r.get(3),
        reason: r.get(4),
    }
}

/// Where the stop list's search by the start of a number ends: every text starting with
/// `prefix` sorts from it to it followed by U+FFFF in byte order (UTF-8 bytes; SQLite's
/// BINARY collation, PostgreSQL's "C"), a range the key's index serves.
pub fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{ffff}")
}

/// A listed number from the columns `e164, reason, added_at`: `(number, reason, added_at)`.
pub fn stop_list_row(r: &impl Cols) -> (String, String, i64) {
    (r.get(0), r.get(1), r.get(2))
}

/// The server's totals from `COUNTS_SELECT`'s columns.
pub fn server_counts(r: &impl Cols) -> ServerCounts {
    ServerCounts {
        projects: r.get(0),
        contacts: r.get(1),
        calls: r.get(2),
        users: r.get(3),
        agents: r.get(4),
        stop_list: r.get(5),
    }
}

/// An SMS from the columns `id, project_id, status, last_error, <its last change>`.
pub fn sms_outcome(r: &impl Cols) -> SmsOutcome {
    SmsOutcome {
        id: r.get(0),
        project_id: r.get(1),
        status: r.get(2),
        last_error: r.get(3),
        at: r.get(4),
    }
}

// ---------------------------------------------------------------------------------------------
// Learned greetings.

/// A greeting's columns but its landmarks, in the order `greeting_row` reads them.
pub const GREETING_COLUMNS: &str =
    "id, numbers, numbers_seen, times_seen, first_seen, last_seen, label, not_machine, uploaded";

/// The numbers a greeting was heard on, from their JSON (a damaged list reads as none).
fn numbers_of(json: &str) -> Vec<u64> {
    serde_json::from_str(json).unwrap_or_default()
}

/// The numbers a greeting was heard on as JSON for `greetings.numbers`.
pub fn numbers_json(numbers: &[u64]) -> String {
    serde_json::to_string(numbers).unwrap_or_else(|_| "[]".into())
}

/// A row that starts with the `GREETING_COLUMNS`, with these landmarks.
pub fn greeting_row(r: &impl Cols, landmarks: Vec<Landmark>) -> Greeting {
    Greeting {
        id: r.get(0),
        landmarks,
        numbers: numbers_of(&r.get::<String>(1)),
        numbers_seen: r.get::<i64>(2) as u32,
        times_seen: r.get::<i64>(3) as u32,
        first_seen: r.get(4),
        last_seen: r.get(5),
        label: r.get::<Option<String>>(6).as_deref().and_then(Label::parse),
        not_machine: r.get::<i64>(7) != 0,
        uploaded: r.get::<i64>(8) != 0,
    }
}

/// A greeting as listed, from the `GREETING_COLUMNS` followed by its name, its number of
/// landmarks and whether it has a sample (0/1), each a 64-bit integer.
pub fn greeting_view(r: &impl Cols, min_numbers: usize) -> GreetingView {
    let g = greeting_row(r, Vec::new());
    GreetingView {
        id: g.id,
        name: r.get(9),
        label: g.label,
        not_machine: g.not_machine,
        uploaded: g.uploaded,
        numbers_seen: g.numbers_seen,
        times_seen: g.times_seen,
        first_seen: g.first_seen,
        last_seen: g.last_seen,
        landmarks: r.get::<i64>(10) as usize,
        has_sample: r.get::<i64>(11) != 0,
        // No number is "this call's": heard on enough numbers at all.
        decides: g.decides(0, min_numbers),
    }
}
