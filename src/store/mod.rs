//! The store's pure parts so far: phone number normalisation (Russian numbers only, with the
//! callee's time zone). The database behind a `Store` trait (sqlx, SQLite by default, with
//! migrations in `migrations/`) and the contact import build on these (issue 4).

pub mod import;
pub mod phone;
