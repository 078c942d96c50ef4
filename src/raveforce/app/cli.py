"""The main-job subcommands of `raveforce`: solve, train, figure (wired in `raveforce.app.main`).

Every command writes its files into a temporary directory next to `--out` and moves them into
`--out` only when everything is written: a failure leaves nothing half-written behind.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class UsageError(ValueError):
    """Bad input on the command line: printed as one line, exit code 2."""


@dataclass(frozen=True)
class SolveTask:
    env_id: str
    task_name: str  # attribute of raveforce.tasks
    agents: tuple[str, ...]
    default_agent: str


TASKS = {
    "drum-loop": SolveTask("raveforce/DrumLoop-v0", "DRUM_LOOP", ("dp", "greedy", "random", "ppo", "policy"), "dp"),
    "kick-frequency": SolveTask("raveforce/KickFrequency-v0", "KICK_FREQUENCY", ("sweep", "actor-critic", "random", "policy"), "sweep"),
}
TRAIN_TASKS = ("drum-loop",)


class OutputDir:
    """A temporary directory next to `path` (`.name.tmp-*`); `commit()` moves its entries into
    `path` (created if missing; only same-named entries are replaced), `discard()` removes it.
    As a context manager: commit on success, discard on any exception."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise UsageError(f"--out {str(self.path)!r} exists and is not a directory; give a directory")
        parent = self.path.absolute().parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.tmp-", dir=parent))
            umask = os.umask(0)
            os.umask(umask)
            self.tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the result is an ordinary directory
        except OSError as exc:
            raise UsageError(f"--out {str(self.path)!r} cannot be written ({exc.strerror or exc}); give a writable directory") from exc

    def __enter__(self) -> Path:
        return self.tmp

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()

    def commit(self) -> None:
        try:
            if not self.path.exists():
                os.rename(self.tmp, self.path)
                return
            for entry in sorted(self.tmp.iterdir()):
                dest = self.path / entry.name
                if entry.is_dir() and dest.is_dir():
                    shutil.rmtree(dest)
                os.replace(entry, dest)
        except OSError as exc:
            raise UsageError(f"--out {str(self.path)!r} cannot be written ({exc.strerror or exc})") from exc
        finally:
            self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _progress(label: str):
    from raveforce.app.progress import ProgressLine

    return ProgressLine(label)


def _check_reward(name: str | None) -> None:
    from raveforce import rewards

    if name is not None and name not in rewards.available():
        raise UsageError(f"unknown reward {name!r}; valid: {', '.join(rewards.available())}")


def _load_target(path: str | None, task):
    """None (the task's own) or (float32 samples, sample rate) read from `path` (TargetError if
    not audio): cut or padded to the episode with a one-line warning naming its span; UsageError if
    that span is silent."""
    if path is None:
        return None
    import soundfile

    from raveforce.audio import load_target

    audio = load_target(path, sample_rate=task.sample_rate, length=task.total_samples)
    info = soundfile.info(path)
    seconds = info.frames / info.samplerate
    kept = f"0.000-{task.total_seconds:.3f} s ({task.steps} steps at {task.bpm:g} BPM)"
    if seconds > task.total_seconds + 1.0 / task.sample_rate:
        print(f"raveforce: warning: target {path!r} lasts {seconds:.3f} s; the episode keeps {kept}", file=sys.stderr)
    elif seconds < task.total_seconds - task.step_seconds:
        print(f"raveforce: warning: target {path!r} lasts {seconds:.3f} s, less than the episode's {kept}: the rest is heard as silence", file=sys.stderr)
    peak = float(np.abs(audio).max())
    if peak < SILENCE:
        level = f"{20 * np.log10(peak):.0f} dBFS" if peak > 0 else "0"
        raise UsageError(f"target {path!r} is silent in the span the episode keeps, {kept} (peak {level}); give a sound file with sound in it")
    return (audio, task.sample_rate)


SILENCE = 1e-6  # peak amplitude (-120 dBFS) under which a target counts as silent


