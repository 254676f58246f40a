//! What both backends share: reading a row by column index whatever the database
//! (`Cols`), values as JSON for TEXT columns, token hashes, the installation's values, the
//! webhook secret's check, and — one file per part of the store — the row mappers and domain
//! logic written once above the SQL (planning, re-plans, copies). `sqlite/` and `postgres/`
//! hold only their SQL and transactions.
use sqlx::{Decode, Postgres, Sqlite, Type};

pub mod campaigns;
pub mod dialer;
pub mod import;
pub mod outbox;
pub mod reports;
pub mod users;

/// A column type both backends decode (`i64`, `String`, `Vec<u8>`, `f64`, their `Option`s).
/// PostgreSQL is strict where SQLite is not: an `INT4` (a bare literal, `length()`, a `CASE`
/// of literals) does not decode as `i64`, nor a `NUMERIC` (`SUM` of `BIGINT`) — the
/// PostgreSQL SQL casts such values `::BIGINT`; flags are `BIGINT` 0/1 in both schemas.
pub trait ColType:
    for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}
impl<T> ColType for T where
    T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

/// A result row of either backend, read by column index: row mappers written once take
/// `&impl Cols`.
pub trait Cols {
    /// Column `i` as `T`; panics as `sqlx::Row::get` does on a type the query does not give
    /// (a bug in the store's SQL, not bad data).
    fn get<T: ColType>(&self, i: usize) -> T;
    /// Column `i` as `T`, or the decoding error.
    fn try_get<T: ColType>(&self, i: usize) -> Result<T, sqlx::Error>;
}

impl Cols for sqlx::sqlite::SqliteRow {
    fn get<T: ColType>(&self, i: usize) -> T {
        sqlx::Row::get(self, i)
    }
    fn try_get<T: ColType>(&self, i: usize) -> Result<T, sqlx::Error> {
        sqlx::Row::try_get(self, i)
    }
}

impl Cols for sqlx::postgres::PgRow {
    fn get<T: ColType>(&self, i: usize) -> T {
        sqlx::Row::get(self, i)
    }
    fn try_get<T: ColType>(&self, i: usize) -> Result<T, sqlx::Error> {
        sqlx::Row::try_get(self, i)
    }
}

/// A value as JSON for a TEXT column.
pub fn json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// Hex SHA-256 of a token (API tokens and session cookies are kept only so).
pub fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a database error is a UNIQUE violation (both backends).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// What an installation made once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    /// 10 characters of `[a-z0-9]`.
    pub id: String,
    /// `whsec_` + base64 of 32 random bytes (the Standard Webhooks form).
    pub webhook_secret: String,
    /// Whether this call made the webhook secret (the first start: it is shown once).
    pub webhook_secret_new: bool,
}

/// A new installation id: 10 random characters of `[a-z0-9]`.
pub fn new_installation_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rngs::OsRng;
    (0..10)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A new server-wide webhook secret (`whsec_` + 32 random bytes).
pub fn new_webhook_secret() -> String {
    let mut raw = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
    format!("whsec_{}", crate::actions::webhook::base64(&raw))
}

/// A project's webhook secret: one or more (space-separated, while one is rotated), each a
/// Standard Webhooks `whsec_<base64>` of 24–64 bytes or a text of at least 16 characters.
pub fn check_webhook_secret(text: &str) -> Result<(), String> {
    let secrets = crate::actions::webhook::secrets_of(text);
    if secrets.is_empty() {
        return Err("empty: leave it out to sign with the server's own secret".into());
    }
    for s in secrets {
        if let Some(b64) = s.strip_prefix("whsec_") {
            use base64::Engine;
            let key = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| {
                    format!("{}…: not base64 after whsec_ ({e})", &s[..s.len().min(10)])
                })?;
            if !(24..=64).contains(&key.len()) {
                return Err(format!(
                    "a whsec_ secret holds {} bytes; the Standard Webhooks spec wants 24 to 64",
                    key.len()
                ));
            }
        } else if s.chars().count() < 16 {
            return Err(format!(
                "a secret of {} characters: use at least 16 (or a whsec_ secret)",
                s.chars().count()
            ));
        }
    }
    Ok(())
}
