#!/bin/sh
# Generate the raw µ-law (8 kHz mono, headerless) media files the sipp callee
# scenarios stream with <exec rtp_stream="NAME.ul,1,0"/>, plus WAVs for baresip.
# Deterministic: sox -D (no dither) -R (fixed seed); espeak-ng output is fixed.
# Usage: tests/peers/make_audio.sh OUTDIR
#   OUTDIR/callee.ul        "Алло, слушаю вас" + 1 s silence         (answer_play*, auth401)
#   OUTDIR/dtmf1.ul         300 ms silence, DTMF '1' 697+1209 Hz 100 ms (-10 dBFS each), 700 ms silence
#   OUTDIR/sit_announce.ul  SIT 950/1400/1800 Hz 330 ms each, 1 s silence, Russian announcement
#   OUTDIR/callee.wav       callee.ul as 8 kHz 16-bit WAV padded with 30 s silence (baresip aufile)
set -eu
OUT=${1:?usage: make_audio.sh OUTDIR}
mkdir -p "$OUT"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
SOX="sox -D -R -V1"
RAW="-r 8000 -c 1 -t ul"

speak() { # speak TEXT OUT.ul
  espeak-ng -v ru -s 150 -w "$T/sp.wav" "$1"
  $SOX "$T/sp.wav" -r 8000 -c 1 -b 16 "$T/sp8.wav"
  $SOX "$T/sp8.wav" $RAW "$2"
}

# callee.ul: answer greeting then 1 s silence
speak "Алло, слушаю вас" "$T/greet.ul"
$SOX -n $RAW "$T/sil1.ul" trim 0 1.0
cat "$T/greet.ul" "$T/sil1.ul" > "$OUT/callee.ul"

# dtmf1.ul: two sines at -10 dBFS each summed without attenuation (remix -m)
$SOX -n -r 8000 -c 1 -t ul "$T/pre.ul" trim 0 0.3
$SOX -n -r 8000 -c 2 -b 16 "$T/tone2.wav" synth 0.1 sine 697 sine 1209 vol -10dB
$SOX "$T/tone2.wav" $RAW "$T/tone.ul" remix -m 1,2
$SOX -n $RAW "$T/post.ul" trim 0 0.7
cat "$T/pre.ul" "$T/tone.ul" "$T/post.ul" > "$OUT/dtmf1.ul"

# sit_announce.ul: SIT (ITU-T E.180 style) 950/1400/1800 Hz 330 ms each, -10 dBFS
for f in 950 1400 1800; do
  $SOX -n $RAW "$T/sit$f.ul" synth 0.33 sine $f vol -10dB
done
speak "Аппарат абонента выключен или находится вне зоны действия сети" "$T/ann.ul"
cat "$T/sit950.ul" "$T/sit1400.ul" "$T/sit1800.ul" "$T/sil1.ul" "$T/ann.ul" "$T/sil1.ul" > "$OUT/sit_announce.ul"

# callee.wav for baresip's aufile source (end of file hangs up: pad with 30 s)
$SOX -n $RAW "$T/sil30.ul" trim 0 30
cat "$OUT/callee.ul" "$T/sil30.ul" > "$T/cw.ul"
$SOX $RAW "$T/cw.ul" -b 16 -e signed-integer "$OUT/callee.wav"
