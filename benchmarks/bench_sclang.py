"""Per-step time of the sclang path: `python benchmarks/bench_sclang.py [--episodes N]`.

Starts `raveforce sclang supercollider/RaveForce/examples/drum_loop.scd` (the paper's drum loop,
16 steps of a 16th note at 120 BPM, Discrete(8)), plays random episodes through
`raveforce/SCLang-v0` in each mode, and prints ms per env step (reward "mse", the cheapest, so the
numbers are rendering and messaging) and the ratio against the paper's architecture measured in
the same run: sclang renders the whole prefix with Score.recordNRT at every step.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import raveforce  # noqa: F401  (registers the envs)
from raveforce.synth.sclang import SCLangClient

EXAMPLE = Path(__file__).resolve().parents[1] / "supercollider" / "RaveForce" / "examples" / "drum_loop.scd"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sclang(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "raveforce", "sclang", str(EXAMPLE), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    for line in process.stdout:
        if "serving task(s)" in line:
            threading.Thread(target=process.stdout.read, daemon=True).start()  # keep the pipe drained
            return process
    raise RuntimeError(f"raveforce sclang exited with code {process.wait()} before serving")


def time_steps(env, episodes: int, rng) -> np.ndarray:
    """ms of every env.step over `episodes` random episodes (resets not counted)."""
    times = []
    for _ in range(episodes):
        env.reset(seed=int(rng.integers(1 << 31)))
        for action in rng.integers(0, 8, env.unwrapped.task.steps):
            start = time.perf_counter()
            env.step(int(action))
            times.append(time.perf_counter() - start)
    return np.array(times) * 1e3


def time_requests(client: SCLangClient, n: int, rng) -> np.ndarray:
    """ms of `n` `events` round trips (sclang evaluates one step's pattern, no rendering)."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        client.events(int(rng.integers(16)), [int(rng.integers(8))])
        times.append(time.perf_counter() - start)
    return np.array(times) * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=5, help="random 16-step episodes per mode (default 5)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    port = free_port()
    process = start_sclang(port)
    try:
        rows = []
        for label, kwargs in (
            ("events: sclang's notes, kept-alive scsynth stream", {"mode": "events", "renderer": "stream"}),
            ("events: sclang's notes, fresh scsynth per step (Python NRT)", {"mode": "events", "renderer": "nrt"}),
            ("sclang: Score.recordNRT of the prefix per step (paper)", {"mode": "sclang"}),
        ):
            env = gym.make("raveforce/SCLang-v0", name="drum_loop", port=port, reward="mse", **kwargs)
            try:
                time_steps(env, 1, rng)  # warm-up
                rows.append((label, time_steps(env, args.episodes, rng)))
            finally:
                env.close()
        client = SCLangClient("drum_loop", port=port)
        rows.append(("OSC round trip alone (/raveforce/events)", time_requests(client, 16 * args.episodes, rng)))
        client.close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)

    paper = float(np.median(rows[2][1]))
    print(f"drum loop (16 steps of 5512.5 samples at 44.1 kHz, Discrete(8)), {args.episodes} random episodes per row")
    print(f"{'path':62} {'median ms/step':>14} {'mean':>8} {'p90':>8} {'x faster than paper':>20}")
    for label, ms in rows:
        median = float(np.median(ms))
        print(f"{label:62} {median:14.3f} {ms.mean():8.3f} {np.percentile(ms, 90):8.3f} {paper / median:20.1f}")
    print(f"per 16-step episode: events/stream {16 * np.median(rows[0][1]):.1f} ms, paper {16 * paper:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
