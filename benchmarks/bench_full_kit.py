"""Ten-voice drum transcription on grooves played by Hydrogen's sampled kits (`raveforce.kits.sampled.draw_full`).

    .venv/bin/python benchmarks/bench_full_kit.py --split dev [--count 60] [--agents classifier basic played] [--command]

Loop i of a split: `sampled.draw_full(i, split)` (a kit's ten voices, or pieces from another kit
of the split, distractors, a rendition: velocity layers, humanised timing, swing, gains, room,
compression, codecs) playing a two-bar `transcribe.groove_grid` (accents, ghost snares, ride
patterns, open hats, crashes, tom fills) at a tempo drawn from 80-175 BPM, given to the agents.
Agents answer with a (steps, 10) grid of levels on the loop's DrumKit task:

- basic: the shipped 3-voice one-pass transcriber (`raveforce transcribe --kit basic`): kick,
  snare and closed hat, at one level;
- classifier: the shipped full-kit classifier (`raveforce transcribe --kit full`,
  `raveforce.transcribe.kit_classifier`), or that of `--model` (made by
  `scripts/train_kit_classifier.py`), in one pass;
- played: the grid that was played, as a reference for the measures (swing and humanised timing
  move onsets off the grid).

`--command`: also times `raveforce transcribe DIR --out OUT --kit full --jobs 2` (tempo found
per loop, every file written) on a folder of 480 WAV files (the loops, each written as often as
that takes), in a process of its own: loops/s of the whole command, start-up included.

Measures (`raveforce.transcribe.scores.full_kit`): per voice onset P/R/F at ±50 and ±30 ms and
on the grid, the macro F over the voices, the open/closed hat and tom confusions, the velocity
Spearman and MAE over the hits found, and loops per second. The issue's targets (held-out kits,
run once): macro F >= 0.90, kick, snare and closed hat >= 0.95 each, velocity Spearman >= 0.6.
Needs `make kits` (all of Hydrogen's kits) for dev and held-out, and mir_eval.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from raveforce.kits import sampled
from raveforce.tasks import DRUM_KIT, DRUM_LOOP, FULL_KIT, drum_kit_task
from raveforce.transcribe import groove_grid, scores, shuffle_grid

BPM = (80.0, 175.0)
AGENTS = ("basic", "classifier", "played")


def targets(split: str, count: int, seed: int = 0, steps: str = "16"):
    """(grids, truths, loops float32 (samples,), tasks): count two-bar grooves on the split's
    kits; steps "triplet": each groove as a shuffle (`transcribe.shuffle_grid`) on 8th-note triplets."""
    grids, truths, tasks, loops = [], [], [], []
    for i in range(count):
        rng = np.random.default_rng([i, 26, seed])
        bpm = float(np.round(rng.uniform(*BPM), 2))
        drums = sampled.draw_full(i, split)
        grid = groove_grid(rng, bars=2)
        if steps == "triplet":
            task, grid = drum_kit_task(bars=2, steps_per_beat=3, bpm=bpm), shuffle_grid(grid)
        else:
            task = dataclasses.replace(DRUM_KIT, bpm=bpm, steps=32)
        loops.append(sampled.render_grid_loops([(drums, grid, 0)], task)[0])
        grids.append(grid), truths.append(sampled.grid_truth(drums, grid, task, 0)), tasks.append(task)
    return grids, truths, loops, tasks


def answers(agent: str, grids, loops, tasks, model=None) -> list[np.ndarray]:
    if agent == "played":
        return [g.copy() for g in grids]
    if agent == "classifier":
        from raveforce.transcribe import kit_classifier

        classifier = kit_classifier.KitClassifier.load(model) if model else kit_classifier.classifier()
        return [kit_classifier.transcribe(x, task, classifier) for x, task in zip(loops, tasks)]
    from raveforce.transcribe import policy

    shipped = policy.load()
    found = []
    for x, task in zip(loops, tasks):
        drum_loop = dataclasses.replace(DRUM_LOOP, bpm=task.bpm, steps=task.steps, beats_per_step=task.beats_per_step)
        actions = np.array(policy.transcribe_bars(drum_loop.load_target((x, task.sample_rate)), drum_loop, policy=shipped))
        grid = np.zeros((task.steps, len(FULL_KIT)), np.int64)
        for bit, voice in enumerate(("kick", "snare", "hat")):
            grid[:, FULL_KIT.index(voice)] = 2 * (actions >> bit & 1)
        found.append(grid)
    return found


def table(results: dict) -> str:
    voices = "".join(f" {v} F |" for v in FULL_KIT)
    rows = [f"| agent | macro F ±50 ms | macro F ±30 ms |{voices} hat closed→open | open→closed | velocity Spearman | velocity MAE | loops/s |"]
    rows.append("|---|" + "---:|" * (len(FULL_KIT) + 7))
    for agent, (s, rate) in results.items():
        per = "".join(f" {s['voices'][v]['onset'][0.05][2]:.3f} |" for v in FULL_KIT)
        h, v = s["hat_confusion"], s["velocity"]
        rows.append(
            f"| {agent} | **{s['macro_f'][0.05]:.3f}** | {s['macro_f'][0.03]:.3f} |{per} {h['closed_as_open']:.3f} | {h['open_as_closed']:.3f} "
            f"| {v['spearman']:.3f} | {v['mae']:.1f} | {rate:.1f} |"
        )
    return "\n".join(rows)


def command_rate(loops, tasks, grid: str = "16", jobs: int = 2, files: int = 480) -> tuple[float, int]:
    """(loops/s, loops) of `raveforce transcribe --kit full --grid grid --jobs jobs` over at least
    `files` WAV files: the loops, each written as often as that takes (a folder of loops)."""
    import soundfile

    copies = -(-files // len(loops))
    with tempfile.TemporaryDirectory(prefix="bench-full-kit-") as tmp:
        folder = Path(tmp) / "loops"
        folder.mkdir()
        for c in range(copies):
            for i, (x, task) in enumerate(zip(loops, tasks)):
                soundfile.write(folder / f"loop{i:04d}-{c}.wav", x, task.sample_rate)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "raveforce", "transcribe", str(folder), "--out", str(Path(tmp) / "out"), "--kit", "full", "--grid", grid, "--jobs", str(jobs)], capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"raveforce transcribe failed: {done.stderr[-2000:]}")
    return copies * len(loops) / seconds, copies * len(loops)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=["train", "dev", "held_out"])
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--agents", nargs="+", default=["classifier", "basic", "played"], choices=AGENTS)
    parser.add_argument("--model", type=Path, default=None, help="the classifier agent's model (.npz; default the shipped one)")
    parser.add_argument("--grid", choices=["16", "triplet"], default="16", help="triplet: the grooves as shuffles on 8th-note triplets")
    parser.add_argument("--command", action="store_true", help="also time raveforce transcribe --kit full --jobs 2 on the loops")
    args = parser.parse_args()
    start = time.perf_counter()
    grids, truths, loops, tasks = targets(args.split, args.count, steps=args.grid)
    print(f"{args.count} two-bar grooves on the {args.split} kits at {BPM[0]:g}-{BPM[1]:g} BPM, rendered in {time.perf_counter() - start:.0f} s")
    results = {}
    for agent in args.agents:
        start = time.perf_counter()
        found = answers(agent, grids, loops, tasks, args.model)
        results[agent] = (scores.full_kit(found, truths, tasks), args.count / (time.perf_counter() - start))
    print(table(results))
    if args.command:
        rate, count = command_rate(loops, tasks, args.grid)
        print(f"raveforce transcribe --kit full --grid {args.grid} --jobs 2: {rate:.1f} loops/s over {count} files (the loops, {count // args.count} times each)")
    for agent, (s, _) in results.items():
        print(f"{agent}: tom confusion (rows low, mid, high played alone; columns low, mid, high, none answered)\n{np.round(s['tom_confusion'], 3)}")


if __name__ == "__main__":
    main()
