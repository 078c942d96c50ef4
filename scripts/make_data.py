"""Make the package data: compiled SynthDefs, the drum kit and the default targets of the tasks.

    python scripts/make_data.py        # needs supriya (pip install -e '.[synthdefs]') and scsynth

Everything is rendered with SuperCollider's scsynth in non-real-time mode, deterministically
(the noise UGens are seeded), so running it again reproduces the shipped files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

from raveforce.audio import write_wav
from raveforce.tasks.instruments import KIT, PLAYED, render_kit_sound

DATA = Path(__file__).resolve().parents[1] / "src" / "raveforce" / "data"
SAMPLE_RATE = 44100


def write(path: Path, audio: np.ndarray) -> Path:
    """write_wav, unless `path` already holds these samples: libsndfile stamps the time in its
    PEAK chunk, so rewriting an unchanged file would still change its bytes."""
    if path.exists():
        shipped, rate = soundfile.read(path, dtype="float32")
        if rate == SAMPLE_RATE and np.array_equal(shipped, np.asarray(audio, np.float32)):
            return path
    return write_wav(path, audio, SAMPLE_RATE)


def main() -> None:
    (DATA / "synthdefs").mkdir(parents=True, exist_ok=True)
    for synth in PLAYED:
        path = DATA / "synthdefs" / f"{synth.name}.scsyndef"
        path.write_bytes(synth.compile())
        print(f"wrote {path.relative_to(DATA.parent)}")

    for name in KIT:
        audio = render_kit_sound(name, SAMPLE_RATE)
        path = write(DATA / "kit" / f"{name}.wav", audio)
        print(f"wrote {path.relative_to(DATA.parent)} (peak {abs(audio).max():.3f})")

    from raveforce import tasks
    from raveforce.synth.render import render_episode  # the tasks read the SynthDefs written above
    from raveforce.tasks import DRUM_LOOP, DRUM_LOOP_PATTERN

    notes = [DRUM_LOOP.actions.notes(a) for a in DRUM_LOOP_PATTERN]
    audio = render_episode(DRUM_LOOP, notes)
    path = write(DATA / "targets" / "drum_loop.wav", audio)
    print(f"wrote {path.relative_to(DATA.parent)} (pattern {DRUM_LOOP_PATTERN}, peak {abs(audio).max():.3f})")

    for name, (task, actions) in suite_targets().items():
        audio = render_episode(task, [task.actions.notes(a) for a in actions])
        path = write(DATA / "targets" / f"{name}.wav", audio)
        print(f"wrote {path.relative_to(DATA.parent)} (peak {abs(audio).max():.3f})")

    # DrumKit's target is its env's own episode (not a one-shot render, which sums the overlapping
    # voices in another order, 1e-7 apart): its pattern then scores exactly 0 with any reward.
    audio = played_episode(tasks.DRUM_KIT, tasks.DRUM_KIT_PATTERN)
    path = write(DATA / "targets" / "drum_kit.wav", audio)
    print(f"wrote {path.relative_to(DATA.parent)} (peak {abs(audio).max():.3f})")


def played_episode(task, actions) -> np.ndarray:
    """float32 (total_samples,): the last observation of an env that plays `actions` (silence as its target)."""
    from raveforce.env import RaveForceEnv

    env = RaveForceEnv(task, target=(np.zeros(task.total_samples, np.float32), task.sample_rate), reward="mse")
    try:
        env.reset(seed=0)
        for action in actions:
            audio = env.step(action)[0]
    finally:
        env.close()
    return audio


def suite_targets() -> dict:
    """{file stem: (task, actions)}: the task suite's targets, each its task played with the
    documented actions (FMTone: the hidden parameters; BassLine, Melody: the documented notes)."""
    from raveforce import tasks

    return {
        "fm_tone": (tasks.FM_TONE, [tasks.FM_TONE_OPTIMUM]),
        "bass_line": (tasks.BASS_LINE, [tasks.bass_action(m) for m in tasks.BASS_LINE_PATTERN]),
        "melody": (tasks.MELODY, [tasks.melody_action(m) for m in tasks.MELODY_PATTERN]),
    }


if __name__ == "__main__":
    main()
