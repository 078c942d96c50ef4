"""`raveforce baselines`: a study of algorithms x tasks x seeds, appended to CSV files in --out.

    raveforce baselines --tasks drum-loop,kick-match --algos ppo,cma,beam --seeds 5 --out out/study

Each cell (task, algo, seed, budget) runs `raveforce.agents.baselines.run` and appends, when it
is done, one row to DIR/results.csv and its learning curve to DIR/curves.csv; a cell already in
results.csv is skipped, so a study can run in parts (several commands, one after another or side
by side on other tasks). DIR/hyperparameters.json records what each task/algo/budget used,
DIR/random.json the random policy's distance per task, and DIR/curves-<Task>.png (with
matplotlib) the curves per task.

normalized_score = 1 - final_distance / d_random: 0 at the mean final distance of 32 uniformly
random episodes (seeded; measured once per task and kept in random.json), 1 at distance 0.
"""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

from raveforce.app.cli import UsageError, _positive

TASKS = ("DrumLoop", "KickFrequency", "KickMatch", "FMTone", "BassLine", "Melody")  # raveforce/<name>-v0
RESULTS = ("task", "algo", "seed", "budget", "env_steps", "return", "final_distance", "normalized_score", "seconds")
CURVES = ("task", "algo", "seed", "budget", "env_steps", "final_distance", "normalized_score")
DETERMINISTIC = ("greedy", "beam", "sweep")  # one cell (seed 0) per task, whatever --seeds says
RANDOM_EPISODES, RANDOM_SEED = 32, 12345


def find_task(name: str) -> str:
    """The study's name of a task given as DrumLoop, drum-loop, drumloop or raveforce/DrumLoop-v0."""
    key = name.removeprefix("raveforce/").split("-v")[0].replace("-", "").replace("_", "").lower()
    for task in TASKS:
        if task.lower() == key:
            return task
    raise UsageError(f"unknown task {name!r}; valid: {', '.join(TASKS)} (or all)")


def load_task(name: str):
    """The Task of the study's task `name`."""
    import gymnasium as gym

    import raveforce

    return gym.envs.registration.load_env_creator(raveforce.ENVS[f"raveforce/{name}-v0"]).TASK


def plan(tasks: str, algos: str, seeds: int, steps: int | None) -> list[tuple[str, str, int, int]]:
    """The cells (task, algo, seed, budget) of the command line: `all` tasks or algos means every
    one that fits; --steps None means each task's budget from its YAML file."""
    from raveforce.agents import baselines

    names = list(TASKS) if tasks == "all" else [find_task(t) for t in tasks.split(",") if t]
    cells = []
    for name in names:
        valid = baselines.valid_algos(load_task(name))
        chosen = valid if algos == "all" else [a.strip().lower() for a in algos.split(",") if a.strip()]
        for algo in chosen:
            if algo not in valid:
                raise UsageError(f"algorithm {algo!r} does not fit {name}; valid: {', '.join(valid)} (or all)")
        budget = steps or int(baselines.hyperparameters(name)["budget"])
        cells += [(name, algo, seed, budget) for algo in chosen for seed in (range(1) if algo in DETERMINISTIC else range(seeds))]
    return cells


def done_cells(out: Path) -> set[tuple[str, str, int, int]]:
    """The (task, algo, seed, budget) of the rows of out/results.csv."""
    path = out / "results.csv"
    if not path.is_file():
        return set()
    with path.open(newline="") as f:
        return {(r["task"], r["algo"], int(r["seed"]), int(r["budget"])) for r in csv.DictReader(f)}


def append_rows(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    """Append rows to a CSV file, with the header first if the file is new."""
    new = not path.is_file() or path.stat().st_size == 0
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, columns)
        if new:
            writer.writeheader()
        writer.writerows(rows)


