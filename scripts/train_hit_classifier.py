"""Train the `hits` reward's classifier: which drums start at a step, on loops of the kit family
and of Hydrogen's sampled kits.

    .venv/bin/python scripts/train_hit_classifier.py [--loops 4030] [--sampled-loops 6000] [--epochs 8] [--seed 0]

Data: `--loops` kits of the family's *train* split (seeds 0..loops-1), each playing a uniform
random 16-step pattern with its rendition (gains, velocities, jitter, room, tilt, mix rate), and
`--sampled-loops` loops on Hydrogen's *train* kits (`raveforce.kits.sampled.draw(i, "train")`:
velocity layers, humanised timing, swing, distractors, effects, codecs; a `--plain-share` of
them played plainly), rendered by scsynth. Every step of every loop is one example
(`rewards.hits.step_windows`), labelled with the step's kick, snare and hat bits. Dev, printed
after each epoch (the settings were chosen there): the first 100 family dev kits with the
robustness study's patterns, and 100 loops on Hydrogen's dev kits as drawn and 100 played
plainly. The held-out splits are never read. Writes raveforce/data/models/hit_classifier.npz
(--out to write elsewhere). Needs torch (the `sb3` extra) and `make kits`; about 15 minutes on 2
cores (the shipped model: the defaults, 2026-12-07).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import time
from pathlib import Path

import numpy as np

from raveforce import kits
from raveforce.kits import sampled
from raveforce.rewards import hits
from raveforce.tasks import DRUM_LOOP as TASK

BATCH = 256


def in_two(render_loops, loops: list) -> np.ndarray:
    """float32 (len(loops), samples): `render_loops(loops, TASK)` in parts of 155 loops, by 2
    scsynths at once (from 2 threads)."""
    parts = [loops[i : i + 155] for i in range(0, len(loops), 155)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # each call runs its own scsynth
        return np.concatenate(list(pool.map(lambda part: render_loops(part, TASK), parts)))


def loops(seeds: list[int], patterns: np.ndarray, take: int) -> np.ndarray:
    """float32 (len(seeds), samples): the family's loops of kits `seeds`."""
    return in_two(kits.render_loops, [(kits.draw(s), p, take) for s, p in zip(seeds, patterns)])


def sampled_loops(first: int, count: int, split: str, patterns: np.ndarray, plain_share: float) -> np.ndarray:
    """float32 (count, samples): loops first.. of Hydrogen's `split` kits (`sampled.draw`), the
    first `plain_share` of them played plainly."""
    plain = round(count * plain_share)
    drums = [sampled.draw(first + i, split, mix_chance=0.0).plain() if i < plain else sampled.draw(first + i, split) for i in range(count)]
    return in_two(sampled.render_loops, [(d, p, 0) for d, p in zip(drums, patterns)])


def _windows(audio: np.ndarray) -> np.ndarray:
    b = TASK.boundaries
    return np.stack([hits.step_windows(x, b[:-1], b[1:]) for x in audio]).reshape(-1, hits.PRE + hits.POST, hits.BANDS)


