//! A real phone for the tests: baresip with a rendered config (tests/peers/baresip), playing a
//! WAV and recording what it hears (its sndfile module), driven over its console port.
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_wav(path: &Path) -> Vec<i16> {
    hound::WavReader::open(path)
        .map(|mut r| r.samples::<i16>().filter_map(Result::ok).collect())
        .unwrap_or_default()
}

/// A peer process in its own process group, ended with the test whatever happens.
pub struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--"])
            .arg(format!("-{}", self.0.id()))
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_ports(n: usize) -> Vec<u16> {
    let socks: Vec<std::net::UdpSocket> = (0..n)
        .map(|_| std::net::UdpSocket::bind("127.0.0.1:0").expect("bind"))
        .collect();
    socks
        .iter()
        .map(|s| s.local_addr().expect("addr").port())
        .collect()
}

/// 60 s of one tone at -20 dBFS, 8 kHz 16-bit (a phone's audio source).
pub fn tone_wav(dir: &Path, name: &str, hz: u32) -> PathBuf {
    let out = dir.join(name);
    let ok = Command::new("sox")
        .args(["-D", "-n", "-r", "8000", "-c", "1", "-b", "16"])
        .arg(&out)
        .args(["synth", "60", "sine", &hz.to_string(), "gain", "-20"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "sox makes the tone (scripts/setup.sh --test installs it)"
    );
    out
}

/// A baresip phone: `account` is its accounts line; it plays `wav` and records what it
/// hears into `dir`.
pub struct Phone {
    _peer: Peer,
    pub dir: PathBuf,
    pub cons_port: u16,
    pub sip_port: u16,
}

pub fn phone(dir: &Path, name: &str, account: &str, wav: &Path) -> Phone {
    let [sip_port, cons_port, ctrl_port] = loop {
        let p = free_ports(3);
        if p[1] != p[0] + 1 && p[2] != p[0] + 1 {
            break [p[0], p[1], p[2]];
        }
    };
    let dir = dir.join(name);
    std::fs::create_dir_all(&dir).expect("dir");
    let config = std::fs::read_to_string(root().join("tests/peers/baresip/config.in"))
        .expect("template")
        .replace("@SIP_PORT@", &sip_port.to_string())
        .replace("@CONS_PORT@", &cons_port.to_string())
        .replace("@CTRL_PORT@", &ctrl_port.to_string())
        .replace("@WAV@", &wav.display().to_string())
        .replace(
            "module\t\t\tcons.so",
            &format!(
                "module\t\t\tcons.so\nmodule\t\t\tsndfile.so\nsnd_path\t\t{}",
                dir.display()
            ),
        );
    std::fs::write(dir.join("config"), config).expect("config");
    std::fs::write(dir.join("accounts"), format!("{account}\n")).expect("accounts");
    let log = std::fs::File::create(dir.join("baresip.log")).expect("log");
    let child = {
        use std::os::unix::process::CommandExt;
        Command::new("baresip")
            .arg("-f")
            .arg(&dir)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .expect("baresip is installed by scripts/setup.sh --test")
    };
    Phone {
        _peer: Peer(child),
        dir,
        cons_port,
        sip_port,
    }
}

impl Phone {
    pub fn command(&self, cmd: &str) {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        s.send_to(format!("{cmd}\n").as_bytes(), ("127.0.0.1", self.cons_port))
            .expect("send");
    }

    /// What the phone heard (sndfile's decoded stream).
    pub fn heard(&self) -> Vec<i16> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return vec![];
        };
        let mut out = Vec::new();
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with("dump-") && name.contains("dec") && name.ends_with(".wav") {
                out.extend(read_wav(&e.path()));
            }
        }
        out
    }
}
