//! A local fake of SMSC's HTTP API (`send.php`, `status.php`, `balance.php` with `fmt=3`), answering as its
//! documentation says (docs/actions.md, "SMSC"): success with `id`, `cnt`, `cost`, `balance`;
//! `{error, error_code}` for a wrong login (2), no money (3) and any code a test asks for; a
//! slow answer; a connection closed after the request was read (the message *was* taken); a
//! 500 (it was not); being down (nothing listens). It counts every message it took per our
//! `id`, so a test can assert that nothing was sent twice. Our real client talks to it over
//! HTTP on 127.0.0.1. Its `read_request` and `answer` also serve the tests' webhook receivers.
//! Include it with `#[path = "common/smsc.rs"] mod smsc;`.
#![allow(dead_code)]
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;

/// How `send.php` answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Takes the message: `{id, cnt, cost, balance}`.
    Normal,
    /// `{error, error_code}` with this code; nothing taken.
    Error(i64),
    /// Takes the message, answers after this long.
    Slow(Duration),
    /// Takes the message, then closes the connection without an answer.
    CloseAfterRead,
    /// HTTP 500; nothing taken.
    Http500,
}

/// One message SMSC took.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: String,
    pub phone: String,
    pub text: String,
    pub sender: Option<String>,
    pub parts: u32,
    pub at: Instant,
}

struct State {
    mode: Mode,
    login: String,
    password: String,
    messages: Vec<Message>,
    /// When each (phone, text) was last taken: the same again within a minute is error 9.
    recent: HashMap<(String, String), Instant>,
    /// Delivered this long after it was taken (`status.php` says 1; 0 before).
    delivered_after: Duration,
    price_per_part: f64,
    balance: f64,
    in_flight: usize,
    max_in_flight: usize,
    sends: u64,
    status_requests: u64,
    /// Every request's form, in order (the password is checked, never kept here).
    log: Vec<(String, HashMap<String, String>)>,
}

/// The fake server.
pub struct FakeSmsc {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Mutex<CancellationToken>,
    /// The accept loop now running: `down` waits for it to end, so the port is closed when
    /// `down` returns (not whenever the loop is next polled).
    server: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// SMSC refuses more than this many requests at once per login (error 9).
pub const MAX_CONCURRENT: usize = 15;

impl FakeSmsc {
    /// Starts on a free port with this login and password.
    pub async fn start(login: &str, password: &str) -> Arc<FakeSmsc> {
        let listener = listen("127.0.0.1:0".parse().unwrap()).expect("the fake SMSC listens");
        let addr = listener.local_addr().unwrap();
        let s = Arc::new(FakeSmsc {
            addr,
            state: Arc::new(Mutex::new(State {
                mode: Mode::Normal,
                login: login.into(),
                password: password.into(),
                messages: Vec::new(),
                recent: HashMap::new(),
                delivered_after: Duration::from_millis(300),
                price_per_part: 3.45,
                balance: 10_000.0,
                in_flight: 0,
                max_in_flight: 0,
                sends: 0,
                status_requests: 0,
                log: Vec::new(),
            })),
            stop: Mutex::new(CancellationToken::new()),
            server: Mutex::new(None),
        });
        s.serve(listener);
        s
    }

    fn serve(&self, listener: TcpListener) {
        let stop = self.stop.lock().unwrap().clone();
        let state = self.state.clone();
        let handle = tokio::spawn(async move {
            loop {
                let conn = tokio::select! {
                    biased;
                    _ = stop.cancelled() => return,
                    c = listener.accept() => c,
                };
                let Ok((sock, _)) = conn else { continue };
                let state = state.clone();
                tokio::spawn(async move {
                    let _ = handle(sock, state).await;
                });
            }
        });
        *self.server.lock().unwrap() = Some(handle);
    }

    /// The `url` to configure: `http://127.0.0.1:PORT/sys/`.
    pub fn url(&self) -> String {
        format!("http://{}/sys/", self.addr)
    }

    pub fn set_mode(&self, m: Mode) {
        self.state.lock().unwrap().mode = m;
    }

    pub fn set_delivered_after(&self, d: Duration) {
        self.state.lock().unwrap().delivered_after = d;
    }

