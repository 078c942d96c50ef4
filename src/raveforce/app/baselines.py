"""`raveforce baselines`: a study of algorithms x tasks x seeds, appended to CSV files in --out.

    raveforce baselines --tasks drum-loop,kick-match --algos ppo,cma,beam --seeds 5 --out out/study

Each cell (task, algo, seed, budget) runs `raveforce.agents.baselines.run` and appends, when it
is done, one row to DIR/results.csv and its learning curve to DIR/curves.csv; a cell already in
results.csv is skipped, so a study can run in parts (commands one after another into one folder,
or side by side into folders of their own, merged by `baselines-report`). DIR/hyperparameters.json records what each task/algo/budget used,
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

from raveforce.agents.baselines import SEARCH_ALGOS as DETERMINISTIC  # one cell (seed 0) per task, whatever --seeds says
from raveforce.app.cli import UsageError, _positive, _requires

TASKS = ("DrumLoop", "KickFrequency", "KickMatch", "FMTone", "BassLine", "Melody", "DrumKit")  # raveforce/<name>-v0
RESULTS = ("task", "algo", "seed", "budget", "env_steps", "return", "final_distance", "normalized_score", "seconds")
CURVES = ("task", "algo", "seed", "budget", "env_steps", "final_distance", "normalized_score")
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
            if not baselines.fits(algo, load_task(name)):
                levers = " or +".join(lever for lever in baselines.LEVERS if lever != "sym")
                raise UsageError(f"algorithm {algo!r} does not fit {name}; valid: {', '.join(valid)} (or all; SB3 ones with +{levers}, +sym on continuous tasks)")
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
        base, levers = baselines.split_algo(algo)
        kwargs, lanes = table.get(base) or {}, envs or int(table.get("envs", 8))
        used = {"kwargs": kwargs, "budget": budget, "random_distance": d_random[name], "reward": load_task(name).reward}
        if base in baselines.SB3_ALGOS:
            observation = "the step one-hot" if "step" in levers else "sb3.make_env: log-mel + step one-hot"
            reward_mode = "delta" if "delta" in levers else "absolute"
            actions = "Box(-1, 1) mapped onto the task's [0, 1]" if "sym" in levers else "the task's"
            used.update(envs=lanes, policy="MlpPolicy", observation=observation, reward_mode=reward_mode, actions=actions, normalize_reward=True, evaluations=10)
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


def labeler(rows: list[dict]):
    """row -> the algorithm's label: `algo`, or `algo@budget` when one task ran the algorithm at
    several budgets (a rerun with another --steps), so that budgets are not mixed."""
    budgets: dict[tuple[str, str], set[str]] = {}
    for r in rows:
        budgets.setdefault((r["task"], r["algo"]), set()).add(r["budget"])
    return lambda r: r["algo"] if len(budgets[r["task"], r["algo"]]) == 1 else f"{r['algo']}@{r['budget']}"


def plot_curve_panels(path: Path, curves: list[dict]) -> None:
    """A PNG of curves.csv's rows: per task a panel, the mean normalised score over seeds against
    env steps per algorithm, with the min-max band over seeds (the k-th points of the seeds'
    curves together). ImportError without matplotlib."""
    from raveforce._optional import pyplot

    plt = pyplot()
    table: dict[str, dict[str, dict[str, list]]] = {}  # task: algo label: seed: [(steps, score)]
    label = labeler(curves)
    for r in curves:
        table.setdefault(r["task"], {}).setdefault(label(r), {}).setdefault(r["seed"], []).append((int(r["env_steps"]), float(r["normalized_score"])))
    tasks = sorted(table)
    fig, axes = plt.subplots(len(tasks), 1, figsize=(7, 3.2 * len(tasks)), squeeze=False)
    for ax, task in zip(axes[:, 0], tasks):
        for k, (algo, by_seed) in enumerate(sorted(table[task].items())):
            n = min(len(p) for p in by_seed.values())
            points = [sorted(p)[:n] for p in by_seed.values()]
            steps = [sum(p[j][0] for p in points) / len(points) for j in range(n)]
            scores = [[p[j][1] for p in points] for j in range(n)]
            style = "o" if n == 1 else "-"
            ax.plot(steps, [sum(s) / len(s) for s in scores], style, color=f"C{k}", label=f"{algo} ({len(points)} seeds)")
            if len(points) > 1 and n > 1:
                ax.fill_between(steps, [min(s) for s in scores], [max(s) for s in scores], color=f"C{k}", alpha=0.2)
        ax.set(title=f"raveforce/{task}-v0", xlabel="env steps", ylabel="normalized score", xscale="log")
        ax.axhline(0, color="gray", lw=0.5)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_curves(out: Path) -> list[Path]:
    """out/curves-<Task>.png per task of out/curves.csv (`plot_curve_panels`). Nothing without
    matplotlib or curves.csv."""
    path = out / "curves.csv"
    if importlib.util.find_spec("matplotlib") is None or not path.is_file():
        return []
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    written = []
    for name in sorted({r["task"] for r in rows}):
        written.append(out / f"curves-{name}.png")
        plot_curve_panels(written[-1], [r for r in rows if r["task"] == name])
    return written


def cmd_baselines(args) -> int:
    from raveforce.agents.baselines import SB3_ALGOS
    from raveforce.app.progress import ProgressLine

    def require(module: str, package: str) -> None:
        _requires(module, f"{package} is not installed: pip install torch==2.13.0 && pip install -e '.[sb3,baselines]'")

    require("yaml", "PyYAML")
    cells = plan(args.tasks, args.algos, args.seeds, args.steps)
    algos = {algo for _, algo, _, _ in cells}
    if algos & set(SB3_ALGOS):
        require("stable_baselines3", "stable-baselines3")
    if "cma" in algos:
        require("cma", "cma")
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
    p.add_argument(
        "--algos",
        required=True,
        help="comma-separated, or all (every one that fits each task): ppo, a2c, dqn, sac, td3, cma, greedy, beam, sweep; "
        "an SB3 one with +delta (reward_mode='delta'), +step (the step one-hot alone as observation) or, continuous, +sym (actions in [-1, 1]) "
        "trains with that lever",
    )
    p.add_argument("--seeds", type=_positive, default=5, help="seeds 0..N-1 per cell (default 5; greedy, beam and sweep are deterministic: seed 0 only)")
    p.add_argument("--steps", type=_positive, default=None, help="env steps per cell (default: each task's budget in raveforce/data/baselines/<Task>.yaml)")
    p.add_argument("--envs", type=_positive, default=None, help="vector-env lanes SB3 trains on (default: the task's YAML, 8)")
    p.add_argument("--out", required=True, help="the study's folder; cells already in its results.csv are skipped")
    p.set_defaults(func=cmd_baselines)


__all__ = ["CURVES", "RESULTS", "TASKS", "add_subcommand", "cmd_baselines", "find_task", "labeler", "plan", "plot_curve_panels", "plot_curves", "run_study"]
