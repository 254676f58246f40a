#!/usr/bin/env python3
"""Generates the bundled example callee recordings (8 kHz mono 16-bit WAV) in examples/callee/:
espeak-ng Russian speech plus DTMF tones written here. Re-run to rebuild them."""
import math, os, subprocess, tempfile, wave, struct

RATE = 8000
OUT = os.path.join(os.path.dirname(__file__), "..", "examples", "callee")
DTMF = {"1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "4": (770, 1209), "5": (770, 1336),
        "6": (770, 1477), "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "0": (941, 1336),
        "*": (941, 1209), "#": (941, 1477)}

def speech(text, voice="ru", speed=150):
    with tempfile.TemporaryDirectory() as d:
        raw, out = os.path.join(d, "a.wav"), os.path.join(d, "b.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", raw, text], check=True)
        subprocess.run(["sox", "-D", raw, "-r", str(RATE), "-c", "1", "-b", "16", out, "gain", "-n", "-12"], check=True)
        with wave.open(out) as w:
            return list(struct.unpack("<%dh" % w.getnframes(), w.readframes(w.getnframes())))

def silence(s):
    return [0] * int(s * RATE)

def digits(keys, on=0.12, off=0.1, dbm0=-8.0):
    peak = 22803 * 10 ** (dbm0 / 20)
    out = []
    for k in keys:
        lo, hi = DTMF[k]
        out += [int(peak * (math.sin(2 * math.pi * lo * i / RATE) + math.sin(2 * math.pi * hi * i / RATE)))
                for i in range(int(on * RATE))]
        out += silence(off)
    return out

def save(name, samples):
    os.makedirs(OUT, exist_ok=True)
    with wave.open(os.path.join(OUT, name), "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(RATE)
        w.writeframes(struct.pack("<%dh" % len(samples), *[max(-32768, min(32767, s)) for s in samples]))

save("press1.wav", silence(0.4) + speech("Алло?") + silence(5.0) + digits("1") + silence(2.0))
save("silent.wav", silence(0.3) + speech("Да, слушаю.") + silence(16.0))
save("voicemail.wav", silence(0.3) + speech("Здравствуйте. Абонент сейчас не может ответить. "
     "Оставьте, пожалуйста, сообщение после звукового сигнала.", speed=165) + silence(0.4)
     + [int(9000 * math.sin(2 * math.pi * 1000 * i / RATE)) for i in range(int(0.5 * RATE))] + silence(3.0))
