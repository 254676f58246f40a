#!/usr/bin/env bash
# Sets up a fresh machine and runs the main job as it exists so far: calls replayed offline, then
# live calls through the built-in simulated carrier showing every outcome, with recordings.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet
bin=target/release/autoinformer
for callee in examples/callee/*.wav; do
  echo "== replay examples/survey/scenario.toml with $callee"
  $bin replay --scenario examples/survey/scenario.toml --callee "$callee" "$@"
done
cfg=$(mktemp --suffix=.toml)
trap 'rm -f "$cfg"' EXIT
cat > "$cfg" <<TOML
data = "data/demo"
[calls]
ring_timeout_s = 15
[trunk.sim]
ring_min_s = 1.0
ring_max_s = 4.0
TOML
echo "== live calls through the sim carrier (trunk.kind = \"sim\"): the last digit picks the behaviour"
pids=()
for d in 0 1 2 3 4 5 6 8 9; do
  ( out=$($bin call "+7999000000$d" --scenario examples/survey/scenario.toml --config "$cfg" "$@" 2>/dev/null)
    printf '== call +7999000000%s\n%s\n' "$d" "$out" ) &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
echo "recordings: data/demo/recordings/"
