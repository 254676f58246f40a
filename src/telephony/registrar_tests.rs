use super::*;
use std::sync::Mutex as StdMutex;

struct Dir {
    ha1: String,
    seen: StdMutex<Vec<(i64, Option<String>)>>,
}

impl AgentDirectory for Dir {
    fn credentials(&self, user: &str) -> Option<(i64, String)> {
        (user == "101").then(|| (7, self.ha1.clone()))
    }
    fn binding(&self, agent: i64, _user: &str, contact: Option<String>) {
        self.seen.lock().unwrap().push((agent, contact));
    }
}

fn dir() -> Dir {
    Dir {
        ha1: ha1("101", "secret"),
        seen: StdMutex::new(Vec::new()),
    }
}

fn nonce_of(a: &Answer) -> String {
    let Answer::Challenge(h) = a else {
        panic!("{a:?}")
    };
    parse_digest(h).unwrap()["nonce"].clone()
}

fn authorization(user: &str, password: &str, nonce: &str) -> String {
    let ha1 = ha1(user, password);
    let uri = "sip:127.0.0.1:5060";
    let resp = digest_response(&ha1, nonce, "REGISTER", uri, Some(("00000001", "abc")));
    format!(
        "Digest username=\"{user}\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{resp}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"abc\""
    )
}

fn req<'a>(auth: Option<&'a str>, contact: Option<&'a str>) -> Register<'a> {
    Register {
        user: "101",
        authorization: auth,
        contact,
        expires: Some(60),
        source: "127.0.0.1".parse().unwrap(),
    }
}

#[test]
fn a_register_is_challenged_then_bound_then_expires() {
    let (r, d, t0) = (Registrar::new(), dir(), Instant::now());
    let c = r.register(&d, &req(None, Some("<sip:101@127.0.0.1:5062>")), t0);
    let auth = authorization("101", "secret", &nonce_of(&c));
    let ok = r.register(&d, &req(Some(&auth), Some("<sip:101@127.0.0.1:5062>")), t0);
    assert_eq!(ok, Answer::Ok(Some(("sip:101@127.0.0.1:5062".into(), 60))));
    assert_eq!(
        r.contact_of("101", t0).as_deref(),
        Some("sip:101@127.0.0.1:5062")
    );
    r.expire(&d, t0 + Duration::from_secs(61));
    assert_eq!(r.contact_of("101", t0 + Duration::from_secs(61)), None);
    let seen = d.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![(7, Some("sip:101@127.0.0.1:5062".into())), (7, None)]
    );
}

#[test]
fn a_wrong_password_is_challenged_again_and_a_flood_is_refused() {
    let (r, d, t0) = (Registrar::new(), dir(), Instant::now());
    for i in 0..MAX_FAILURES {
        let c = r.register(&d, &req(None, None), t0);
        let auth = authorization("101", "wrong", &nonce_of(&c));
        let a = r.register(&d, &req(Some(&auth), Some("<sip:101@127.0.0.1:5062>")), t0);
        assert!(matches!(a, Answer::Challenge(_)), "try {i}: {a:?}");
    }
    // Even the right password is refused from that address for a while.
    let a = r.register(&d, &req(None, None), t0);
    assert_eq!(a, Answer::TooMany);
    let later = t0 + Duration::from_secs(61);
    let c = r.register(&d, &req(None, None), later);
    let auth = authorization("101", "secret", &nonce_of(&c));
    let a = r.register(
        &d,
        &req(Some(&auth), Some("<sip:101@127.0.0.1:5062>")),
        later,
    );
    assert!(matches!(a, Answer::Ok(Some(_))), "{a:?}");
    assert!(d.seen.lock().unwrap().len() == 1);
}

