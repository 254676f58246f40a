//! Users, their browser sessions and their API tokens, as the store keeps them
//! (docs/users.md). Plain data and the trait each backend implements; hashing passwords and
//! checking roles live in `users`.
use super::StoreError;
use crate::users::Role;
use async_trait::async_trait;
use serde::Serialize;

/// A user as stored (the password only as its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: Role,
    /// The agent an `agent` user works as.
    pub agent_id: Option<i64>,
    pub disabled: bool,
    /// Unix s.
    pub created_at: i64,
}

/// A signed-in browser.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub user: UserRow,
    /// The session's form token (CSRF).
    pub csrf: String,
    /// Unix ms.
    pub created_at: i64,
    pub last_seen: i64,
}

/// An API token as listed (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub user_id: Option<i64>,
    /// Unix s.
    pub created_at: i64,
}

/// Who a valid API token acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    pub name: String,
    pub role: Role,
    pub user_id: Option<i64>,
}

/// What to change of a user (`None`: unchanged).
#[derive(Debug, Clone, Copy, Default)]
pub struct UserEdit<'a> {
    pub role: Option<Role>,
    pub password_hash: Option<&'a str>,
    pub disabled: Option<bool>,
    /// `Some(None)`: no agent any more.
    pub agent_id: Option<Option<i64>>,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// A new user (`Conflict` when the name is taken, in any letter case).
    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        agent_id: Option<i64>,
    ) -> Result<i64, StoreError>;
    async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, StoreError>;
    async fn user(&self, id: i64) -> Result<Option<UserRow>, StoreError>;
    async fn users(&self) -> Result<Vec<UserRow>, StoreError>;
    async fn user_count(&self) -> Result<i64, StoreError>;
    /// Changes a user's role, password hash, disabled flag or agent (`None`: unchanged); a
    /// change of password, role, agent or a disabling ends the user's sessions. `Invalid` for
    /// an agent that does not exist.
    async fn change_user(&self, id: i64, e: &UserEdit<'_>) -> Result<(), StoreError>;
    async fn delete_user(&self, id: i64) -> Result<bool, StoreError>;

    /// A session for `user_id` under the cookie value `token` (only its SHA-256 is kept, as
    /// for API tokens) with the session's form token.
    async fn create_session(
        &self,
        token: &str,
        user_id: i64,
        csrf: &str,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// The session and its user, if both exist and the user is not disabled.
    async fn session(&self, token: &str) -> Result<Option<SessionRow>, StoreError>;
    async fn touch_session(&self, token: &str, now_ms: i64) -> Result<(), StoreError>;
    async fn end_session(&self, token: &str) -> Result<(), StoreError>;
    /// Ends sessions idle since `before_ms`; answers how many.
    async fn end_idle_sessions(&self, before_ms: i64) -> Result<u64, StoreError>;

    /// A token made by user `user_id`, acting with `role` (only its SHA-256 is kept).
    async fn add_user_token(
        &self,
        user_id: i64,
        name: &str,
        token: &str,
        role: Role,
    ) -> Result<i64, StoreError>;
    /// The tokens of `user_id` (`None`: every token).
    async fn tokens(&self, user_id: Option<i64>) -> Result<Vec<TokenRow>, StoreError>;
    /// Revokes token `id` of `user_id` (`None`: any user's); answers whether it existed.
    async fn revoke_token(&self, id: i64, user_id: Option<i64>) -> Result<bool, StoreError>;
}
