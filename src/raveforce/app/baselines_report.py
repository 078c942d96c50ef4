"""`raveforce baselines-report DIR`: the statistics of a study that `raveforce baselines --out DIR` ran.

    raveforce baselines-report out/study
    raveforce baselines-report out/part1 out/part2 --out out/study   # the union of studies run apart

Reads DIR/results.csv (one row per cell: task, algo, seed, budget, ..., normalized_score) and
DIR/curves.csv, and writes DIR/summary.csv, a Markdown table on stdout, DIR/report.png (the
aggregate IQM per algorithm with its CI, and the performance profile) and DIR/curves-report.png.

Statistics (Agarwal et al. 2021, with `rliable`): per task and algorithm, the IQM (25 % trimmed
mean) of the normalised score over the seeds with a 95 % stratified-bootstrap percentile CI
(seeds are the runs, tasks the strata), the median, min and max; per algorithm, the IQM over all
its tasks (the seeds every one of its tasks has). The bootstrap draws BOOTSTRAP_REPS (2000) resamples
from numpy's RNG seeded with BOOTSTRAP_SEED (0), so the same results.csv gives the same report.
The search references (greedy, beam, sweep) run once: their rows have no CI.
"""

from __future__ import annotations

import contextlib
import csv
import json
from pathlib import Path

from raveforce.app.baselines import CURVES, DETERMINISTIC, RESULTS, labeler, plot_curve_panels
from raveforce.app.cli import UsageError

BOOTSTRAP_REPS, BOOTSTRAP_SEED, CONFIDENCE = 2000, 0, 0.95
MIN_SEEDS = 5  # fewer seeds than this: the row says so
SUMMARY = ("task", "algo", "seeds", "iqm", "ci_low", "ci_high", "median", "min", "max", "success", "note")
SUCCESS = 0.999  # a run succeeds at this normalised score: a final distance within 0.1 % of the random policy's
RLIABLE_HINT = "rliable is not usable ({}): pip install -e '.[baselines]' (rliable 1.2 needs arch<8, which needs pandas<3)"
AGGREGATE = "all"  # the task column of the per-algorithm rows


def rliable():
    """(rliable.library, rliable.metrics), or UsageError with the install hint."""
    try:
        from rliable import library, metrics
    except Exception as exc:  # ImportError, or arch 7's TypeError under pandas 3
        raise UsageError(RLIABLE_HINT.format(f"{type(exc).__name__}: {exc}")) from exc
    return library, metrics


@contextlib.contextmanager
def seeded(seed: int):
    """numpy's global RNG seeded with `seed`, restored after: rliable's StratifiedBootstrap draws
    its resampled seeds from np.random whatever random_state says."""
    import numpy as np

    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def read_csv(path: Path, columns: tuple[str, ...]) -> list[dict]:
    """The rows of a study's CSV file; UsageError if it is missing or lacks some of `columns`."""
    if not path.is_file():
        raise UsageError(f"no {path.name} in {str(path.parent)!r}: run `raveforce baselines ... --out {path.parent}` first")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise UsageError(f"{path} lacks the columns {', '.join(missing)}; it is not a `raveforce baselines` {path.name}")
        return list(reader)


def reference(label: str) -> bool:
    """Whether the algorithm label (`algo` or `algo@budget`) is a deterministic search reference."""
    return label.split("@")[0] in DETERMINISTIC


def score_table(rows: list[dict]) -> dict[str, dict[str, dict[int, float]]]:
    """{algo label: {task: {seed: normalized score}}} of results.csv's rows."""
    label = labeler(rows)
    table: dict[str, dict[str, dict[int, float]]] = {}
    for r in rows:
        table.setdefault(label(r), {}).setdefault(r["task"], {})[int(r["seed"])] = float(r["normalized_score"])
    return table


def aggregate_matrix(by_task: dict[str, dict[int, float]]):
    """(scores, tasks): the (seeds x tasks) array of the seeds every task has, in seed order."""
    import numpy as np

    tasks = sorted(by_task)
    seeds = sorted(set.intersection(*(set(by_task[t]) for t in tasks)))
    return np.array([[by_task[t][s] for t in tasks] for s in seeds]).reshape(len(seeds), len(tasks)), tasks


