"""`--bpm auto`: how often the loop estimator finds the tempo and bar count of a drum loop.

Loops are 1, 2 or 4 bars of 4/4 at a tempo drawn from 60-200 BPM, played by Hydrogen's sampled
kits with renditions (`raveforce.kits.sampled.draw`: velocity layers, humanised timing, swing,
distractors, effects, MP3/OGG; the dev kits for the dev split, the held-out kits for the
held-out split), half of them from a small drum grammar (kick on beat 1 and often 3, snare
backbeats on 2 and 4, hi-hats in 8ths, 16ths or off-beats, a few random extra hits), half
uniform random kick/snare/hat patterns, rendered by scsynth. The estimator's settings (the
tempo prior's width, the weights of the 16th-note grid and of the backbeat) are chosen on the
dev split (seeds 0-399) together with 60 two-bar MP3 loops of `bench_real_loops.py`'s dev
condition (uniform random patterns at 80-175 BPM, open hats, a crash on the one); the held-out
split (seeds 1000-1399) is run once with the choice (which `raveforce.app.loops` has as its
defaults). Needs `make kits`.

    python benchmarks/bench_tempo.py            # the dev sweep
    python benchmarks/bench_tempo.py --held-out # then, once, the held-out split
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import numpy as np

from raveforce.app import loops
from raveforce.tasks import DRUM_LOOP
from raveforce.transcribe.targets import groove_pattern

sys.path.insert(0, str(Path(__file__).parent))  # bench_real_loops, beside this file
DEV = range(0, 400)
HELD_OUT = range(1000, 1400)
PRIOR_OCTAVES = (0.5, 1.0, 2.0, 4.0)
GRID_WEIGHTS = (0.0, 2.0, 4.0, 8.0)
BACKBEAT_WEIGHTS = (0.0, 1.0, 2.0, 4.0)
BUSY_WEIGHTS = (0.0, 0.25, 0.5, 1.0)
REPEAT_POWERS = (0.0, 0.5, 1.0, 2.0)


def make_loop(seed: int, split: str) -> tuple[np.ndarray, float, int, str]:
    """(float32 mono audio at 44100 Hz, bpm, bars, kind) of loop `seed` on `split`'s kits."""
    import dataclasses

    from raveforce.kits import sampled

    rng = np.random.default_rng(seed)
    bars = int(rng.choice(loops.BARS))
    bpm = float(np.round(rng.uniform(*loops.BPM_RANGE), 2))
    kind = "groove" if rng.random() < 0.5 else "random"
    if kind == "groove":
        pattern = groove_pattern(rng, bars)
    else:
        pattern = rng.integers(0, 8, 16 * bars).tolist()
    task = dataclasses.replace(DRUM_LOOP, bpm=bpm, steps=16 * bars)
    return sampled.render_loop(sampled.draw(seed, split), pattern, task), bpm, bars, kind


def accuracy(found: list, truth: list) -> float:
    """The fraction of loops whose bar count (hence tempo, from the length) is found."""
    return float(np.mean([f.bars == bars for f, (_, _, bars, _) in zip(found, truth)]))


def main() -> int:
    held_out = "--held-out" in sys.argv
    start = time.perf_counter()
    dev = [make_loop(s, "dev") for s in DEV]
    seconds = [len(a) / 44100 for a, _, _, _ in dev]
    evidence = [loops.evidence(a, 44100) for a, _, _, _ in dev]
    ambiguous = np.mean([len(e) > 1 for e in evidence])
    print(f"dev split: {len(dev)} loops on Hydrogen's dev kits ({ambiguous:.0%} fit more than one reading), rendered and analysed in {time.perf_counter() - start:.1f} s")
    import bench_real_loops

    _, _, two_bar, two_tasks = bench_real_loops.targets("dev", 60, "two-bar mp3")
    two_evidence = [loops.evidence(a, 44100) for a in two_bar]
    two_truth = [(a, t.bpm, 2, "random") for a, t in zip(two_bar, two_tasks)]
    results = {}
    for setting in itertools.product(PRIOR_OCTAVES, GRID_WEIGHTS, BACKBEAT_WEIGHTS, BUSY_WEIGHTS, REPEAT_POWERS):
        kwargs = dict(zip(("prior_octaves", "grid_weight", "backbeat_weight", "busy_weight", "repeat_power"), setting))
        found = [loops.choose(e, s, **kwargs) for e, s in zip(evidence, seconds)]
        two = [loops.choose(e, len(a) / 44100, **kwargs) for e, a in zip(two_evidence, two_bar)]
        results[setting] = (accuracy(found, dev), accuracy(two, two_truth))
    pooled = lambda value: value[0] * len(dev) + value[1] * len(two_bar)  # noqa: E731
    print(f"\nthe 10 best of {len(results)} settings on dev (by loops right in both sets):\n")
    print("| prior (octaves) | grid weight | backbeat weight | busy weight | repeat power | dev | two-bar MP3 dev |\n|---:|---:|---:|---:|---:|---:|---:|")
    for setting, value in sorted(results.items(), key=lambda item: -pooled(item[1]))[:10]:
        print("| " + " | ".join(f"{x:g}" for x in setting) + f" | {value[0]:.1%} | {value[1]:.1%} |")
    only_prior = max((v for k, v in results.items() if k[1:4] == (0.0, 0.0, 0.0)), key=pooled)
    print(f"| the length and the prior alone (best prior) | | | | | {only_prior[0]:.1%} | {only_prior[1]:.1%} |")
    defaults = (loops.PRIOR_OCTAVES, loops.GRID_WEIGHT, loops.BACKBEAT_WEIGHT, loops.BUSY_WEIGHT, loops.REPEAT_POWER)
    mine = results.get(defaults, (float("nan"), float("nan")))
    print(f"\nthe library's defaults {defaults}: {mine[0]:.1%} on dev, {mine[1]:.1%} on the two-bar MP3 dev loops")
    chosen = [loops.estimate(a, 44100) for a, _, _, _ in dev]
    for kind in ("groove", "random"):
        rows = [i for i, d in enumerate(dev) if d[3] == kind]
        print(f"dev, the library's defaults, {kind}: {accuracy([chosen[i] for i in rows], [dev[i] for i in rows]):.1%} of {len(rows)}")
    if held_out:
        held = [make_loop(s, "held_out") for s in HELD_OUT]
        found = [loops.estimate(a, 44100) for a, _, _, _ in held]
        print("\n| held-out split (400 loops on Hydrogen's held-out kits, run once) | accuracy |\n|---|---:|")
        print(f"| all | {accuracy(found, held):.1%} |")
        for kind in ("groove", "random"):
            rows = [i for i, d in enumerate(held) if d[3] == kind]
            print(f"| {kind} | {accuracy([found[i] for i in rows], [held[i] for i in rows]):.1%} |")
    timing = time.perf_counter()
    for audio, _, _, _ in dev[:50]:
        loops.estimate(audio, 44100)
    print(f"\nestimate(): {(time.perf_counter() - timing) / 50 * 1000:.1f} ms per loop (mean of 50)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
