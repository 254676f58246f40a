//! Webhooks (docs/actions.md, "Webhooks"): the call's final JSON POSTed to the project's (or
//! the action's) address, signed so the receiver can trust it —
//! `X-Autoinformer-Signature: t=UNIX,v1=HEX(HMAC-SHA256(secret, "t.body"))` — with an
//! `Idempotency-Key` that stays the same over retries (delivery is at least once). Addresses
//! that resolve to loopback, private, link-local or other non-public addresses are refused
//! unless allowed (`webhooks.allow_private`): a campaign must not be turned into a
//! probe of the server's own network. Signing and the address rules are pure.
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::IpAddr;
use std::time::Duration;

/// The signature header's value for `body` sent at `t` (unix s).
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length.
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

/// Checks a signature header as a receiver would (tests; docs/actions.md shows the same in
/// Python). `max_age_s` bounds replays.
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
    if (now - t).abs() > max_age_s {
        return false;
    }
    let want = signature(secret, t, body);
    // Constant-time enough for a test helper: compare whole strings.
    want == format!("t={t},v1={v1}")
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

/// What a delivery attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// The receiver answered 2xx.
    Delivered(u16),
    /// Try again later: an error status, a timeout, no connection.
    Retry { status: Option<u16>, error: String },
    /// Never: the address is not allowed (private) or not a URL.
    Refused(String),
}

/// Sends webhooks.
pub struct WebhookSender {
    http: reqwest::Client,
    allow_private: bool,
}

impl WebhookSender {
    pub fn new(timeout: Duration, allow_private: bool) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            // A redirect could lead to a private address after the check: follow none.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("the webhook client: {e}"))?;
        Ok(Self {
            http,
            allow_private,
        })
    }

    /// Whether `url`'s host resolves only to addresses a webhook may reach.
    async fn check_destination(&self, url: &reqwest::Url) -> Result<(), String> {
        if self.allow_private {
            return Ok(());
        }
        let host = url
            .host_str()
            .ok_or_else(|| format!("{url} has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| format!("cannot resolve {host}: {e}"))?
                .map(|a| a.ip())
                .collect(),
        };
        if let Some(ip) = addrs.iter().find(|ip| is_private(**ip)) {
            return Err(format!(
                "{host} resolves to {ip}, a loopback or private address: webhooks may not go there \
                 (webhooks.allow_private allows it)"
            ));
        }
        Ok(())
    }

    /// POSTs `body` to `url`, signed with `secret` at `t` (unix s).
    pub async fn deliver(
        &self,
        url: &str,
        secret: Option<&str>,
        idempotency_key: &str,
        body: &[u8],
        t: i64,
    ) -> Delivery {
        let parsed = match reqwest::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => return Delivery::Refused(format!("{url:?} is not an http(s) address")),
        };
        if let Err(why) = self.check_destination(&parsed).await {
            return Delivery::Refused(why);
        }
        let mut req = self
            .http
            .post(parsed)
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", idempotency_key)
            .header(
                "User-Agent",
                concat!("autoinformer/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(s) = secret {
            req = req.header("X-Autoinformer-Signature", signature(s, t, body));
        }
        match req.body(body.to_vec()).send().await {
            Ok(r) if r.status().is_success() => Delivery::Delivered(r.status().as_u16()),
            Ok(r) => Delivery::Retry {
                status: Some(r.status().as_u16()),
                error: format!("the receiver answered HTTP {}", r.status().as_u16()),
            },
            Err(e) => Delivery::Retry {
                status: None,
                error: if e.is_timeout() {
                    "the receiver did not answer in time".to_string()
                } else {
                    format!("cannot deliver: {}", e.without_url())
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_of_time_dot_body_and_verify() {
        let body = br#"{"result":"busy"}"#;
        let h = signature("a-secret-of-16+chars", 1_765_000_000, body);
        assert!(h.starts_with("t=1765000000,v1="));
        assert!(verify("a-secret-of-16+chars", &h, body, 1_765_000_010, 300));
        assert!(!verify("another-secret-16ch", &h, body, 1_765_000_010, 300));
        assert!(!verify(
            "a-secret-of-16+chars",
            &h,
            b"{}",
            1_765_000_010,
            300
        ));
        assert!(
            !verify("a-secret-of-16+chars", &h, body, 1_765_999_999, 300),
            "too old"
        );
    }

    #[test]
    fn the_hmac_matches_a_known_vector() {
        // HMAC-SHA256("key", "0.The quick brown fox jumps over the lazy dog") computed the
        // long way: the signature's hex is the standard HMAC of "t.body".
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
        mac.update(b"0.The quick brown fox jumps over the lazy dog");
        let want: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            signature("key", 0, b"The quick brown fox jumps over the lazy dog"),
            format!("t=0,v1={want}")
        );
    }

    #[test]
    fn loopback_private_and_link_local_addresses_are_private() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(a.parse().unwrap()), "{a}");
        }
        for a in ["8.8.8.8", "77.88.8.8", "2a00:1450:4010::8a"] {
            assert!(!is_private(a.parse().unwrap()), "{a}");
        }
    }

    #[tokio::test]
    async fn a_private_address_is_refused_unless_allowed() {
        let strict = WebhookSender::new(Duration::from_secs(1), false).unwrap();
        let d = strict
            .deliver("http://127.0.0.1:9/hook", Some("s"), "k", b"{}", 0)
            .await;
        assert!(
            matches!(d, Delivery::Refused(ref w) if w.contains("private")),
            "{d:?}"
        );
        let d = strict
            .deliver("ftp://example.org/", None, "k", b"{}", 0)
            .await;
        assert!(matches!(d, Delivery::Refused(_)));
        // Allowed, the closed port is a retry, not a refusal.
        let lax = WebhookSender::new(Duration::from_secs(1), true).unwrap();
        let d = lax
            .deliver("http://127.0.0.1:9/hook", None, "k", b"{}", 0)
            .await;
        assert!(matches!(d, Delivery::Retry { .. }), "{d:?}");
    }
}
