"""Train the `hits` reward's classifier: which drums start at a step, on loops of the kit family.

    .venv/bin/python scripts/train_hit_classifier.py [--loops 4030] [--epochs 8] [--seed 0]

Data: `--loops` kits of the *train* split (seeds 0..loops-1), each playing a uniform random
16-step pattern with its rendition (gains, velocities, jitter, room, tilt, mix rate), rendered by
scsynth; every step of every loop is one example (`rewards.hits.step_windows`), labelled with
the step's kick, snare and hat bits. Dev: the first 100 dev-split kits with the robustness
study's patterns, printed after each epoch (the number of epochs was chosen there); the
held-out split is never read. Writes raveforce/data/models/hit_classifier.npz (--out to write
elsewhere). Needs torch (the `sb3` extra); about 8 minutes on 2 cores.
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
from raveforce.rewards import hits
from raveforce.tasks import DRUM_LOOP as TASK

BATCH = 256


def loops(seeds: list[int], patterns: np.ndarray, take: int) -> np.ndarray:
    """float32 (len(seeds), samples): the loops, rendered by 2 scsynths at once (from 2 threads)."""
    parts = [slice(i, i + 155) for i in range(0, len(seeds), 155)]

    def job(part):
        return kits.render_loops([(kits.draw(s), p, take) for s, p in zip(seeds[part], patterns[part])], TASK)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # each call runs its own scsynth
        return np.concatenate(list(pool.map(job, parts)))


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
    parser.add_argument("--loops", type=int, default=4030)
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
        dev_seeds = kits.split_seeds("dev", 100)
        dev_patterns = np.stack([np.random.default_rng([s, 16]).integers(0, 8, TASK.steps) for s in dev_seeds])  # the study's
        dx, dy = examples(loops(dev_seeds, dev_patterns, take=0), dev_patterns)
        if args.cache:
            np.savez(args.cache, x=x, y=y, dx=dx, dy=dy)
    print(f"{len(x)} training windows from {len(seeds)} train-split loops, {len(dx)} dev ({time.perf_counter() - start:.0f} s)", flush=True)
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
        print(f"epoch {epoch + 1}: dev hits right {right.mean():.4f} (kick {right[:, 0].mean():.3f}, snare {right[:, 1].mean():.3f}, "
              f"hat {right[:, 2].mean():.3f}), {time.perf_counter() - start:.0f} s", flush=True)  # fmt: skip
    arrays = {k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()}
    header = {"format": hits.FORMAT, "pools": pools, "hidden": args.hidden, "loops": len(seeds), "epochs": args.epochs, "seed": args.seed, "dev_hits": float(right.mean())}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, header=np.array(json.dumps(header)), **arrays)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
