"""Make the package data: compiled SynthDefs, the drum kit and the default drum-loop target.

    python scripts/make_data.py        # needs supriya (pip install -e '.[synthdefs]') and scsynth

Everything is rendered with SuperCollider's scsynth in non-real-time mode, deterministically
(the noise UGens are seeded), so running it again reproduces the shipped files.
"""

from __future__ import annotations

from pathlib import Path

from raveforce.audio import write_wav
from raveforce.instruments import KIT, PLAYED, render_kit_sound

DATA = Path(__file__).resolve().parents[1] / "src" / "raveforce" / "data"
SAMPLE_RATE = 44100


def main() -> None:
    (DATA / "synthdefs").mkdir(parents=True, exist_ok=True)
    for synth in PLAYED:
        path = DATA / "synthdefs" / f"{synth.name}.scsyndef"
        path.write_bytes(synth.compile())
        print(f"wrote {path.relative_to(DATA.parent)}")

    for name in KIT:
        audio = render_kit_sound(name, SAMPLE_RATE)
        path = write_wav(DATA / "kit" / f"{name}.wav", audio, SAMPLE_RATE)
        print(f"wrote {path.relative_to(DATA.parent)} (peak {abs(audio).max():.3f})")

    from raveforce.render import render_episode  # the tasks read the SynthDefs written above
    from raveforce.tasks import DRUM_LOOP, DRUM_LOOP_PATTERN

    notes = [DRUM_LOOP.actions.notes(a) for a in DRUM_LOOP_PATTERN]
    audio = render_episode(DRUM_LOOP, notes)
    path = write_wav(DATA / "targets" / "drum_loop.wav", audio, SAMPLE_RATE)
    print(f"wrote {path.relative_to(DATA.parent)} (pattern {DRUM_LOOP_PATTERN}, peak {abs(audio).max():.3f})")


if __name__ == "__main__":
    main()