def random_distances(out: Path, names: list[str]) -> dict[str, float]:
    """{task: mean final distance of the random policy}, measured for the tasks not yet in out/random.json."""
    from raveforce.agents import baselines

    path = out / "random.json"
    cache = json.loads(path.read_text()) if path.is_file() else {}
    for name in names:
        if name not in cache:
            task = load_task(name)
            d = baselines.random_distance(task, episodes=RANDOM_EPISODES, seed=RANDOM_SEED)
            cache[name] = {"mean_final_distance": d, "episodes": RANDOM_EPISODES, "seed": RANDOM_SEED, "reward": task.reward}
            path.write_text(json.dumps(cache, indent=2) + "\n")
    return {name: cache[name]["mean_final_distance"] for name in names}


def record_hyperparameters(out: Path, name: str, algo: str, budget: int, used: dict) -> None:
    """Add what the cells of task/algo/budget use to out/hyperparameters.json."""
    path = out / "hyperparameters.json"
    table = json.loads(path.read_text()) if path.is_file() else {}
    table[f"{name}/{algo}/{budget}"] = used
    path.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")


def run_study(cells, out: Path, *, envs: int | None = None, progress=None) -> int:
    """Run the cells not yet in out/results.csv, appending each when done; the number run."""
    from raveforce.agents import baselines

    out.mkdir(parents=True, exist_ok=True)
    done = done_cells(out)
    todo = [c for c in cells if c not in done]
    if len(todo) < len(cells):
        print(f"skipping {len(cells) - len(todo)} cells already in {out / 'results.csv'}")
    d_random = random_distances(out, sorted({c[0] for c in todo}))
    weights = [budget if algo not in DETERMINISTIC else 1 for _, algo, _, budget in todo]  # the ETA counts env steps
    for i, (name, algo, seed, budget) in enumerate(todo):
        if progress:
            progress(sum(weights[:i]), sum(weights), f"cell {i + 1}/{len(todo)}: {name} {algo} seed {seed}")
        table = baselines.hyperparameters(name)
        kwargs, lanes = table.get(algo) or {}, envs or int(table.get("envs", 8))
        used = {"kwargs": kwargs, "budget": budget, "random_distance": d_random[name], "reward": load_task(name).reward}
        if algo in baselines.SB3_ALGOS:
            used.update(envs=lanes, policy="MlpPolicy", observation="sb3.make_env: log-mel + step one-hot", normalize_reward=True, evaluations=10)
        record_hyperparameters(out, name, algo, budget, used)
        result = baselines.run(algo, load_task(name), seed=seed, steps=budget, kwargs=kwargs, envs=lanes)

        def score(distance: float) -> float:
            return 1.0 - distance / d_random[name]

        cell = {"task": name, "algo": algo, "seed": seed, "budget": budget}
        append_rows(
            out / "curves.csv", CURVES, [{**cell, "env_steps": s, "final_distance": f"{d:.6g}", "normalized_score": f"{score(d):.6g}"} for s, d in result.curve]
        )
        row = {**cell, "env_steps": result.env_steps, "return": f"{result.episode_return:.6g}", "final_distance": f"{result.final_distance:.6g}",
               "normalized_score": f"{score(result.final_distance):.6g}", "seconds": f"{result.seconds:.2f}"}  # fmt: skip
        append_rows(out / "results.csv", RESULTS, [row])
        print(
            f"{name:14} {algo:7} seed {seed}: score {row['normalized_score']:>9}  distance {row['final_distance']:>9}  {result.env_steps} env steps, {result.seconds:.1f} s",
            flush=True,
        )
    if progress and todo:
        progress(sum(weights), sum(weights), "done")
    return len(todo)


