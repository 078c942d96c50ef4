"""Train the shipped drum transcriber (`raveforce.transcribe.hit_policy.HitPolicy`), supervised.

    .venv/bin/python scripts/train_transcriber.py [--cache FILE] [--epochs 15] [--hidden 128] [--seed 0]

The policy hears each step through the shipped `hits` classifier (a frozen copy: the reward
and the policy hear the same), with the step's neighbours, how loud it starts
(`hit_policy.step_levels`; `--no-levels` leaves that out) and its place in the bar
(`hit_policy.hit_context`); its head (dense layers and attention over the loop's steps) is trained
with cross-entropy on the step's action (kick, snare and hat bits as one of 8 classes). Its
data are those of `scripts/train_hit_classifier.py --bpm 60 200 --sampled-loops 16000` (the
family's and Hydrogen's train kits at 60-200 BPM, half grooves, half random patterns) and
16,000 more loops on Hydrogen's train kits drawn the same way (seeds 16,000-31,999); `--cache`
keeps them between runs. Dev (the classifier's dev windows, printed after each epoch: the settings were chosen
there) compares the policy with the classifier thresholded at 0.5, the supervised reference
that the `hits` reward's search agents reach. The held-out splits are never read. Writes
raveforce/data/policies/drum_transcriber.npz (--out to write elsewhere). Needs torch (the `sb3`
extra) and `make kits`; about 14 minutes to render the data, 6 to train, on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import train_hit_classifier as data  # beside this script

from raveforce.rewards import hits
from raveforce.transcribe.policy import POLICY_PATH, HitPolicy, hit_context, step_levels

LOOPS, STEPS = 32, 16  # loops per batch, steps per loop
DEV_PARTS = {"family": slice(0, 100), "hydrogen": slice(100, 200), "plain": slice(200, 300), "tempi": slice(300, 400)}  # loops


def trunk_outputs(torch, classifier: hits.HitClassifier, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hidden float32 (loops, 16, hidden), probabilities float32 (loops, 16, 3)) of windows in
    loop and step order, by the classifier's network in torch (numpy's within ~1e-6)."""
    net = data.network(torch, classifier.pools, classifier.w["dense1.weight"].shape[0])
    net.load_state_dict({k: torch.from_numpy(v) for k, v in classifier.w.items()})
    net.eval()
    hidden, logits = [], []
    with torch.no_grad():
        for i in range(0, len(windows), 4096):
            h = net.hidden(torch.from_numpy(windows[i : i + 4096]))
            hidden.append(h.numpy())
            logits.append(net.dense2(h).numpy())
    hidden, logits = np.concatenate(hidden), np.concatenate(logits)
    return hidden.reshape(-1, STEPS, hidden.shape[1]), (1.0 / (1.0 + np.exp(-logits))).reshape(-1, STEPS, 3)


