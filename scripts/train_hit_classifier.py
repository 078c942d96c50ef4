"""Train the `hits` reward's classifier: which drums start at a step, on loops of the kit family
and of Hydrogen's sampled kits.

    .venv/bin/python scripts/train_hit_classifier.py [--loops 4030] [--sampled-loops 6000] [--epochs 8] [--seed 0]

Data: `--loops` kits of the family's *train* split (seeds 0..loops-1), each playing a uniform
random 16-step pattern at 120 BPM with its rendition (gains, velocities, jitter, room, tilt, mix
rate), and `--sampled-loops` loops on Hydrogen's *train* kits (`raveforce.kits.sampled.draw(i,
"train")`: velocity layers, humanised timing, swing, distractors, effects, codecs; a
`--plain-share` of them played plainly), rendered by scsynth. With `--bpm LOW HIGH` the loops
are rendered in groups of 124, each at a tempo drawn from that range, and a `--groove-share` of
the patterns are grooves (`transcribe.targets.groove_pattern`): the shipped transcriber's data
(`scripts/train_transcriber.py`); a classifier trained on them at 60-200 BPM was not adopted
(see the benchmarks' "Not adopted" page). Every step of every loop is
one example (`rewards.hits.step_windows`), labelled with the step's kick, snare and hat bits.
Dev, printed after each epoch (the settings were chosen there): the first 100 family dev kits
with the robustness study's patterns, 100 loops on Hydrogen's dev kits as drawn and 100 played
plainly (all at 120 BPM), and 100 loops on the dev kits at tempi from 60-200 BPM. The held-out
splits are never read. `--heard-dev-loops N` (a diagnostic, never shipped) adds N loops on
the dev kits to the training data, to show how well the network hears kits it has heard. Writes raveforce/data/models/hit_classifier.npz
(--out to write elsewhere). Needs torch (the `sb3` extra) and `make kits`; about 15 minutes on 2
cores (the shipped model: the defaults, 2026-12-07).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import functools
import json
import multiprocessing
import time
from pathlib import Path

import numpy as np

from raveforce import kits
from raveforce.kits import sampled
from raveforce.rewards import hits
from raveforce.tasks import DRUM_LOOP as TASK
from raveforce.transcribe.targets import groove_pattern

BATCH = 256


def in_two(render_loops, loops: list, task=TASK) -> np.ndarray:
    """float32 (len(loops), samples): `render_loops(loops, task)` in 2 parts, by 2 scsynths at once
    (from 2 threads)."""
    half = (len(loops) + 1) // 2
    parts = [loops[:half], loops[half:]] if len(loops) > 1 else [loops]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # each call runs its own scsynth
        return np.concatenate(list(pool.map(lambda part: render_loops(part, task), parts)))


def draw_patterns(rng: np.random.Generator, count: int, groove_share: float) -> np.ndarray:
    """int64 (count, 16): `groove_share` of them grooves (`targets.groove_pattern`), the others
    uniform random patterns (each of the 8 actions equally likely)."""
    return np.array([groove_pattern(rng) if rng.random() < groove_share else rng.integers(0, 8, TASK.steps).tolist() for _ in range(count)], np.int64)


def _windows(boundaries: np.ndarray, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    db = np.stack([hits.step_windows_db(x, boundaries[:-1], boundaries[1:]) for x in audio]).reshape(-1, hits.PRE + hits.POST, hits.BANDS)
    return hits.normalise(db), db.max(axis=(1, 2)).astype(np.float32)


def examples(audio: np.ndarray, patterns: np.ndarray, task=TASK) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(windows float32 (loops * 16, PRE + POST, BANDS), labels float32 (loops * 16, 3), each
    window's peak in dB float32 (loops * 16,): what `normalise` took off), in loop and step order."""
    chunks = [c for c in np.array_split(audio, 8) if len(c)]  # fewer than 8 loops: no empty chunk
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        x, peak = (np.concatenate(part) for part in zip(*pool.map(functools.partial(_windows, task.boundaries), chunks)))
    y = np.stack([(patterns >> i) & 1 for i in range(3)], -1).reshape(-1, 3).astype(np.float32)
    return x, y, peak


def tempo_examples(make_loops, count: int, rng: np.random.Generator, bpm_range: tuple[float, float], groove_share: float, group: int = 124):
    """`examples` of `count` loops in groups of `group`, each group at a tempo drawn uniformly from
    `bpm_range`; make_loops(first, patterns, task) -> float32 (len(patterns), samples) renders
    loops first.. (the audio of one group at a time: 60 BPM loops are large)."""
    parts = []
    for first in range(0, count, group):
        n = min(group, count - first)
        task = dataclasses.replace(TASK, bpm=float(np.round(rng.uniform(*bpm_range), 2)))
        patterns = draw_patterns(rng, n, groove_share)
        parts.append(examples(make_loops(first, patterns, task), patterns, task))
    return tuple(np.concatenate(p) for p in zip(*parts))