def examples(audio: np.ndarray, patterns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(windows float32 (loops * 16, PRE + POST, BANDS), labels float32 (loops * 16, 3))."""
    chunks = np.array_split(audio, 8)
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        x = np.concatenate(list(pool.map(_windows, chunks)))
    y = np.stack([(patterns >> i) & 1 for i in range(3)], -1).reshape(-1, 3).astype(np.float32)
    return x, y


def network(torch, pools, hidden: int):
    """The architecture `hits.HitClassifier` runs in numpy: 3x3 convolutions of 16 and 32
    channels, each max-pooled by its (time, band) entry of `pools`, a dense layer of `hidden`."""
    nn = torch.nn
    frames, bands = hits.PRE + hits.POST, hits.BANDS
    for p, q in pools:
        frames, bands = frames // p, bands // q

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 16, 3, padding=1), nn.Conv2d(16, 32, 3, padding=1)
            self.dense1 = nn.Linear(32 * frames * bands, hidden)
            self.dense2 = nn.Linear(hidden, 3)

        def forward(self, x):
            x = nn.functional.max_pool2d(torch.relu(self.conv1(x[:, None])), pools[0])
            x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), pools[1])
            return self.dense2(torch.relu(self.dense1(x.flatten(1))))

    return Net()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=4030, help="loops on kit-family train kits")
    parser.add_argument("--sampled-loops", type=int, default=6000, help="loops on Hydrogen's train kits")
    parser.add_argument("--plain-share", type=float, default=0.3, help="of the sampled loops, the share played plainly")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pools", default="1x2,2x2", help="max-pooling (time x band) after each convolution")
    parser.add_argument("--hidden", type=int, default=256, help="units of the dense layer")
    parser.add_argument("--out", type=Path, default=hits.MODEL_PATH)
    parser.add_argument("--cache", type=Path, default=None, help="an .npz keeping the examples between runs (same --loops and --seed)")
    args = parser.parse_args()
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    start = time.perf_counter()
    seeds = kits.split_seeds("train", args.loops)
    if args.cache and args.cache.exists():
        with np.load(args.cache) as cached:
            x, y, dx, dy = (cached[k] for k in ("x", "y", "dx", "dy"))
    else:
        patterns = np.random.default_rng([args.seed, 77]).integers(0, 8, (len(seeds), TASK.steps))
        x, y = examples(loops(seeds, patterns, take=3), patterns)
        if args.sampled_loops:
            s_patterns = np.random.default_rng([args.seed, 78]).integers(0, 8, (args.sampled_loops, TASK.steps))
            sx, sy = examples(sampled_loops(0, args.sampled_loops, "train", s_patterns, args.plain_share), s_patterns)
            x, y = np.concatenate([x, sx]), np.concatenate([y, sy])
        dev_seeds = kits.split_seeds("dev", 100)
        dev_patterns = np.stack([np.random.default_rng([s, 16]).integers(0, 8, TASK.steps) for s in dev_seeds])  # the study's
        dx, dy = examples(loops(dev_seeds, dev_patterns, take=0), dev_patterns)
        h_patterns = np.stack([np.random.default_rng([i, 16, 0]).integers(0, 8, TASK.steps) for i in range(100)])  # bench_real_loops'
        hx, hy = examples(sampled_loops(0, 100, "dev", h_patterns, 0.0), h_patterns)
        px, py = examples(sampled_loops(0, 100, "dev", h_patterns, 1.0), h_patterns)
        dx, dy = np.concatenate([dx, hx, px]), np.concatenate([dy, hy, py])
        if args.cache:
            np.savez(args.cache, x=x, y=y, dx=dx, dy=dy)
    print(f"{len(x)} training windows ({len(seeds)} family loops, {args.sampled_loops} sampled), {len(dx)} dev ({time.perf_counter() - start:.0f} s)", flush=True)
    dev_parts = {"family": slice(0, 1600), "hydrogen": slice(1600, 3200), "plain": slice(3200, 4800)}
    pools = [tuple(int(n) for n in p.split("x")) for p in args.pools.split(",")]
    net = network(torch, pools, args.hidden)
    optimiser = torch.optim.Adam(net.parameters(), 1e-3)
    xt, yt, dxt = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(dx)
    for epoch in range(args.epochs):
        net.train()
        order = torch.randperm(len(xt))
        for i in range(0, len(order), BATCH):
            rows = order[i : i + BATCH]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(net(xt[rows]), yt[rows])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        net.eval()
        with torch.no_grad():
            right = (net(dxt) > 0).numpy() == (dy > 0.5)
        parts = ", ".join(f"{name} {right[rows].mean():.4f} (k {right[rows, 0].mean():.3f} s {right[rows, 1].mean():.3f} h {right[rows, 2].mean():.3f})" for name, rows in dev_parts.items())
        print(f"epoch {epoch + 1}: dev hits right {parts}, {time.perf_counter() - start:.0f} s", flush=True)
    arrays = {k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()}
    header = {
        "format": hits.FORMAT, "pools": pools, "hidden": args.hidden, "loops": len(seeds), "sampled_loops": args.sampled_loops,
        "plain_share": args.plain_share, "epochs": args.epochs, "seed": args.seed,
        "dev_hits": {name: float(right[rows].mean()) for name, rows in dev_parts.items()},
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, header=np.array(json.dumps(header)), **arrays)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