def summarize(rows: list[dict], *, reps: int | None = None, seed: int | None = None) -> list[dict]:
    """The summary rows (SUMMARY's columns; scores as floats, ci_low/ci_high None for a reference or
    a single seed) of results.csv's rows: one per task and algorithm, then one per algorithm over all
    its tasks (task AGGREGATE). Normalised scores: 0 random policy, 1 target. reps and seed of the
    bootstrap: BOOTSTRAP_REPS and BOOTSTRAP_SEED by default."""
    import numpy as np

    reps, seed = reps or BOOTSTRAP_REPS, BOOTSTRAP_SEED if seed is None else seed
    library, metrics = rliable()

    def iqm(scores):
        return np.array([metrics.aggregate_iqm(scores)])

    def stats(task: str, algo: str, scores, note: list[str]) -> dict:
        """scores: (seeds x tasks)."""
        low = high = None
        if scores.shape[0] > 1 and not reference(algo):
            with seeded(seed):
                _, ci = library.get_interval_estimates({algo: scores}, iqm, reps=reps, confidence_interval_size=CONFIDENCE)
            low, high = float(ci[algo][0][0]), float(ci[algo][1][0])
        if reference(algo):
            note.append("reference (deterministic, one run)")
        elif scores.shape[0] < MIN_SEEDS:
            note.append(f"fewer than {MIN_SEEDS} seeds")
        flat = scores.ravel()
        return {"task": task, "algo": algo, "seeds": scores.shape[0], "iqm": float(metrics.aggregate_iqm(scores)), "ci_low": low, "ci_high": high,
                "median": float(np.median(flat)), "min": float(flat.min()), "max": float(flat.max()), "success": float(np.mean(flat >= SUCCESS)),
                "note": "; ".join(note)}  # fmt: skip

    table = score_table(rows)
    cells = [stats(task, algo, np.array([[s] for _, s in sorted(by_seed.items())]), []) for algo in table for task, by_seed in sorted(table[algo].items())]
    cells.sort(key=lambda r: (r["task"], r["algo"]))
    totals = []
    for algo in sorted(table):
        scores, tasks = aggregate_matrix(table[algo])
        if scores.size:
            totals.append(stats(AGGREGATE, algo, scores, [f"{len(tasks)} task{'s' * (len(tasks) > 1)}: {', '.join(tasks)}"]))
    return cells + totals


def markdown(summary: list[dict]) -> str:
    """The summary as a Markdown table (IQM [95 % CI], median, min, max of the normalised score)."""

    def num(x) -> str:
        return "" if x is None else f"{x:.3f}"

    lines = ["| task | algorithm | seeds | IQM [95 % CI] | median | min | max | success | note |", "|---|---|---:|---|---:|---:|---:|---:|---|"]
    for r in summary:
        ci = f" [{num(r['ci_low'])}, {num(r['ci_high'])}]" if r["ci_low"] is not None else ""
        task = f"**{r['task']}**" if r["task"] == AGGREGATE else r["task"]
        lines.append(f"| {task} | {r['algo']} | {r['seeds']} | {num(r['iqm'])}{ci} | {num(r['median'])} | {num(r['min'])} | {num(r['max'])} | {r['success']:.0%} | {r['note']} |")
    lines.append(
        f"\nNormalised score: 0 = random policy, 1 = target. IQM: 25 % trimmed mean over seeds (and tasks); CI: {CONFIDENCE:.0%} stratified "
        f"bootstrap (rliable, percentile, {BOOTSTRAP_REPS} reps, numpy seed {BOOTSTRAP_SEED}); references and single seeds have no CI. "
        f"Success: the share of runs at a score of {SUCCESS} or more (a final distance within 0.1 % of the random policy's)."
    )
    return "\n".join(lines)


def write_summary(path: Path, summary: list[dict]) -> None:
    """summary.csv: SUMMARY's columns, scores to 6 significant digits, an empty CI where there is none."""
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, SUMMARY)
        writer.writeheader()
        writer.writerows({k: (f"{v:.6g}" if isinstance(v, float) else "" if v is None else v) for k, v in r.items()} for r in summary)


