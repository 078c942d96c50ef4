"""`--bpm auto`: how often the loop estimator finds the tempo and bar count of a drum loop.

Loops are 1, 2 or 4 bars of 4/4 at a tempo drawn from 60-200 BPM, played by the shipped kit from
patterns drawn from a small drum grammar (kick on beat 1 and often 3, snare backbeats on 2 and
4, hi-hats in 8ths, 16ths or off-beats, a few random extra hits), rendered by scsynth. The
estimator's three settings (the tempo prior's width, the weight of onsets on beats, the onset
envelope's top frequency) are chosen on the dev split (seeds 0-199); the held-out split (seeds
1000-1199) is run once with the choice (which `raveforce.app.loops` has as its defaults).

    python benchmarks/bench_tempo.py            # the dev sweep, then the held-out split
"""

from __future__ import annotations

import itertools
import sys
import time

import numpy as np

from raveforce.app import loops
from raveforce.env import RaveForceEnv
from raveforce.tasks import DRUM_LOOP

KICK, SNARE, HAT = 1, 2, 4
DEV = range(0, 200)
HELD_OUT = range(1000, 1200)
PRIOR_OCTAVES = (0.5, 1.0, 2.0)
BEAT_WEIGHTS = (0.0, 0.5, 1.0, 2.0, 4.0)
FLUX_FMAXES = (500.0, 2000.0, 20000.0)


def drum_bar(rng: np.random.Generator) -> list[int]:
    """16 actions of the drum-loop task (bits: 1 kick, 2 snare, 4 hat): one bar of a plausible groove."""
    bar = [0] * 16
    hats = rng.choice(["8ths", "16ths", "offbeats", "none"])
    four_on_floor = rng.random() < 0.3
    for k in range(16):
        if k == 0 or (k == 8 and rng.random() < 0.8) or (four_on_floor and k % 4 == 0):
            bar[k] |= KICK
        elif k % 2 == 0 and rng.random() < 0.15 or rng.random() < 0.04:
            bar[k] |= KICK
        if k in (4, 12) and rng.random() < 0.9 or rng.random() < 0.04:
            bar[k] |= SNARE
        on = {"8ths": k % 2 == 0, "16ths": True, "offbeats": k % 4 == 2, "none": False}[hats]
        if on and rng.random() > 0.1:
            bar[k] |= HAT
    return bar


def make_loop(seed: int) -> tuple[np.ndarray, float, int]:
    """(float32 mono audio at 44100 Hz, bpm, bars) of loop `seed`."""
    rng = np.random.default_rng(seed)
    bars = int(rng.choice(loops.BARS))
    bpm = float(np.round(rng.uniform(*loops.BPM_RANGE), 2))
    first = drum_bar(rng)
    pattern = [a for b in range(bars) for a in (first if b < bars - 1 or rng.random() < 0.5 else drum_bar(rng))]
    env = RaveForceEnv(DRUM_LOOP, target=(np.zeros(16), 44100), bpm=bpm, steps=16 * bars)
    try:
        env.reset(seed=0)
        for a in pattern:
            env.step(a)
        return env.audio, bpm, bars
    finally:
        env.close()


def accuracy(loops_, **settings) -> float:
    """The fraction of loops whose bar count (hence tempo, from the length) is found."""
    return float(np.mean([loops.estimate(audio, 44100, **settings).bars == bars for audio, _, bars in loops_]))


def main() -> int:
    start = time.perf_counter()
    dev = [make_loop(s) for s in DEV]
    ambiguous = np.mean([len(_readings(a)) > 1 for a, _, _ in dev])
    print(f"dev split: {len(dev)} loops ({ambiguous:.0%} fit more than one reading), rendered in {time.perf_counter() - start:.1f} s")
    print("\n| onset envelope up to (Hz) | prior (octaves) | beat weight | dev accuracy |\n|---:|---:|---:|---:|")
    results = {}
    for fmax, octaves, weight in itertools.product(FLUX_FMAXES, PRIOR_OCTAVES, BEAT_WEIGHTS):
        if weight == 0 and fmax != FLUX_FMAXES[0]:
            continue  # without the onsets, fmax does not matter
        results[fmax, octaves, weight] = accuracy(dev, prior_octaves=octaves, beat_weight=weight, fmax=fmax)
        print(f"| {fmax:g} | {octaves:g} | {weight:g} | {results[fmax, octaves, weight]:.1%} |")
    (fmax, octaves, weight), best = max(results.items(), key=lambda item: item[1])
    prior_octaves = max((k for k in results if k[2] == 0), key=results.get)[1]
    defaults = (loops.FLUX_FMAX, loops.PRIOR_OCTAVES, loops.BEAT_WEIGHT)
    print(f"\nchosen on dev: onsets up to {fmax:g} Hz, prior {octaves:g} octaves, beat weight {weight:g} ({best:.1%}); "
          f"the library's defaults {'are' if defaults == (fmax, octaves, weight) else 'are NOT'} these")  # fmt: skip
    held = [make_loop(s) for s in HELD_OUT]
    prior_only = accuracy(held, prior_octaves=prior_octaves, beat_weight=0.0)
    chosen = accuracy(held, prior_octaves=octaves, beat_weight=weight, fmax=fmax)
    print("\n| held-out split (200 loops, run once) | accuracy |\n|---|---:|")
    print(f"| length + tempo prior only (best prior on dev, {prior_octaves:g} octaves) | {prior_only:.1%} |")
    print(f"| length + prior + onsets on beats (chosen on dev) | {chosen:.1%} |")
    timing = time.perf_counter()
    for audio, _, _ in held[:50]:
        loops.estimate(audio, 44100)
    print(f"\nestimate(): {(time.perf_counter() - timing) / 50 * 1000:.1f} ms per loop (mean of 50)")
    return 0


def _readings(audio) -> dict:
    return loops.estimate(audio, 44100).readings


if __name__ == "__main__":
    sys.exit(main())
