//! What the SIP listener answers outside our own calls: agents' REGISTERs (to the
//! `registrar`), OPTIONS keep-alives, and INVITEs from anyone (403: the robot only calls out;
//! nobody is bridged on their own INVITE). Everything else without a dialog gets 481.
use super::registrar::{AgentDirectory, Answer, Register, Registrar};
use rsipstack::sip::headers::untyped::{Contact, Expires, WwwAuthenticate};
use rsipstack::sip::{Header, Method, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Instant;

/// The agents the registrar checks against, set once agents exist (`SipTrunk::set_directory`).
pub type Directory = Arc<RwLock<Option<Arc<dyn AgentDirectory>>>>;

fn header<'a>(tx: &'a Transaction, name: &str) -> Option<&'a str> {
    tx.original
        .headers
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
fn source_of(tx: &Transaction) -> IpAddr {
    let fallback = IpAddr::from([0, 0, 0, 0]);
    let Some(via) = header(tx, "Via") else {
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

/// Answers a request that belongs to no call of ours.
pub async fn serve(mut tx: Transaction, registrar: Arc<Registrar>, directory: Directory) {
    let method = tx.original.method;
    let result = match method {
        Method::Register => register(&mut tx, &registrar, &directory).await,
        Method::Options => tx.reply(StatusCode::OK).await,
        Method::Invite => {
            let from = header(&tx, "From").unwrap_or_default().to_string();
            tracing::warn!(from = %from, source = %source_of(&tx), "INVITE from outside refused (403): the robot takes no incoming calls");
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
        tracing::warn!(source = %source_of(tx), "REGISTER refused: no agents are served here");
        return tx.reply(StatusCode::Forbidden).await;
    };
    let to = header(tx, "To").unwrap_or_default().to_string();
    let user = user_of(&to);
    let authorization = header(tx, "Authorization").map(str::to_string);
    let contact = header(tx, "Contact").map(str::to_string);
    let expires = header(tx, "Expires").and_then(|e| e.trim().parse().ok());
    let source = source_of(tx);
    let answer = registrar.register(
        dir.as_ref(),
        &Register {
            user: &user,
            authorization: authorization.as_deref(),
            contact: contact.as_deref(),
            expires,
            source,
        },
        Instant::now(),
    );
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