    /// Nothing listens any more (connections are refused) until `up`.
    pub async fn down(&self) {
        self.stop.lock().unwrap().cancel();
        let server = self.server.lock().unwrap().take();
        if let Some(server) = server {
            let _ = server.await;
        }
    }

    /// Listens again on the same port.
    pub async fn up(&self) {
        *self.stop.lock().unwrap() = CancellationToken::new();
        let t = Instant::now();
        loop {
            match listen(self.addr) {
                Ok(l) => {
                    self.serve(l);
                    return;
                }
                Err(_) if t.elapsed() < Duration::from_secs(10) => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                Err(e) => panic!("cannot listen on {} again: {e}", self.addr),
            }
        }
    }

    /// Every message taken, in order.
    pub fn messages(&self) -> Vec<Message> {
        self.state.lock().unwrap().messages.clone()
    }

    /// Messages taken per outbox row: our SMS ids are `<installation>-<row>`.
    pub fn counts(&self) -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for x in &self.state.lock().unwrap().messages {
            *m.entry(row_of(&x.id).to_string()).or_insert(0) += 1;
        }
        m
    }

    /// The installation prefixes of the ids taken (one per installation that sent).
    pub fn prefixes(&self) -> std::collections::BTreeSet<String> {
        self.state
            .lock()
            .unwrap()
            .messages
            .iter()
            .filter_map(|x| x.id.rsplit_once('-').map(|(p, _)| p.to_string()))
            .collect()
    }

    /// Ids taken more than once.
    pub fn duplicates(&self) -> Vec<String> {
        let mut d: Vec<String> = self
            .counts()
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(id, _)| id)
            .collect();
        d.sort();
        d
    }

    /// Requests to send.php (answered or not).
    pub fn sends(&self) -> u64 {
        self.state.lock().unwrap().sends
    }

    pub fn status_requests(&self) -> u64 {
        self.state.lock().unwrap().status_requests
    }

    /// The most requests it saw at once.
    pub fn max_in_flight(&self) -> usize {
        self.state.lock().unwrap().max_in_flight
    }

    /// Every request: the script's name and its form without `psw`.
    pub fn log(&self) -> Vec<(String, HashMap<String, String>)> {
        self.state.lock().unwrap().log.clone()
    }
}

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let s = TcpSocket::new_v4()?;
    s.set_reuseaddr(true)?;
    s.bind(addr)?;
    s.listen(1024)
}

/// SMS parts as SMSC bills them: GSM-7 160/153, anything else (Cyrillic) 70/67.
fn parts(text: &str) -> u32 {
    let gsm = text.chars().all(|c| c.is_ascii() && c != '`');
    let (one, many) = if gsm { (160, 153) } else { (70, 67) };
    let n = if gsm {
        text.len()
    } else {
        text.encode_utf16().count()
    };
    if n <= one {
        1
    } else {
        n.div_ceil(many) as u32
    }
}

/// One HTTP request as read off a socket.
pub struct Request {
    pub path: String,
    /// Header names lowercased.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    /// The query's and the form body's fields.
    pub form: HashMap<String, String>,
}

/// Reads one HTTP/1.1 request (headers, then `Content-Length` bytes of body).
pub async fn read_request(sock: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.lines();
    let first = lines.next()?;
    let target = first.split_whitespace().nth(1)?.to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let body = buf[head_end..head_end + len].to_vec();
    let mut form: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    if headers
        .get("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    {
        form.extend(form_urlencoded::parse(&body).into_owned());
    }
    Some(Request {
        path: path.to_string(),
        headers,
        body,
        form,
    })
}

/// Writes one answer with a JSON body and closes the connection.
pub async fn answer(sock: &mut TcpStream, status: &str, body: &str) {
    let r = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = sock.write_all(r.as_bytes()).await;
    let _ = sock.shutdown().await;
}

/// What one request comes to, decided under the lock.
enum Reply {
    Now(String),
    After(Duration, String),
    Close,
    Fail500,
}

