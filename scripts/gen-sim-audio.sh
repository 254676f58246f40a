#!/usr/bin/env bash
# Generates the simulated carrier's bundled audio in prompts/sim/ (8 kHz mono 16-bit WAV):
# espeak-ng Russian speech, deterministic (sox -D: no dither). Re-run to rebuild them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=prompts/sim
mkdir -p "$out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
say() { # name speed text
  espeak-ng -v ru -s "$2" -w "$tmp/raw.wav" "$3"
  sox -D "$tmp/raw.wav" -r 8000 -c 1 -b 16 "$out/$1.wav" gain -n -14
}
say allo 150 "Алло?"
say da 140 "Да."
say net 140 "Нет."
say voicemail 165 "Здравствуйте. Абонент не может ответить на ваш звонок. Оставьте, пожалуйста, сообщение после звукового сигнала."
say unreachable 165 "Аппарат абонента выключен или находится вне зоны действия сети."
ls -l "$out"
