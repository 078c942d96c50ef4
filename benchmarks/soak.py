"""Soak: many steps in one process, resources sampled as they go; leaks show as slopes.

    .venv/bin/python benchmarks/soak.py                       # 100,000 steps per env kind
    .venv/bin/python benchmarks/soak.py --steps 20000 --which single,vector --max-seconds 120

For each kind of environment it plays random episodes of DrumLoop (16 steps, reward mfcc) until
`--steps` env steps are done or `--max-seconds` pass, closing and re-creating the env every
`--recreate` episodes (a fresh scsynth, FIFO and temp dir each time), and every `--check` episodes
plays the known optimum and checks its audio is bit-identical to the first episode's (no state
carried between renders) and its rewards are ~0. Every `--sample` steps it records this process's
resident memory, open file descriptors, threads, child processes (zombies included) and the files
under its private temp dir; for the sclang kind also the sclang process's memory, descriptors,
threads, children and temp files. It prints each series' least-squares slope per 1000 steps
(after a warm-up of the first `--warmup` fraction of samples) and its first/last values, writes
them as JSON with `--json`, and exits 1 if anything leaked: descriptors, threads, children or temp
files not back to their first value after close, or memory growing faster than `--max-rss-slope`
KB per 1000 steps.

Kinds: `single` (gym.make("raveforce/DrumLoop-v0")), `vector` (gym.make_vec(...,
num_envs=--num-envs, vectorization_mode="vector_entry_point"); steps count sub-env steps),
`sclang` (raveforce/SCLang-v0 against `raveforce sclang supercollider/RaveForce/examples/drum_loop.scd`,
mode "events": sclang describes the task at every re-creation, Python's scsynth renders), and
`sclang-nrt` (the same server, mode "sclang": sclang renders every prefix with Score.recordNRT;
about 0.1 s per step, so give it fewer steps with --nrt-steps).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "supercollider" / "RaveForce" / "examples" / "drum_loop.scd"
LEAK_FREE = ("fds", "threads", "children", "tmp_files")  # must end where they started


# --- resource probes (Linux /proc) -------------------------------------------------------------


def _status(pid: int | str, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def children_of(pid: int) -> list[int]:
    """Every process whose parent is `pid` (zombies included: an unreaped child is a leak too)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def count_files(directory: str | os.PathLike) -> int:
    return sum(len(dirs) + len(files) for _, dirs, files in os.walk(directory))


def probe(pid: int, tmpdir: str | os.PathLike) -> dict[str, int]:
    """Resources of process `pid`: rss_kb, fds, threads, children, tmp_files (under tmpdir)."""
    return {
        "rss_kb": _status(pid, "VmRSS"),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": _status(pid, "Threads"),
        "children": len(children_of(pid)),
        "tmp_files": count_files(tmpdir),
    }


def slope_per_1000(steps: list[int], values: list[float], warmup: float) -> float:
    """Least-squares slope of values against steps, per 1000 steps, after the warm-up samples."""
    skip = int(len(steps) * warmup)
    x, y = np.asarray(steps[skip:], float), np.asarray(values[skip:], float)
    if len(x) < 2 or np.ptp(x) == 0:
        return 0.0
    return float(np.polyfit(x, y, 1)[0] * 1000)


@dataclass
class Series:
    """Resource samples against steps, for one process."""

    steps: list[int] = field(default_factory=list)
    samples: list[dict[str, int]] = field(default_factory=list)

    def add(self, step: int, sample: dict[str, int]) -> None:
        self.steps.append(step)
        self.samples.append(sample)

    def summary(self, warmup: float) -> dict[str, dict[str, float]]:
        out = {}
        for key in self.samples[0]:
            values = [s[key] for s in self.samples]
            out[key] = {
                "slope_per_1000_steps": slope_per_1000(self.steps, values, warmup),
                "first": values[0],
                "last": values[-1],
                "max": max(values),
            }
        return out


# --- the sclang server ---------------------------------------------------------------------------


# --- the soak loops ----------------------------------------------------------------------------------


@dataclass
class Result:
    kind: str
    steps: int = 0
    episodes: int = 0
    recreations: int = 0
    checks: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    process: Series = field(default_factory=Series)
    server: Series | None = None  # sclang's own resources
    after_close: dict[str, int] = field(default_factory=dict)
    server_after_close: dict[str, int] = field(default_factory=dict)


