#!/usr/bin/env bash
# Runs the cargo-fuzz targets (scenario loader, audio reader, RTP/SDP/media session, SIP parser)
# for N seconds each (default 30).
# cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
secs=${1:-30}
# The fuzz binaries link libvosk through the library; its rpath is only set for our own binaries.
export LD_LIBRARY_PATH="$PWD/.vendor/vosk${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p fuzz/corpus/audio_reader fuzz/corpus/scenario_loader
cp -n examples/callee/*.wav prompts/numbers/1.wav fuzz/corpus/audio_reader/ 2>/dev/null || true
cp -n examples/*/scenario.toml fuzz/corpus/scenario_loader/ 2>/dev/null || true
mkdir -p fuzz/corpus/rtp_sdp fuzz/corpus/sip_message
# Seeds: real SIP messages from the peer scenarios' shapes.
printf 'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n' > fuzz/corpus/sip_message/ok200
printf 'BYE sip:robot@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK2\r\nFrom: <sip:c@d>;tag=2\r\nTo: <sip:a@b>;tag=1\r\nCall-ID: x\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n' > fuzz/corpus/sip_message/bye
# FUZZ_DETERMINISTIC=1 (CI): a fixed seed and a fixed number of runs per target instead of a time
# budget, so a run's result does not depend on the machine's speed.
declare -A runs=([scenario_loader]=300000 [audio_reader]=4000 [rtp_sdp]=300000 [sip_message]=200000)
for t in scenario_loader audio_reader rtp_sdp sip_message; do
  if [ "${FUZZ_DETERMINISTIC:-0}" = 1 ]; then
    limit="-runs=${runs[$t]} -seed=1"
    echo "== fuzz $t: ${runs[$t]} runs, seed 1"
  else
    limit="-max_total_time=$secs"
    echo "== fuzz $t for ${secs}s"
  fi
  # A crash makes cargo fuzz exit non-zero (and fails the run); the tail shows libFuzzer's summary.
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "fuzz/corpus/$t" -- $limit -rss_limit_mb=4096 2>&1 | tail -n 25
done
