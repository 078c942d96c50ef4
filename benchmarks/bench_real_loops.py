"""Drum transcription on loops played by Hydrogen's sampled kits (`raveforce.kits.sampled`).

    .venv/bin/python benchmarks/bench_real_loops.py --split dev [--count 60] [--agents dp greedy policy]

Each loop i of a split is `sampled.draw(i, split)` (a kit's pieces or pieces mixed across the
split's kits, distractors, a rendition) playing a uniform random 16-step kick/snare/hat pattern
at DrumLoop's grid (120 BPM, one bar). The agents answer with DrumLoop actions:

- dp: DrumLoop's default solve (beam search, width 4, with the default reward `hits`), the
  agent's audio mixed from the shipped kit's one-shots (as `raveforce solve` renders it);
- greedy: the same with width 1;
- policy: the shipped one-pass transcriber (`raveforce.transcribe.policy`);
- classifier: the supervised reference in one pass, each step's kick, snare and hat where the
  `hits` reward's classifier gives them a probability above 0.5.

Scores: the fraction of the 48 drum cells (kick, snare, hat at each step) right, and per drum
the onset precision, recall and F-measure (`mir_eval.onset.f_measure`, ±50 ms and ±30 ms;
summed over the loops' onsets), a hit answered at step k counting as an onset at the step's
start, the reference being where each sample starts (humanised timing and swing included).

The held-out split is for one final report: run it once, after everything is chosen on train
and dev. Needs `make kits` (all of Hydrogen's kits) for dev and held-out, and mir_eval.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import concurrent.futures
import multiprocessing
import platform
import time
from pathlib import Path

import numpy as np

from raveforce import rewards as R
from raveforce.app.progress import ProgressLine
from raveforce.kits import hydrogen, sampled
from raveforce.kits.calibration import mixed_search
from raveforce.tasks import DRUM_LOOP as TASK
from raveforce.transcribe import policy as transcriber

VOICES = hydrogen.VOICES
AGENTS = ("dp", "greedy", "policy", "classifier")
_SHARED: dict = {}


CONDITIONS = ("plain", "rendition")


def targets(split: str, count: int, condition: str, seed: int = 0) -> tuple[list, np.ndarray, np.ndarray]:
    """(drums per loop, patterns int (count, 16), loops float32 (count, samples)). Condition
    "plain": one kit's pieces played plainly (`SampledDrums.plain`); "rendition": as drawn."""
    drums = [sampled.draw(i, split, mix_chance=0.0).plain() if condition == "plain" else sampled.draw(i, split) for i in range(count)]
    patterns = np.stack([np.random.default_rng([i, 16, seed]).integers(0, 8, TASK.steps) for i in range(count)])
    loops = sampled.render_loops([(d, p, 0) for d, p in zip(drums, patterns)], TASK)
    return drums, patterns, loops


def _search_job(job):
    agent, index = job
    criterion = R.make(TASK.reward, target=_SHARED["loops"][index].astype(np.float64), sample_rate=TASK.sample_rate, boundaries=TASK.boundaries)
    found, _ = mixed_search(criterion, _SHARED["shots"], TASK, width=4 if agent == "dp" else 1)
    return job, found


def one_shots() -> np.ndarray:
    """float32 (8, samples): each DrumLoop action played alone at sample 0 (scsynth)."""
    from raveforce.app.landscape import render_lanes

    return render_lanes(TASK, [[TASK.actions.notes(a)] for a in range(len(TASK.actions.options))])


def answers(agent: str, loops: np.ndarray, jobs: int) -> np.ndarray:
    """int (loops, 16): the agent's actions for each loop."""
    if agent == "classifier":
        from raveforce.rewards import hits

        b = TASK.boundaries
        p = np.stack([hits.classifier().probabilities(hits.step_windows(x, b[:-1], b[1:])) for x in loops])
        return ((p > 0.5) * np.array([1, 2, 4])).sum(axis=2)
    if agent == "policy":
        policy = transcriber.load()
        return np.array([transcriber.transcribe((x, TASK.sample_rate), policy=policy)[0] for x in loops])
    _SHARED["loops"] = loops
    _SHARED.setdefault("shots", one_shots())
    out = np.zeros((len(loops), TASK.steps), np.int64)
    progress = ProgressLine(agent)
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        for done, ((_, i), found) in enumerate(pool.map(_search_job, [(agent, i) for i in range(len(loops))], chunksize=2), 1):
            out[i] = found
            progress(done, len(loops), agent)
    return out


