//! Issue 9 §3 "One upload can exhaust the server's memory", end to end: the real `serve` binary
//! on a loopback port with a fresh data directory, a scenario and a project made through the
//! API, then each hostile upload the issue measured (generated here, streamed into deflate at its best level so
//! no gigabyte is ever held) and a legitimate large one. For each, the server's peak resident
//! memory (`VmHWM`, reset between uploads through `clear_refs`) must stay under `PEAK_BOUND`
//! and the answer must be small and say what happened. A table of the figures is printed
//! (`cargo test --test import_memory -- --nocapture`).
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zip::write::SimpleFileOptions;

const TOKEN: &str = "import-memory-test-token-0123456789";

/// The bound on the server's peak resident memory during any one upload.
const PEAK_BOUND: u64 = 300 << 20;
/// The bound on any answer.
const ANSWER_BOUND: usize = 64 << 10;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The server process; killed when dropped, so a failing test leaves nothing running.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(data: &Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let log = std::fs::File::create(data.join("server.log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_autoinformer"))
            .args(["serve", "--listen", &addr.to_string(), "--data"])
            .arg(data.join("data"))
            .current_dir(root())
            .env("AUTOINFORMER_ADMIN_TOKEN", TOKEN)
            .env("AUTOINFORMER_DEMO", "false")
            .env("AUTOINFORMER_MODEL", data.join("no-model"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start the server");
        let server = Server { child, addr };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok((200, _)) = server.try_call("GET", "/healthz", None, b"") {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "the server did not start: {}",
            std::fs::read_to_string(data.join("server.log")).unwrap_or_default()
        );
    }

    /// One request (HTTP/1.1, one per connection); a body the server stops reading early is
    /// fine, its answer is still read.
    fn try_call(
        &self,
        method: &str,
        path: &str,
        ctype: Option<&str>,
        body: &[u8],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let mut s = TcpStream::connect(self.addr)?;
        s.set_read_timeout(Some(Duration::from_secs(600)))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n\
             Authorization: Bearer {TOKEN}\r\n",
            self.addr,
            body.len()
        );
        if let Some(c) = ctype {
            head.push_str(&format!("Content-Type: {c}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes())?;
        let _ = s.write_all(body);
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| std::io::Error::other("no answer"))?;
        let head = String::from_utf8_lossy(&raw[..end]).into_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| std::io::Error::other("no status"))?;
        let mut body = raw[end + 4..].to_vec();
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            body = dechunk(&body);
        }
        Ok((status, body))
    }

    fn call(&self, method: &str, path: &str, ctype: Option<&str>, body: &[u8]) -> (u16, Vec<u8>) {
        self.try_call(method, path, ctype, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    fn json(&self, method: &str, path: &str, ctype: &str, body: &[u8]) -> serde_json::Value {
        let (status, answer) = self.call(method, path, Some(ctype), body);
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {}",
            String::from_utf8_lossy(&answer)
        );
        serde_json::from_slice(&answer).unwrap_or(serde_json::Value::Null)
    }

    fn status_line(&self, key: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb << 10)
            .unwrap_or_else(|| panic!("no {key} in /proc status"))
    }

    /// Resets the peak to the current resident size.
    fn reset_peak(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5")
            .expect("reset the peak RSS");
    }

    fn peak(&self) -> u64 {
        self.status_line("VmHWM:")
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        out.extend_from_slice(&body[start..(start + size).min(body.len())]);
        body = &body[(start + size + 2).min(body.len())..];
    }
    out
}

/// A workbook as rust_xlsxwriter writes it (header `Телефон;Имя`, one contact), as its parts.
fn template() -> Vec<(String, Vec<u8>)> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "Телефон").unwrap();
    sheet.write_string(0, 1, "Имя").unwrap();
    sheet.write_string(1, 0, "89161234567").unwrap();
    sheet.write_string(1, 1, "Анна").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().to_string(), data)
        })
        .collect()
}