def plot_report(path: Path, rows: list[dict], summary: list[dict]) -> None:
    """report.png: left, the aggregate IQM per algorithm with its CI; right, the performance profile
    (fraction of runs x tasks with a normalised score above tau, tau in [0, 1], with its CI band)."""
    import numpy as np

    from raveforce._optional import pyplot

    plt = pyplot()
    library, _ = rliable()
    totals = [r for r in summary if r["task"] == AGGREGATE]
    fig, (bars, profile) = plt.subplots(1, 2, figsize=(11, max(3.5, 0.4 * len(totals) + 1.5)))
    for k, r in enumerate(totals):
        ci = None if r["ci_low"] is None else [[r["iqm"] - r["ci_low"]], [r["ci_high"] - r["iqm"]]]
        bars.errorbar(r["iqm"], k, xerr=ci, fmt="o", color=f"C{k}", capsize=4)
    bars.set(yticks=range(len(totals)), yticklabels=[f"{r['algo']} ({r['note'].split(':')[0]})" for r in totals], xlabel="IQM normalized score (95 % CI)",
             title="aggregate IQM over tasks")  # fmt: skip
    bars.axvline(0, color="gray", lw=0.5)
    bars.invert_yaxis()
    taus = np.linspace(0, 1, 101)
    table = score_table(rows)
    with seeded(BOOTSTRAP_SEED):
        profiles, cis = library.create_performance_profile({r["algo"]: aggregate_matrix(table[r["algo"]])[0] for r in totals}, taus, reps=BOOTSTRAP_REPS)
    for k, r in enumerate(totals):
        profile.plot(taus, profiles[r["algo"]], color=f"C{k}", label=r["algo"])
        if not reference(r["algo"]):
            profile.fill_between(taus, cis[r["algo"]][0], cis[r["algo"]][1], color=f"C{k}", alpha=0.2)
    profile.set(xlabel="normalized score tau", ylabel="fraction of runs with score > tau", title="performance profile", ylim=(0, 1.02))
    profile.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def merge(dirs: list[Path], out: Path) -> None:
    """Write into `out` the union of the studies in `dirs`: results.csv and curves.csv (a cell in
    two of them is a UsageError), random.json and hyperparameters.json (their entries must agree)."""
    from raveforce.app.baselines import append_rows

    cells, rows, curves, tables = set(), [], [], {"random.json": {}, "hyperparameters.json": {}}
    for d in dirs:
        for r in read_csv(d / "results.csv", RESULTS):
            cell = (r["task"], r["algo"], r["seed"], r["budget"])
            if cell in cells:
                raise UsageError(f"{d / 'results.csv'}: the cell {cell} is in another study too; give each cell once")
            cells.add(cell)
            rows.append(r)
        curves += read_csv(d / "curves.csv", CURVES) if (d / "curves.csv").is_file() else []
        for name, table in tables.items():
            for key, value in (json.loads((d / name).read_text()) if (d / name).is_file() else {}).items():
                if table.setdefault(key, value) != value:
                    raise UsageError(f"{d / name}: {key!r} differs from another study's; merge studies of the same settings")
    out.mkdir(parents=True, exist_ok=True)
    for name in ("results.csv", "curves.csv"):
        (out / name).unlink(missing_ok=True)
    append_rows(out / "results.csv", RESULTS, rows)
    append_rows(out / "curves.csv", CURVES, curves)
    for name, table in tables.items():
        (out / name).write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")


def cmd_baselines_report(args) -> int:
    dirs = [Path(d) for d in args.dirs]
    if len(dirs) > 1 and args.out is None:
        raise UsageError(f"{len(dirs)} studies given: --out names the folder of their merged tables and the report")
    out = Path(args.out) if args.out is not None else dirs[0]
    if dirs != [out]:
        merge(dirs, out)
    rows = read_csv(out / "results.csv", RESULTS)
    if not rows:
        raise UsageError(f"{out / 'results.csv'} has no rows: run `raveforce baselines ... --out {out}` first")
    curves = read_csv(out / "curves.csv", CURVES) if (out / "curves.csv").is_file() else []
    summary = summarize(rows)
    write_summary(out / "summary.csv", summary)
    print(markdown(summary))
    try:
        plot_report(out / "report.png", rows, summary)
        if curves:
            plot_curve_panels(out / "curves-report.png", curves)
    except ImportError as exc:  # matplotlib: the tables are written all the same
        print(f"no plots: {exc}")
        return 0
    print(f"wrote {out}/summary.csv, {out}/report.png" + (f", {out}/curves-report.png" if curves else " (no curves.csv: no curves-report.png)"))
    return 0


def add_subcommand(sub) -> None:
    """Add `baselines-report` to the `raveforce` parser's subparsers."""
    p = sub.add_parser("baselines-report", help="a baselines study's IQM with bootstrap CIs, performance profile and curves: summary.csv, report.png in DIR")
    p.add_argument("dirs", nargs="+", metavar="DIR", help="the --out folder of `raveforce baselines` (its results.csv and curves.csv); several: their union")
    p.add_argument("--out", default=None, help="with several DIRs: the folder of the merged tables (results.csv, curves.csv, random.json, hyperparameters.json) and the report")
    p.set_defaults(func=cmd_baselines_report)


__all__ = ["BOOTSTRAP_REPS", "BOOTSTRAP_SEED", "SUMMARY", "add_subcommand", "cmd_baselines_report", "markdown", "summarize"]
