//! What the SIP listener answers outside our own calls: agents' REGISTERs (to the
//! `registrar`), OPTIONS keep-alives, and INVITEs from anyone (403: the robot only calls out;
//! nobody is bridged on their own INVITE). Everything else without a dialog gets 481.
use super::registrar::{AgentDirectory, Answer, Register, Registrar};
use rsipstack::sip::headers::untyped::{Contact, Expires, WwwAuthenticate};
use rsipstack::sip::{Header, Method, Request, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Instant;

/// The agents the registrar checks against, set once agents exist (`SipTrunk::set_directory`).
pub type Directory = Arc<RwLock<Option<Arc<dyn AgentDirectory>>>>;

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))
        .map(Header::value)
}

/// The user part of a `To`/`From` value (`"A" <sip:101@host>;tag=x` → `101`).
fn user_of(value: &str) -> String {
    let v = value.to_ascii_lowercase();
    let Some(i) = v.find("sip:") else {
        return String::new();
    };
    let rest = &value[i + 4..];
    match rest.find('@') {
        Some(at) => rest[..at].to_string(),
        None => String::new(),
    }
}

/// Where a request came from: the top Via's `received`, else its host.
fn source_of(req: &Request) -> IpAddr {
    let fallback = IpAddr::from([0, 0, 0, 0]);
    let Some(via) = header(req, "Via") else {
        return fallback;
    };
    let first = via.split(',').next().unwrap_or(via);
    if let Some(r) = first
        .split(';')
        .find_map(|p| p.trim().strip_prefix("received="))
    {
        if let Ok(ip) = r.trim().parse() {
            return ip;
        }
    }
    first
        .split_whitespace()
        .nth(1)
        .and_then(|hp| hp.split(';').next())
        .and_then(|hp| {
            hp.parse::<std::net::SocketAddr>()
                .map(|a| a.ip())
                .ok()
                .or_else(|| hp.split(':').next().and_then(|h| h.parse().ok()))
        })
        .unwrap_or(fallback)
}

/// What the registrar reads off a REGISTER: the To user, the Authorization, Contact and
/// Expires headers, and where it came from.
#[derive(Debug, Clone)]
pub struct RegisterFields {
    pub user: String,
    pub authorization: Option<String>,
    pub contact: Option<String>,
    pub expires: Option<u32>,
    pub source: IpAddr,
}

impl RegisterFields {
    pub fn of(req: &Request) -> Self {
        Self {
            user: user_of(header(req, "To").unwrap_or_default()),
            authorization: header(req, "Authorization").map(str::to_string),
            contact: header(req, "Contact").map(str::to_string),
            expires: header(req, "Expires").and_then(|e| e.trim().parse().ok()),
            source: source_of(req),
        }
    }

    pub fn as_register(&self) -> Register<'_> {
        Register {
            user: &self.user,
            authorization: self.authorization.as_deref(),
            contact: self.contact.as_deref(),
            expires: self.expires,
            source: self.source,
        }
    }
}

/// A datagram taken the way the listener takes a REGISTER: parsed, its fields read, the
/// registrar asked at `now`. `None` when it is not a SIP REGISTER. (The fuzz target
/// `sip_register` drives the registrar through this.)
pub fn register_datagram(
    registrar: &Registrar,
    dir: &dyn AgentDirectory,
    data: &[u8],
    now: Instant,
) -> Option<Answer> {
    let text = std::str::from_utf8(data).ok()?;
    let rsipstack::sip::SipMessage::Request(req) =
        rsipstack::sip::SipMessage::try_from(text).ok()?
    else {
        return None;
    };
    (req.method == Method::Register)
        .then(|| registrar.register(dir, &RegisterFields::of(&req).as_register(), now))
}

/// Answers a request that belongs to no call of ours.
pub async fn serve(mut tx: Transaction, registrar: Arc<Registrar>, directory: Directory) {
    let method = tx.original.method;
    let result = match method {
        Method::Register => register(&mut tx, &registrar, &directory).await,
        Method::Options => tx.reply(StatusCode::OK).await,
        Method::Invite => {
            let from = header(&tx.original, "From").unwrap_or_default().to_string();
            tracing::warn!(from = %from, source = %source_of(&tx.original), "INVITE from outside refused (403): the robot takes no incoming calls");
            tx.reply(StatusCode::Forbidden).await
        }
        Method::Ack => Ok(()),
        _ => tx.reply(StatusCode::CallTransactionDoesNotExist).await,
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, ?method, "answering a request failed");
    }
}

async fn register(
    tx: &mut Transaction,
    registrar: &Registrar,
    directory: &Directory,
) -> rsipstack::Result<()> {
    let dir = directory.read().ok().and_then(|d| d.clone());
    let Some(dir) = dir else {
        tracing::warn!(source = %source_of(&tx.original), "REGISTER refused: no agents are served here");
        return tx.reply(StatusCode::Forbidden).await;
    };
    let fields = RegisterFields::of(&tx.original);
    let source = fields.source;
    let answer = registrar.register(dir.as_ref(), &fields.as_register(), Instant::now());
    match answer {
        Answer::Challenge(h) => {
            tx.reply_with(
                StatusCode::Unauthorized,
                vec![WwwAuthenticate::new(h).into()],
                None,
            )
            .await
        }
        Answer::Ok(Some((contact, expires))) => {
            tx.reply_with(
                StatusCode::OK,
                vec![
                    Contact::new(format!("<{contact}>;expires={expires}")).into(),
                    Expires::new(expires.to_string()).into(),
                ],
                None,
            )
            .await
        }
        Answer::Ok(None) => tx.reply(StatusCode::OK).await,
        Answer::TooMany => {
            tracing::warn!(source = %source, "REGISTER refused: too many failed attempts from this address");
            tx.reply(StatusCode::Forbidden).await
        }
        Answer::Bad(why) => {
            tracing::warn!(source = %source, reason = why, "bad REGISTER");
            tx.reply(StatusCode::BadRequest).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::user_of;

    #[test]
    fn the_user_of_a_to_header() {
        assert_eq!(user_of("\"Agent\" <sip:101@127.0.0.1>;tag=1"), "101");
        assert_eq!(user_of("<SIP:agent.b@h>"), "agent.b");
        assert_eq!(user_of("<tel:+7999>"), "");
    }
}