/// The template with `part` replaced by what `write` streams into it (deflated at level 9).
fn xlsx_with(part: &str, write: impl FnOnce(&mut dyn Write)) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_level(Some(9));
    let mut write = Some(write);
    for (name, data) in template() {
        out.start_file(&*name, options).unwrap();
        if name == part {
            if let Some(w) = write.take() {
                w(&mut out);
            }
        } else {
            out.write_all(&data).unwrap();
        }
    }
    out.finish().unwrap().into_inner()
}

/// `n` bytes of `b`, written in 1 MiB pieces.
fn repeat(w: &mut dyn Write, b: u8, n: u64) {
    let chunk = vec![b; 1 << 20];
    let mut left = n;
    while left > 0 {
        let k = left.min(chunk.len() as u64) as usize;
        w.write_all(&chunk[..k]).unwrap();
        left -= k as u64;
    }
}

const SHEET_START: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
    <worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>\
    <row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>Телефон</t></is></c></row>";
const SHEET_END: &str = "</sheetData></worksheet>";

/// (1) One cell that unpacks to 1 GB.
fn one_huge_cell() -> Vec<u8> {
    xlsx_with("xl/worksheets/sheet1.xml", |w| {
        w.write_all(SHEET_START.as_bytes()).unwrap();
        w.write_all(b"<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>")
            .unwrap();
        repeat(w, b'7', 1 << 30);
        w.write_all(b"</t></is></c></row>").unwrap();
        w.write_all(SHEET_END.as_bytes()).unwrap();
    })
}

/// (2) `rows` junk rows: a text that is no phone number in the phone column.
fn junk_rows(rows: u64) -> Vec<u8> {
    xlsx_with("xl/worksheets/sheet1.xml", |w| {
        w.write_all(SHEET_START.as_bytes()).unwrap();
        let row = b"<row><c t=\"inlineStr\"><is><t>junk</t></is></c></row>";
        let block = row.repeat(10_000);
        for _ in 0..rows / 10_000 {
            w.write_all(&block).unwrap();
        }
        w.write_all(SHEET_END.as_bytes()).unwrap();
    })
}

/// (3) A shared string of 1 GB.
fn huge_shared_string() -> Vec<u8> {
    xlsx_with("xl/sharedStrings.xml", |w| {
        w.write_all(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<sst xmlns=\
              \"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"5\" \
              uniqueCount=\"5\"><si><t>",
        )
        .unwrap();
        repeat(w, b'x', 1 << 30);
        w.write_all(b"</t></si></sst>").unwrap();
    })
}

/// (4) 50 MB of pseudo-random bytes under a CSV header with a phone column.
fn garbage_csv() -> Vec<u8> {
    let mut out = b"phone;name\n".to_vec();
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    while out.len() < 50 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// (5) A legitimate file: `n` contacts with a name, two numbers and a field.
fn contacts_csv(n: u64) -> Vec<u8> {
    let mut out = String::from("ФИО;Телефон;Тел. 2;Город\n");
    for i in 0..n {
        out.push_str(&format!(
            "Контакт {i};8 (916) {:03}-{:02}-{:02};+7 495 {:03}-{:02}-{:02};Москва\n",
            i / 10_000,
            i / 100 % 100,
            i % 100,
            i / 10_000,
            i / 100 % 100,
            i % 100
        ));
    }
    out.into_bytes()
}

/// (5) The same as a workbook, its numbers in the 926 range, typed as Excel types them: text.
fn contacts_xlsx(n: u32) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["ФИО", "Телефон", "Город"].into_iter().enumerate() {
        sheet.write_string(0, c as u16, h).unwrap();
    }
    for i in 0..n {
        let row = i + 1;
        sheet.write_string(row, 0, format!("Контакт {i}")).unwrap();
        sheet
            .write_string(
                row,
                1,
                format!("+7 926 {:03} {:04}", i / 10_000, i % 10_000),
            )
            .unwrap();
        sheet.write_string(row, 2, "Казань").unwrap();
    }
    book.save_to_buffer().unwrap()
}

struct Shape {
    name: &'static str,
    body: Vec<u8>,
    status: u16,
    /// Words the answer must hold.
    says: &'static [&'static str],
}