def bpm_option(text: str):
    """--bpm: 'auto' or a tempo within TEMPO_LIMITS (30-300 BPM: 16th-note steps of 2205 to 22050 samples)."""
    from raveforce.transcribe import TEMPO_LIMITS

    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither 'auto' nor a tempo in BPM") from None
    low, high = TEMPO_LIMITS
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text!r} BPM is not a tempo from {low:g} to {high:g} BPM (or 'auto': 60-200 BPM from the loop)")
    return value


def _steps_option(text: str):
    """--task-steps: 'auto' or a whole number >= 1."""
    return text if text == "auto" else _positive(text)


def add_loop_options(p) -> None:
    """--bpm and --task-steps: fit the task's grid to the target loop."""
    p.add_argument("--bpm", type=bpm_option, default=None, help="the target's tempo: a number, or auto (from the loop: 1, 2 or 4 bars of 4/4, 60-200 BPM); default the task's")
    p.add_argument("--task-steps", type=_steps_option, default=None, help="steps per episode: a number, or auto (the loop's length at the tempo); default the task's, auto with --bpm auto")


def fit_task_to_target(task, target_path: str | None, *, bpm=None, steps=None):
    """(the task on the target's grid, what was estimated for result.json). bpm and steps: None
    (the task's), a number, or "auto" (measured from the target loop, and printed)."""
    from raveforce.task import replace_options

    estimated: dict = {}
    if "auto" in (bpm, steps):
        from raveforce.app import loops
        from raveforce.audio import read_sound

        if target_path is None:
            raise UsageError("--bpm auto and --task-steps auto measure a target loop: give one with --target")
        audio, rate = read_sound(target_path)
        peak = float(np.abs(audio).max())
        if peak < SILENCE:
            raise UsageError(f"target {target_path!r} is silent (peak {peak:.3g}): there is no tempo to measure; give a loop with sound in it")
        seconds = len(audio) / rate
        if bpm == "auto" and steps in (None, "auto"):
            found = loops.estimate(audio, rate)
            bpm, steps = found.bpm, found.steps(task.beats_per_step)
            print(f"target {target_path}: {found.describe()}; {steps} steps")
            readings = {f"{b:g} BPM x {n} bar{'s' * (n > 1)}": round(score, 4) for (b, n), score in found.readings.items()}
            estimated = {
                "bpm_estimated": True, "bars": found.bars, "loop_seconds": round(seconds, 6),
                "bpm_confidence": round(found.confidence, 4), "readings": readings,
            }  # fmt: skip
        elif bpm == "auto":
            bpm = round(steps * task.beats_per_step * 60.0 / seconds, 2)
            print(f"target {target_path}: {seconds:.3f} s of {steps} steps: {bpm:g} BPM")
            estimated = {"bpm_estimated": True, "loop_seconds": round(seconds, 6)}
        else:
            steps = loops.steps_at(seconds, bpm or task.bpm, task.beats_per_step)
            print(f"target {target_path}: {seconds:.3f} s at {bpm or task.bpm:g} BPM: {steps} steps")
            estimated = {"steps_estimated": True, "loop_seconds": round(seconds, 6)}
    overrides = {name: value for name, value in (("bpm", None if bpm is None else float(bpm)), ("steps", steps)) if value is not None}
    return (replace_options(task, overrides) if overrides else task), estimated