#[test]
fn one_phone_with_a_wrong_password_does_not_lock_out_the_others_behind_its_address() {
    let (r, d, t0) = (Registrar::new(), dir(), Instant::now());
    let mut other = req(None, None);
    other.user = "999";
    for _ in 0..MAX_FAILURES {
        let c = r.register(&d, &other, t0);
        let auth = authorization("999", "wrong", &nonce_of(&c));
        let mut o = other.clone();
        o.authorization = Some(&auth);
        r.register(&d, &o, t0);
    }
    assert_eq!(r.register(&d, &other, t0), Answer::TooMany);
    // Agent 101 from the same address still registers.
    let c = r.register(&d, &req(None, None), t0);
    let auth = authorization("101", "secret", &nonce_of(&c));
    let a = r.register(&d, &req(Some(&auth), Some("<sip:101@127.0.0.1:5062>")), t0);
    assert!(matches!(a, Answer::Ok(Some(_))), "{a:?}");
}

#[test]
fn the_newest_binding_wins_and_an_unregister_ends_it() {
    let (r, d, t0) = (Registrar::new(), dir(), Instant::now());
    let n = nonce_of(&r.register(&d, &req(None, None), t0));
    let auth = authorization("101", "secret", &n);
    r.register(
        &d,
        &req(Some(&auth), Some("<sip:101@10.0.0.1:5062>;expires=120")),
        t0,
    );
    r.register(
        &d,
        &req(Some(&auth), Some("\"Desk\" <sip:101@10.0.0.2:5062>")),
        t0,
    );
    assert_eq!(
        r.contact_of("101", t0).as_deref(),
        Some("sip:101@10.0.0.2:5062")
    );
    let a = r.register(&d, &req(Some(&auth), Some("*")), t0);
    assert_eq!(a, Answer::Ok(None));
    assert_eq!(r.contact_of("101", t0), None);
    assert_eq!(d.seen.lock().unwrap().last(), Some(&(7, None)));
}

#[test]
fn an_unknown_nonce_is_stale_and_digest_parsing_takes_quoted_commas() {
    let (r, d, t0) = (Registrar::new(), dir(), Instant::now());
    let auth = authorization("101", "secret", "made-up");
    let a = r.register(&d, &req(Some(&auth), None), t0);
    let Answer::Challenge(h) = a else { panic!() };
    assert!(h.contains("stale=true"), "{h}");
    let p = parse_digest(r#"Digest username="a,b", realm="x", nc=00000001"#).unwrap();
    assert_eq!(p["username"], "a,b");
    assert_eq!(p["nc"], "00000001");
    assert_eq!(
        contact_uri("<sip:1@h:5>;expires=30"),
        Some(("sip:1@h:5".into(), Some(30)))
    );
}

#[test]
fn a_register_datagram_is_read_as_the_listener_reads_it() {
    use crate::telephony::sip_agents::register_datagram;
    let (r, d, t0) = (Registrar::new(), dir(), Instant::now());
    let datagram = |auth: &str| {
        format!(
            "REGISTER sip:127.0.0.1:5060 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK3;received=192.0.2.9\r\n\
             From: <sip:101@127.0.0.1>;tag=7\r\nTo: \"Оператор\" <sip:101@127.0.0.1>\r\n\
             Call-ID: r1\r\nCSeq: 1 REGISTER\r\n{auth}\
             Contact: <sip:101@192.0.2.9:5062>\r\nExpires: 90\r\nContent-Length: 0\r\n\r\n"
        )
    };
    let c = register_datagram(&r, &d, datagram("").as_bytes(), t0).expect("a REGISTER");
    let auth = format!(
        "Authorization: {}\r\n",
        authorization("101", "secret", &nonce_of(&c))
    );
    let ok = register_datagram(&r, &d, datagram(&auth).as_bytes(), t0);
    assert_eq!(
        ok,
        Some(Answer::Ok(Some(("sip:101@192.0.2.9:5062".into(), 90))))
    );
    // Not a REGISTER, not SIP: nothing for the registrar.
    let options = datagram("").replacen("REGISTER sip", "OPTIONS sip", 1);
    assert_eq!(register_datagram(&r, &d, options.as_bytes(), t0), None);
    assert_eq!(register_datagram(&r, &d, b"\xff\xfe", t0), None);
}