def Head(torch, size: int, hidden: int, attention: int):
    """The head `HitPolicy.logits` runs in numpy, with the same parameter names: (loops, steps,
    size) -> (loops, steps, 8)."""
    nn = torch.nn

    class Module(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(size, hidden)
            if attention:
                self.query, self.key, self.value = (nn.Linear(hidden, attention) for _ in range(3))
            self.mix = nn.Linear(hidden + attention, hidden)
            self.out = nn.Linear(hidden, 8)

        def forward(self, x):
            z = torch.relu(self.embed(x))
            if attention:
                q, k, v = self.query(z), self.key(z), self.value(z)
                weights = torch.softmax(q @ k.transpose(1, 2) / attention**0.5, -1)
                z = torch.cat([z, weights @ v], -1)
            return self.out(torch.relu(self.mix(z)))

    return Module()


def actions(labels: np.ndarray) -> np.ndarray:
    """int64 (loops, 16) DrumLoop actions of (loops * 16, 3) kick, snare, hat labels."""
    return (labels.reshape(-1, STEPS, 3) > 0.5) @ np.array([1, 2, 4])


def cells_right(found: np.ndarray, truth: np.ndarray) -> float:
    """The fraction of (kick, snare, hat) cells of (loops, 16) actions that agree."""
    return float(np.mean([(found >> i & 1) == (truth >> i & 1) for i in range(3)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None, help="train_hit_classifier.py's --cache file (rendered and written if missing)")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--hidden", type=int, default=128, help="units of the head's hidden layer")
    parser.add_argument("--attention", type=int, default=64, help="size of the attention over the loop's steps (0: none)")
    parser.add_argument("--levels", action=argparse.BooleanOptionalAction, default=True, help="give the head each step's loudness (`hit_policy.step_levels`)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--classifier", type=Path, default=hits.MODEL_PATH, help="the hit classifier the policy hears through (default the shipped one)")
    parser.add_argument("--out", type=Path, default=POLICY_PATH)
    args = parser.parse_args()
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    start = time.perf_counter()
    if args.cache and args.cache.exists():
        with np.load(args.cache) as cached:
            arrays = {k: cached[k] for k in cached.files}
    else:
        defaults = argparse.Namespace(loops=4030, sampled_loops=16000, plain_share=0.3, bpm=(60.0, 200.0), groove_share=0.5, seed=0)  # at 60-200 BPM
        arrays = data.dataset(defaults, data.kits.split_seeds("train", defaults.loops))
        more = data.tempo_examples(data.sampled_maker("train", 0.3, offset=16000), 16000, np.random.default_rng([0, 82]), defaults.bpm, 0.5)  # 16,000 more
        for key, extra in zip(("x", "y", "peak"), more):
            arrays[key] = np.concatenate([arrays[key], extra])
        if args.cache:
            np.savez(args.cache, **arrays)
    x, y, dx, dy = (arrays[k] for k in ("x", "y", "dx", "dy"))
    classifier = hits.HitClassifier.load(args.classifier)
    levels = [None, None]
    if args.levels:
        levels = [step_levels(w.reshape(-1, STEPS, *w.shape[1:]), arrays[k].reshape(-1, STEPS)) for w, k in ((x, "peak"), (dx, "dpeak"))]
    features = hit_context(*trunk_outputs(torch, classifier, x), levels[0])
    dev_hidden, dev_probabilities = trunk_outputs(torch, classifier, dx)
    dev_features = hit_context(dev_hidden, dev_probabilities, levels[1])
    truth, dev_truth = actions(y), actions(dy)
    reference = actions((dev_probabilities > 0.5).reshape(-1, 3))
    print(f"{len(truth)} training loops, {len(dev_truth)} dev, features in {time.perf_counter() - start:.0f} s; classifier at 0.5 on dev: "
          + ", ".join(f"{name} {cells_right(reference[rows], dev_truth[rows]):.4f}" for name, rows in DEV_PARTS.items()), flush=True)  # fmt: skip
    head = Head(torch, features.shape[-1], args.hidden, args.attention)
    optimiser = torch.optim.Adam(head.parameters(), 1e-3, weight_decay=1e-5)
    xt, yt, dxt = torch.from_numpy(features), torch.from_numpy(truth), torch.from_numpy(dev_features)
    for epoch in range(args.epochs):
        data.train_epoch(torch, head, optimiser, xt, yt, LOOPS, lambda logits, truth: torch.nn.functional.cross_entropy(logits.reshape(-1, 8), truth.reshape(-1)))
        head.eval()
        with torch.no_grad():
            found = head(dxt).argmax(-1).numpy()
        right = {name: cells_right(found[rows], dev_truth[rows]) for name, rows in DEV_PARTS.items()}
        print(f"epoch {epoch + 1}: dev cells right " + ", ".join(f"{k} {v:.4f}" for k, v in right.items()) + f", {time.perf_counter() - start:.0f} s", flush=True)
    weights = {k: v.detach().numpy() for k, v in head.state_dict().items()}
    with np.load(args.classifier) as shipped:
        trunk_header = json.loads(str(shipped["header"]))
    meta = {"algo": "supervised", "hidden": args.hidden, "attention": args.attention, "levels": args.levels, "epochs": args.epochs, "seed": args.seed,
            "dev_cells_right": right, "classifier": trunk_header}  # fmt: skip
    path = HitPolicy(classifier, weights, meta=meta).save(args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
