#!/usr/bin/env bash
# Downloads the production Russian Vosk model (vosk-model-small-ru-0.22, ~45 MB) into models/.
# Needs internet access to the Vosk model site; see models/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
name=vosk-model-small-ru-0.22
[ -d "models/$name" ] && { echo "models/$name is already there"; exit 0; }
url="https://alphacephei.com/vosk/models/$name.zip"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "downloading $url"
curl -fL --retry 3 -o "$tmp/$name.zip" "$url"
python3 -c "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$tmp/$name.zip" models/
echo "installed models/$name"