def family_maker(seeds: list[int], take: int):
    """make_loops for `tempo_examples`: the family's kits `seeds` with their renditions."""
    return lambda first, patterns, task: in_two(kits.render_loops, [(kits.draw(s), p, take) for s, p in zip(seeds[first:], patterns)], task)


def sampled_maker(split: str, plain_share: float, offset: int = 0):
    """make_loops for `tempo_examples`: loops offset+first.. on Hydrogen's `split` kits (`sampled.draw`),
    each played plainly with chance `plain_share` (drawn from its index)."""

    def make(first, patterns, task):
        drums = []
        for i in range(offset + first, offset + first + len(patterns)):
            plain = np.random.default_rng([i, 79]).random() < plain_share
            drums.append(sampled.draw(i, split, mix_chance=0.0).plain() if plain else sampled.draw(i, split))
        return in_two(sampled.render_loops, [(d, p, 0) for d, p in zip(drums, patterns)], task)

    return make


def sampled_loops(first: int, count: int, split: str, patterns: np.ndarray, plain_share: float) -> np.ndarray:
    """float32 (count, samples): loops first.. of Hydrogen's `split` kits (`sampled.draw`) at
    DrumLoop's tempo, the first `plain_share` of them played plainly."""
    plain = round(count * plain_share)
    drums = [sampled.draw(first + i, split, mix_chance=0.0).plain() if i < plain else sampled.draw(first + i, split) for i in range(count)]
    return in_two(sampled.render_loops, [(d, p, 0) for d, p in zip(drums, patterns)])


def train_epoch(torch, model, optimiser, x, y, batch: int, loss) -> None:
    """One pass of `optimiser` over (x, y) in a random order, `batch` rows at a time, minimising
    loss(model(rows of x), rows of y)."""
    model.train()
    order = torch.randperm(len(x))
    for i in range(0, len(order), batch):
        rows = order[i : i + batch]
        value = loss(model(x[rows]), y[rows])
        optimiser.zero_grad()
        value.backward()
        optimiser.step()


def network(torch, pools, hidden: int, outputs: int = 3, level: bool = False):
    """The architecture `hits.HitClassifier` runs in numpy: 3x3 convolutions of 16 and 32
    channels, each max-pooled by its (time, band) entry of `pools`, a dense layer of `hidden`,
    `outputs` logits. level: the dense layer also takes each window's level, forward(x, level)
    (`transcribe.kit_classifier.KitClassifier`)."""
    nn = torch.nn
    frames, bands = hits.PRE + hits.POST, hits.BANDS
    for p, q in pools:
        frames, bands = frames // p, bands // q

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 16, 3, padding=1), nn.Conv2d(16, 32, 3, padding=1)
            self.dense1 = nn.Linear(32 * frames * bands + level, hidden)
            self.dense2 = nn.Linear(hidden, outputs)

        def hidden(self, x, levels=None):
            """The dense layer's output (after ReLU), as `hits.HitClassifier.hidden`."""
            x = nn.functional.max_pool2d(torch.relu(self.conv1(x[:, None])), pools[0])
            x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), pools[1]).flatten(1)
            return torch.relu(self.dense1(x if levels is None else torch.cat([x, levels[:, None]], 1)))

        def forward(self, x, levels=None):
            return self.dense2(self.hidden(x, levels))

    return Net()


