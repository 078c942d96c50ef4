"""The `raveforce` command line (also `python -m raveforce`)."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input on the command line: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (`raveforce solve: error: ...`, exit code 2)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _make_env(env_id: str, **kwargs):
    import gymnasium as gym

    import raveforce

    if env_id not in raveforce.ENVS:
        short = {k.split("/")[1].split("-")[0].lower(): k for k in raveforce.ENVS}
        env_id = short.get(env_id.replace("-", "").lower(), env_id)
    if env_id not in raveforce.ENVS:
        raise UsageError(f"unknown task {env_id!r}; valid: {', '.join(raveforce.ENVS)}")
    return gym.make(env_id, **kwargs)


def cmd_list(args) -> int:
    import gymnasium as gym

    import raveforce
    from raveforce import rewards

    print("tasks:")
    for env_id in raveforce.ENVS:
        env_class = gym.envs.registration.load_env_creator(gym.spec(env_id).entry_point)
        task = getattr(env_class, "TASK", None)
        if task is None:
            summary = (env_class.__doc__ or "").strip().splitlines()[0]
            print(f"  {env_id:30} {summary}")
        else:
            space = task.action_space
            print(f"  {env_id:30} {task.description}  [{space}, {task.steps} steps, default reward {task.reward!r}]")
    print("rewards:", ", ".join(rewards.available()))
    return 0


def _parse_actions(text: str, space) -> list:
    import numpy as np
    from gymnasium import spaces

    items = [item for item in text.replace(",", " ").split() if item]
    if isinstance(space, spaces.Discrete):
        try:
            return [int(item) for item in items]
        except ValueError as exc:
            raise UsageError(f"--actions {text!r}: {exc}; give integers from 0 to {space.n - 1}") from exc
    if isinstance(space, spaces.MultiDiscrete):
        try:
            return [np.array([int(v) for v in item.split(":")], dtype=np.int64) for item in items]
        except ValueError as exc:
            raise UsageError(f"--actions {text!r}: {exc}; give {len(space.nvec)} integers per step, ':' between them") from exc
    try:
        return [np.array([float(v) for v in item.split(":")], dtype=np.float32) for item in items]
    except ValueError as exc:
        raise UsageError(f"--actions {text!r}: {exc}; give numbers in [0, 1] (':' between dimensions)") from exc


def cmd_render(args) -> int:
    if Path(args.out).is_dir():
        raise UsageError(f"--out {args.out!r} is a directory; give the WAV file to write, e.g. {str(Path(args.out) / 'episode.wav')!r}")
    env = _make_env(args.task, **({"reward": args.reward} if args.reward else {}))
    try:
        actions = _parse_actions(args.actions, env.action_space)
        steps = env.unwrapped.task.steps
        if len(actions) != steps:
            raise UsageError(f"--actions has {len(actions)} actions; the task takes {steps}")
        env.reset(seed=0)
        for k, action in enumerate(actions):
            _, reward, *_ = env.step(action)
            print(f"step {k + 1:2d}/{steps}: action {action!s:>8}  reward {reward:.6g}")
        path = env.unwrapped.save_wav(args.out)
        print(f"wrote {path}")
    finally:
        env.close()
    return 0


def cmd_demo(args) -> int:
    """`raveforce solve drum-loop`: the dynamic-programming agent imitates the shipped loop."""
    from raveforce.app import cli

    solve = argparse.Namespace(task="drum-loop", agent=None, target=None, reward=args.reward, seed=args.seed, steps=4096, out=args.out, bpm=None, task_steps=None)
    return cli.cmd_solve(solve)


def cmd_sclang(args) -> int:
    """Serve the RaveForce tasks of an .scd file from headless sclang until Ctrl-C."""
    from raveforce.synth.sclang import serve

    return serve(args.file, port=args.port, sclang=args.sclang, quark=args.quark)


def cmd_train(args) -> int:
    """Train an agent; `--engine sb3` (default): stable-baselines3 PPO or DQN on log-mel
    observations; `--engine rllib`: PPO on Ray RLlib, one scsynth per env runner."""
    if args.engine == "sb3":
        from raveforce.app import cli

        if args.task == "drum-transcribe":
            return cli.cmd_train_transcribe(args)
        return cli.cmd_train(args)
    try:
        from raveforce.integrations import rllib
    except ImportError as exc:
        raise UsageError(str(exc)) from exc
    return rllib.cli(args)


def cmd_landscape(args) -> int:
    """Every reward along a sweep of a task's actions: landscape.csv and landscape.png."""
    from raveforce.app.landscape import landscape
    from raveforce.app.progress import ProgressLine

    pattern = None if args.pattern is None else _parse_actions(args.pattern, _task_space(args.task))
    summary = landscape(args.task, args.reward.replace(",", " ").split(), args.out, points=args.points, pattern=pattern, target=args.target, progress=ProgressLine("landscape"))
    for name, row in summary.items():
        print(f"{name:16} " + "  ".join(f"{k} {v:.6g}" for k, v in row.items()))
    print(f"wrote {Path(args.out) / 'landscape.csv'} and landscape.png")
    return 0


