//! Several robot nodes on one PostgreSQL at scale (issue 20 §2): three `autoinformer serve`
//! children on one database and the sim carrier run one campaign of `MULTINODE_CALLS` calls
//! (default 100,000); midway node A is killed with SIGKILL, later node B is stopped and
//! started again, then PostgreSQL is stopped for a few seconds and started again. Prints the
//! figures (calls per node, calls taken over, numbers dialed twice at once, results lost, SMS
//! sent and sent twice, webhooks delivered and lost, time, calls per second) and every
//! invariant that did not hold. The scenario and its checks are `common/multinode.rs`, shared
//! with `tests/multinode.rs` (the CI size).
//!
//! Run: `cargo bench --bench multinode` (release). Environment:
//! - `MULTINODE_CALLS` (default 100000): calls wanted (contacts are this over the mix's 1.4
//!   calls per contact);
//! - `MULTINODE_LINES` (default 200): lines per node (the project's lines are three times it);
//! - `MULTINODE_LEASE_S` (default 5): the nodes' lease;
//! - `MULTINODE_HALT_S` (default 3): how long the database is away;
//! - `MULTINODE_LOG` (default `warn`): the nodes' log level.
//!
//! It needs root (PostgreSQL runs as the `postgres` user, `scripts/pg.sh`). A benchmark: it
//! exits 0 when everything held, 1 when an invariant did not.
#[path = "../tests/common/child.rs"]
mod child;
#[path = "../tests/common/http.rs"]
mod http;
#[path = "common/multinode.rs"]
mod multinode;
#[path = "../tests/common/smsc.rs"]
mod smsc;

use std::time::Duration;

fn env_num(name: &str, default: f64) -> f64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let calls = env_num("MULTINODE_CALLS", 100_000.0).max(100.0);
    let contacts = (calls / multinode::calls_per_contact()).ceil() as usize;
    let plan = multinode::Plan {
        contacts,
        lines_per_node: env_num("MULTINODE_LINES", 200.0).max(1.0) as u32,
        lease_s: env_num("MULTINODE_LEASE_S", 5.0).max(3.0) as u64,
        kill_at: 0.3,
        restart_at: 0.5,
        halt_at: 0.7,
        halt_for: Duration::from_secs_f64(env_num("MULTINODE_HALT_S", 3.0)),
        // Far beyond what a campaign needs at 10 calls a second.
        finish_within: Duration::from_secs_f64(60.0 + calls / 10.0),
        // The outbox trails the dialer on a busy machine: its backlog drains after.
        drain_within: Duration::from_secs(3600),
        log_level: std::env::var("MULTINODE_LOG").unwrap_or_else(|_| "warn".into()),
    };
    println!(
        "multinode: {contacts} contacts (~{:.0} calls), {} lines per node, lease {} s",
        plan.expected_calls(),
        plan.lines_per_node,
        plan.lease_s
    );
    let f = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(multinode::run(&plan));
    println!("{}", f.report());
    if !f.problems.is_empty() {
        std::process::exit(1);
    }
}