#[test]
fn hostile_uploads_stay_within_the_memory_bound_and_answer_briefly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    // A DTMF-only scenario (no speech model) and a project.
    let wav = std::fs::read(root().join("examples/survey/thanks.wav")).unwrap();
    for name in ["question.wav", "thanks.wav"] {
        let (status, _) = server.call("PUT", &format!("/api/v1/prompts/{name}"), None, &wav);
        assert_eq!(status, 201);
    }
    let scenario = "name = \"Память\"\nresults = [\"Да\"]\nstart = \"question\"\n\n\
                    [steps.question]\nplay = [\"question.wav\"]\nlisten = { dtmf = true, \
                    wait_s = 3 }\n\n[[steps.question.on]]\ndtmf = \"1\"\nresult = \"Да\"\n\
                    next = \"thanks\"\n\n[steps.thanks]\nplay = [\"thanks.wav\"]\n";
    let id = server.json(
        "POST",
        "/api/v1/scenarios",
        "application/toml",
        scenario.as_bytes(),
    )["id"]
        .as_i64()
        .expect("a scenario id");
    let project = serde_json::json!({"name": "Память", "scenario_id": id}).to_string();
    let project = server.json(
        "POST",
        "/api/v1/projects",
        "application/json",
        project.as_bytes(),
    )["id"]
        .as_i64()
        .expect("a project id");
    let path = format!("/api/v1/projects/{project}/contacts");

    let shapes = [
        Shape {
            name: "xlsx, one cell unpacking to 1 GiB",
            body: one_huge_cell(),
            status: 422,
            says: &["32767 characters", "save it again"],
        },
        Shape {
            name: "xlsx, 20 M junk rows",
            body: junk_rows(20_000_000),
            status: 422,
            says: &["more rows than Excel allows"],
        },
        Shape {
            name: "xlsx, 1 M junk rows (within Excel's limit)",
            body: junk_rows(1_000_000),
            status: 200,
            says: &["rejected_total", "first 100 of 1000000"],
        },
        Shape {
            name: "xlsx, one shared string of 1 GiB",
            body: huge_shared_string(),
            status: 422,
            says: &["32767 characters"],
        },
        Shape {
            name: "csv, 50 MB of garbage",
            body: garbage_csv(),
            status: 200,
            says: &["rejected_by_reason", "rejected_total"],
        },
        Shape {
            name: "csv, 200 k contacts (legitimate)",
            body: contacts_csv(200_000),
            status: 200,
            says: &["\"imported\":200000"],
        },
        Shape {
            name: "xlsx, 200 k contacts (legitimate)",
            body: contacts_xlsx(200_000),
            status: 200,
            says: &["\"imported\":200000"],
        },
    ];
    let mut table = Vec::new();
    let mut failures = Vec::new();
    for shape in &shapes {
        server.reset_peak();
        let started = Instant::now();
        let (status, answer) = server.call("POST", &path, None, &shape.body);
        let seconds = started.elapsed().as_secs_f64();
        let peak = server.peak();
        let text = String::from_utf8_lossy(&answer).into_owned();
        table.push(format!(
            "| {:<44} | {:>7.1} MB | {status} | {:>6} B | {:>6.0} MB | {seconds:>5.1} s |",
            shape.name,
            shape.body.len() as f64 / 1e6,
            answer.len(),
            peak as f64 / (1 << 20) as f64,
        ));
        if status != shape.status {
            failures.push(format!(
                "{}: status {status}, not {}: {text}",
                shape.name, shape.status
            ));
        }
        if peak > PEAK_BOUND {
            failures.push(format!("{}: peak RSS {peak} over {PEAK_BOUND}", shape.name));
        }
        if answer.len() > ANSWER_BOUND {
            failures.push(format!("{}: answer of {} bytes", shape.name, answer.len()));
        }
        for word in shape.says {
            if !text.contains(word) {
                failures.push(format!(
                    "{}: the answer does not say {word:?}: {text}",
                    shape.name
                ));
            }
        }
        println!(
            "{}: {}",
            shape.name,
            text.chars().take(400).collect::<String>()
        );
    }
    println!(
        "\n| upload | size | status | answer | peak RSS | time |\n|---|---|---|---|---|---|\n{}",
        table.join("\n")
    );
    assert!(failures.is_empty(), "{failures:#?}");
}
