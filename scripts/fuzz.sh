#!/usr/bin/env bash
# Runs the fuzz targets (scenario loader, audio reader, RTP/SDP/media session, SIP parser,
# the registrar's REGISTER handling, the contacts import, SMSC's answers) under
# libFuzzer, for N seconds each (default 30), or — with FUZZ_DETERMINISTIC=1, as CI does — a
# fixed number of runs from a fixed seed, so a run's result does not depend on the machine's
# speed. `scripts/fuzz.sh --build-only` builds the targets and stops (CI builds them while the
# tests run).
#
# The targets are built the way `cargo fuzz build` builds them (libfuzzer-sys links libFuzzer;
# coverage instrumentation and AddressSanitizer through RUSTFLAGS, `--cfg fuzzing`, debug
# assertions on, `--target` given so that build scripts and proc macros are not instrumented),
# but without installing cargo-fuzz: building it from source took minutes of every CI run.
# `cargo fuzz run <target>` works on the same fuzz/ crate for whoever has it.
# The sanitizer needs a nightly flag; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept it.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
build_only=0
[ "${1:-}" = "--build-only" ] && { build_only=1; shift; }
secs=${1:-30}
# The fuzz binaries link libvosk through the library; its rpath is only set for our own binaries.
export LD_LIBRARY_PATH="$PWD/.vendor/vosk${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
triple=$(rustc -vV | sed -n 's/^host: //p')
export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions \
-Cforce-frame-pointers -Zsanitizer=address"
# The project's own settings (e.g. a wrapper for its lints) are not for the fuzz build.
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
echo "== fuzz: building the targets (release, instrumented, AddressSanitizer)"
cargo build --quiet --release --manifest-path fuzz/Cargo.toml --target "$triple" --bins
[ $build_only = 1 ] && exit 0
bin=fuzz/target/$triple/release

mkdir -p fuzz/corpus/audio_reader fuzz/corpus/scenario_loader fuzz/corpus/rtp_sdp fuzz/corpus/sip_message fuzz/corpus/sip_register \
  fuzz/corpus/contacts_import fuzz/corpus/smsc_answer
cp -n examples/callee/*.wav prompts/numbers/1.wav fuzz/corpus/audio_reader/ 2>/dev/null || true
cp -n examples/*/scenario.toml fuzz/corpus/scenario_loader/ 2>/dev/null || true
# Seeds: real SIP messages from the peer scenarios' shapes.
printf 'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n' > fuzz/corpus/sip_message/ok200
printf 'BYE sip:robot@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK2\r\nFrom: <sip:c@d>;tag=2\r\nTo: <sip:a@b>;tag=1\r\nCall-ID: x\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n' > fuzz/corpus/sip_message/bye
# An agent's REGISTER as softphones send it, with and without credentials.
printf 'REGISTER sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK3;rport\r\nFrom: <sip:101@127.0.0.1>;tag=7\r\nTo: <sip:101@127.0.0.1>\r\nCall-ID: r1\r\nCSeq: 1 REGISTER\r\nContact: <sip:101@127.0.0.1:5062>;expires=60\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n' > fuzz/corpus/sip_register/register
printf 'REGISTER sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK4;received=192.0.2.9\r\nFrom: <sip:101@127.0.0.1>;tag=7\r\nTo: <sip:101@127.0.0.1>\r\nCall-ID: r1\r\nCSeq: 2 REGISTER\r\nAuthorization: Digest username="101", realm="autoinformer", nonce="abc", uri="sip:127.0.0.1:5060", response="0123", qop=auth, nc=00000001, cnonce="x"\r\nContact: *\r\nExpires: 0\r\nContent-Length: 0\r\n\r\n' > fuzz/corpus/sip_register/unregister
# Contacts files as people upload them: a CSV in UTF-8 and in cp1251, and a small XLSX.
printf 'Имя;Телефон;Добавочный\nИван;+7 (999) 123-45-67;12\nПётр;89991234568, 8 495 123 45 67\n' > fuzz/corpus/contacts_import/ru.csv
printf 'Имя;Телефон\nИван;+79991234567\n' | iconv -f utf-8 -t cp1251 > fuzz/corpus/contacts_import/cp1251.csv
python3 - fuzz/corpus/contacts_import/small.xlsx <<'PYEOF'
import sys, zipfile
parts = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Контакты" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
    "xl/worksheets/sheet1.xml": '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Имя</t></is></c><c r="B1" t="inlineStr"><is><t>Телефон</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>Иван</t></is></c><c r="B2"><v>79991234567</v></c></row></sheetData></worksheet>',
}
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for name, xml in parts.items():
        z.writestr(name, xml)
PYEOF
# SMSC's answers as its documentation gives them (the first byte picks the HTTP status).
printf '\000{"id":12,"cnt":1,"cost":"2.50","balance":"97.50"}' > fuzz/corpus/smsc_answer/sent
printf '\000{"error":"duplicate request, wait a minute","error_code":9}' > fuzz/corpus/smsc_answer/error9
printf '\000{"status":1,"last_date":"07.12.2026 10:00:00","last_timestamp":1796637600,"err":0,"cost":"2.50","cnt":1}' > fuzz/corpus/smsc_answer/delivered
printf '\000{"balance":"123.45"}' > fuzz/corpus/smsc_answer/balance
printf '\007<html>502 Bad Gateway</html>' > fuzz/corpus/smsc_answer/gateway
declare -A runs=([scenario_loader]=300000 [audio_reader]=4000 [rtp_sdp]=300000 [sip_message]=200000 [sip_register]=200000 [contacts_import]=50000 [smsc_answer]=200000)
status=0
for t in scenario_loader audio_reader rtp_sdp sip_message sip_register contacts_import smsc_answer; do
  if [ "${FUZZ_DETERMINISTIC:-0}" = 1 ]; then
    limit=(-runs="${runs[$t]}" -seed=1)
    echo "== fuzz $t: ${runs[$t]} runs, seed 1"
  else
    limit=(-max_total_time="$secs")
    echo "== fuzz $t for ${secs}s"
  fi
  # A crash makes the target exit non-zero (the artifact is written to fuzz/artifacts/$t/);
  # the tail shows libFuzzer's summary.
  mkdir -p "fuzz/artifacts/$t"
  set +e
  "$bin/$t" "fuzz/corpus/$t" "${limit[@]}" -rss_limit_mb=4096 -artifact_prefix="fuzz/artifacts/$t/" 2>&1 | tail -n 25
  rc=${PIPESTATUS[0]}
  set -e
  [ "$rc" = 0 ] || { echo "fuzz $t FAILED (exit $rc)"; status=1; }
done
exit $status
