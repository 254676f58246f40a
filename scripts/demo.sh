#!/usr/bin/env bash
# Sets up a fresh machine and runs the main job: `autoinformer serve` on a fresh data directory
# (SQLite + the built-in simulated carrier). It creates and activates a demo campaign; this
# script follows it through the HTTP API until every contact is closed (about a minute),
# prints the report, the last results and the exports, then stops the server gracefully.
# Before that it replays the bundled survey offline against the bundled callee recordings.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet
bin=target/release/autoinformer
for callee in examples/callee/*.wav; do
  echo "== replay examples/survey/scenario.toml with $callee"
  $bin replay --scenario examples/survey/scenario.toml --callee "$callee"
done

data=${DEMO_DATA:-data/demo}
listen=${AUTOINFORMER_LISTEN:-127.0.0.1:8080}
token=${AUTOINFORMER_ADMIN_TOKEN:-demo-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}
rm -rf "$data"   # the demo project is made on a fresh data directory
cfg=$(mktemp --suffix=.toml)
log=$(mktemp)
cat > "$cfg" <<TOML
[calls]
ring_timeout_s = 15
[trunk.sim]
ring_min_s = 1.0
ring_max_s = 4.0
TOML
echo "== autoinformer serve --data $data --listen $listen (sim carrier; log: $log)"
AUTOINFORMER_ADMIN_TOKEN=$token AUTOINFORMER_LOG=${AUTOINFORMER_LOG:-info} \
  $bin serve --config "$cfg" --data "$data" --listen "$listen" >"$log" 2>&1 &
server=$!
cleanup() { kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$cfg"; }
trap cleanup EXIT
api() { curl -sS -H "Authorization: Bearer $token" "http://$listen/api/v1/$1"; }
for _ in $(seq 1 100); do
  curl -sf "http://$listen/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.2
done
project=$(api projects | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
echo "== demo project $project is active; dialing (every line: contacts by status, calls, results)"
start=$(date +%s)
while :; do
  line=$(api "projects/$project/stats" | python3 -c '
import json, sys
s = json.load(sys.stdin); c = s["contacts"]
results = ", ".join("%s %d" % kv for kv in sorted(s["results"].items()))
print("not_called %2d  retry %2d  reached %2d  not_reached %2d | calls %2d | %s | cost %.2f RUB"
      % (c["not_called"], c["retry"], c["reached"], c["not_reached"], s["calls"], results, s["cost"]))')
  echo "$(( $(date +%s) - start ))s  $line"
  case "$line" in "not_called  0  retry  0"*) break;; esac
  [ $(( $(date +%s) - start )) -gt 240 ] && { echo "demo: still dialing after 240 s"; break; }
  sleep 3
done
echo "== last results (one row per contact)"
api "projects/$project/last-results" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["items"]:
    k = r["last_call"] or {}
    print("%-18s %-27s %-16s calls %d  last: %s %s %s" % (r["name"], " ".join(r["numbers"]),
          r["status_label"], r["calls"], k.get("number", ""), k.get("result_label", ""),
          k.get("reaction") or ""))'
for report in calls last; do
  for fmt in csv xlsx; do
    api "projects/$project/export?report=$report&format=$fmt" > "$data/$report.$fmt"
  done
done
echo "== exports: $data/calls.csv $data/calls.xlsx $data/last.csv $data/last.xlsx; recordings: $data/recordings/"
echo "== the API stays documented at http://$listen/api/v1/openapi.json (token: $token)"
