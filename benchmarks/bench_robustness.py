"""Reward robustness: which rewards still find the answer when the target is not reproducible.

    .venv/bin/python benchmarks/bench_robustness.py            # ~3 min; prints the markdown tables
    .venv/bin/python benchmarks/bench_robustness.py --only cost  # ms per step of each reward
    .venv/bin/python benchmarks/bench_robustness.py --only family  # loops on 300 unheard kits (raveforce.kits)
    .venv/bin/python benchmarks/bench_robustness.py --only bounds  # 40 dev kits: the agent on the target's own voices

Kit family (--only family): 100 kits per split (train / dev / held-out seeds of raveforce.kits),
each playing a random pattern with its rendition; greedy search with every reward, beam search
with DrumLoop's default (`hits`), and greedy on calibrated kits (raveforce.kits.calibration) with the
default and onsets + 5 x multiscale; fraction of the 48 drum hits per pattern right. Then
KickFrequency hill climbs toward 50 family kicks per split with `steady_ot` (KickFrequency's
default). About 15 min on 2 idle cores; `--family-rewards` and `--phases` run parts of it.

Drum loop (DrumLoop-v0's kit and grid): 10 seeded random 16-step patterns, each rendered by
scsynth as a target three ways: with another kit (drums synthesised with other parameters, below),
with the agent's own kit but every onset jittered uniformly by up to +-2.5 ms, and both. For every
reward, greedy search (at each step, the action with the best reward after its own earlier
choices) plays the task's kit; we count the steps whose action equals the pattern's.
The agent's audio is its kit's one-shots (rendered by scsynth) mixed at the step boundaries, checked
here against a one-shot render of a whole pattern (max difference printed).

Kick (KickFrequency-v0's sine under a fixed 0.01/0.49 s envelope): targets are kicks made by another
SynthDef (a sine swept down to `freq`, other attack/decay, a click) at several frequencies and
envelopes. The agent's sine is rendered on a grid of 1025 actions (~12 cents apart); hill climbing
(pattern search: try +-step, move if better, else halve the step, from 128 grid steps down to 1)
starts from 20 seeded random grid points; success = it ends within 50 cents of the target's `freq`.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # small matrices in many processes: BLAS threads only contend

import argparse
import concurrent.futures
import dataclasses
import multiprocessing
import time
from collections.abc import Sequence

import numpy as np
from supriya import Envelope, synthdef
from supriya.ugens import BPF, HPF, EnvGen, OffsetOut, RandSeed, SinOsc, WhiteNoise

from raveforce import kits
from raveforce import rewards as R
from raveforce.app.landscape import render_lanes
from raveforce.app.progress import ProgressLine
from raveforce.kits import calibration
from raveforce.kits.calibration import action_shots, mixed_search
from raveforce.synth.render import note_message, render_episode, setup_messages
from raveforce.synth.scsynth import BlockClock, render_nrt
from raveforce.task import Choices, Note, Task
from raveforce.tasks import DRUM_LOOP, KICK_FREQUENCY

REWARDS = ("mse", "stft", "mfcc", "cqt", "multiscale", "multiscale_log", "spectral_ot")
JITTER_S = 0.0025
PATTERNS = 10
DONE = 2


# --- the other kit: the shipped kit's recipes with other parameters ---------------------------


@synthdef()
def other_kick(out=0, amp=0.7):
    """A shorter, higher kick: 150 -> 56 Hz, 0.3 s decay, a 900 Hz click."""
    pitch = EnvGen.ar(envelope=Envelope(amplitudes=(150, 62, 56), durations=(0.025, 0.3), curves=("exponential", "exponential")))
    body = SinOsc.ar(frequency=pitch) * EnvGen.ar(envelope=Envelope.percussive(0.003, 0.3), done_action=DONE)
    click = SinOsc.ar(frequency=900) * EnvGen.ar(envelope=Envelope.percussive(0.0005, 0.01)) * 0.25
    OffsetOut.ar(bus=out, source=(body + click) * amp)


@synthdef()
def other_snare(out=0, amp=0.4):
    """A brighter snare: noise band-passed at 2500 Hz (another seed) over a 210 Hz body."""
    RandSeed.ir(trigger=1, seed=7)
    noise = BPF.ar(source=WhiteNoise.ar(), frequency=2500, reciprocal_of_q=1.0)
    noise = noise * EnvGen.ar(envelope=Envelope.percussive(0.002, 0.22), done_action=DONE) * 1.6
    body = SinOsc.ar(frequency=210) * EnvGen.ar(envelope=Envelope.percussive(0.001, 0.06)) * 0.6
    OffsetOut.ar(bus=out, source=(noise + body) * amp)


@synthdef()
def other_hat(out=0, amp=0.25):
    """A thinner hat: noise high-passed at 8500 Hz (another seed), 35 ms decay."""
    RandSeed.ir(trigger=1, seed=11)
    noise = HPF.ar(source=WhiteNoise.ar(), frequency=8500)
    OffsetOut.ar(bus=out, source=noise * EnvGen.ar(envelope=Envelope.percussive(0.001, 0.035), done_action=DONE) * amp)


OTHER_KIT = (other_kick, other_snare, other_hat)  # bits 1, 2, 4 as the task's kit
OTHER_KIT_TASK = Task(
    name="OtherKit",
    synthdefs=OTHER_KIT,
    actions=Choices(tuple(tuple(Note.of(s.name) for i, s in enumerate(OTHER_KIT) if a >> i & 1) for a in range(8))),
    bpm=DRUM_LOOP.bpm,
    steps=DRUM_LOOP.steps,
    beats_per_step=DRUM_LOOP.beats_per_step,
)


def drum_targets(patterns: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """{condition: float32 (patterns, samples)} rendered by scsynth: other kit; own kit jittered; both."""
    out = {}
    for name, task in (("other kit", OTHER_KIT_TASK), ("jitter", DRUM_LOOP), ("other kit + jitter", OTHER_KIT_TASK)):
        jitter = name.endswith("jitter")
        rows = []
        for pattern in patterns:
            clock = BlockClock(task.sample_rate)
            score = [(0, setup_messages(task))]
            shift = np.round(rng.uniform(-JITTER_S, JITTER_S, len(pattern)) * task.sample_rate).astype(int) if jitter else np.zeros(len(pattern), int)
            for k, a in enumerate(pattern):
                notes = task.actions.notes(int(a))
                if notes:
                    score.append((clock.tag(max(0, int(task.boundaries[k]) + shift[k])), [note_message(n, -1, 0) for n in notes]))
            score.sort(key=lambda e: e[0])
            rows.append(render_nrt(score, sample_rate=task.sample_rate, channels=1, frames=task.total_samples)[:, 0])
        out[name] = np.stack(rows)
    return out


def one_shots(task: Task) -> np.ndarray:
    """float32 (actions, samples): each action played alone at sample 0, rendered by scsynth."""
    return render_lanes(task, [[task.actions.notes(a)] for a in range(len(task.actions.options))])


def greedy(reward, target: np.ndarray, shots: np.ndarray, task: Task) -> list[int]:
    """Greedy search with `reward` against `target`, the agent's audio mixed from `shots`."""
    b = task.boundaries
    n = task.total_samples
    criterion = R.make(reward, target=target.astype(np.float64), sample_rate=task.sample_rate, boundaries=b)
    audio = np.zeros(n, np.float32)
    chosen = []
    for k in range(task.steps):
        best, best_d = 0, np.inf
        for a in range(len(shots)):
            trial = audio.copy()
            trial[b[k] :] += shots[a][: n - b[k]]
            criterion.reset()  # its cache holds the last candidate's prefix, not the chosen one
            d = criterion.distance(trial, k)
            if d < best_d:
                best, best_d = a, d
        audio[b[k] :] += shots[best][: n - b[k]]
        chosen.append(best)
    return chosen


