"""A drum loop exported from a DAW at 95 BPM as MP3 comes back as MIDI.

Makes the loop first (the shipped kit playing GROOVE at 95 BPM, 48 kHz stereo MP3, as a DAW
would export it), then runs what a musician would:

    raveforce solve drum-loop --target loop95.mp3 --bpm auto --out out/loop95

which finds the tempo and length (95 BPM, one bar: 16 steps), recovers the pattern and writes
`best.mid` (drag it into the DAW). Prints the MIDI notes it wrote.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile
import soxr

from raveforce.env import RaveForceEnv
from raveforce.midi import read_notes
from raveforce.tasks import DRUM_LOOP

GROOVE = [5, 0, 4, 1, 2, 0, 4, 0, 1, 4, 1, 0, 6, 0, 4, 2]  # bits: 1 kick, 2 snare, 4 closed hi-hat
GM_NAMES = {36: "kick", 38: "snare", 42: "hat"}


def export_loop(path: Path, pattern, bpm: float) -> Path:
    env = RaveForceEnv(DRUM_LOOP, target=(np.zeros(16), 44100), bpm=bpm, steps=len(pattern))
    try:
        env.reset(seed=0)
        for action in pattern:
            env.step(action)
        audio = soxr.resample(env.audio.astype(np.float64), 44100, 48000) * 0.9
    finally:
        env.close()
    soundfile.write(path, np.stack([audio, audio], axis=1), 48000, format="MP3", subtype="MPEG_LAYER_III")
    return path


def main(out: Path = Path("out/loop95")) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    mp3 = export_loop(out.parent / "loop95.mp3", GROOVE, 95.0)
    subprocess.run([sys.executable, "-m", "raveforce", "solve", "drum-loop", "--target", str(mp3), "--bpm", "auto", "--out", str(out)], check=True)
    bpm, notes = read_notes(out / "best.mid")
    print(f"best.mid at {bpm:g} BPM:")
    for n in notes:
        print(f"  16th {n.start // 120 + 1:2d}  {GM_NAMES.get(n.key, n.key)}")
    found = [sum(bit for bit, key in ((1, 36), (2, 38), (4, 42)) if any(n.start == k * 120 and n.key == key for n in notes)) for k in range(16)]
    print("pattern found: ", " ".join(map(str, found)))
    print("pattern played:", " ".join(map(str, GROOVE)))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("out/loop95"))
