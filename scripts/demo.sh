#!/usr/bin/env bash
# Sets up a fresh machine and runs the main job as it exists so far: one call replayed offline
# (the bundled survey scenario against bundled callee audio), printing the outcome.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet
for callee in examples/callee/*.wav; do
  echo "== replay examples/survey/scenario.toml with $callee"
  target/release/autoinformer replay --scenario examples/survey/scenario.toml --callee "$callee" "$@"
done
