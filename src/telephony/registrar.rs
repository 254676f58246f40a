//! The registrar agents' softphones register to (RFC 3261 §10 with RFC 2617 digest
//! authentication, MD5, `qop=auth` or none): challenges, checks the response against the
//! agent's stored HA1 (the password itself is never kept), keeps one binding per agent (the
//! newest wins), expires bindings, and slows a source that keeps failing. Sans-IO: the SIP
//! trunk hands it the request's fields and the time, and sends what it answers.
use md5::{Digest, Md5};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The digest realm (part of every stored HA1: `MD5(user:realm:password)`).
pub const REALM: &str = "autoinformer";
/// Registrations last between these (a softphone asking for more gets the most).
pub const MIN_EXPIRES_S: u32 = 30;
pub const MAX_EXPIRES_S: u32 = 3600;
/// A nonce is good this long.
const NONCE_LIFE: Duration = Duration::from_secs(300);
/// Failed REGISTERs for one user from one address within `FAIL_WINDOW` before that user is
/// refused outright from there (other agents behind the same address go on registering)…
pub const MAX_FAILURES: usize = 10;
/// …and failed REGISTERs from one address, whatever the user, before it is refused outright.
pub const MAX_FAILURES_PER_ADDRESS: usize = 60;
const FAIL_WINDOW: Duration = Duration::from_secs(60);

/// Who may register: the agents the store knows.
pub trait AgentDirectory: Send + Sync {
    /// The agent id and HA1 of a SIP user who registers, if there is one.
    fn credentials(&self, user: &str) -> Option<(i64, String)>;
    /// The agent's binding appeared or moved (the contact URI), or ended (`None`).
    fn binding(&self, agent: i64, user: &str, contact: Option<String>);
}

/// The fields of a REGISTER the registrar needs.
#[derive(Debug, Clone)]
pub struct Register<'a> {
    /// The user of the To URI (the address of record).
    pub user: &'a str,
    /// The Authorization header's value.
    pub authorization: Option<&'a str>,
    /// The Contact header's value (`<sip:101@192.0.2.7:5062>;expires=60`, or `*`).
    pub contact: Option<&'a str>,
    /// The Expires header.
    pub expires: Option<u32>,
    /// Where the request came from.
    pub source: IpAddr,
}

/// What to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 401 with this `WWW-Authenticate` value.
    Challenge(String),
    /// 200: the binding (contact, seconds) now, `None` after an un-REGISTER.
    Ok(Option<(String, u32)>),
    /// 403: too many failures from this address.
    TooMany,
    /// 400: the request lacks what a REGISTER needs.
    Bad(&'static str),
}

#[derive(Debug, Clone)]
struct Binding {
    agent: i64,
    contact: String,
    expires_at: Instant,
}

#[derive(Default)]
struct State {
    nonces: HashMap<String, Instant>,
    /// Failures by address and user, and by address alone.
    failures: HashMap<(IpAddr, String), VecDeque<Instant>>,
    address_failures: HashMap<IpAddr, VecDeque<Instant>>,
    bindings: HashMap<String, Binding>,
}

/// The registrar of one SIP listener.
#[derive(Default)]
pub struct Registrar {
    state: Mutex<State>,
}

