#!/usr/bin/env bash
# Generates the bundled Russian number prompts (prompts/numbers/*.wav, 8 kHz µ-law WAV) with
# espeak-ng and sox. The results are committed; re-run only to rebuild them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=prompts/numbers
mkdir -p "$out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
say() { # name text
  espeak-ng -v ru -s 150 -w "$tmp/raw.wav" "$2"
  sox -D "$tmp/raw.wav" -r 8000 -c 1 -e u-law "$out/$1.wav" silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse gain -n -6 pad 0 0.05
}
words=(ноль один два три четыре пять шесть семь восемь девять десять одиннадцать двенадцать тринадцать
  четырнадцать пятнадцать шестнадцать семнадцать восемнадцать девятнадцать двадцать)
for i in "${!words[@]}"; do say "$i" "${words[$i]}"; done
tens=([3]=тридцать [4]=сорок [5]=пятьдесят [6]=шестьдесят [7]=семьдесят [8]=восемьдесят [9]=девяносто)
for t in 3 4 5 6 7 8 9; do say "$((t * 10))" "${tens[$t]}"; done
hundreds=([1]=сто [2]=двести [3]=триста [4]=четыреста [5]=пятьсот [6]=шестьсот [7]=семьсот [8]=восемьсот [9]=девятьсот)
for h in 1 2 3 4 5 6 7 8 9; do say "$((h * 100))" "${hundreds[$h]}"; done
say 1f одна
say 2f две
for w in тысяча тысячи тысяч миллион миллиона миллионов; do say "$w" "$w"; done
echo "generated $(ls "$out" | wc -l) prompts in $out ($(du -sh "$out" | cut -f1))"
