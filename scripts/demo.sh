#!/usr/bin/env bash
# Sets up a fresh machine and runs the main job: `autoinformer serve` on a fresh data directory
# (SQLite + the built-in simulated carrier). It creates and activates a demo campaign; this
# script follows it through the HTTP API until every contact is closed (about a minute),
# prints the report, the last results and the exports, then leaves the server running for the
# web UI (the address, user and password are printed) until Ctrl-C (DEMO_EXIT=1: stop there).
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
password=${AUTOINFORMER_ADMIN_PASSWORD:-demo-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')}
rm -rf "$data"   # the demo project is made on a fresh data directory
cfg=$(mktemp --suffix=.toml)
log=$(mktemp)
cat > "$cfg" <<TOML
[calls]
ring_timeout_s = 15
[trunk.sim]
ring_min_s = 1.0
ring_max_s = 4.0
# Two simulated agents take the callers who press 3 (docs/agents.md); short talks keep the
# demo within about a minute.
[agents]
queue_max_wait_s = 45
[agents.sim]
count = 2
talk_min_s = 5.0
talk_max_s = 15.0
TOML
echo "== autoinformer serve --data $data --listen $listen (sim carrier; log: $log)"
AUTOINFORMER_ADMIN_TOKEN=$token AUTOINFORMER_ADMIN_PASSWORD=$password AUTOINFORMER_LOG=${AUTOINFORMER_LOG:-info} \
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
# Words for people in the reports below: Russian labels with their English, reasons in words.
labels='
STATUS = {"not_called": "Еще не звонили / not called yet", "in_call": "В разговоре / in a call now", "retry": "Позвоним еще раз / will call again",
          "reached": "Дозвонились / reached", "not_reached": "Не дозвонились / not reached"}
SYSTEM = {"no_answer": "Нет ответа / no answer", "busy": "Занято / busy", "rejected": "Отклонен / rejected",
          "system": "Системный (ошибка сети/номера) / system (network or number error)",
          "answering_machine": "Обнаружен автоответчик (системный) / answering machine (system)",
          "not_listened": "Не дослушал до конца / did not listen to the end",
          "queue_abandoned": "Не дождался оператора / did not wait for an operator",
          "queue_timeout": "Оператор не освободился / no operator in time"}
VERDICT = {"human": "человек / person", "machine": "автоответчик / answering machine",
           "unknown": "не определено / undecided"}
WHY = {"short_greeting_then_silence": "short greeting, then silence",
       "long_greeting": "talked on without waiting for an answer, as a recording does",
       "long_greeting_then_silence": "a long greeting, then silence", "silence": "nothing was said",
       "undecided": "no clear sign either way", "beep": "a voicemail beep",
       "beep_after_greeting": "a beep after the greeting",
       "sit": "special information tones (a network announcement)",
       "long_speech_after_greeting": "kept talking after the greeting",
       "carrier_phrase": "a voicemail phrase was heard", "dtmf": "a key was pressed",
       "known_greeting": "a recorded greeting heard before on other numbers (learned)",
       "assistant": "the recorded greeting of a voice assistant (learned)",
       "no_decision": "the call ended before a decision", "not_answered": "the call was not answered"}
def result(code):
    return SYSTEM.get(code, code)
'
echo "== demo project $project is active; dialing (every line: contacts by status, calls, results)"
start=$(date +%s)
while :; do
  line=$(api "projects/$project/stats" | python3 -c "$labels"'
import json, sys
s = json.load(sys.stdin); c = s["contacts"]
results = ", ".join("%s: %d" % (result(k), n) for k, n in sorted(s["results"].items()))
dialing = c["not_called"] + c["retry"] + c.get("in_call", 0) > 0
print("%s|%s | calls %d | %s | cost %.2f RUB" % ("dialing" if dialing else "done",
      ", ".join("%s %d" % (STATUS[k], c.get(k, 0)) for k in ("not_called", "in_call", "retry", "reached", "not_reached")),
      s["calls"], results or "no results yet", s["cost"]))')
  echo "$(( $(date +%s) - start ))s  ${line#*|}"
  case "$line" in done\|*) break;; esac
  [ $(( $(date +%s) - start )) -gt 240 ] && { echo "demo: still dialing after 240 s"; break; }
  sleep 3
done
echo "== last results (one row per contact)"
api "projects/$project/last-results" | python3 -c "$labels"'
import json, sys
for r in json.load(sys.stdin)["items"]:
    k = r["last_call"] or {}
    print("%s (%s): %s, %d call(s)" % (r["name"], ", ".join(r["numbers"]), STATUS.get(r["status"], r["status_label"]), r["calls"]))
    if not k:
        continue
    said = k.get("reaction")
    what = [result(k.get("result") or "")]
    if said:
        what.append(("pressed %s" if said in "0123456789*#ABCD" else "said «%s»") % said)
    if k.get("end_reason"):
        what.append(k["end_reason"])
    t = k.get("transfer")
    if t:
        if t["answered"]:
            what.append("transferred: agent %s answered after %.1f s in the queue, talked %.1f s"
                        % (t["agent_id"], t["queue_ms"] / 1000, t["talk_ms"] / 1000))
        else:
            what.append("transfer: no agent, waited %.1f s" % (t["queue_ms"] / 1000))
    amd = k.get("amd")
    if amd:
        what.append("answered by: %s, decided at %.2f s: %s" % (VERDICT.get(amd["verdict"], amd["verdict"]),
                    amd["decided_at_ms"] / 1000, WHY.get(amd["reason"], amd["reason"])))
    print("    last call to %s: %s" % (k.get("number", ""), "; ".join(what)))'
echo "== learned greetings (docs/amd.md): the sim carrier's voicemail is one recording"
api "calls?project_id=$project&limit=200" | python3 -c '
import json, sys
calls = sorted(json.load(sys.stdin)["items"], key=lambda c: c["id"])
vm = [c for c in calls if (c.get("amd") or {}).get("verdict") == "machine"]
for c in vm:
    a = c["amd"]
    print("    call %d to %s: machine at %.2f s (%s)" % (c["id"], c["number"], a["decided_at_ms"] / 1000, a["reason"]))
known = [c for c in vm if c["amd"]["reason"] == "known_greeting"]
if known:
    print("    %d of %d machines known by their greeting, in %.2f s at most; the others by their length or beep"
          % (len(known), len(vm), max(c["amd"]["decided_at_ms"] for c in known) / 1000))'
api greetings | python3 -c '
import json, sys
g = json.load(sys.stdin)
for x in g["items"]:
    if x["numbers_seen"] > 1:
        print("    greeting %d: heard on %d numbers, %d calls; decides: %s" % (x["id"], x["numbers_seen"], x["times_seen"], x["decides"]))'
echo "== agents (docs/agents.md)"
api agents | python3 -c '
import json, sys
for a in json.load(sys.stdin)["items"]:
    print("%s (%s): %s, %d call(s) today, %d s talk" % (a["name"], a["kind"], a["state"], a["calls_today"], a["talk_s_today"]))'
for report in calls last; do
  for fmt in csv xlsx; do
    api "projects/$project/export?report=$report&format=$fmt" > "$data/$report.$fmt"
  done
done
echo "== exports: $data/calls.csv $data/calls.xlsx $data/last.csv $data/last.xlsx; recordings: $data/recordings/"
echo "== the API stays documented at http://$listen/api/v1/openapi.json (token: $token)"
if [ "${DEMO_EXIT:-0}" = 1 ]; then exit 0; fi
echo
echo "== the web UI: http://$listen/  user: admin  password: $password"
desk=$(sed -n 's/.*agent desk .* user operator, password (shown once): //p' "$log" | head -n 1)
if [ -n "$desk" ]; then
  echo "== the agent desk of «Оператор-симулятор 1»: http://$listen/desk  user: operator  password: $desk"
fi
echo "== (the server keeps running with the demo data; Ctrl-C stops it)"
wait "$server"
