//! What the soak bench (`benches/soak.rs`) reads of the server and the machine: histogram
//! quantiles between two `/metrics` scrapes, a process's memory, threads, CPU and sockets from
//! /proc, the machine's busy time, file and folder sizes, and a least-squares slope.
#![allow(dead_code)]
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// A histogram's cumulative buckets from a scrape: (upper bound, count), ascending.
pub fn buckets(m: &BTreeMap<String, f64>, family: &str) -> Vec<(f64, f64)> {
    let prefix = format!("{family}_bucket{{le=\"");
    let mut b: Vec<(f64, f64)> = m
        .iter()
        .filter_map(|(k, v)| {
            let le = k.strip_prefix(&prefix)?.strip_suffix("\"}")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, *v))
        })
        .collect();
    b.sort_by(|a, b| a.0.total_cmp(&b.0));
    b
}

/// The q-quantile of the observations between two scrapes of a histogram, interpolated
/// linearly inside its bucket as Prometheus' `histogram_quantile` does; `None` without any.
/// Above the last finite bound it answers that bound.
pub fn quantile(now: &[(f64, f64)], then: &[(f64, f64)], q: f64) -> Option<f64> {
    let before = |le: f64| then.iter().find(|(b, _)| *b == le).map_or(0.0, |(_, c)| *c);
    let delta: Vec<(f64, f64)> = now.iter().map(|&(le, c)| (le, c - before(le))).collect();
    let total = delta.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let (mut lo, mut below) = (0.0, 0.0);
    for &(le, cum) in &delta {
        if cum >= rank {
            if le.is_infinite() {
                return Some(lo);
            }
            let inside = cum - below;
            let frac = if inside > 0.0 {
                (rank - below) / inside
            } else {
                1.0
            };
            return Some(lo + (le - lo) * frac);
        }
        lo = le;
        below = cum;
    }
    None
}

#[derive(Clone, Default)]
pub struct Proc {
    pub rss_kib: u64,
    /// Anonymous memory (the heap): RSS less the mapped binary and libraries.
    pub anon_kib: u64,
    pub hwm_kib: u64,
    pub threads: u64,
    pub cpu_s: f64,
    pub fds: u64,
    pub tcp: u64,
    pub udp: u64,
    pub unix: u64,
    pub other_sockets: u64,
    /// TCP/UDP sockets bound to an address that is not loopback.
    pub exposed: u64,
}

pub fn status_field(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The socket inodes of `/proc/PID/net/FILE` with whether each is bound to loopback.
pub fn net_inodes(pid: u32, file: &str, out: &mut HashMap<u64, (String, bool)>) {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{file}")) else {
        return;
    };
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if file == "unix" {
            if let Some(inode) = f.get(6).and_then(|v| v.parse().ok()) {
                out.insert(inode, ("unix".into(), true));
            }
            continue;
        }
        let (Some(local), Some(inode)) = (f.get(1), f.get(9).and_then(|v| v.parse().ok())) else {
            continue;
        };
        let ip = local.split(':').next().unwrap_or("");
        let loopback = match ip.len() {
            // Little-endian: the first octet is the last byte.
            8 => u32::from_str_radix(ip, 16).is_ok_and(|v| v & 0xff == 127),
            32 => {
                ip == "00000000000000000000000001000000"
                    || (ip.starts_with("0000000000000000FFFF0000") && ip.get(30..32) == Some("7F"))
            }
            _ => false,
        };
        let kind = if file.starts_with("tcp") {
            "tcp"
        } else {
            "udp"
        };
        out.insert(inode, (kind.into(), loopback));
    }
}

pub fn read_proc(pid: u32) -> Proc {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may hold spaces) start after ')'; utime and
    // stime are fields 14 and 15, in USER_HZ (100 on Linux).
    let f: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, r)| r)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let mut p = Proc {
        rss_kib: status_field(&status, "VmRSS:"),
        anon_kib: status_field(&status, "RssAnon:"),
        hwm_kib: status_field(&status, "VmHWM:"),
        threads: status_field(&status, "Threads:"),
        cpu_s: (ticks(11) + ticks(12)) / 100.0,
        ..Proc::default()
    };
    let mut inodes = HashMap::new();
    for file in ["tcp", "tcp6", "udp", "udp6", "unix"] {
        net_inodes(pid, file, &mut inodes);
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return p;
    };
    for fd in fds.flatten() {
        p.fds += 1;
        let Ok(target) = std::fs::read_link(fd.path()) else {
            continue;
        };
        let target = target.to_string_lossy();
        let Some(inode) = target
            .strip_prefix("socket:[")
            .and_then(|r| r.strip_suffix(']'))
            .and_then(|v| v.parse::<u64>().ok())
        else {
            continue;
        };
        match inodes.get(&inode) {
            Some((kind, loopback)) => {
                match kind.as_str() {
                    "tcp" => p.tcp += 1,
                    "udp" => p.udp += 1,
                    _ => p.unix += 1,
                }
                p.exposed += u64::from(!loopback);
            }
            None => p.other_sockets += 1,
        }
    }
    p
}

/// The machine's busy CPU seconds (all cores, every process), from /proc/stat.
pub fn machine_busy_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal …: busy is all but idle and iowait.
    let total: f64 = f.iter().take(8).sum();
    let idle = f.get(3).copied().unwrap_or(0.0) + f.get(4).copied().unwrap_or(0.0);
    (total - idle) / 100.0
}

pub fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

pub fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

/// Least squares of y on x: (slope, its standard error); `None` under 3 points.
pub fn fit(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    if points.len() < 3 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let res: f64 = points
        .iter()
        .map(|p| (p.1 - my - slope * (p.0 - mx)).powi(2))
        .sum();
    Some((slope, (res / (n - 2.0) / sxx).sqrt()))
}
