//! Signing, verifying and the address rules of webhooks.
use super::*;

/// The Standard Webhooks spec's own vector (its reference libraries test with it).
const SPEC_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const SPEC_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
const SPEC_TS: i64 = 1_649_367_553;
const SPEC_BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
const SPEC_SIG: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

#[test]
fn a_whsec_secret_signs_as_the_spec_says_with_its_decoded_bytes() {
    assert_eq!(
        standard_signature(&[SPEC_SECRET], SPEC_ID, SPEC_TS, SPEC_BODY),
        SPEC_SIG
    );
    assert!(verify_standard(
        SPEC_SECRET,
        SPEC_ID,
        &SPEC_TS.to_string(),
        SPEC_SIG,
        SPEC_BODY,
        SPEC_TS + 10,
        300
    ));
    // The body, the id or the time changed: no.
    for (id, ts, body) in [
        ("msg_other", SPEC_TS, SPEC_BODY),
        (SPEC_ID, SPEC_TS + 1, SPEC_BODY),
        (SPEC_ID, SPEC_TS, &b"{}"[..]),
    ] {
        assert!(!verify_standard(
            SPEC_SECRET,
            id,
            &ts.to_string(),
            SPEC_SIG,
            body,
            SPEC_TS,
            300
        ));
    }
    assert!(
        !verify_standard(
            SPEC_SECRET,
            SPEC_ID,
            &SPEC_TS.to_string(),
            SPEC_SIG,
            SPEC_BODY,
            SPEC_TS + 301,
            300
        ),
        "too old"
    );
}

#[test]
fn the_spec_crate_verifies_what_we_sign_with_a_plain_secret_too() {
    // A plain (non-whsec) project secret signs with its UTF-8 bytes: a receiver gives the
    // spec's library those bytes.
    let secret = "a-plain-secret-of-16+chars";
    let now = time_now();
    let sig = standard_signature(&[secret], "call-7-action-0", now, b"{}");
    let mut h = http::HeaderMap::new();
    h.insert("webhook-id", "call-7-action-0".parse().unwrap());
    h.insert("webhook-timestamp", now.to_string().parse().unwrap());
    h.insert("webhook-signature", sig.parse().unwrap());
    let wh = standardwebhooks::Webhook::from_bytes(secret.as_bytes().to_vec()).unwrap();
    assert!(wh.verify(b"{}", &h).is_ok());
}

/// The wall clock (the spec's crate checks the timestamp against it).
fn time_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[test]
fn during_a_rotation_each_secret_signs_and_either_verifies() {
    let (new, old) = (
        "whsec_bmV3LXNlY3JldC1vZi0yNC1ieXRlcyEh",
        "old-secret-of-16+chars",
    );
    let stored = format!("{new} {old}");
    let secrets = secrets_of(&stored);
    assert_eq!(secrets, vec![new, old]);
    let sig = standard_signature(&secrets, "id1", 1000, b"{}");
    assert_eq!(sig.split(' ').count(), 2, "{sig}");
    for s in [new, old] {
        assert!(
            verify_standard(s, "id1", "1000", &sig, b"{}", 1000, 300),
            "{s}"
        );
    }
    assert!(!verify_standard(
        "a-third-secret-16chars",
        "id1",
        "1000",
        &sig,
        b"{}",
        1000,
        300
    ));
}

#[test]
fn the_deprecated_header_is_hmac_sha256_of_time_dot_body_and_verifies_in_constant_time() {
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
    assert!(!verify("a-secret-of-16+chars", "t=1,v1=zz", body, 1, 300));
    // HMAC-SHA256("key", "0.The quick brown fox jumps over the lazy dog"), the long way.
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

fn sign() -> Signed<'static> {
    Signed {
        secrets: &["a-secret-of-16+chars"],
        msg_id: "k",
        t: 0,
    }
}

#[tokio::test]
async fn a_private_address_is_refused_unless_allowed_for_all_or_for_that_receiver() {
    let strict = WebhookSender::new(Duration::from_secs(1), Destinations::default()).unwrap();
    for url in ["http://127.0.0.1:9/hook", "http://localhost:9/hook"] {
        let d = strict.deliver(url, sign(), b"{}").await;
        assert!(
            matches!(d, Delivery::Refused(ref w) if w.contains("private")),
            "{url}: {d:?}"
        );
    }
    let d = strict.deliver("ftp://example.org/", sign(), b"{}").await;
    assert!(matches!(d, Delivery::Refused(_)));
    assert!(Destinations::default()
        .check("http://127.0.0.1:9/hook")
        .await
        .is_err());
    // Allowed, the closed port is a retry, not a refusal.
    let lax = WebhookSender::new(
        Duration::from_secs(1),
        Destinations {
            allow_private: true,
            ..Default::default()
        },
    )
    .unwrap();
    let d = lax.deliver("http://127.0.0.1:9/hook", sign(), b"{}").await;
    assert!(matches!(d, Delivery::Retry { .. }), "{d:?}");
    // One receiver allowed by host and port; another port of the same host is not.
    let one = Destinations {
        allow_private: false,
        allow_hosts: vec!["127.0.0.1:9".into()],
    };
    assert!(one.check("http://127.0.0.1:9/hook").await.is_ok());
    assert!(one.check("http://127.0.0.1:10/hook").await.is_err());
    let s = WebhookSender::new(Duration::from_secs(1), one).unwrap();
    assert!(matches!(
        s.deliver("http://127.0.0.1:9/hook", sign(), b"{}").await,
        Delivery::Retry { .. }
    ));
    assert!(matches!(
        s.deliver("http://127.0.0.1:10/hook", sign(), b"{}").await,
        Delivery::Refused(_)
    ));
}
