#!/usr/bin/env bash
# Installs every test need (Debian packages, libvosk, the Korean Vosk test model, schemathesis,
# cargo-deny) and runs all tests, formatting, lint and cargo-deny checks, the date-dependent
# suites once more with the system clock a year ahead, and the fuzz targets. This is the
# README's second command and what CI runs. At the end it prints where the time went.
#
# One build serves lints and tests: clippy-driver wraps rustc for this crate only
# (RUSTC_WORKSPACE_WRAPPER, the way `cargo clippy` runs it), so the real build of every target
# is also the lint pass and the dependencies are compiled once, not once for `cargo clippy`
# (check) and again for `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
phase_name=""
phase_start=$started
timings=()
phase() {
  local now
  now=$(date +%s)
  [ -n "$phase_name" ] && timings+=("$(printf '%6ds  %s' $((now - phase_start)) "$phase_name")")
  phase_name=$1
  phase_start=$now
  [ -n "$1" ] && echo "== $1"
  return 0
}
report() {
  phase ""
  echo "== where the time went"
  printf '%s\n' "${timings[@]}"
  printf '%6ds  total\n' $(($(date +%s) - started))
}
trap report EXIT

phase "setup (Debian packages, libvosk, test model, schemathesis)"
scripts/setup.sh --test
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# A clean machine builds everything once: incremental state would only cost time and disk.
export CARGO_INCREMENTAL=0

phase "cargo fmt --check"
cargo fmt --check

phase "cargo deny (licenses, sources, duplicate versions; advisories where GitHub is reachable)"
scripts/deny.sh

driver=$(command -v clippy-driver || true)
[ -n "$driver" ] || driver="$(rustc --print sysroot)/bin/clippy-driver"
export RUSTC_WORKSPACE_WRAPPER="$driver"
# What `cargo clippy -- -D warnings` passes to the driver.
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
phase "the PostgreSQL schema against SQLite's (scripts/pg-schema-check.sh, its own throwaway server)"
scripts/pg-schema-check.sh

phase "build every target with clippy's lints (-D warnings)"
cargo test --all-targets --no-run

phase "tests (the fuzz targets build meanwhile, at the lowest priority)"
log=$(mktemp); fuzz_log=$(mktemp); trap 'rm -f "$log" "$fuzz_log"; report' EXIT
status=0
# The tests mostly wait on real time (calls on the simulated carrier, SIP peers, a killed server
# coming back): the instrumented fuzz build takes the CPU they leave idle, at nice 19 so it
# never slows a test down.
( nice -n 19 scripts/fuzz.sh --build-only >"$fuzz_log" 2>&1 ) &
fuzz_build=$!
if cargo nextest --version >/dev/null 2>&1; then
  # Test binaries side by side (.config/nextest.toml, profile `ci`): most suites wait on real
  # time. The passing tests' output (DTMF conformance and AMD tables, the trust tests'
  # figures) is printed at the end.
  cargo nextest run --profile ci --lib --bins --tests 2>&1 | tee "$log" || status=$?
else
  # --show-output prints the tables (DTMF conformance, AMD results) of the passing tests.
  cargo test --no-fail-fast --lib --bins --tests -- --show-output 2>&1 | tee "$log" || status=$?
fi

phase "the shared suites again on PostgreSQL (its own throwaway server: scripts/pg.sh)"
# The dialer-rule, API, outbox, agents and web suites run on both stores: the second time each
# test gets a database of its own on one server (tests/common/pg.rs). The suites left out read
# or write the SQLite file directly (raw SQL to set a case up); the PostgreSQL store's own
# suites (store_pg, faults_pg, multinode, smsc_slots_pg) ran above, each on its own server.
pg_suites=(dialer_rules dialer_windows api_contract api_edges api_agents api_reports api_greetings outbox webhooks roles contacts_copy metrics_scrape web_admin web_desk web_edit web_scenarios web_ui)
pg_dir=$(mktemp -d)
trap 'scripts/pg.sh stop "$pg_dir/pg" >/dev/null 2>&1 || true; rm -rf "$pg_dir" "$log" "$fuzz_log"; report' EXIT
pg_url=$(scripts/pg.sh start "$pg_dir/pg")
pg_log=$(mktemp)
AUTOINFORMER_TEST_BACKEND=postgres AUTOINFORMER_TEST_PG="$pg_url" \
  cargo nextest run --profile ci $(printf -- '--test %s ' "${pg_suites[@]}") 2>&1 | tee "$pg_log" || status=$?
cat "$pg_log" >>"$log"
scripts/pg.sh stop "$pg_dir/pg" || true

phase "the date-dependent suites with the system clock a year ahead (faketime)"
# Every decision below the edges reads the injected clock: with the wall clock moved a year
# ahead of the dates these suites set, a decision that read it would fail them.
ahead=$(mktemp); trap 'rm -f "$log" "$fuzz_log" "$ahead"; report' EXIT
FAKETIME_DONT_FAKE_MONOTONIC=1 \
CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="faketime -f +365d" \
  cargo test --no-fail-fast --lib --test dialer_windows --test dialer_rules --test dialer_scale \
    --test dialer_sim --test store_sqlite --test outbox_worker >"$ahead" 2>&1 || status=$?
grep -E '^test result|FAILED|panicked' "$ahead" || true
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "a year ahead: %d passed, %d failed\n", p, f }' "$ahead"

phase "fuzz (scenario loader, audio reader, RTP/SDP/media session, SIP parser, REGISTER, contacts import, SMSC answers; fixed seed and run counts)"
wait "$fuzz_build" || { cat "$fuzz_log"; status=1; }
FUZZ_DETERMINISTIC=1 scripts/fuzz.sh || status=$?

# `cargo test` prints "test result: ok. N passed; M failed", nextest "N tests run: P passed,
# F failed" (its summary line).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     / tests run: / { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit $status