def _requires(module: str, hint: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise UsageError(hint)


def write_midis(folder: Path, task, actions, *, target_actions=None) -> list[str]:
    """`best.mid` from `actions` (and `target.mid` from `target_actions` when the target's
    pattern is known) in `folder`; the file names written."""
    from raveforce.midi import write_actions

    write_actions(folder / "best.mid", task, actions)
    if target_actions is None:
        return ["best.mid"]
    write_actions(folder / "target.mid", task, target_actions)
    return ["best.mid", "target.mid"]


def known_target_actions(task_name: str, task, target_path: str | None):
    """The actions the shipped target was made of, if the target is the shipped one on its own grid."""
    import raveforce.tasks as tasks

    shipped = getattr(tasks, task_name)
    if target_path is not None or task != shipped:
        return None
    return {"DRUM_LOOP": tasks.DRUM_LOOP_PATTERN}.get(task_name)


# --- solve -------------------------------------------------------------------------------------


def run_agent(agent: str, task, *, target, reward, seed: int, steps: int, progress):
    """The agent's Solution (or TrainResult for ppo) on `task`."""
    from raveforce import agents

    common = {"target": target, "reward": reward, "progress": progress}
    if agent == "dp":
        return agents.beam_search(task, width=4, **common)
    if agent == "greedy":
        return agents.greedy(task, **common)
    if agent == "random":
        return agents.random_search(task, episodes=256 if task.steps > 1 else 64, seed=seed, **common)
    if agent == "sweep":
        return agents.sweep(task, **common)
    if agent == "actor-critic":
        return agents.actor_critic(task, seed=seed, **common)
    if agent == "ppo":
        from raveforce.agents.sb3 import train

        return train("ppo", task=task, steps=steps, seed=seed, target=target, reward=reward, progress=progress)
    if agent == "policy" and task.steps == 1:
        return run_kick_policy(task, target=target, reward=reward, progress=progress)
    if agent == "policy":
        return run_policy(task, target=target, reward=reward, progress=progress)
    raise UsageError(f"unknown agent {agent!r}")


def calibrated_task(task, target):
    """(the task played on a kit fitted to `target`, the Calibration), with progress printed."""
    from raveforce import kits
    from raveforce.app.progress import ProgressLine
    from raveforce.kits.calibration import calibrate

    calibration = calibrate(task, target, progress=ProgressLine("calibrate"))
    fitted = ", ".join(f"{v} from {'the shipped kit' if s is None else f'kit {s}'}" for v, s in calibration.fitted.items())
    print(f"calibrated the kit in {calibration.seconds:.1f} s: {fitted}; residual {calibration.residual_before:.3f} -> {calibration.residual_after:.3f}")
    return kits.kit_task(calibration.kit, task, name=f"{task.name}Calibrated"), calibration


def run_policy(task, *, target, reward, progress, policy_path=None):
    """The shipped transcriber's answer as a Solution whose history holds the episode's "audio"
    and "target". One bar: one episode, its audio and rewards as they came; a loop of whole bars:
    transcribed bar by bar (`transcriber.transcribe_bars`), then played once whole."""
    from raveforce import agents
    from raveforce.transcribe import DRUM_TRANSCRIBE
    from raveforce.transcribe import policy as transcriber

    policy = transcriber.load(policy_path)
    target_audio = task.load_target(target)
    if task.steps == DRUM_TRANSCRIBE.steps:
        actions, audio, rewards = transcriber.transcribe((target_audio, task.sample_rate), policy=policy, reward=reward, bpm=task.bpm)
    else:
        actions = transcriber.transcribe_bars(target_audio, task, policy=policy)
        audio, rewards, target_audio = agents.play(task, actions, target=(target_audio, task.sample_rate), reward=reward)
    if progress:
        progress(task.steps, task.steps, "one pass")
    return agents.Solution(actions, rewards, evaluations=task.steps, history={"audio": audio, "target": target_audio})


def run_kick_policy(task, *, target, reward, progress, policy_path=None):
    """The shipped kick transcriber's answer, played once (one env step, no search)."""
    from raveforce import agents
    from raveforce.transcribe import kick_policy as kick_transcriber

    policy = kick_transcriber.load(policy_path)
    target_audio = task.load_target(target)
    action = policy.act(None, target_audio[None], 0, task=task)[0]
    audio, rewards, target_audio = agents.play(task, [action], target=(target_audio, task.sample_rate), reward=reward)
    if progress:
        progress(1, 1, "one pass")
    return agents.Solution([action], rewards, evaluations=1, history={"audio": audio, "target": target_audio})


def cmd_solve(args) -> int:
    import raveforce.tasks
    from raveforce import agents
    from raveforce.app.report import note_label, report_png, silence_rewards, write_html
    from raveforce.audio import write_wav

    spec = TASKS[args.task]
    agent = args.agent or spec.default_agent
    if agent not in spec.agents:
        raise UsageError(f"unknown agent {agent!r} for {args.task}; valid: {', '.join(spec.agents)}")
    _check_reward(args.reward)
    _requires("matplotlib", "matplotlib is not installed: pip install -e '.[plot]'")
    if agent == "ppo":
        _requires("stable_baselines3", "stable-baselines3 is not installed: pip install torch==2.13.0 && pip install -e '.[sb3]'")
    task, estimated = fit_task_to_target(getattr(raveforce.tasks, spec.task_name), args.target, bpm=args.bpm, steps=args.task_steps)
    target = _load_target(args.target, task)
    calibration = None
    if args.calibrate:
        if spec.task_name != "DRUM_LOOP":
            raise UsageError(f"--calibrate fits a drum kit to the target: drum-loop only, not {args.task}")
        task, calibration = calibrated_task(task, target)
    reward = args.reward or task.reward
    with OutputDir(args.out) as tmp:
        print(f"solving {spec.env_id} with the {agent} agent ({reward} reward, target {args.target or 'shipped'})")
        start = time.perf_counter()
        solution = run_agent(agent, task, target=target, reward=reward, seed=args.seed, steps=args.steps, progress=_progress(agent))
        seconds = time.perf_counter() - start
        if "audio" in getattr(solution, "history", {}):  # the episode the agent played is the answer
            audio, rewards, target_audio = solution.history["audio"], solution.rewards, solution.history["target"]
        else:
            audio, rewards, target_audio = agents.play(task, solution.actions, target=target, reward=reward)
        actions = [a.tolist() if isinstance(a, np.ndarray) else int(a) for a in solution.actions]
        result = {
            "task": spec.env_id,
            "agent": agent,
            "reward": reward,
            "target": args.target or str(task.target),
            "seed": args.seed,
            "actions": actions,
            "rewards": rewards,
            "total_reward": float(sum(rewards)),
            "search_seconds": round(seconds, 3),
            "bpm": task.bpm,
            "episode_steps": task.steps,
            **estimated,
        }
        if calibration is not None:
            result["calibration"] = calibration.summary()
        search = None
        if hasattr(solution, "evaluations"):
            result["evaluations"] = solution.evaluations
        result["env_steps"] = env_steps(solution, args.steps, task)
        if spec.task_name == "KICK_FREQUENCY":
            control = task.actions.controls[0]
            result["frequency_hz"] = control(actions[0][0])
            if "x" in solution.history:
                search = ([control(x) for x in solution.history["x"]], solution.history["reward"], result["frequency_hz"])
            print(f"frequency {result['frequency_hz']:.2f} Hz (action {actions[0][0]:.6f}), reward {rewards[0]:.6g}")
        else:
            from raveforce.tasks import DRUM_LOOP_PATTERN

            if args.target is None:
                result["matches_shipped_pattern"] = actions == list(DRUM_LOOP_PATTERN)
            for k, (a, r) in enumerate(zip(actions, rewards)):
                drums = "+".join(note_label(n) for n in task.actions.notes(a)) or "rest"
                print(f"step {k + 1:2d}/{task.steps}  action {a}  {drums:16s} reward {r:.6g}")
            print("pattern", " ".join(map(str, actions)), f" total reward {result['total_reward']:.6g}")
        write_wav(tmp / "best.wav", audio, task.sample_rate)
        write_wav(tmp / "target.wav", target_audio, task.sample_rate)
        (tmp / "result.json").write_text(json.dumps(result, indent=2) + "\n")
        title = f"RaveForce {spec.env_id}: {agent} agent"
        silence = silence_rewards(task, target=target_audio, reward=reward)
        report_png(tmp / "report.png", task=task, target=target_audio, result=audio, rewards=rewards, title=title, silence=silence, search=search)
        summary = f"{reward} reward; total reward {result['total_reward']:.6g} (0 is a perfect match); search took {seconds:.2f} s."
        if "frequency_hz" in result:
            summary += f" Chosen frequency: {result['frequency_hz']:.2f} Hz."
        midis = write_midis(tmp, task, solution.actions, target_actions=known_target_actions(spec.task_name, task, args.target))
        write_html(tmp, title=title, summary=summary, task=task, actions=actions, rewards=rewards, result=result, links=midis)
    print(f"wrote {args.out}/{{best.wav,target.wav,report.png,result.json,index.html,{','.join(midis)}}}")
    return 0


def env_steps(solution, training_steps: int, task) -> int:
    """The env steps an agent rendered to reach its answer: a search's evaluations, or a trained
    agent's training steps plus its final episode."""
    if hasattr(solution, "evaluations"):
        return int(solution.evaluations)
    return int(training_steps) + task.steps


# --- train -------------------------------------------------------------------------------------


def cmd_train(args) -> int:
    from raveforce import agents
    from raveforce.app.report import report_png, silence_rewards, write_html
    from raveforce.audio import write_wav
    from raveforce.tasks import DRUM_LOOP

    if args.task not in TRAIN_TASKS:
        raise UsageError(f"unknown task {args.task!r} for train --engine sb3; valid: {', '.join(TRAIN_TASKS)}")
    if args.out is None:
        raise UsageError("--out is required: the output directory")
    _check_reward(args.reward)
    _requires("matplotlib", "matplotlib is not installed: pip install -e '.[plot]'")
    _requires("stable_baselines3", "stable-baselines3 is not installed: pip install torch==2.13.0 && pip install -e '.[sb3]'")
    from raveforce.agents.sb3 import train

    task, estimated = fit_task_to_target(DRUM_LOOP, args.target, bpm=args.bpm, steps=args.task_steps)
    target = _load_target(args.target, task)
    reward = args.reward or task.reward
    with OutputDir(args.out) as tmp:
        print(f"training {args.algo.upper()} on {TASKS['drum-loop'].env_id} for {args.steps} steps ({reward} reward)")
        start = time.perf_counter()
        trained = train(
            args.algo, task=task, steps=args.steps, seed=args.seed, target=target, reward=reward,
            record=tmp / "episodes", every=args.record_every, progress=_progress(args.algo),
        )  # fmt: skip
        seconds = time.perf_counter() - start
        trained.model.save(tmp / "model.zip")
        baseline = agents.random_search(task, episodes=64, seed=args.seed, target=target, reward=reward)
        audio, rewards, target_audio = agents.play(task, trained.actions, target=target, reward=reward)
        result = {
            "task": TASKS["drum-loop"].env_id,
            "agent": args.algo,
            "reward": reward,
            "target": args.target or str(task.target),
            "seed": args.seed,
            "steps": args.steps,
            "actions": trained.actions,
            "rewards": rewards,
            "total_reward": float(sum(rewards)),
            "random_mean_return": float(np.mean(baseline.history["returns"])),
            "episode_returns": trained.episode_returns,
            "train_seconds": round(seconds, 3),
            "bpm": task.bpm,
            "episode_steps": task.steps,
            **estimated,
        }
        print("pattern", " ".join(map(str, trained.actions)), f" total reward {result['total_reward']:.6g}")
        print(f"random agent's mean return {result['random_mean_return']:.6g} (64 episodes)")
        write_wav(tmp / "best.wav", audio, task.sample_rate)
        write_wav(tmp / "target.wav", target_audio, task.sample_rate)
        (tmp / "result.json").write_text(json.dumps(result, indent=2) + "\n")
        title = f"RaveForce {TASKS['drum-loop'].env_id}: {args.algo.upper()} after {args.steps} steps"
        silence = silence_rewards(task, target=target_audio, reward=reward)
        report_png(
            tmp / "report.png", task=task, target=target_audio, result=audio, rewards=rewards, title=title,
            silence=silence, curve=trained.episode_returns,
        )  # fmt: skip
        midis = write_midis(tmp, task, trained.actions, target_actions=known_target_actions("DRUM_LOOP", task, args.target))
        recorded = sorted(p.relative_to(tmp).as_posix() for p in (tmp / "episodes").glob("*.*"))
        summary = (
            f"{reward} reward; the trained policy's total reward {result['total_reward']:.6g} "
            f"(random agent: {result['random_mean_return']:.6g} on average; 0 is a perfect match)."
        )
        write_html(tmp, title=title, summary=summary, task=task, actions=trained.actions, rewards=rewards, result=result, links=[*midis, "model.zip", *recorded])
    print(f"wrote {args.out}/{{best.wav,target.wav,report.png,result.json,index.html,{','.join(midis)},model.zip,episodes/}}")
    return 0


# --- figure ------------------------------------------------------------------------------------


def cmd_figure(args) -> int:
    from raveforce.app.figures import FIGURES

    _requires("matplotlib", "matplotlib is not installed: pip install -e '.[plot]'")
    kwargs = {"5": {"random": args.random}, "6": {"points": args.points}, "7": {"episodes": args.episodes}}[args.number]
    with OutputDir(args.out) as tmp:
        summary = FIGURES[args.number](tmp, progress=_progress(f"figure {args.number}"), **kwargs)
        (tmp / f"figure{args.number}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    print(f"wrote {args.out}/figure{args.number}.{{png,csv,json}}")
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not >= 1")
    return value


def add_train_options(p) -> None:
    """The options of `raveforce train --engine sb3` (the train parser has task, --reward, --seed)."""
    p.add_argument("--algo", choices=["ppo", "dqn"], default="ppo", help="sb3: the algorithm (default ppo)")
    p.add_argument("--steps", type=_positive, default=8192, help="sb3: environment steps to train (default 8192)")
    p.add_argument("--target", default=None, help="sb3: a sound file to imitate (default: the task's shipped target)")
    p.add_argument("--record-every", type=_positive, default=64, help="sb3: write every Nth training episode to OUT/episodes/")
    p.add_argument("--out", default=None, help="sb3: the output directory (required)")
    add_loop_options(p)


def cmd_train_transcribe(args) -> int:
    """`raveforce train drum-transcribe`: one policy for every target (sb3 on the vector env);
    curve.csv, curve.png, policy.npz, model.zip, result.json and index.html in --out."""
    from raveforce.transcribe.training import train_transcriber

    if args.out is None:
        raise UsageError("--out is required: the output directory")
    _check_reward(args.reward)
    _requires("matplotlib", "matplotlib is not installed: pip install -e '.[plot]'")
    _requires("stable_baselines3", "stable-baselines3 is not installed: pip install torch==2.13.0 && pip install -e '.[sb3]'")
    if args.tensorboard is not None:
        _requires("tensorboard", "tensorboard is not installed: pip install tensorboard")
    with OutputDir(args.out) as tmp:
        print(f"training {args.algo.upper()} on raveforce/DrumTranscribe-v0 for {args.steps} steps, {args.envs} envs")
        run = train_transcriber(
            args.algo, steps=args.steps, envs=args.envs, seed=args.seed, out=tmp, reward=args.reward or "multiscale",
            tensorboard=None if args.tensorboard is None else os.path.abspath(args.tensorboard), progress=_progress(args.algo),
            dev_size=args.dev_size,
        )  # fmt: skip
        result = {"task": "raveforce/DrumTranscribe-v0", "agent": args.algo, "steps": args.steps, "envs": args.envs, "seed": args.seed,
                  "reward": args.reward or "multiscale", "dev_size": args.dev_size, "dev": run.dev, "curve": run.curve, "train_seconds": round(run.seconds, 1)}  # fmt: skip
        (tmp / "result.json").write_text(json.dumps(result, indent=2) + "\n")
        write_curve_html(tmp, result)
    print(f"dev set: per-hit accuracy {run.dev['hit_accuracy']:.4f}, exact patterns {run.dev['exact_rate']:.3f}")
    print(f"wrote {args.out}/{{curve.csv,curve.png,policy.npz,model.zip,result.json,index.html}}")
    return 0


def write_curve_html(folder: Path, result: dict) -> Path:
    """index.html of a transcriber training run: the learning curve and the dev scores."""
    import html

    rows = "".join(
        f"<tr><td>{r['env_steps']}</td><td>{r['seconds']}</td><td>{r['train_return']:.4g}</td><td>{r['dev_return']:.4g}</td>"
        f"<td>{r['dev_hit_accuracy']:.4f}</td><td>{r['dev_exact_rate']:.3f}</td></tr>"
        for r in result["curve"]
    )
    title = html.escape(f"RaveForce {result['task']}: {result['agent'].upper()}, {result['steps']} steps on {result['envs']} envs")
    page = f"""<!doctype html><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td,th{{padding:0 .8em;text-align:right}}</style>
<h1>{title}</h1>
<p>Mean return and per-hit accuracy on a fixed dev set of {result['dev_size']} patterns against env steps.
Dev set at the end: per-hit accuracy {result['dev']['hit_accuracy']:.4f}, exact patterns {result['dev']['exact_rate']:.3f}.
Files: <a href="curve.csv">curve.csv</a>, <a href="policy.npz">policy.npz</a> (numpy), <a href="model.zip">model.zip</a> (stable-baselines3).</p>
<img src="curve.png" alt="learning curve" style="max-width:100%">
<table><tr><th>env steps</th><th>seconds</th><th>training return</th><th>dev return</th><th>dev per-hit accuracy</th><th>dev exact</th></tr>{rows}</table>
"""
    path = folder / "index.html"
    path.write_text(page)
    return path


def add_transcribe_options(p) -> None:
    """The options of `raveforce train drum-transcribe` beyond add_train_options'."""
    p.add_argument("--envs", type=_positive, default=64, help="drum-transcribe: lockstep episodes in the vector env (default 64)")
    p.add_argument("--tensorboard", default=None, help="drum-transcribe: a folder for TensorBoard logs")
    p.add_argument("--dev-size", type=_positive, default=200, help="drum-transcribe: dev patterns measured at each evaluation (default 200)")


def add_subcommands(sub) -> None:
    """Add solve and figure to the `raveforce` parser's subparsers."""
    p = sub.add_parser("solve", help="solve a paper task with a baseline agent: WAVs, report.png, result.json, index.html")
    p.add_argument("task", choices=list(TASKS))
    p.add_argument("--agent", default=None, help="drum-loop: dp (default), greedy, random, ppo, policy (the shipped transcriber); kick-frequency: sweep (default), actor-critic, random, policy (the shipped kick transcriber)")
    p.add_argument("--target", default=None, help="a sound file to imitate (default: the task's shipped target)")
    p.add_argument("--reward", default=None, help="mse, mfcc, stft, cqt (default: the task's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=_positive, default=8192, help="training steps of the ppo agent (default 8192)")
    p.add_argument("--calibrate", action="store_true", help="drum-loop: first fit the agent's kit to the target (result.json: calibration)")
    p.add_argument("--out", required=True, help="the output directory")
    add_loop_options(p)
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("figure", help="the paper's figure 5, 6 or 7, measured here: PNG, CSV and JSON summary")
    p.add_argument("number", choices=["5", "6", "7"])
    p.add_argument("--out", required=True)
    p.add_argument("--random", type=_positive, default=20, help="figure 5: random patterns")
    p.add_argument("--points", type=_positive, default=256, help="figure 6: frequencies")
    p.add_argument("--episodes", type=_positive, default=5, help="figure 7: episodes per renderer")
    p.set_defaults(func=cmd_figure)


__all__ = ["TASKS", "OutputDir", "UsageError", "add_subcommands", "add_train_options", "add_transcribe_options", "cmd_figure", "cmd_solve", "cmd_train", "cmd_train_transcribe"]