def scores(found: np.ndarray, patterns: np.ndarray, drums: list, windows=(0.05, 0.03)) -> dict:
    """{"cells": fraction right, (voice, window): (precision, recall, F)} summed over the loops."""
    import mir_eval

    cells = float(np.mean([(found >> i & 1) == (patterns >> i & 1) for i in range(len(VOICES))]))
    out: dict = {"cells": cells}
    starts = TASK.boundaries[:-1] / TASK.sample_rate
    for window in windows:
        for i, voice in enumerate(VOICES):
            tp = n_ref = n_est = 0
            for answer, pattern, d in zip(found, patterns, drums):
                ref = sampled.onsets(d, pattern, TASK, 0)[voice]
                est = starts[(answer >> i & 1).astype(bool)]
                n_ref, n_est = n_ref + len(ref), n_est + len(est)
                if len(ref) and len(est):
                    tp += len(mir_eval.util.match_events(ref, est, window))
            p = tp / n_est if n_est else 1.0
            r = tp / n_ref if n_ref else 1.0
            out[(voice, window)] = (p, r, 2 * p * r / (p + r) if p + r else 0.0)
    return out


def table(results: dict, split: str, count: int) -> str:
    head = "| agent | cells right | " + " | ".join(f"{v} P / R / F ±50 ms" for v in VOICES) + " | mean F ±50 ms | mean F ±30 ms | s per loop |"
    rows = [head, "|---|---:|" + "---:|" * len(VOICES) + "---:|---:|---:|"]
    for agent, (s, seconds) in results.items():
        per = [f"{s[(v, 0.05)][0]:.3f} / {s[(v, 0.05)][1]:.3f} / **{s[(v, 0.05)][2]:.3f}**" for v in VOICES]
        f50 = np.mean([s[(v, 0.05)][2] for v in VOICES])
        f30 = np.mean([s[(v, 0.03)][2] for v in VOICES])
        rows.append(f"| {agent} | **{s['cells']:.3f}** | " + " | ".join(per) + f" | {f50:.3f} | {f30:.3f} | {seconds / count:.2f} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=sorted(hydrogen.SPLITS), default="dev")
    parser.add_argument("--count", type=int, default=60, help="loops")
    parser.add_argument("--agents", nargs="*", choices=AGENTS, default=list(AGENTS))
    parser.add_argument("--conditions", nargs="*", choices=CONDITIONS, default=list(CONDITIONS))
    parser.add_argument("--jobs", type=int, default=2, help="worker processes of the searches")
    parser.add_argument("--hits-model", type=Path, default=None, help="another hit classifier (.npz) for the `hits` reward, to compare")
    args = parser.parse_args()
    if args.hits_model is not None:
        from raveforce.rewards import hits

        classifier = hits.HitClassifier.load(args.hits_model)
        hits.classifier = lambda: classifier  # read at each call, in the forked workers too
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    model = f" --hits-model {args.hits_model}" if args.hits_model else ""
    print(f"command: python benchmarks/bench_real_loops.py --split {args.split} --count {args.count} --agents {' '.join(args.agents)} --conditions {' '.join(args.conditions)}{model}")
    if args.split == "held_out":
        print("held-out kits: a final report, run once after everything is chosen")
    for condition in args.conditions:
        t = time.perf_counter()
        drums, patterns, loops = targets(args.split, args.count, condition)
        kits_used = sorted({k for d in drums for k in d.kits.values()})
        print(f"{condition}: {args.count} loops on {kits_used} rendered in {time.perf_counter() - t:.1f} s", flush=True)
        results = {}
        for agent in args.agents:
            t = time.perf_counter()
            found = answers(agent, loops, args.jobs)
            results[agent] = (scores(found, patterns, drums), time.perf_counter() - t)
            print(f"{agent}: cells right {results[agent][0]['cells']:.3f} ({time.perf_counter() - t:.0f} s)", flush=True)
        print(f"\n{condition}, {args.split} kits:\n")
        print(table(results, args.split, args.count))
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
