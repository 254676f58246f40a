//! Several robot nodes on one PostgreSQL (issue 20 §2), CI size: three `autoinformer serve`
//! processes share one database (a server of this test's own, `scripts/pg.sh`) and run one
//! campaign on the sim carrier with a 4 s lease; midway node A is killed with SIGKILL, later
//! node B is stopped (SIGTERM) and started again, then PostgreSQL is stopped for 3 s and
//! started again. Afterwards, from the database: every call closed and every contact final,
//! no number in two calls at once across the nodes, no contact over its call cap, every call
//! the kill cut closed as interrupted by another node and no other call interrupted (no result
//! lost), the stats count every call; at the fake SMSC each SMS at most once; every webhook
//! the database calls done received; nothing left `sending`. The calls were spread over the
//! three nodes. Prints the figures.
//!
//! The scenario is `benches/common/multinode.rs`, shared with `cargo bench --bench multinode`
//! (the same at 100,000 calls). It runs PostgreSQL as the `postgres` user: it needs root, as
//! CI has.
#[path = "common/child.rs"]
mod child;
#[path = "common/http.rs"]
mod http;
#[path = "../benches/common/multinode.rs"]
mod multinode;
#[path = "common/smsc.rs"]
mod smsc;

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_one_killed_one_restarted_and_the_database_restarted_lose_and_double_nothing() {
    let contacts = std::env::var("MULTINODE_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1800);
    let plan = multinode::Plan {
        contacts,
        lines_per_node: 40,
        lease_s: 4,
        kill_at: 0.25,
        restart_at: 0.4,
        halt_at: 0.55,
        halt_for: Duration::from_secs(3),
        finish_within: Duration::from_secs(150),
        drain_within: Duration::from_secs(40),
        log_level: "warn".into(),
    };
    let f = multinode::run(&plan).await;
    println!("{}", f.report());
    assert!(f.problems.is_empty(), "{}", f.report());
    assert_eq!(f.overlaps, 0);
    assert_eq!(f.over_cap, 0);
    assert_eq!(f.results_lost, 0);
    assert_eq!(f.sms_twice, 0);
    assert_eq!(f.webhooks_lost, 0);
    assert_eq!(f.actions_pending, 0);
    assert!(f.cut_by_kill > 0, "the kill cut no call: {}", f.report());
    assert_eq!(f.taken_over, f.cut_by_kill, "{}", f.report());
    assert!(f.sms_sent > 0 && f.webhooks_received > 0, "{}", f.report());
}