async fn handle(mut sock: TcpStream, state: Arc<Mutex<State>>) -> Option<()> {
    let req = read_request(&mut sock).await?;
    let script = req.path.rsplit('/').next().unwrap_or("").to_string();
    let reply = {
        let mut st = state.lock().unwrap();
        st.in_flight += 1;
        st.max_in_flight = st.max_in_flight.max(st.in_flight);
        let mut logged = req.form.clone();
        logged.remove("psw");
        st.log.push((script.clone(), logged));
        decide(&mut st, &script, &req.form)
    };
    if let Reply::After(d, _) = &reply {
        tokio::time::sleep(*d).await;
    }
    // Done before the answer leaves: a client that sends its next request as soon as it has
    // this answer must not find this one still counted.
    state.lock().unwrap().in_flight -= 1;
    match reply {
        Reply::Now(body) | Reply::After(_, body) => answer(&mut sock, "200 OK", &body).await,
        Reply::Close => {
            let _ = sock.shutdown().await;
        }
        Reply::Fail500 => answer(&mut sock, "500 Internal Server Error", "oops").await,
    }
    Some(())
}

/// The outbox row of an SMS id (`<installation>-<row>`; a bare number is the row).
pub fn row_of(id: &str) -> &str {
    id.rsplit_once('-').map_or(id, |(_, row)| row)
}

fn error(code: i64, text: &str) -> String {
    serde_json::json!({ "error": text, "error_code": code }).to_string()
}

fn decide(st: &mut State, script: &str, f: &HashMap<String, String>) -> Reply {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    if get("fmt") != "3" {
        return Reply::Now("ERROR = 1 (fmt is not 3)".into());
    }
    if get("login") != st.login || get("psw") != st.password {
        return Reply::Now(error(2, "authorise error"));
    }
    if st.in_flight > MAX_CONCURRENT {
        return Reply::Now(error(9, "too many concurrent requests"));
    }
    match script {
        "send.php" => {
            st.sends += 1;
            let (phone, text, id) = (get("phones"), get("mes"), get("id"));
            if phone.is_empty() || text.is_empty() || get("charset") != "utf-8" {
                return Reply::Now(error(1, "parameters error"));
            }
            if !phone.starts_with("+7") || phone.len() != 12 {
                return Reply::Now(error(7, "invalid number"));
            }
            match &st.mode {
                Mode::Error(code) => return Reply::Now(error(*code, "error by the test")),
                Mode::Http500 => return Reply::Fail500,
                _ => {}
            }
            let key = (phone.clone(), text.clone());
            if st
                .recent
                .get(&key)
                .is_some_and(|t| t.elapsed() < Duration::from_secs(60))
            {
                return Reply::Now(error(9, "duplicate request, wait a minute"));
            }
            let n = parts(&text);
            let cost = st.price_per_part * f64::from(n);
            st.recent.insert(key, Instant::now());
            st.balance -= cost;
            st.messages.push(Message {
                id: id.clone(),
                phone,
                text,
                sender: f.get("sender").cloned(),
                parts: n,
                at: Instant::now(),
            });
            let smsc_id = st.messages.len();
            let body = serde_json::json!({
                "id": smsc_id, "cnt": n, "cost": format!("{cost:.2}"),
                "balance": format!("{:.2}", st.balance),
            })
            .to_string();
            match &st.mode {
                Mode::Slow(d) => Reply::After(*d, body),
                Mode::CloseAfterRead => Reply::Close,
                _ => Reply::Now(body),
            }
        }
        "status.php" => {
            st.status_requests += 1;
            let (phone, id) = (get("phone"), get("id"));
            let found = st
                .messages
                .iter()
                .rev()
                .find(|m| m.id == id && m.phone == phone);
            let mut body = match found {
                None => serde_json::json!({ "status": -3, "err": 0 }),
                Some(m) if m.at.elapsed() >= st.delivered_after => {
                    serde_json::json!({ "status": 1, "err": 0, "last_timestamp": 0 })
                }
                Some(_) => serde_json::json!({ "status": 0, "err": 0 }),
            };
            // all=1 adds what the message cost and its parts (as SMSC documents it).
            if let (Some(m), "1") = (found, get("all").as_str()) {
                body["cost"] =
                    serde_json::json!(format!("{:.2}", st.price_per_part * f64::from(m.parts)));
                body["sms_cnt"] = serde_json::json!(m.parts);
                body["phone"] = serde_json::json!(m.phone.trim_start_matches('+'));
            }
            Reply::Now(body.to_string())
        }
        "balance.php" => {
            Reply::Now(serde_json::json!({ "balance": format!("{:.2}", st.balance) }).to_string())
        }
        _ => Reply::Now(error(1, "unknown script")),
    }
}