def bench_drums(rewards, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    patterns = rng.integers(0, 8, (PATTERNS, DRUM_LOOP.steps))
    targets = drum_targets(patterns, rng)
    shots = one_shots(DRUM_LOOP)
    # the mixed one-shots against a whole-pattern render: how exact the agent's audio is
    mix = np.zeros(DRUM_LOOP.total_samples, np.float32)
    for k, a in enumerate(patterns[0]):
        mix[DRUM_LOOP.boundaries[k] :] += shots[a][: DRUM_LOOP.total_samples - DRUM_LOOP.boundaries[k]]
    ref = render_episode(DRUM_LOOP, [DRUM_LOOP.actions.notes(int(a)) for a in patterns[0]])
    print(f"agent audio: mixed one-shots vs one render of the pattern, max |diff| = {np.abs(mix - ref).max():.2g}")
    results = {}
    progress = ProgressLine("robustness: drums")
    for cond, tgts in targets.items():
        for reward in rewards:
            progress(len(results), len(targets) * len(rewards), f"{cond} {_name(reward)}")
            t = time.perf_counter()
            found = [int(np.sum(np.array(greedy(reward, tgt, shots, DRUM_LOOP)) == p)) for tgt, p in zip(tgts, patterns)]
            results[(cond, _name(reward))] = found
            print(f"  drums {cond:20} {_name(reward):16} {np.mean(found):5.2f}/16 (min {min(found)}) {time.perf_counter() - t:5.1f} s", flush=True)
    progress(len(results), len(results), "done")
    return results


# --- the kit family: loops on kits the agent has never heard (raveforce.kits) ----------------------

FAMILY_COUNT = 100  # kits (one pattern each) per split
_SHARED: dict = {}  # the targets and the agent's one-shots, inherited by forked workers


def family_targets(split: str, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(patterns int (count, 16), targets float32 (count, samples)): seed i of `split` draws kit i
    and a uniform random 16-step pattern, rendered with the kit's rendition."""
    seeds = kits.split_seeds(split, count)
    patterns = np.stack([np.random.default_rng([s, 16]).integers(0, 8, DRUM_LOOP.steps) for s in seeds])
    loops = kits.render_loops([(kits.draw(s), p, 0) for s, p in zip(seeds, patterns)], DRUM_LOOP)
    return patterns, loops


def hit_accuracy(found: Sequence[int], pattern: Sequence[int]) -> tuple[int, int]:
    """(drum hits right of 48: each step's kick, snare and hat bit; steps exactly right of 16)."""
    f, p = np.asarray(found), np.asarray(pattern)
    return int(sum(np.sum((f >> i & 1) == (p >> i & 1)) for i in range(3))), int(np.sum(f == p))


def _family_job(job: tuple) -> tuple:
    reward_key, split, index, width, calibrated = job
    target = _SHARED["targets"][split][index]
    reward = _SHARED["rewards"][reward_key]
    shots = _SHARED["shots"] if not calibrated else action_shots(_SHARED["calibrated"][split][index][0], 8, DRUM_LOOP.total_samples)
    criterion = R.make(reward, target=target.astype(np.float64), sample_rate=DRUM_LOOP.sample_rate, boundaries=DRUM_LOOP.boundaries)
    found, _ = mixed_search(criterion, shots, DRUM_LOOP, width=width)
    return job, hit_accuracy(found, _SHARED["patterns"][split][index])


def _calibration_job(job: tuple) -> tuple:
    split, index = job
    fit = calibration.calibrate(DRUM_LOOP, (_SHARED["targets"][split][index], DRUM_LOOP.sample_rate))
    return job, (kits.render_kit(fit.kit, DRUM_LOOP.sample_rate), fit.seconds)


def bench_family(rewards: dict, splits: Sequence[str], count: int, searches: Sequence[tuple], jobs: int = 2) -> dict:
    """{(split, reward, width, calibrated): [(hits, steps) per target]}: for each (reward key,
    width, calibrated, splits) of `searches`, greedy (width 1) or beam search with the reward,
    the agent playing DrumLoop's shipped kit, or a kit calibrated to each target.
    Also {("calibration seconds", split): [s per target]}."""
    t = time.perf_counter()
    _SHARED["rewards"] = rewards
    _SHARED["shots"] = one_shots(DRUM_LOOP)
    _SHARED["targets"], _SHARED["patterns"], _SHARED["calibrated"] = {}, {}, {}
    for split in splits:
        _SHARED["patterns"][split], _SHARED["targets"][split] = family_targets(split, count)
    print(f"family: {count} kits x patterns per split rendered in {time.perf_counter() - t:.1f} s", flush=True)
    results: dict = {}
    context = multiprocessing.get_context("fork")
    need = [s for s in splits if any(c and s in ss for _, _, c, ss in searches)]
    if need:
        t = time.perf_counter()
        calibration._bank(DRUM_LOOP, calibration.BANK)  # rendered once, shared with the workers
        todo = [(s, i) for s in need for i in range(count)]
        progress = ProgressLine("calibrate")
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
            for done, ((s, i), fitted) in enumerate(pool.map(_calibration_job, todo, chunksize=4), 1):
                _SHARED["calibrated"].setdefault(s, {})[i] = fitted
                results.setdefault(("calibration seconds", s), []).append(fitted[1])
                progress(done, len(todo), s)
        print(f"calibrated {len(todo)} targets in {time.perf_counter() - t:.1f} s", flush=True)
    todo = [(r, s, i, w, c) for r, w, c, ss in searches for s in splits if s in ss for i in range(count)]
    progress = ProgressLine("family")
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
        for done, ((r, s, i, w, c), score) in enumerate(pool.map(_family_job, todo, chunksize=4), 1):
            results.setdefault((s, r, w, c), []).append(score)
            progress(done, len(todo), f"{s} {r} width {w}{' calibrated' if c else ''}")
    return results


def family_table(results: dict, splits: Sequence[str]) -> str:
    """Markdown: per (reward, search, kit) the mean fraction of drum hits right (and of steps)."""
    rows = ["| reward | search | agent's kit | " + " | ".join(f"{s}: hits (steps)" for s in splits) + " |", "|---|---|---|" + "---|" * len(splits)]
    for r, w, c in dict.fromkeys(k[1:] for k in results if k[0] in splits):
        cells = []
        for s in splits:
            scores = np.array(results.get((s, r, w, c), [(np.nan, np.nan)]), float)
            cells.append(f"{scores[:, 0].mean() / 48:.3f} ({scores[:, 1].mean() / 16:.3f})" if (s, r, w, c) in results else "")
        rows.append(f"| `{r}` | {'greedy' if w == 1 else f'beam {w}'} | {'calibrated' if c else 'shipped'} | " + " | ".join(cells) + " |")
    seconds = {s: results[("calibration seconds", s)] for s in splits if ("calibration seconds", s) in results}
    if seconds:
        rows.append("")
        rows.append("Calibration time per target (one process): " + ", ".join(f"{s} mean {np.mean(v):.2f} s (max {np.max(v):.2f})" for s, v in seconds.items()))
    return "\n".join(rows)


# --- kick -------------------------------------------------------------------------------------


@synthdef()
def other_kick_tone(out=0, freq=60.0, sweep=2.0, sweep_time=0.02, attack=0.002, decay=0.4, click=0.3, amp=0.6):
    """A kick made another way: a sine swept from sweep * freq to freq over sweep_time s, under a
    percussive envelope (attack, decay s), plus a 1500 Hz click of level `click`."""
    pitch = EnvGen.ar(envelope=Envelope(amplitudes=(freq * sweep, freq), durations=(sweep_time,), curves=("exponential",)))
    body = SinOsc.ar(frequency=pitch) * EnvGen.ar(envelope=Envelope.percussive(attack, decay), done_action=DONE)
    tick = SinOsc.ar(frequency=1500) * EnvGen.ar(envelope=Envelope.percussive(0.0005, 0.006)) * click
    OffsetOut.ar(bus=out, source=(body + tick) * amp)


KICK_FREQS = (45.0, 60.0, 80.0, 110.0, 150.0)  # Hz
ENVELOPES = {  # name: SynthDef controls
    "short, swept, click": dict(sweep=3.0, sweep_time=0.015, attack=0.001, decay=0.15, click=0.3),
    "long, slight sweep": dict(sweep=1.5, sweep_time=0.03, attack=0.005, decay=0.9, click=0.0),
    "paper's envelope, click": dict(sweep=1.0, sweep_time=0.01, attack=0.01, decay=0.49, click=0.5),
}
GRID = 1025
STARTS = 20


def kick_targets() -> tuple[list[tuple[float, str]], np.ndarray]:
    specs = [(f, e) for e in ENVELOPES for f in KICK_FREQS]
    task = Task(
        name="OtherKick",
        synthdefs=(other_kick_tone,),
        actions=Choices(tuple((Note.of("other_kick_tone", freq=f, **ENVELOPES[e]),) for f, e in specs)),
        bpm=KICK_FREQUENCY.bpm,
        steps=1,
        beats_per_step=KICK_FREQUENCY.beats_per_step,
    )
    return specs, render_lanes(task, [[task.actions.notes(i)] for i in range(len(specs))])


def hill_climb(score, start: int, n: int) -> int:
    """Pattern search over grid indices 0..n-1 maximising score(i) from `start`."""
    i, step = start, 128
    here = score(i)
    while step >= 1:
        moved = False
        for j in (i - step, i + step):
            if 0 <= j < n:
                s = score(j)
                if s > here:
                    i, here, moved = j, s, True
                    break
        if not moved:
            step //= 2
    return i


def family_kick_targets(split: str, count: int) -> tuple[list[tuple[float, str]], np.ndarray]:
    """The kicks of `count` kits of `split` (dry, 0.5 s): specs (end pitch Hz, "kit seed") and audio."""
    seeds = kits.split_seeds(split, count)
    voices = [kits.draw(s).notes()["kick"] for s in seeds]
    audio = kits.render_notes(voices, KICK_FREQUENCY.sample_rate, KICK_FREQUENCY.total_samples)
    return [(kits.draw(s).voices["kick"]["freq"], f"kit {s}") for s in seeds], audio


def bench_kick(rewards, seed: int = 0, targets=None) -> dict:
    """{reward: (specs, hits per target)}: hill climbs of KickFrequency's sine toward each target
    (default: the other SynthDef's kicks, `kick_targets()`), success within 50 cents."""
    task = KICK_FREQUENCY
    control = task.actions.controls[0]
    xs = np.linspace(0.0, 1.0, GRID)
    hz = np.array([control(float(x)) for x in xs])
    grid = render_lanes(task, [[task.actions.notes(np.array([x], np.float32))] for x in xs])
    specs, targets = kick_targets() if targets is None else targets
    starts = np.random.default_rng(seed).integers(0, GRID, (len(specs), STARTS))
    results = {}
    progress = ProgressLine("robustness: kick")
    for reward in rewards:
        progress(len(results), len(rewards), _name(reward))
        t = time.perf_counter()
        hits = []
        for (freq, env), target, st in zip(specs, targets, starts):
            criterion = R.make(reward, target=target.astype(np.float64), sample_rate=task.sample_rate, boundaries=task.boundaries)
            memo: dict[int, float] = {}

            def score(i: int) -> float:
                if i not in memo:
                    memo[i] = -criterion.distance(grid[i], 0)
                return memo[i]

            ends = [hill_climb(score, int(s), GRID) for s in st]
            hits.append(sum(abs(1200 * np.log2(hz[e] / freq)) <= 50 for e in ends))
        results[_name(reward)] = (specs, hits)
        print(f"  kick {_name(reward):16} {100 * sum(hits) / (STARTS * len(specs)):5.1f}% of starts within 50 cents  {time.perf_counter() - t:5.1f} s", flush=True)
    progress(len(rewards), len(rewards), "done")
    return results


def bench_cost(rewards, repeats: int = 5, episodes: int = 10) -> dict:
    """ms per step of incremental 16-step episodes (88200 samples, target features precomputed):
    the best of `repeats` runs of `episodes` episodes."""
    rng = np.random.default_rng(0)
    b = DRUM_LOOP.boundaries
    target, audio = (0.1 * rng.standard_normal(b[-1]) for _ in range(2))
    out = {}
    for reward in rewards:
        criterion = R.make(reward, target=target, sample_rate=DRUM_LOOP.sample_rate, boundaries=b)
        best = np.inf
        for _ in range(repeats):
            t = time.perf_counter()
            for _ in range(episodes):
                criterion.reset()
                for k in range(DRUM_LOOP.steps):
                    criterion.distance(audio, k)
            best = min(best, (time.perf_counter() - t) / (episodes * DRUM_LOOP.steps))
        out[_name(reward)] = best * 1e3
        print(f"  cost {_name(reward):40} {best * 1e3:.3f} ms per step", flush=True)
    return out


def _name(reward) -> str:
    return reward if isinstance(reward, str) else reward.name


FAMILY_REWARDS = ("mse", "stft", "mfcc", "multiscale", "multiscale_log", "spectral_ot", "onsets", "hits")
DEFAULT = DRUM_LOOP.reward  # DrumLoop's default ("hits"): also beam searched and on calibrated kits
CALIBRATED_BLEND = "onsets+5*multiscale"  # on a calibrated kit (chosen on 40 dev kits: weights 1, 3, 5, 10)
FAMILY_EXTRA = {CALIBRATED_BLEND: R.combine(onsets=1.0, multiscale=5.0)}
BEAM = 3
KICK_COUNT = 50  # family kicks per split
KICK_REWARDS = ("steady_ot",)  # KickFrequency's default (the previous one, spectral_ot: `--kick-rewards steady_ot spectral_ot`)


def family_searches(splits: Sequence[str], family_rewards: Sequence[str] = FAMILY_REWARDS) -> list[tuple]:
    """(reward, width, calibrated, splits) of the study: every reward greedy; the default also
    beam searched; the default and the blend on calibrated kits. Train is for choosing: only the
    default runs on it."""
    scored = tuple(s for s in splits if s != "train")
    out = [(r, 1, False, tuple(splits) if r == DEFAULT else scored) for r in family_rewards]
    out += [(DEFAULT, BEAM, False, scored)]
    out += [(r, 1, True, scored) for r in (DEFAULT, CALIBRATED_BLEND)]
    return out


def _kick_job(job: tuple) -> tuple:
    reward, split = job
    return job, bench_kick([reward], targets=family_kick_targets(split, KICK_COUNT))[reward][1]


def family_kicks(splits: Sequence[str], jobs: int, kick_rewards: Sequence[str] = KICK_REWARDS) -> dict:
    """{(reward, split): hill climbs within 50 cents per kick}: kick_rewards x splits in `jobs` processes."""
    todo = [(r, s) for r in kick_rewards for s in splits]
    out = {}
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        for job, hits in pool.map(_kick_job, todo):
            out[job] = hits
    return out


PHASES = ("greedy", "calibrated", "beam", "kicks")


def main_family(splits: Sequence[str], count: int, jobs: int, kick_rewards: Sequence[str] = KICK_REWARDS,
                family_rewards: Sequence[str] = FAMILY_REWARDS, phases: Sequence[str] = PHASES) -> None:  # fmt: skip
    """The study in phases, each printed when done: greedy with every reward; calibrated kits;
    beam search; the family kicks (`phases`: which of them)."""
    t = time.perf_counter()
    print(f"kit family study: splits {', '.join(splits)}, {count} kits each, {jobs} processes; load average {os.getloadavg()[0]:.1f}", flush=True)
    searches = family_searches(splits, family_rewards)
    parts = {
        "greedy, shipped kit": ("greedy", [x for x in searches if x[1] == 1 and not x[2]]),
        "greedy, calibrated kit": ("calibrated", [x for x in searches if x[2]]),
        f"beam {BEAM}, shipped kit": ("beam", [x for x in searches if x[1] > 1]),
    }
    rewards = {**{r: r for r in FAMILY_REWARDS}, **FAMILY_EXTRA}
    for title, (phase, part) in parts.items():
        if phase not in phases:
            continue
        start = time.perf_counter()
        results = bench_family(rewards, splits, count, part, jobs=jobs)
        print(f"\n{title} ({time.perf_counter() - start:.0f} s): drum hits right of 48 per pattern (exact steps of 16), mean over kits; {time.perf_counter() - t:.0f} s so far\n")
        print(family_table(results, splits), flush=True)
    if "kicks" in phases:
        start = time.perf_counter()
        kicks = family_kicks(splits, jobs, kick_rewards)
        print(f"\nkick family ({KICK_COUNT} kicks per split, {STARTS} hill climbs each, {time.perf_counter() - start:.0f} s):\n")
        print("| reward | " + " | ".join(splits) + " |\n|---|" + "---|" * len(splits))
        for r in kick_rewards:
            print(f"| `{r}` | " + " | ".join(f"{100 * sum(kicks[(r, s)]) / (STARTS * KICK_COUNT):.1f}%" for s in splits) + " |")
    print(f"\ntotal {time.perf_counter() - t:.0f} s; load average at the end {os.getloadavg()[0]:.1f}", flush=True)


# --- what limits the accuracy: the agent playing the target's own kit (dev only) -------------------

BOUND_RENDITIONS = {  # row: which parts of the target kit's rendition the agent's voices get (never jitter or velocity)
    "true sounds, unit gains": (),
    "true sounds + gains": ("gain",),
    "true sounds + gains + tilt": ("gain", "tilt"),
    "true sounds + gains + room": ("gain", "room"),
    "true sounds + gains + tilt + room": ("gain", "tilt", "room"),
}


def bound_shots(kit: kits.Kit, parts: Sequence[str]) -> np.ndarray:
    """float32 (8, samples): DrumLoop's actions played on `kit`'s own voices with the `parts` of its
    rendition ("gain", "tilt", "room"; always without jitter and velocity), one-shots at sample 0."""
    r = kit.rendition
    r = dataclasses.replace(
        r, velocity_db=0.0, jitter_s=0.0, gain_db=r.gain_db if "gain" in parts else {v: 0.0 for v in kits.VOICES},
        tilt_db=r.tilt_db if "tilt" in parts else 0.0, room_mix=r.room_mix if "room" in parts else 0.0,
        sample_rate=r.sample_rate if parts else DRUM_LOOP.sample_rate,
    )  # fmt: skip
    voices = kits.render_loops([(kit.replace(rendition=r), [1 << i], 0) for i in range(len(kits.VOICES))], DRUM_LOOP)
    return action_shots(list(voices), 8, DRUM_LOOP.total_samples)


def _search_return(criterion, shots: np.ndarray, actions: Sequence[int]) -> float:
    """The return (sum of -distance) of playing `actions` from `shots` under `criterion`."""
    b, n = DRUM_LOOP.boundaries, DRUM_LOOP.total_samples
    criterion.reset()
    audio, total = np.zeros(n, np.float32), 0.0
    for k, a in enumerate(actions):
        part = shots[a][: n - b[k]]
        audio[b[k] : b[k] + len(part)] += part
        total -= criterion.distance(audio.copy(), k)
    return total


def _bound_job(job: tuple) -> tuple:
    row, reward_key, index = job
    target, pattern, shots = _SHARED["targets"][index], _SHARED["patterns"][index], _SHARED["shots"][row][index]
    criterion = R.make(_SHARED["rewards"][reward_key], target=target.astype(np.float64), sample_rate=DRUM_LOOP.sample_rate, boundaries=DRUM_LOOP.boundaries)
    found, found_return = mixed_search(criterion, shots, DRUM_LOOP)
    missed = list(found) != [int(a) for a in pattern]
    reward_at_fault = missed and _search_return(criterion, shots, pattern) <= found_return  # else the search's
    f, p = np.asarray(found), np.asarray(pattern)
    errors = [(int(np.sum((p >> i & 1) > (f >> i & 1))), int(np.sum((f >> i & 1) > (p >> i & 1)))) for i in range(len(kits.VOICES))]
    return job, (hit_accuracy(found, pattern)[0], missed, reward_at_fault, errors)


def main_bounds(split: str, count: int, jobs: int) -> None:
    """Greedy accuracy when the agent plays the target kit's own voices (with parts of its
    rendition), next to the calibrated and shipped kits: how much of the miss is the sounds, the
    rendition, the reward. Never on held_out (it is for choosing what to build next)."""
    if split == "held_out":
        raise SystemExit("--only bounds is for choosing what to build: run it on train or dev, not held_out")
    t = time.perf_counter()
    patterns, targets = family_targets(split, count)
    rewards = {DEFAULT: DEFAULT, CALIBRATED_BLEND: FAMILY_EXTRA[CALIBRATED_BLEND]}
    shots = {"shipped kit": [one_shots(DRUM_LOOP)] * count}
    calibration._bank(DRUM_LOOP, calibration.BANK)
    _SHARED.update(targets={split: targets})
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        fitted = list(pool.map(_calibration_job, [(split, i) for i in range(count)]))
    shots["calibrated kit (sounds + gains)"] = [action_shots(f[0], 8, DRUM_LOOP.total_samples) for _, f in fitted]
    for row, parts in BOUND_RENDITIONS.items():
        shots[row] = [bound_shots(kits.draw(s), parts) for s in kits.split_seeds(split, count)]
    print(f"bounds: {count} {split} kits, shots rendered and kits calibrated in {time.perf_counter() - t:.0f} s", flush=True)
    _SHARED.update(targets=targets, patterns=patterns, shots=shots, rewards=rewards)
    todo = [(row, r, i) for row in shots for r in rewards for i in range(count)]
    results: dict = {}
    progress = ProgressLine("bounds")
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        for done, ((row, r, i), out) in enumerate(pool.map(_bound_job, todo, chunksize=4), 1):
            results.setdefault((row, r), []).append(out)
            progress(done, len(todo), row)
    voices = "/".join(kits.VOICES)
    print(f"\n| agent plays | reward | {split}: hits right | loops wrong: reward's fault / search's | missed / extra hits ({voices}) |")
    print("|---|---|---|---|---|")
    for (row, r), outs in results.items():
        errors = np.sum([o[3] for o in outs], axis=0)
        misses = ", ".join(f"{m} / {e}" for m, e in errors)
        print(f"| {row} | `{r}` | {sum(o[0] for o in outs) / (48 * count):.3f} | {sum(o[2] for o in outs)} / {sum(o[1] and not o[2] for o in outs)} of {count} | {misses} |")
    print(f"\n{time.perf_counter() - t:.0f} s; load average {os.getloadavg()[0]:.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rewards", nargs="*", default=list(REWARDS))
    parser.add_argument("--only", choices=("drums", "kick", "cost", "family", "bounds"), default=None)
    parser.add_argument("--splits", nargs="*", default=["train", "dev", "held_out"], help="family: kit splits (held_out: report once)")
    parser.add_argument("--count", type=int, default=FAMILY_COUNT, help="family: kits (one pattern each) per split")
    parser.add_argument("--jobs", type=int, default=2, help="family: worker processes")
    parser.add_argument("--kick-rewards", nargs="*", default=list(KICK_REWARDS), help="family: rewards of the kick hill climbs")
    parser.add_argument("--family-rewards", nargs="*", default=list(FAMILY_REWARDS), choices=FAMILY_REWARDS, help="family: rewards of the greedy rows")
    parser.add_argument("--phases", nargs="*", default=list(PHASES), choices=PHASES, help="family: which phases to run")
    args = parser.parse_args()
    rewards = args.rewards
    if args.only == "bounds":
        main_bounds(args.splits[0] if len(args.splits) == 1 else "dev", min(args.count, 40), args.jobs)
        return
    if args.only == "family":
        main_family(args.splits, args.count, args.jobs, args.kick_rewards, args.family_rewards, args.phases)
        return
    if args.only == "cost":
        bench_cost([*rewards, R.combine(mfcc=1.0, multiscale=0.5)])
        return
    if args.only != "kick":
        drums = bench_drums(rewards)
        conds = list(dict.fromkeys(c for c, _ in drums))
        print("\n| reward | " + " | ".join(f"{c}: mean (min) of 16" for c in conds) + " |")
        print("|---|" + "---|" * len(conds))
        for r in rewards:
            cells = [f"{np.mean(drums[(c, _name(r))]):.1f} ({min(drums[(c, _name(r))])})" for c in conds]
            print(f"| `{_name(r)}` | " + " | ".join(cells) + " |")
    if args.only != "drums":
        kick = bench_kick(rewards)
        envs = list(ENVELOPES)
        print("\n| reward | " + " | ".join(envs) + " | all |")
        print("|---|" + "---|" * (len(envs) + 1))
        for r in rewards:
            specs, hits = kick[_name(r)]
            per = [sum(h for (f, e), h in zip(specs, hits) if e == env) / (STARTS * len(KICK_FREQS)) for env in envs]
            print(f"| `{_name(r)}` | " + " | ".join(f"{100 * p:.0f}%" for p in per) + f" | {100 * sum(hits) / (STARTS * len(specs)):.0f}% |")


if __name__ == "__main__":
    main()
