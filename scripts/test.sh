#!/usr/bin/env bash
# Installs every test need (Debian packages, libvosk, the Korean Vosk test model) and runs all
# tests, formatting and lint checks. This is the README's second command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings
echo "== cargo test"
# --show-output prints the tables (DTMF conformance, AMD results) of the passing tests.
log=$(mktemp); trap 'rm -f "$log"' EXIT
status=0
cargo test --no-fail-fast --lib --bins --tests -- --show-output 2>&1 | tee "$log" || status=$?
echo "== fuzz (scenario loader, audio reader, RTP/SDP/media session, SIP parser; fixed seed and run counts)"
FUZZ_DETERMINISTIC=1 scripts/fuzz.sh || status=$?
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit $status
