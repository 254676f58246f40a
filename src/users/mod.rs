//! The people who use the robot through the web UI and the API (docs/users.md): their roles
//! and what each role may do, their passwords (argon2id hashes, never the password), and the
//! login throttle. Pure but for hashing, which costs CPU on purpose: callers run it on a
//! blocking thread, never on the async workers.
pub mod password;
pub mod role;
pub mod throttle;

pub use role::Role;