def plot_curves(out: Path) -> list[Path]:
    """out/curves-<Task>.png: normalized score against env steps, per algorithm (each seed thin,
    their mean thick; the search references as dots). Nothing without matplotlib or curves.csv."""
    path = out / "curves.csv"
    if importlib.util.find_spec("matplotlib") is None or not path.is_file():
        return []
    from raveforce._optional import pyplot

    plt = pyplot()
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    written = []
    for name in sorted({r["task"] for r in rows}):
        fig, ax = plt.subplots(figsize=(7, 4))
        for k, algo in enumerate(sorted({r["algo"] for r in rows if r["task"] == name})):
            mine = [r for r in rows if r["task"] == name and r["algo"] == algo]
            by_seed: dict[str, list] = {}
            for r in mine:
                by_seed.setdefault(r["seed"], []).append((int(r["env_steps"]), float(r["normalized_score"])))
            color = f"C{k}"
            if algo in DETERMINISTIC:
                ax.plot(*zip(*by_seed["0"]), "o", color=color, label=algo)
                continue
            for points in by_seed.values():
                ax.plot(*zip(*points), color=color, alpha=0.3, lw=0.8)
            lengths = {len(p) for p in by_seed.values()}
            if len(lengths) == 1:  # the seeds' curves share their env steps: their mean
                series = list(by_seed.values())
                ax.plot([s for s, _ in series[0]], [sum(p[j][1] for p in series) / len(series) for j in range(len(series[0]))], color=color, lw=2, label=algo)
        ax.set(title=f"raveforce/{name}-v0", xlabel="env steps", ylabel="normalized score (0 random, 1 target)", xscale="log")
        ax.axhline(0, color="gray", lw=0.5)
        ax.legend(fontsize=8)
        fig.tight_layout()
        written.append(out / f"curves-{name}.png")
        fig.savefig(written[-1], dpi=100)
        plt.close(fig)
    return written


def _requires(module: str, package: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise UsageError(f"{package} is not installed: pip install torch==2.13.0 && pip install -e '.[sb3,baselines]'")


def cmd_baselines(args) -> int:
    from raveforce.agents.baselines import SB3_ALGOS
    from raveforce.app.progress import ProgressLine

    _requires("yaml", "PyYAML")
    cells = plan(args.tasks, args.algos, args.seeds, args.steps)
    algos = {algo for _, algo, _, _ in cells}
    if algos & set(SB3_ALGOS):
        _requires("stable_baselines3", "stable-baselines3")
    if "cma" in algos:
        _requires("cma", "cma")
    out = Path(args.out)
    ran = run_study(cells, out, envs=args.envs, progress=ProgressLine("baselines"))
    plots = plot_curves(out)
    print(
        f"{ran} cells run, {len(cells) - ran} skipped; wrote {out}/{{results.csv,curves.csv,hyperparameters.json,random.json}}"
        + (f" and {len(plots)} curves-*.png" if plots else "")
    )
    return 0


def add_subcommand(sub) -> None:
    """Add `baselines` to the `raveforce` parser's subparsers."""
    p = sub.add_parser("baselines", help="a study: algorithms x tasks x seeds, scores appended to results.csv and curves.csv in --out")
    p.add_argument("--tasks", required=True, help=f"comma-separated, or all: {', '.join(TASKS)} (short names as drum-loop too)")
    p.add_argument("--algos", required=True, help="comma-separated, or all (every one that fits each task): ppo, a2c, dqn, sac, td3, cma, greedy, beam, sweep")
    p.add_argument("--seeds", type=_positive, default=5, help="seeds 0..N-1 per cell (default 5; greedy, beam and sweep are deterministic: seed 0 only)")
    p.add_argument("--steps", type=_positive, default=None, help="env steps per cell (default: each task's budget in raveforce/data/baselines/<Task>.yaml)")
    p.add_argument("--envs", type=_positive, default=None, help="vector-env lanes SB3 trains on (default: the task's YAML, 8)")
    p.add_argument("--out", required=True, help="the study's folder; cells already in its results.csv are skipped")
    p.set_defaults(func=cmd_baselines)


__all__ = ["CURVES", "RESULTS", "TASKS", "add_subcommand", "cmd_baselines", "find_task", "plan", "plot_curves", "run_study"]
