//! Webhooks (docs/actions.md, "Webhooks"): the call's JSON POSTed to the project's (or the
//! action's) address, signed as the Standard Webhooks spec says so receivers can use its
//! libraries in any language:
//!
//! - `webhook-id` (the action's idempotency key, the same on every attempt),
//!   `webhook-timestamp` (unix seconds of the attempt) and `webhook-signature`:
//!   `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per secret, space-separated while a
//!   secret is being rotated. A secret written `whsec_<base64>` signs with its decoded bytes,
//!   as the spec's libraries read it; any other secret with its UTF-8 bytes.
//! - Deprecated, kept for one release: `X-Autoinformer-Signature: t=UNIX,v1=HEX(HMAC-SHA256(
//!   secret, "t.body"))` with the first secret, and `Idempotency-Key`.
//!
//! Every webhook is signed: with the project's secret, else the server's (made at first start).
//!
//! Addresses that resolve to loopback, private, link-local or other non-public addresses are
//! refused unless allowed (`webhooks.allow_private`, or one receiver by `webhooks.allow_hosts`):
//! a campaign must not become a probe of the server's own network. The check is made on the
//! very addresses the connection then uses (a resolver of our own answers only checked
//! addresses), so a name that resolves to a public address for the check and to a private
//! one for the connection (DNS rebinding) gets nowhere.
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Standard base64 (the `whsec_` form).
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The key a secret signs with: a `whsec_<base64>` secret's decoded bytes (as the Standard
/// Webhooks libraries read it), any other secret's UTF-8 bytes.
pub fn key_of(secret: &str) -> Vec<u8> {
    use base64::Engine;
    secret
        .strip_prefix("whsec_")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// The secrets a stored secret text holds: several, space-separated, while one is rotated
/// (the new one first); each signs.
pub fn secrets_of(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

/// `webhook-signature`'s value: `v1,<base64>` per secret, space-separated.
pub fn standard_signature(secrets: &[&str], msg_id: &str, t: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .filter_map(|s| {
            standardwebhooks::Webhook::from_bytes(key_of(s))
                .and_then(|w| w.sign(msg_id, t, body))
                .ok()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks Standard Webhooks headers as a receiver does, at `now` (unix s, injected: the
/// spec's crate reads the wall clock), in constant time. `max_age_s` bounds replays.
pub fn verify_standard(
    secret: &str,
    msg_id: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: i64,
    max_age_s: i64,
) -> bool {
    let Ok(t) = timestamp.trim().parse::<i64>() else {
        return false;
    };
    if (now - t).abs() > max_age_s {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(&key_of(secret))
        .expect("HMAC-SHA256 accepts keys of any length");
    mac.update(format!("{msg_id}.{t}.").as_bytes());
    mac.update(body);
    signature
        .split(' ')
        .filter_map(|s| s.split_once(','))
        .filter(|(v, _)| *v == "v1")
        .filter_map(|(_, b64)| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(b64).ok()
        })
        // `verify_slice` compares in constant time.
        .any(|sig| mac.clone().verify_slice(&sig).is_ok())
}

/// The deprecated `X-Autoinformer-Signature` value for `body` sent at `t` (unix s).
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC-SHA256 accepts keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={hex}")
}

/// Checks a deprecated `X-Autoinformer-Signature` header as a receiver would, in constant
/// time. `max_age_s` bounds replays.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, max_age_s: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", x)) => t = x.parse::<i64>().ok(),
            Some(("v1", x)) => v1 = Some(x.to_string()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    if (now - t).abs() > max_age_s || v1.len() % 2 != 0 {
        return false;
    }
    let Some(sig) = (0..v1.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(v1.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC-SHA256 accepts keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// Whether an address is one a webhook may not reach unless private ones are allowed.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            a.is_loopback()
                || a.is_private()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.is_multicast()
                || a.is_documentation()
                // 100.64.0.0/10, carrier-grade NAT
                || (a.octets()[0] == 100 && (a.octets()[1] & 0xc0) == 64)
                // 0.0.0.0/8
                || a.octets()[0] == 0
        }
        IpAddr::V6(a) => {
            a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local
                || (a.segments()[0] & 0xfe00) == 0xfc00
                || (a.segments()[0] & 0xffc0) == 0xfe80
                || a.to_ipv4_mapped().is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// Where webhooks may go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destinations {
    /// Any address, private ones included.
    pub allow_private: bool,
    /// These `host:port` receivers although private.
    pub allow_hosts: Vec<String>,
}

impl Destinations {
    /// Whether `url`'s host and port are allowed whatever they resolve to.
    fn allowed_host(&self, url: &reqwest::Url) -> bool {
        if self.allow_private {
            return true;
        }
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return false;
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.allow_hosts.iter().any(|h| {
            h.rsplit_once(':').is_some_and(|(hh, pp)| {
                hh.trim_start_matches('[')
                    .trim_end_matches(']')
                    .eq_ignore_ascii_case(host)
                    && pp.parse::<u16>() == Ok(port)
            })
        })
    }

    /// Checks an address as a project's `webhook_url` is checked when it is saved: an
    /// http(s) URL whose host resolves only to addresses a webhook may reach.
    pub async fn check(&self, url: &str) -> Result<(), String> {
        let parsed = parse_url(url)?;
        if self.allowed_host(&parsed) {
            return Ok(());
        }
        let host = parsed
            .host_str()
            .ok_or_else(|| format!("{url} has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = parsed.port_or_known_default().unwrap_or(443);
        let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| format!("cannot resolve {host}: {e}"))?
                .map(|a| a.ip())
                .collect(),
        };
        match addrs.iter().find(|ip| is_private(**ip)) {
            Some(ip) => Err(private_refusal(&host, *ip)),
            None => Ok(()),
        }
    }
}

fn private_refusal(host: &str, ip: IpAddr) -> String {
    format!(
        "{host} resolves to {ip}, a loopback or private address: webhooks may not go there \
         (webhooks.allow_hosts = [\"HOST:PORT\"] allows one receiver, webhooks.allow_private \
         every private address)"
    )
}

fn parse_url(url: &str) -> Result<reqwest::Url, String> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(u),
        _ => Err(format!("{url:?} is not an http(s) address")),
    }
}

/// A resolver that answers only public addresses: the connection is made to exactly the
/// addresses checked. A name with any private address is refused.
struct PublicOnly;

/// Why the resolver refused a name (found again in the request's error chain).
#[derive(Debug)]
struct PrivateAddress(String);

impl std::fmt::Display for PrivateAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PrivateAddress {}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(a) = addrs.iter().find(|a| is_private(a.ip())) {
                let e: Box<dyn std::error::Error + Send + Sync> =
                    Box::new(PrivateAddress(private_refusal(&host, a.ip())));
                return Err(e);
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// What a delivery attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// The receiver answered 2xx.
    Delivered(u16),
    /// Try again later: an error status, a timeout, no connection.
    Retry { status: Option<u16>, error: String },
    /// The receiver answered 410 Gone: no more deliveries to this address (the spec's
    /// meaning).
    Gone,
    /// The receiver refused the request itself (a 4xx other than 408, 409, 425, 429): tried
    /// a few times, then given up.
    ClientError { status: u16, error: String },
    /// Never: the address is not allowed (private) or not a URL.
    Refused(String),
}

/// One signed request.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    /// The secrets that sign it (the first also signs the deprecated header).
    pub secrets: &'a [&'a str],
    /// `webhook-id` (and `Idempotency-Key`).
    pub msg_id: &'a str,
    /// `webhook-timestamp`, unix seconds.
    pub t: i64,
}

/// Sends webhooks.
pub struct WebhookSender {
    /// Through the checking resolver.
    checked: reqwest::Client,
    /// For receivers allowed whatever their address.
    open: reqwest::Client,
    destinations: Destinations,
}

impl WebhookSender {
    pub fn new(timeout: Duration, destinations: Destinations) -> Result<Self, String> {
        let build = |checked: bool| {
            let mut b = reqwest::Client::builder()
                .timeout(timeout)
                // A redirect could lead to a private address after the check: follow none.
                .redirect(reqwest::redirect::Policy::none());
            if checked {
                b = b.dns_resolver(Arc::new(PublicOnly));
            }
            b.build().map_err(|e| format!("the webhook client: {e}"))
        };
        Ok(Self {
            checked: build(true)?,
            open: build(false)?,
            destinations,
        })
    }

    /// POSTs `body` to `url`, signed.
    pub async fn deliver(&self, url: &str, sign: Signed<'_>, body: &[u8]) -> Delivery {
        let parsed = match parse_url(url) {
            Ok(u) => u,
            Err(why) => return Delivery::Refused(why),
        };
        let client = if self.destinations.allowed_host(&parsed) {
            &self.open
        } else {
            // An address written as such is not resolved: checked here.
            let host = parsed.host_str().unwrap_or_default();
            if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse() {
                if is_private(ip) {
                    return Delivery::Refused(private_refusal(host, ip));
                }
            }
            &self.checked
        };
        let mut req = client
            .post(parsed)
            .header("Content-Type", "application/json")
            .header("webhook-id", sign.msg_id)
            .header("webhook-timestamp", sign.t.to_string())
            .header(
                "webhook-signature",
                standard_signature(sign.secrets, sign.msg_id, sign.t, body),
            )
            .header("Idempotency-Key", sign.msg_id)
            .header(
                "User-Agent",
                concat!("autoinformer/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(first) = sign.secrets.first() {
            req = req.header("X-Autoinformer-Signature", signature(first, sign.t, body));
        }
        match req.body(body.to_vec()).send().await {
            Ok(r) if r.status().is_success() => Delivery::Delivered(r.status().as_u16()),
            Ok(r) => {
                let status = r.status().as_u16();
                let error = format!("the receiver answered HTTP {status}");
                match status {
                    410 => Delivery::Gone,
                    408 | 409 | 425 | 429 => Delivery::Retry {
                        status: Some(status),
                        error,
                    },
                    400..=499 => Delivery::ClientError { status, error },
                    _ => Delivery::Retry {
                        status: Some(status),
                        error,
                    },
                }
            }
            Err(e) => {
                let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
                while let Some(s) = source {
                    if let Some(p) = s.downcast_ref::<PrivateAddress>() {
                        return Delivery::Refused(p.0.clone());
                    }
                    source = s.source();
                }
                Delivery::Retry {
                    status: None,
                    error: if e.is_timeout() {
                        "the receiver did not answer in time".to_string()
                    } else {
                        format!("cannot deliver: {}", e.without_url())
                    },
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "webhook_tests.rs"]
mod tests;