def dataset(args, seeds: list[int]):
    """{"x", "y", "peak", "dx", "dy", "dpeak"}: the training windows, labels and peaks (`examples`) (the family's loops, then the sampled ones: at
    DrumLoop's 120 BPM playing uniform random patterns, or with args.bpm (low, high) in groups
    at tempi from that range, a share args.groove_share of them grooves) and the dev windows:
    100 family dev kits, 100 loops on Hydrogen's dev kits as drawn and 100 played plainly, at
    DrumLoop's 120 BPM, and 100 loops on the dev kits as drawn at tempi from 60-200 BPM. With
    args.heard_dev_loops, the training windows include that many loops of the dev kits (a
    diagnostic: how well the classifier hears kits it has heard)."""
    if args.bpm is None:  # the shipped classifier's data
        patterns = np.random.default_rng([args.seed, 77]).integers(0, 8, (len(seeds), TASK.steps))
        train = [examples(family_maker(seeds, take=3)(0, patterns, TASK), patterns)]
        if args.sampled_loops:
            s_patterns = np.random.default_rng([args.seed, 78]).integers(0, 8, (args.sampled_loops, TASK.steps))
            train.append(examples(sampled_loops(0, args.sampled_loops, "train", s_patterns, args.plain_share), s_patterns))
    else:
        rng = np.random.default_rng([args.seed, 77])
        train = [tempo_examples(family_maker(seeds, take=3), len(seeds), rng, args.bpm, args.groove_share)]
        if args.sampled_loops:
            train.append(tempo_examples(sampled_maker("train", args.plain_share), args.sampled_loops, rng, args.bpm, args.groove_share))
    if args.heard_dev_loops:  # the diagnostic: loops 10,000.. of the dev kits, none of them a dev loop
        d_patterns = np.random.default_rng([args.seed, 99]).integers(0, 8, (args.heard_dev_loops, TASK.steps))
        train.append(examples(sampled_loops(10000, args.heard_dev_loops, "dev", d_patterns, args.plain_share), d_patterns))
    dev_seeds = kits.split_seeds("dev", 100)
    dev_patterns = np.stack([np.random.default_rng([s, 16]).integers(0, 8, TASK.steps) for s in dev_seeds])  # the robustness study's
    dev = [examples(family_maker(dev_seeds, take=0)(0, dev_patterns, TASK), dev_patterns)]
    h_patterns = np.stack([np.random.default_rng([i, 16, 0]).integers(0, 8, TASK.steps) for i in range(100)])  # bench_real_loops'
    dev.append(examples(sampled_loops(0, 100, "dev", h_patterns, 0.0), h_patterns))
    dev.append(examples(sampled_loops(0, 100, "dev", h_patterns, 1.0), h_patterns))
    dev.append(tempo_examples(sampled_maker("dev", 0.0, offset=1000), 100, np.random.default_rng([args.seed, 80]), (60.0, 200.0), 0.5, group=10))
    joined = [np.concatenate(column) for column in zip(*train)] + [np.concatenate(column) for column in zip(*dev)]
    return dict(zip(("x", "y", "peak", "dx", "dy", "dpeak"), joined))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=4030, help="loops on kit-family train kits")
    parser.add_argument("--sampled-loops", type=int, default=6000, help="loops on Hydrogen's train kits")
    parser.add_argument("--plain-share", type=float, default=0.3, help="of the sampled loops, the share played plainly")
    parser.add_argument("--bpm", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"), help="a tempo range for the training loops (default: 120 BPM)")
    parser.add_argument("--groove-share", type=float, default=0.5, help="with --bpm: the share of loops playing grooves (else random patterns)")
    parser.add_argument("--heard-dev-loops", type=int, default=0, help="a diagnostic, never shipped (needs --out): also train on this many loops of the dev kits")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pools", default="1x2,2x2", help="max-pooling (time x band) after each convolution")
    parser.add_argument("--hidden", type=int, default=256, help="units of the dense layer")
    parser.add_argument("--out", type=Path, default=hits.MODEL_PATH)
    parser.add_argument("--cache", type=Path, default=None, help="an .npz keeping the examples between runs (same data options)")
    args = parser.parse_args()
    if args.heard_dev_loops and args.out == hits.MODEL_PATH:
        parser.error("--heard-dev-loops trains on the dev kits: such a classifier is never shipped; pass --out")
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    start = time.perf_counter()
    seeds = kits.split_seeds("train", args.loops)
    if args.cache and args.cache.exists():
        with np.load(args.cache) as cached:
            x, y, dx, dy = (cached[k] for k in ("x", "y", "dx", "dy"))
    else:
        arrays = dataset(args, seeds)
        x, y, dx, dy = (arrays[k] for k in ("x", "y", "dx", "dy"))
        if args.cache:
            np.savez(args.cache, **arrays)
    print(f"{len(x)} training windows ({len(seeds)} family loops, {args.sampled_loops} sampled), {len(dx)} dev ({time.perf_counter() - start:.0f} s)", flush=True)
    dev_parts = {"family": slice(0, 1600), "hydrogen": slice(1600, 3200), "plain": slice(3200, 4800), "tempi": slice(4800, 6400)}
    pools = [tuple(int(n) for n in p.split("x")) for p in args.pools.split(",")]
    net = network(torch, pools, args.hidden)
    optimiser = torch.optim.Adam(net.parameters(), 1e-3)
    xt, yt, dxt = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(dx)
    for epoch in range(args.epochs):
        train_epoch(torch, net, optimiser, xt, yt, BATCH, torch.nn.functional.binary_cross_entropy_with_logits)
        net.eval()
        with torch.no_grad():
            right = (net(dxt) > 0).numpy() == (dy > 0.5)
        parts = ", ".join(f"{name} {right[rows].mean():.4f} (k {right[rows, 0].mean():.3f} s {right[rows, 1].mean():.3f} h {right[rows, 2].mean():.3f})" for name, rows in dev_parts.items())
        print(f"epoch {epoch + 1}: dev hits right {parts}, {time.perf_counter() - start:.0f} s", flush=True)
    header = {
        "format": hits.FORMAT, "pools": pools, "hidden": args.hidden, "loops": len(seeds), "sampled_loops": args.sampled_loops,
        "plain_share": args.plain_share, "heard_dev_loops": args.heard_dev_loops, "bpm": args.bpm and list(args.bpm), "groove_share": args.groove_share if args.bpm else 0.0, "epochs": args.epochs, "seed": args.seed,
        "dev_hits": {name: float(right[rows].mean()) for name, rows in dev_parts.items()},
    }  # fmt: skip
    save(args.out, header, net)


def save(path: Path, header: dict, net) -> None:
    """Write the network's weights (float32) and its JSON header as the .npz its numpy classifier loads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, header=np.array(json.dumps(header)), **{k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