fn hex_md5(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// HA1 = MD5(user:realm:password), hex (RFC 2617): what the store keeps of an agent's
/// password, and all a digest check needs.
pub fn ha1(user: &str, password: &str) -> String {
    hex_md5(&format!("{user}:{REALM}:{password}"))
}

/// `Digest k="v", k2=v2` as a map (keys lower-case).
pub fn parse_digest(value: &str) -> Option<HashMap<String, String>> {
    let rest = value.trim().strip_prefix("Digest")?.trim_start();
    let mut out = HashMap::new();
    let mut s = rest;
    while !s.is_empty() {
        let eq = s.find('=')?;
        let key = s[..eq]
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        s = s[eq + 1..].trim_start();
        let val;
        if let Some(q) = s.strip_prefix('"') {
            let end = q.find('"')?;
            val = q[..end].to_string();
            s = q[end + 1..].trim_start();
        } else {
            let end = s.find(',').unwrap_or(s.len());
            val = s[..end].trim().to_string();
            s = &s[end..];
        }
        s = s.trim_start().trim_start_matches(',').trim_start();
        if !key.is_empty() {
            out.insert(key, val);
        }
    }
    Some(out)
}

/// The response a client computes (RFC 2617 §3.2.2.1).
pub fn digest_response(
    ha1: &str,
    nonce: &str,
    method: &str,
    uri: &str,
    qop: Option<(&str, &str)>,
) -> String {
    let ha2 = hex_md5(&format!("{method}:{uri}"));
    match qop {
        Some((nc, cnonce)) => hex_md5(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")),
        None => hex_md5(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

/// The URI of a Contact header value (`"A" <sip:x@h>;expires=60` → `sip:x@h`) and its own
/// `expires` parameter.
pub fn contact_uri(value: &str) -> Option<(String, Option<u32>)> {
    let v = value.trim();
    let (uri, params) = match (v.find('<'), v.find('>')) {
        (Some(a), Some(b)) if b > a => (&v[a + 1..b], &v[b + 1..]),
        _ => match v.split_once(';') {
            Some((u, p)) => (u, p),
            None => (v, ""),
        },
    };
    let uri = uri.trim();
    if !uri.to_ascii_lowercase().starts_with("sip:") {
        return None;
    }
    let expires = params.split(';').find_map(|p| {
        let (k, val) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("expires"))
            .then(|| val.trim().parse().ok())
            .flatten()
    });
    Some((uri.to_string(), expires))
}

fn same(a: &str, b: &str) -> bool {
    // Constant time over equal lengths.
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

impl Registrar {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn challenge(st: &mut State, now: Instant, stale: bool) -> Answer {
        st.nonces.retain(|_, t| now.duration_since(*t) < NONCE_LIFE);
        let nonce: String = (0..16)
            .map(|_| format!("{:02x}", rand::random::<u8>()))
            .collect();
        st.nonces.insert(nonce.clone(), now);
        let stale = if stale { ", stale=true" } else { "" };
        Answer::Challenge(format!(
            "Digest realm=\"{REALM}\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\"{stale}"
        ))
    }

    fn failed(st: &mut State, source: IpAddr, user: &str, now: Instant) {
        for f in [
            st.failures.entry((source, user.to_string())).or_default(),
            st.address_failures.entry(source).or_default(),
        ] {
            f.push_back(now);
            while f
                .front()
                .is_some_and(|t| now.duration_since(*t) > FAIL_WINDOW)
            {
                f.pop_front();
            }
        }
    }

    /// Whether `source` (for `user`) failed too often lately.
    fn refused(st: &mut State, source: IpAddr, user: &str, now: Instant) -> bool {
        let recent = |f: &mut VecDeque<Instant>| {
            while f
                .front()
                .is_some_and(|t| now.duration_since(*t) > FAIL_WINDOW)
            {
                f.pop_front();
            }
            f.len()
        };
        st.address_failures
            .get_mut(&source)
            .is_some_and(|f| recent(f) >= MAX_FAILURES_PER_ADDRESS)
            || st
                .failures
                .get_mut(&(source, user.to_string()))
                .is_some_and(|f| recent(f) >= MAX_FAILURES)
    }

    /// Handles one REGISTER.
    pub fn register(&self, dir: &dyn AgentDirectory, r: &Register<'_>, now: Instant) -> Answer {
        let mut st = self.lock();
        if Self::refused(&mut st, r.source, r.user, now) {
            return Answer::TooMany;
        }
        let Some(auth) = r.authorization.and_then(parse_digest) else {
            return Self::challenge(&mut st, now, false);
        };
        let get = |k: &str| auth.get(k).map(String::as_str);
        let (Some(username), Some(nonce), Some(uri), Some(response)) =
            (get("username"), get("nonce"), get("uri"), get("response"))
        else {
            return Answer::Bad("incomplete Authorization");
        };
        let issued = st.nonces.get(nonce).copied();
        if issued.is_none_or(|t| now.duration_since(t) >= NONCE_LIFE) {
            return Self::challenge(&mut st, now, true);
        }
        let qop = match (get("qop"), get("nc"), get("cnonce")) {
            (Some(q), Some(nc), Some(c)) if q.eq_ignore_ascii_case("auth") => Some((nc, c)),
            (None, _, _) => None,
            _ => return Answer::Bad("unsupported qop"),
        };
        let creds = dir.credentials(username);
        let good = match &creds {
            Some((_, ha1)) if username == r.user || r.user.is_empty() => {
                same(&digest_response(ha1, nonce, "REGISTER", uri, qop), response)
            }
            _ => false,
        };
        let Some((agent, _)) = creds.filter(|_| good) else {
            tracing::warn!(user = %username, source = %r.source, "REGISTER refused: wrong user or password");
            Self::failed(&mut st, r.source, r.user, now);
            return Self::challenge(&mut st, now, false);
        };
        let Some(contact_value) = r.contact else {
            // A query: the current binding.
            return Answer::Ok(st.bindings.get(username).map(|b| {
                let left = b.expires_at.saturating_duration_since(now).as_secs() as u32;
                (b.contact.clone(), left)
            }));
        };
        let (contact, own_expires) = if contact_value.trim() == "*" {
            (String::new(), Some(0))
        } else {
            match contact_uri(contact_value) {
                Some(c) => c,
                None => return Answer::Bad("Contact is not a SIP URI"),
            }
        };
        let expires = own_expires.or(r.expires).unwrap_or(MAX_EXPIRES_S);
        if expires == 0 {
            if st.bindings.remove(username).is_some() {
                tracing::info!(agent, user = %username, "agent unregistered");
                dir.binding(agent, username, None);
            }
            return Answer::Ok(None);
        }
        let expires = expires.clamp(MIN_EXPIRES_S, MAX_EXPIRES_S);
        let moved = st
            .bindings
            .get(username)
            .is_none_or(|b| b.contact != contact);
        if let Some(old) = st.bindings.get(username).filter(|_| moved) {
            tracing::info!(agent, user = %username, old = %old.contact, new = %contact, "agent registered from a new address; the newest binding wins");
        }
        st.bindings.insert(
            username.to_string(),
            Binding {
                agent,
                contact: contact.clone(),
                expires_at: now + Duration::from_secs(u64::from(expires)),
            },
        );
        if moved {
            tracing::info!(agent, user = %username, contact = %contact, expires, "agent registered");
            dir.binding(agent, username, Some(contact.clone()));
        }
        Answer::Ok(Some((contact, expires)))
    }

    /// Ends the bindings whose time is up (the agents go offline).
    pub fn expire(&self, dir: &dyn AgentDirectory, now: Instant) {
        let mut st = self.lock();
        let gone: Vec<(String, i64)> = st
            .bindings
            .iter()
            .filter(|(_, b)| b.expires_at <= now)
            .map(|(u, b)| (u.clone(), b.agent))
            .collect();
        for (user, agent) in gone {
            st.bindings.remove(&user);
            tracing::info!(agent, user = %user, "agent registration expired");
            dir.binding(agent, &user, None);
        }
    }

    /// Where a registered user is reached now.
    pub fn contact_of(&self, user: &str, now: Instant) -> Option<String> {
        self.lock()
            .bindings
            .get(user)
            .filter(|b| b.expires_at > now)
            .map(|b| b.contact.clone())
    }

    /// Removes an agent's binding (the agent was deleted or its user changed).
    pub fn forget(&self, user: &str) {
        self.lock().bindings.remove(user);
    }
}

#[cfg(test)]
#[path = "registrar_tests.rs"]
mod tests;
