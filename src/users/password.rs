//! Password hashes: argon2id with the `argon2` crate's defaults (RFC 9106's second
//! recommended setting: 19 MiB, 2 passes), kept as PHC strings (`$argon2id$v=19$…`), so the
//! parameters travel with each hash and can be raised later. Hashing takes tens of
//! milliseconds on purpose: run it on a blocking thread.
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Checks a new password's length (the message names the rule).
pub fn check_new(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(format!(
            "password: {n} characters; use at least {MIN_PASSWORD_CHARS}"
        ));
    }
    if n > 1024 {
        return Err("password: longer than 1024 characters".into());
    }
    Ok(())
}

/// The PHC string of `password` with a fresh random salt.
pub fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("hashing the password: {e}"))
}

/// Whether `password` matches the stored PHC string (a damaged one matches nothing).
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash that matches no password, verified when the user does not exist so that a wrong
/// user name takes as long as a wrong password.
pub fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("no user has this password, ever").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only_and_never_holds_it() {
        let h = hash("верный пароль").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(!h.contains("верный"));
        assert!(verify("верный пароль", &h));
        assert!(!verify("неверный пароль", &h));
        assert!(!verify("верный пароль", "not a hash"));
        assert_ne!(hash("верный пароль").unwrap(), h, "a fresh salt each time");
        assert!(check_new("short").unwrap_err().contains("at least 8"));
        assert!(check_new("long enough").is_ok());
        assert!(!verify("", decoy()));
    }
}