def cmd_quark_path(args) -> int:
    """Print the folder of the RaveForce quark (for `Quarks.install("...")` in SuperCollider)."""
    from raveforce.synth.sclang import find_quark

    print(find_quark())
    return 0


def cmd_doctor(args) -> int:
    """What this machine has for RaveForce; exit 1 with the fix for anything missing."""
    from raveforce.app.doctor import run

    return run()


def _task_space(name: str):
    from raveforce.app.landscape import find_task

    return find_task(name).action_space


def build_parser() -> argparse.ArgumentParser:
    from raveforce.app import baselines, baselines_report, cli, transcribe_cli

    parser = _Parser(prog="raveforce", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="the registered tasks and rewards")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("render", help="play a sequence of actions and write the episode's audio")
    p.add_argument("task", help="an env id, e.g. raveforce/DrumLoop-v0 (or drumloop)")
    p.add_argument("--actions", required=True, help="e.g. '5 0 4 0 ...' or, continuous, '0.2 0.7:0.1'")
    p.add_argument("--reward", default=None)
    p.add_argument("--out", required=True, help="the WAV to write")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("demo", help="the same as: raveforce solve drum-loop --out out/demo")
    p.add_argument("--out", default="out/demo")
    p.add_argument("--reward", default="mfcc")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("sclang", help="serve the RaveForce tasks an .scd file defines, from headless sclang")
    p.add_argument("file", help="an .scd file that defines SynthDefs and calls RaveForce.start")
    p.add_argument("--port", type=int, default=None, help="sclang's UDP port (default: sclang's, 57120)")
    p.add_argument("--sclang", default=None, help="the sclang executable (else $RAVEFORCE_SCLANG, else PATH)")
    p.add_argument("--quark", default=None, help="the RaveForce quark folder (else $RAVEFORCE_QUARK, else the installed one: raveforce quark-path)")
    p.set_defaults(func=cmd_sclang)

    p = sub.add_parser("train", help="train an agent on a task (--engine sb3: stable-baselines3 PPO/DQN; rllib: PPO on Ray RLlib)")
    p.add_argument("task", help="a task's short name, e.g. drum-loop")
    p.add_argument("--engine", choices=["sb3", "rllib"], default="sb3", help="sb3 (default): stable-baselines3, one scsynth; rllib: Ray RLlib PPO, one scsynth per env runner")
    p.add_argument("--num-env-runners", type=int, default=2, help="rllib: Ray actors sampling episodes, each with its own scsynth (default 2)")
    p.add_argument("--envs-per-runner", type=int, default=8, help="rllib: lockstep episodes per env runner (default 8)")
    p.add_argument("--iterations", type=int, default=10, help="rllib: PPO training iterations (default 10)")
    p.add_argument("--address", default=None, help="rllib: a Ray cluster, 'auto' or ray://HEAD:10001 (default: a local Ray instance)")
    p.add_argument("--reward", default=None)
    p.add_argument("--observation", choices=["logmel", "audio", "features"], default="logmel", help="rllib: what the policy sees (default logmel; the transcription envs: their StepFeatures)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", default=None, help="rllib: a folder to save the trained algorithm to")
    cli.add_train_options(p)
    cli.add_transcribe_options(p)
    p.set_defaults(func=cmd_train)

    cli.add_subcommands(sub)  # solve, figure
    transcribe_cli.add_subcommand(sub)
    baselines.add_subcommand(sub)
    baselines_report.add_subcommand(sub)

    p = sub.add_parser("landscape", help="every reward along a sweep of a task's actions (PNG + CSV)")
    p.add_argument("task", help="an env id or short name, e.g. KickFrequency or drum-loop")
    p.add_argument("--reward", default="all", help="'all' or reward names, comma-separated")
    p.add_argument("--out", required=True, help="the folder to write landscape.csv and landscape.png to")
    p.add_argument("--points", type=int, default=256, help="continuous tasks: actions evenly spread in [0, 1]")
    p.add_argument("--pattern", default=None, help="discrete tasks: the optimal actions (default: the documented ones)")
    p.add_argument("--target", default=None, help="a target sound file (default: the task's)")
    p.set_defaults(func=cmd_landscape)

    p = sub.add_parser("quark-path", help="print where the RaveForce quark is, for Quarks.install in SuperCollider")
    p.set_defaults(func=cmd_quark_path)

    p = sub.add_parser("doctor", help="check scsynth, sclang, plugins, extras and a 1 s render; exit 1 with the fix for what is missing")
    p.set_defaults(func=cmd_doctor)
    return parser


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """A warning on the command line: one line, without the source line it was raised at."""
    return f"raveforce: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    from raveforce.errors import RaveForceError

    args = build_parser().parse_args(argv)
    formatwarning, warnings.formatwarning = warnings.formatwarning, _one_line_warning
    try:
        return args.func(args)
    except (UsageError, RaveForceError, ValueError) as exc:
        print(f"raveforce {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `raveforce list | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        warnings.formatwarning = formatwarning
