"""Train the full-kit classifier (`raveforce.transcribe.kit_classifier`): which of DrumKit's ten
voices start at each step and how loud, on grid loops of the kit family and Hydrogen's train kits.

    .venv/bin/python scripts/train_kit_classifier.py [--out src/raveforce/data/models/kit_classifier.npz] [--loops 3000] [--sampled-loops 5000] [--epochs 8] [--band-mask 12] [--weight-decay 1e-4] [--cache /tmp/kit-data.npz]

Data: `--loops` ten-voice kits of the family's *train* split (`kits.family.draw_full`) and
`--sampled-loops` drums on Hydrogen's *train* kits (`kits.sampled.draw_full(i, "train")`), each
playing two bars, half of them grooves (`transcribe.groove_grid`) and half random grids
(`transcribe.draw_grid`: each voice by its `KIT_DENSITY`, uniform levels), in groups of 31 at a
tempo drawn from 80-175 BPM. Every step of every loop is one example: its window and level
(`kit_classifier.step_inputs`), labelled with the voices played at it and their MIDI velocity
(`transcribe.scores.played_grid` of `grid_truth`: what was played, swing and humanising
included; a voice a kit lacks is not played). Dev, after each epoch: `--dev-loops` grooves on
Hydrogen's dev kits as `benchmarks/bench_full_kit.py` draws them, scored by
`transcribe.scores.full_kit`; the epoch with the best dev macro F is kept, and each voice's
threshold on P(voice starts) is then chosen on dev (of 0.3, 0.35, ..., 0.7, the best grid F of
the voice) and saved in the model's header. The held-out kits are never read. Needs torch and
`make kits`; `--cache` keeps the examples (1.5 GB for the defaults) between runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
from train_hit_classifier import network, save  # scripts/, this script's folder

from raveforce.kits import family, sampled
from raveforce.rewards import kit_hits
from raveforce.tasks import DRUM_KIT, FULL_KIT
from raveforce.transcribe import draw_grid, groove_grid, kit_classifier, scores

GROUP, BARS, BPM, BATCH = 31, 2, (80.0, 175.0), 256
THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)  # P(voice starts): wider, and two dev kits' toms pull the threshold to where other kits' false hits are


def loops_of(kind: str, first: int, count: int, rng: np.random.Generator, split: str = "train"):
    """(windows, levels, hit labels (n * steps, 10), velocity labels) of `count` loops, and their
    (grids, truths, tasks), in groups of GROUP at a tempo each."""
    x, lv, y, vel, records = [], [], [], [], []
    for lo in range(first, first + count, GROUP):
        ids = range(lo, min(lo + GROUP, first + count))
        task = dataclasses.replace(DRUM_KIT, bpm=float(np.round(rng.uniform(*BPM), 2)), steps=16 * BARS)
        grids = [groove_grid(rng, bars=BARS) if rng.random() < 0.5 else draw_grid(rng, steps=task.steps, levels=3) for _ in ids]
        drums = [family.draw_full(family.SPLITS[split][i]) if kind == "family" else sampled.draw_full(i, split) for i in ids]
        render, truth = (family.render_grid_loops, family.grid_truth) if kind == "family" else (sampled.render_grid_loops, sampled.grid_truth)
        audio = render([(d, g, i) for d, g, i in zip(drums, grids, ids)], task)
        for a, d, g, i in zip(audio, drums, grids, ids):
            played = truth(d, g, task, i)
            windows, levels = kit_classifier.step_inputs(a, task)
            hit, velocity = scores.played_grid(played, task)
            x.append(windows), lv.append(levels), y.append(hit.astype(np.float32)), vel.append((velocity / 127).astype(np.float32))
            records.append((g, played, task))
    return [np.concatenate(c) for c in (x, lv, y, vel)], records


def dev_loops(count: int):
    """(windows, levels, per-loop (truth, task)) of bench_full_kit's dev grooves."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_full_kit import targets

    _, truths, loops, tasks = targets("dev", count)
    inputs = [kit_classifier.step_inputs(x, t) for x, t in zip(loops, tasks)]
    return np.concatenate([w for w, _ in inputs]), np.concatenate([lv for _, lv in inputs]), truths, tasks


def training_data(args) -> tuple[np.ndarray, ...]:
    """(windows, levels, hit labels, velocity labels) of args' loops, from args.cache when it holds them."""
    options = {"loops": args.loops, "sampled_loops": args.sampled_loops, "seed": args.seed}
    if args.cache and args.cache.exists():
        with np.load(args.cache) as data:
            if json.loads(str(data["options"])) == options:
                return tuple(data[k] for k in ("x", "lv", "y", "vel"))
    rng = np.random.default_rng([args.seed, 26])
    parts = [loops_of("family", 0, args.loops, rng)[0]] + ([loops_of("sampled", 0, args.sampled_loops, rng)[0]] if args.sampled_loops else [])
    x, lv, y, vel = (np.concatenate(c) for c in zip(*parts))
    if args.cache:
        np.savez(args.cache, options=np.array(json.dumps(options)), x=x, lv=lv, y=y, vel=vel)
    return x, lv, y, vel


