#!/usr/bin/env bash
# Generates the bundled transfer audio (8 kHz µ-law WAV): the hold music (a slow progression of
# sine-wave chords made by sox: no third-party recording, so no licence to carry), the
# «соединяю с оператором» and «вы в очереди» prompts (espeak-ng) and the simulated agent's
# voice. The results are committed under prompts/transfer/ and bundled in the binary; re-run
# only to rebuild them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=prompts/transfer
mkdir -p "$out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
say() { # file text
  espeak-ng -v ru -s 150 -w "$tmp/raw.wav" "$2"
  sox -D "$tmp/raw.wav" -r 8000 -c 1 -e u-law "$1" gain -n -6 pad 0 0.2
}
say "$out/connecting.wav" "Соединяю с оператором."
say "$out/queue.wav" "Все операторы заняты. Пожалуйста, оставайтесь на линии, вам обязательно ответят."
say "$out/agent.wav" "Здравствуйте, оператор слушает. Чем могу помочь?"
# Four chords of two seconds each (C, A minor, F, G), each a soft triad with a fade, 8 s in
# all: played in a loop while the caller waits.
chord() { # file f1 f2 f3
  sox -D -n -r 8000 -c 1 "$1" synth 2 sine "$2" sine "$3" sine "$4" remix - \
    fade q 0.25 2 0.35 gain -n -16
}
chord "$tmp/1.wav" 261.63 329.63 392.00
chord "$tmp/2.wav" 220.00 261.63 329.63
chord "$tmp/3.wav" 174.61 220.00 261.63
chord "$tmp/4.wav" 196.00 246.94 293.66
sox -D "$tmp/1.wav" "$tmp/2.wav" "$tmp/3.wav" "$tmp/4.wav" -r 8000 -c 1 -e u-law "$out/hold.wav"
ls -l "$out"