def soak(
    kind: str,
    *,
    steps: int,
    max_seconds: float,
    recreate: int = 50,
    check: int = 25,
    sample: int = 1000,
    num_envs: int = 8,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Result:
    """Play `steps` env steps of `kind` (see the module docstring); returns the samples."""
    import gymnasium as gym

    import raveforce  # noqa: F401  (registers the envs)
    from raveforce.synth.sclang import BackgroundServer
    from raveforce.tasks import DRUM_LOOP_PATTERN

    result = Result(kind)
    server = BackgroundServer(EXAMPLE) if kind.startswith("sclang") else None
    tmpdir = tempfile.mkdtemp(prefix=f"soak-{kind}-")
    saved_tmp = tempfile.tempdir
    tempfile.tempdir = tmpdir  # every temp dir RaveForce makes in this process lands here
    rng = np.random.default_rng(seed)
    lanes = num_envs if kind == "vector" else 1

    def make():
        if kind == "single":
            return gym.make("raveforce/DrumLoop-v0", reward="mfcc")
        if kind == "vector":
            return gym.make_vec("raveforce/DrumLoop-v0", num_envs=num_envs, vectorization_mode="vector_entry_point", reward="mfcc")
        mode = "sclang" if kind == "sclang-nrt" else "events"
        return gym.make("raveforce/SCLang-v0", name="drum_loop", port=server.port, mode=mode, reward="mfcc")

    def episode(env, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Play one episode: actions (16, lanes); returns the last observation and the rewards."""
        env.reset(seed=int(rng.integers(1 << 31)))
        rewards = []
        for a in actions:
            obs, reward, terminated, _, _ = env.step(a if kind == "vector" else int(a[0]))
            rewards.append(reward)
            if not np.all(np.isfinite(reward)):
                raise RuntimeError(f"non-finite reward {reward}")
        if not np.all(terminated):
            raise RuntimeError("the episode did not terminate after 16 steps")
        if kind == "vector":
            env.step(actions[0])  # NEXT_STEP autoreset: the step after the end starts new episodes
        return np.asarray(obs), np.asarray(rewards)

    def record() -> None:
        result.process.add(result.steps, probe(os.getpid(), tmpdir))
        if server is not None:
            result.server.add(result.steps, probe(server.sclang_pid, server.tmpdir))

    optimum = np.repeat(np.asarray(DRUM_LOOP_PATTERN)[:, None], lanes, axis=1)
    reference = None
    env = None
    start = time.monotonic()
    if server is not None:
        result.server = Series()
    next_sample = sample
    try:
        warm = make()  # one-time start-up costs (imports, caches, lazily started threads) are not leaks
        try:
            episode(warm, optimum)
        finally:
            warm.close()
        del warm
        record()
        while result.steps < steps and time.monotonic() - start < max_seconds:
            if result.episodes % recreate == 0:
                if env is not None:
                    env.close()
                    result.recreations += 1
                env = make()
            if result.episodes % check == 0:
                obs, rewards = episode(env, optimum)
                if reference is None:
                    reference = obs
                if not np.array_equal(obs, reference):
                    result.errors.append(f"episode {result.episodes}: the optimum's audio differs from the first time's by {np.abs(obs - reference).max()}")
                if np.abs(rewards).max() > 1e-6:
                    result.errors.append(f"episode {result.episodes}: the optimum's rewards are {np.abs(rewards).max()} from 0")
                result.checks += 1
            else:
                episode(env, rng.integers(0, 8, (16, lanes)))
            result.episodes += 1
            result.steps += 16 * lanes
            if result.steps >= next_sample:
                record()
                next_sample += sample
                if progress and len(result.process.steps) % 10 == 0:
                    s = result.process.samples[-1]
                    progress(f"{kind}: {result.steps} steps, {time.monotonic() - start:.0f} s, rss {s['rss_kb']} KB, fds {s['fds']}")
    except Exception as exc:  # a soak reports what broke, with the step it broke at
        result.errors.append(f"after {result.steps} steps: {type(exc).__name__}: {exc}")
    finally:
        result.seconds = time.monotonic() - start
        if result.process.steps:
            record()
        if env is not None:
            env.close()
        del env
        import gc

        gc.collect()
        try:
            result.after_close = probe(os.getpid(), tmpdir)
            if server is not None:
                result.server_after_close = probe(server.sclang_pid, server.tmpdir)
        finally:
            if server is not None:
                server.stop()
            tempfile.tempdir = saved_tmp
            shutil.rmtree(tmpdir, ignore_errors=True)
    return result


def verdict(result: Result, *, warmup: float, max_rss_slope: float) -> tuple[dict, list[str]]:
    """The summary of a soak and the leaks it shows (an empty list: none)."""
    summary = {
        "kind": result.kind, "steps": result.steps, "episodes": result.episodes,
        "recreations": result.recreations, "optimum_checks": result.checks,
        "seconds": round(result.seconds, 1), "errors": result.errors,
        "process": result.process.summary(warmup) if result.process.samples else {}, "after_close": result.after_close,
    }  # fmt: skip
    problems = list(result.errors)
    if not result.process.samples:
        return summary | {"process": {}}, problems or ["no samples"]
    baseline = result.process.samples[0]
    for key in LEAK_FREE:
        if result.after_close[key] > baseline[key]:
            problems.append(f"{key}: {baseline[key]} before, {result.after_close[key]} after close")
    if summary["process"]["rss_kb"]["slope_per_1000_steps"] > max_rss_slope:
        problems.append(f"rss grows {summary['process']['rss_kb']['slope_per_1000_steps']:.1f} KB per 1000 steps")
    if result.server is not None:
        summary["sclang"] = result.server.summary(warmup)
        summary["sclang_after_close"] = result.server_after_close
        first = result.server.samples[0]
        for key in ("fds", "children", "tmp_files"):
            if result.server_after_close[key] > first[key]:
                problems.append(f"sclang {key}: {first[key]} before, {result.server_after_close[key]} after close")
        if summary["sclang"]["rss_kb"]["slope_per_1000_steps"] > max_rss_slope:
            problems.append(f"sclang rss grows {summary['sclang']['rss_kb']['slope_per_1000_steps']:.1f} KB per 1000 steps")
    return summary, problems


def _table(summary: dict) -> str:
    rows = [f"{summary['kind']}: {summary['steps']} steps ({summary['episodes']} episodes, "
            f"{summary['recreations']} re-creations, {summary['optimum_checks']} optimum checks) in {summary['seconds']} s"]  # fmt: skip
    for who in ("process", "sclang"):
        if who not in summary:
            continue
        after = summary["after_close" if who == "process" else "sclang_after_close"]
        for key, s in summary[who].items():
            rows.append(
                f"  {who:7s} {key:9s} slope {s['slope_per_1000_steps']:+9.2f} /1000 steps   "
                f"first {s['first']:>8}  last {s['last']:>8}  max {s['max']:>8}  after close {after[key]:>8}"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100_000, help="env steps per kind (default 100000)")
    parser.add_argument("--nrt-steps", type=int, default=1600, help="steps of the sclang-nrt kind (default 1600)")
    parser.add_argument("--which", default="single,vector,sclang,sclang-nrt", help="kinds, comma-separated")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="time limit per kind (default 600)")
    parser.add_argument("--num-envs", type=int, default=8, help="sub-envs of the vector kind (default 8)")
    parser.add_argument("--recreate", type=int, default=50, help="re-create the env every N episodes (default 50)")
    parser.add_argument("--check", type=int, default=25, help="play the optimum every N episodes (default 25)")
    parser.add_argument("--sample", type=int, default=1000, help="sample resources every N steps (default 1000)")
    parser.add_argument("--warmup", type=float, default=0.2, help="fraction of samples left out of the slopes (default 0.2)")
    parser.add_argument("--max-rss-slope", type=float, default=20.0, help="KB per 1000 steps counted as a leak (default 20)")
    parser.add_argument("--json", type=Path, help="write the summaries here")
    args = parser.parse_args(argv)
    summaries, failed = [], False
    for kind in args.which.split(","):
        n = args.nrt_steps if kind == "sclang-nrt" else args.steps
        sample = max(16, args.sample * n // args.steps) if kind == "sclang-nrt" else args.sample
        result = soak(
            kind, steps=n, max_seconds=args.max_seconds, recreate=args.recreate, check=args.check,
            sample=sample, num_envs=args.num_envs, progress=lambda text: print(text, file=sys.stderr, flush=True),
        )  # fmt: skip
        summary, problems = verdict(result, warmup=args.warmup, max_rss_slope=args.max_rss_slope)
        summary["problems"] = problems
        summaries.append(summary)
        print(_table(summary))
        print("  " + ("LEAK/ERROR: " + "; ".join(problems) if problems else "ok: nothing leaked, nothing lost"), flush=True)
        failed |= bool(problems)
    if args.json:
        args.json.write_text(json.dumps(summaries, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