def thresholds_on(p: np.ndarray, truths, tasks) -> list[float]:
    """Each voice's threshold of THRESHOLDS with the best grid F on the dev loops (the nearest 1/2 of equals)."""
    played = np.concatenate([scores.played_grid(t, task)[0] for t, task in zip(truths, tasks)]) > 0
    chosen = []
    for v in range(len(FULL_KIT)):
        def f(t: float) -> float:
            found = p[:, v] > t
            hits = (found & played[:, v]).sum()
            return 2 * hits / max(found.sum() + played[:, v].sum(), 1)

        chosen.append(max(THRESHOLDS, key=lambda t: (f(t), -abs(t - 0.5))))
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=3000, help="loops on family train kits")
    parser.add_argument("--sampled-loops", type=int, default=5000, help="loops on Hydrogen's train kits")
    parser.add_argument("--dev-loops", type=int, default=60)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden", type=int, default=256, help="units of the dense layer")
    parser.add_argument("--pools", default="1x2,2x2", help="max-pooling (time x band) after each convolution")
    parser.add_argument("--out", type=Path, default=kit_hits.MODEL_PATH)
    parser.add_argument("--band-mask", type=int, default=12, help="augmentation: zero a random run of up to this many mel bands in each training window")
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--cache", type=Path, default=None, help="an .npz keeping the training examples between runs (same data options)")
    args = parser.parse_args()
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    start = time.perf_counter()
    x, lv, y, vel = training_data(args)
    dx, dlv, truths, tasks = dev_loops(args.dev_loops)
    print(f"{len(x)} training windows ({args.loops} family loops, {args.sampled_loops} sampled), {len(dx)} dev ({time.perf_counter() - start:.0f} s)", flush=True)
    pools = [tuple(int(n) for n in p.split("x")) for p in args.pools.split(",")]
    net = network(torch, pools, args.hidden, outputs=2 * len(FULL_KIT), level=True)
    optimiser = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=args.weight_decay)
    xt, lvt, yt, velt = (torch.from_numpy(a) for a in (x, lv, y, vel))
    n = len(FULL_KIT)
    steps = np.cumsum([0] + [t.steps for t in tasks])
    best = (-1.0, None, None)
    for epoch in range(args.epochs):
        net.train()
        order = torch.randperm(len(xt))
        for i in range(0, len(order), BATCH):
            rows = order[i : i + BATCH]
            windows = xt[rows]
            if args.band_mask:  # each window loses a run of bands: colours the kits' sounds differently
                width = torch.randint(0, args.band_mask + 1, (len(rows), 1))
                first = (torch.rand(len(rows), 1) * (windows.shape[2] - width)).long()
                bands = torch.arange(windows.shape[2])
                windows = windows * ~((bands >= first) & (bands < first + width))[:, None, :]
            out = net(windows, lvt[rows])
            onset = torch.nn.functional.binary_cross_entropy_with_logits(out[:, :n], yt[rows])
            loudness = ((torch.sigmoid(out[:, n:]) - velt[rows]) ** 2 * yt[rows]).sum() / yt[rows].sum().clamp(min=1)
            optimiser.zero_grad()
            (onset + loudness).backward()
            optimiser.step()
        net.eval()
        model = kit_classifier.KitClassifier({k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()}, pools)
        p, v = model.outputs(dx, dlv)
        s = scores.full_kit([kit_classifier.grid_of(p[a:b], v[a:b], task) for a, b, task in zip(steps, steps[1:], tasks)], truths, tasks)
        per = " ".join(f"{voice} {s['voices'][voice]['onset'][0.05][2]:.3f}" for voice in FULL_KIT)
        print(f"epoch {epoch + 1}: dev macro F {s['macro_f'][0.05]:.3f} ({per}), velocity Spearman {s['velocity']['spearman']:.3f}, {time.perf_counter() - start:.0f} s", flush=True)
        if s["macro_f"][0.05] > best[0]:
            best = (s["macro_f"][0.05], epoch + 1, {k: v.detach().clone() for k, v in net.state_dict().items()})
    net.load_state_dict(best[2])
    model = kit_classifier.KitClassifier({k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()}, pools)
    p, v = model.outputs(dx, dlv)
    thresholds = thresholds_on(p, truths, tasks)
    s = scores.full_kit([kit_classifier.grid_of(p[a:b], v[a:b], task, np.array(thresholds)) for a, b, task in zip(steps, steps[1:], tasks)], truths, tasks)
    per = " ".join(f"{voice} {s['voices'][voice]['onset'][0.05][2]:.3f}" for voice in FULL_KIT)
    print(f"epoch {best[1]} kept; thresholds {thresholds}: dev macro F {s['macro_f'][0.05]:.3f} ({per}), velocity Spearman {s['velocity']['spearman']:.3f}", flush=True)
    header = {
        "format": kit_classifier.FORMAT, "pools": pools, "hidden": args.hidden, "loops": args.loops, "sampled_loops": args.sampled_loops,
        "epochs": args.epochs, "kept_epoch": best[1], "band_mask": args.band_mask, "weight_decay": args.weight_decay, "seed": args.seed, "thresholds": thresholds,
        "dev_macro_f": s["macro_f"][0.05], "dev_velocity_spearman": s["velocity"]["spearman"],
    }  # fmt: skip
    save(args.out, header, net)


if __name__ == "__main__":
    main()
