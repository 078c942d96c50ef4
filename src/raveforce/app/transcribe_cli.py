"""`raveforce transcribe LOOP_OR_FOLDER... --out DIR`: many drum loops to MIDI with a shipped
one-pass transcriber: `--kit basic` (default), the 3-voice one `raveforce solve drum-loop --agent
policy` uses; `--kit full`, the ten-voice one with velocities (`transcribe.kit_classifier`).

For each loop, in DIR: `<name>.mid` (General MIDI drums on channel 10, or the notes of `--map`),
`<name>.json` (tempo, length, swing, notes with velocities), `<name>.target.wav` (the loop as the
transcriber heard it) and `<name>.result.wav` (the notes played back on DrumLoop's or DrumKit's
kit); and `index.html`, which shows every loop's grid and plays both side by side. `--grid
triplet` hears 8th-note triplets (3 steps a beat: shuffles, 12/8) instead of 16th notes. A loop
that cannot be read, is silent, or whose length fits no tempo is skipped and named at the end
(exit code 1). Each loop's files are moved into DIR only when all of them are written. `--engine
ray` runs the loops as Ray tasks (16 loops each, the files' bytes sent along), on a local Ray or
across the cluster at `--address`.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import html
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from raveforce.app.cli import SILENCE, OutputDir, UsageError, bpm_option
from raveforce.task import Task

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff")  # what a folder's audio files end with
KITS = ("basic", "full")  # basic: kick, snare and closed hat (DrumLoop's kit); full: DrumKit's ten voices with velocities
GRIDS = {"16": 4, "triplet": 3}  # --grid: steps a beat


@dataclass
class Transcription:
    """One loop transcribed on `kit` ("basic" or "full"): `actions`, one a step (basic: DrumLoop's
    action ints; full: DrumKit's ten levels), the `task` on the loop's grid, `bpm_confidence` (None
    for a given --bpm), and float32 (task.total_samples,) audio at task.sample_rate: `target` as
    heard, `result` as played back (None once written)."""

    path: Path
    task: Task
    actions: list
    bpm_confidence: float | None
    target: np.ndarray | None
    result: np.ndarray | None
    swing: float | None = None  # how late the off-beat steps sound, in steps (`loops.swing`); None: too few hits to tell
    kit: str = "basic"
    confidence: list | None = None  # full: P(voice starts), (steps, 10), as the transcriber heard it

    @property
    def bars(self) -> float:
        bars = self.task.steps * self.task.beats_per_step / 4
        return int(bars) if bars == int(bars) else round(bars, 4)

    def notes(self, note_map: dict[str, int]) -> list[dict]:
        """[{step, voice, note, velocity}] of every hit (full: and its confidence), in step order."""
        from raveforce.midi import DRUM_VELOCITY, GM_DRUMS

        keys = {**GM_DRUMS, **note_map}
        if self.kit == "full":
            from raveforce.tasks import FULL_KIT, levels_of, velocities

            table = velocities(levels_of(self.task))
            return [
                {"step": k, "voice": voice, "note": keys[voice], "velocity": table[level - 1], "confidence": round(self.confidence[k][v], 4)}
                for k, row in enumerate(self.actions) for v, (voice, level) in enumerate(zip(FULL_KIT, row)) if level
            ]  # fmt: skip
        from raveforce.app.report import note_label

        hits = ((k, note_label(n)) for k, a in enumerate(self.actions) for n in self.task.actions.notes(a))
        return [{"step": k, "voice": voice, "note": keys[voice], "velocity": DRUM_VELOCITY} for k, voice in hits]

    def summary(self, note_map: dict[str, int]) -> dict:
        """What `<name>.json` holds: kit, bpm, bars (4/4), steps and steps a beat, swing, the actions and notes."""
        confidence = None if self.bpm_confidence is None else round(self.bpm_confidence, 4)
        swing = None if self.swing is None else round(self.swing, 3)
        return {"file": str(self.path), "kit": self.kit, "bpm": self.task.bpm, "bars": self.bars, "steps": self.task.steps,
                "steps_per_beat": round(1 / self.task.beats_per_step), "bpm_confidence": confidence, "swing": swing,
                "actions": self.actions, "notes": self.notes(note_map)}  # fmt: skip


def transcribe_loop(path: Path, *, bpm: float | str = "auto", policy=None, kit: str = "basic", grid: str = "16") -> Transcription:
    """A shipped transcriber's answer for the loop at `path`, played back by mixing the kit's
    samples in numpy (as the transcription envs mix their targets: scsynth's render within 1e-6).
    kit "basic": the shipped policy (or `policy`) on DrumLoop's kit, as `solve drum-loop --agent
    policy` gives it; "full": the full-kit classifier on DrumKit's ten voices with velocities.
    bpm: "auto" (tempo and bars from the loop, `loops.estimate`) or a tempo (steps from the loop's
    length); grid: "16" or "triplet" (GRIDS). TargetError (unreadable), UsageError (silent) or
    LoopLengthError (no tempo fits) for a loop it cannot transcribe."""
    from raveforce.app import loops
    from raveforce.audio import load_target, read_sound
    from raveforce.task import replace_options
    from raveforce.tasks import DRUM_LOOP, drum_kit_task

    audio, rate = read_sound(path)
    if float(np.abs(audio).max()) < SILENCE:
        raise UsageError("is silent (peak below -120 dBFS): nothing to transcribe")
    beats_per_step = 1 / GRIDS[grid]
    confidence = None
    if bpm == "auto":
        found = loops.estimate(audio, rate)
        bpm, steps, confidence = found.bpm, found.steps(beats_per_step), found.confidence
    else:
        steps = loops.steps_at(len(audio) / rate, bpm, beats_per_step)
    base = drum_kit_task(steps_per_beat=GRIDS[grid]) if kit == "full" else dataclasses.replace(DRUM_LOOP, beats_per_step=beats_per_step)
    task = replace_options(base, {"bpm": float(bpm), "steps": steps})
    target = load_target((audio, rate), sample_rate=task.sample_rate, length=task.total_samples)
    if kit == "full":
        from raveforce.transcribe import kit_classifier, mix_grids

        p, v = kit_classifier.outputs(target, task)
        actions = kit_classifier.grid_of(p, v, task, kit_classifier.classifier().thresholds)
        swing = loops.swing(target, task.sample_rate, task.boundaries[:-1], actions.any(axis=1))
        return Transcription(path, task, actions.tolist(), confidence, target, mix_grids(task, [actions])[0], swing, "full", np.round(p, 4).tolist())
    from raveforce.transcribe import mix_pattern
    from raveforce.transcribe import policy as transcriber

    actions = [int(a) for a in transcriber.transcribe_bars(target, task, policy=policy or transcriber.load())]
    swing = loops.swing(target, task.sample_rate, task.boundaries[:-1], np.array(actions) > 0)
    return Transcription(path, task, actions, confidence, target, mix_pattern(task, actions), swing)


def find_loops(inputs: list[str]) -> list[Path]:
    """The files of `inputs`, each folder's audio files (AUDIO_SUFFIXES, sorted, not recursive) in
    its place, each file once; UsageError for a path that does not exist or when none is found."""
    found: dict[Path, Path] = {}
    for text in inputs:
        path = Path(text)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
        elif path.exists():
            files = [path]
        else:
            raise UsageError(f"{text!r} does not exist; give sound files or folders of them")
        for f in files:
            found.setdefault(f.resolve(), f)
    if not found:
        raise UsageError(f"no audio files ({', '.join(s[1:] for s in AUDIO_SUFFIXES)}) in {', '.join(map(repr, inputs))}")
    return list(found.values())


def unique_names(paths: list[Path]) -> list[str]:
    """One output name a path: its stem, or stem-2, stem-3, ... when an earlier path took it."""
    taken: set[str] = set()
    names = []
    for path in paths:
        name, n = path.stem, 1
        while name.lower() in taken:  # case-blind: some file systems are
            n += 1
            name = f"{path.stem}-{n}"
        taken.add(name.lower())
        names.append(name)
    return names


def read_note_map(text: str) -> dict[str, int]:
    """--map FILE: a JSON object {voice: MIDI note 0-127}, voices kick, snare, hat (any of them)."""
    from raveforce.midi import GM_DRUMS

    valid = f"give a JSON object like {json.dumps(GM_DRUMS)} (voices {', '.join(GM_DRUMS)}; notes 0-127)"
    try:
        mapping = json.loads(Path(text).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a readable JSON file ({exc}); {valid}") from None
    if not isinstance(mapping, dict):
        raise argparse.ArgumentTypeError(f"{text!r} holds a JSON {type(mapping).__name__}, not an object; {valid}")
    for voice, note in mapping.items():
        if voice not in GM_DRUMS:
            raise argparse.ArgumentTypeError(f"{text!r}: {voice!r} is not a voice; {valid}")
        if isinstance(note, bool) or not isinstance(note, int) or not 0 <= note <= 127:
            raise argparse.ArgumentTypeError(f"{text!r}: {voice} {json.dumps(note)} is not a MIDI note; {valid}")
    return mapping


def summary_json(summary: dict) -> str:
    """`summary` as JSON, a key a line and each entry of a list (a step's levels, a note) on a line of its own."""
    def value(v) -> str:
        return "[\n" + ",\n".join(f"    {json.dumps(x)}" for x in v) + "\n  ]" if isinstance(v, list) and v else json.dumps(v)

    return "{\n" + ",\n".join(f"  {json.dumps(k)}: {value(v)}" for k, v in summary.items()) + "\n}"


def write_loop(folder: Path, name: str, found: Transcription, note_map: dict[str, int]) -> None:
    """`name`.mid, .json, .target.wav and .result.wav in `folder`."""
    from raveforce.audio import write_wav
    from raveforce.midi import write_actions

    write_actions(folder / f"{name}.mid", found.task, found.actions, drum_notes=note_map)
    (folder / f"{name}.json").write_text(summary_json(found.summary(note_map)) + "\n")
    write_wav(folder / f"{name}.target.wav", found.target, found.task.sample_rate)
    write_wav(folder / f"{name}.result.wav", found.result, found.task.sample_rate)


STYLE = """body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
.players { display: flex; gap: 2rem; flex-wrap: wrap; }
figure { margin: 0 0 1rem 0; }
table.grid { border-collapse: collapse; margin: 1rem 0; }
table.grid td, table.grid th { border: 1px solid #ccc; width: 1.6rem; height: 1.4rem; text-align: center; font-size: 0.75rem; }
table.grid td.on { background: #2a9d4b; }
table.grid th.row { width: auto; padding: 0 0.5rem; text-align: right; }
section { border-top: 1px solid #ddd; margin-top: 2rem; overflow-x: auto; }"""


def loop_section(name: str, found: Transcription) -> str:
    """One loop's <section>: tempo, players (target, result), step grid, links."""
    from raveforce.app.report import step_grid

    esc = html.escape
    if found.kit == "full":  # a row per voice, darker the louder
        from raveforce.tasks import FULL_KIT, levels_of

        levels = np.asarray(found.actions).T / levels_of(found.task)
        rows = [(voice, row) for voice, row in zip(FULL_KIT, levels)][::-1]
    else:
        rows = step_grid(found.task, found.actions)
    cell = lambda on: f"<td class='on' style='opacity: {0.25 + 0.75 * on:.2f}'></td>" if on else "<td class='off'></td>"  # noqa: E731
    head = "<tr><th class='row'>step</th>" + "".join(f"<th>{k + 1}</th>" for k in range(found.task.steps)) + "</tr>"
    body = "".join(f"<tr><th class='row'>{esc(label)}</th>" + "".join(cell(float(on)) for on in cells) + "</tr>" for label, cells in rows)
    sure = "" if found.bpm_confidence is None else f" (tempo confidence {found.bpm_confidence:.2f})"
    players = "".join(
        f"<figure><figcaption>{caption}</figcaption><audio controls preload='none' src='{esc(f'{name}.{kind}.wav')}'></audio></figure>"
        for caption, kind in (("Target", "target"), ("Transcription", "result"))
    )
    links = " ".join(f"<a href='{esc(f'{name}.{ext}')}'>{esc(f'{name}.{ext}')}</a>" for ext in ("mid", "json"))
    grid = "8th-note triplets" if round(1 / found.task.beats_per_step) == 3 else "16th notes"
    return (f"<section id='{esc(name)}'><h2>{esc(found.path.name)}</h2><p>{esc(str(found.path))}: {found.task.bpm:g} BPM, {found.bars} bar(s) of 4/4, "
            f"{found.task.steps} steps of {grid}{esc(sure)}. {links}</p><div class='players'>{players}</div><table class='grid'>{head}{body}</table></section>")  # fmt: skip


KIT_TEXT = {
    "basic": "the shipped one-pass policy (kick, snare, closed hi-hat; every hit at velocity 100)",
    "full": "the shipped full-kit classifier (ten voices with velocities; darker cells are louder)",
}


def write_index(folder: Path, done: list[tuple[str, Transcription]], failed: list[tuple[Path, str]], kit: str = "basic") -> None:
    """`folder/index.html`: a section per transcribed loop, then the loops skipped and why."""
    esc = html.escape
    skipped = "".join(f"<li>{esc(str(path))}: {esc(reason)}</li>" for path, reason in failed)
    page = (f"<!doctype html>\n<html lang='en'><head><meta charset='utf-8'><title>RaveForce transcriptions</title><style>\n{STYLE}\n</style></head><body>\n"
            f"<h1>RaveForce transcriptions</h1><p>{len(done)} of {len(done) + len(failed)} loops transcribed by {KIT_TEXT[kit]}.</p>\n" + "\n".join(loop_section(n, t) for n, t in done)
            + (f"\n<section><h2>Skipped</h2><ul>{skipped}</ul></section>" if failed else "") + "\n</body></html>\n")  # fmt: skip
    (folder / "index.html").write_text(page, encoding="utf-8")


@functools.cache
def _shipped_policy():
    from raveforce.transcribe import policy as transcriber

    return transcriber.load()


def attempt(path: Path, bpm: float | str, kit: str = "basic", grid: str = "16") -> Transcription | str:
    """`transcribe_loop` with the shipped transcriber (loaded once per process), or why the loop cannot be transcribed."""
    from raveforce.app.loops import LoopLengthError
    from raveforce.errors import ArgumentError, TargetError

    try:
        return transcribe_loop(path, bpm=bpm, policy=_shipped_policy() if kit == "basic" else None, kit=kit, grid=grid)
    except LoopLengthError as exc:  # its advice names solve's --task-steps
        return str(exc).removesuffix("; pass --bpm and --task-steps") + "; give its tempo with --bpm"
    except (TargetError, ArgumentError, UsageError) as exc:
        return str(exc)


def written(found: Transcription | str, name: str, out: Path, note_map: dict[str, int]) -> Transcription | str:
    """`found`'s files written into `out` as `name` (`write_loop`, moved in once all are
    written), and found without its audio; a reason (str) passes through."""
    if isinstance(found, str):
        return found
    with OutputDir(out) as tmp:
        write_loop(tmp, name, found, note_map)
    return dataclasses.replace(found, target=None, result=None)  # the page needs no audio: a folder's would fill the memory


def attempt_written(path: Path, name: str, out: Path, note_map: dict[str, int], bpm: float | str, kit: str = "basic", grid: str = "16") -> Transcription | str:
    """`written` of `attempt`: what a worker process does with a loop."""
    return written(attempt(path, bpm, kit, grid), name, out, note_map)


def attempts(paths: list[Path], names: list[str], out: Path, note_map: dict[str, int], bpm: float | str, jobs: int, kit: str = "basic", grid: str = "16"):
    """`attempt_written` of each path, in order: in this process, or in `jobs` worker processes
    (which write the files too: writing them here would keep a core busy)."""
    write = functools.partial(attempt_written, out=out, note_map=note_map, bpm=bpm, kit=kit, grid=grid)
    if jobs == 1 or len(paths) == 1:
        yield from map(write, paths, names)
        return
    import concurrent.futures
    import multiprocessing

    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(write, paths, names, chunksize=4)


RAY_BATCH = 16  # loops per Ray task
RAY_HINT = "--engine ray needs Ray: pip install -e '.[rllib]' (or pip install 'ray[client]')"


def _attempt_sent(loops: list[tuple[str, bytes]], bpm: float | str, kit: str = "basic", grid: str = "16") -> list[Transcription | str]:
    """`attempt` of loops sent as (the driver's path, the file's bytes): a Ray worker may not see
    the driver's files. Reasons for a failure name the driver's path."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="raveforce-transcribe-") as tmp:
        found = []
        for original, data in loops:
            path = Path(tmp) / Path(original).name
            path.write_bytes(data)
            answer = attempt(path, bpm, kit, grid)
            found.append(answer.replace(str(path), original) if isinstance(answer, str) else answer)
            path.unlink()
        return found


def ray_attempts(paths: list[Path], bpm: float | str, jobs: int, address: str | None, kit: str = "basic", grid: str = "16"):
    """`attempt` of each path, in order, as Ray tasks of RAY_BATCH loops (their files' bytes sent
    along), at most 2 * jobs tasks in flight: on a local Ray of `jobs` CPUs (started and stopped
    here), or on the running cluster at `address` (e.g. "auto", "ray://head:10001")."""
    try:
        import ray
    except ImportError as exc:
        raise UsageError(RAY_HINT) from exc
    started = not ray.is_initialized()
    if started:
        if address is None:
            ray.init(address="local", num_cpus=jobs, include_dashboard=False, logging_level="error", log_to_driver=False)
        else:
            ray.init(address=address, logging_level="error", log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1)(_attempt_sent)
        batches = [paths[i : i + RAY_BATCH] for i in range(0, len(paths), RAY_BATCH)]
        submit = lambda batch: task.remote([(str(p), p.read_bytes()) for p in batch], bpm, kit, grid)  # noqa: E731
        flying = [submit(b) for b in batches[: 2 * jobs]]
        for i, batch in enumerate(batches):
            results = ray.get(flying.pop(0))
            if i + 2 * jobs < len(batches):
                flying.append(submit(batches[i + 2 * jobs]))
            for path, found in zip(batch, results):
                yield found if isinstance(found, str) else dataclasses.replace(found, path=path)
    finally:
        if started:
            ray.shutdown()


def cmd_transcribe(args) -> int:
    from raveforce.app.progress import ProgressLine

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {args.out!r} exists and is not a directory; give a directory")
    if args.jobs < 1:
        raise UsageError(f"--jobs {args.jobs} is not a number of processes; give 1 or more")
    if args.address is not None and args.engine != "ray":
        raise UsageError(f"--address {args.address!r} is the Ray cluster of --engine ray; add --engine ray")
    paths = find_loops(args.loops)
    note_map = args.map or {}
    names = unique_names(paths)
    if args.engine == "local":
        found_all = attempts(paths, names, out, note_map, args.bpm, args.jobs, args.kit, args.grid)
    else:
        answers = ray_attempts(paths, args.bpm, args.jobs, args.address, args.kit, args.grid)
        found_all = (written(found, name, out, note_map) for found, name in zip(answers, names))  # Ray's workers may not see `out`
    progress = ProgressLine("transcribe")
    done, failed = [], []
    progress(0, len(paths), paths[0].name)
    for i, (path, name, found) in enumerate(zip(paths, names, found_all)):
        if isinstance(found, str):
            failed.append((path, found))
        else:
            done.append((name, found))
        progress(i + 1, len(paths), path.name)
    with OutputDir(out) as tmp:
        write_index(tmp, done, failed, args.kit)
    for name, found in done:
        print(f"{name}.mid: {found.task.bpm:g} BPM, {found.bars} bar(s), {len(found.notes(note_map))} notes  <- {found.path}")
    for path, reason in failed:
        print(f"raveforce transcribe: skipped {str(path)!r}: {reason}", file=sys.stderr)
    print(f"transcribed {len(done)} of {len(paths)} loops into {out}: open {out / 'index.html'}")
    return 1 if failed else 0


def add_subcommand(sub) -> None:
    """Add `transcribe` to the `raveforce` parser's subparsers."""
    p = sub.add_parser("transcribe", help="drum loops (files or folders) to MIDI with the shipped transcriber: .mid, .json and index.html per folder")
    p.add_argument("loops", nargs="+", metavar="LOOP_OR_FOLDER", help=f"sound files, or folders of them ({', '.join(s[1:] for s in AUDIO_SUFFIXES)}; not recursive)")
    p.add_argument("--out", required=True, help="the output directory")
    p.add_argument("--kit", choices=KITS, default="basic", help="basic (default): kick, snare and closed hi-hat; full: ten voices (clap, open hat, three toms, crash, ride too) with velocities")
    p.add_argument("--grid", choices=GRIDS, default="16", help="16 (default): 16th notes; triplet: 8th-note triplets, 3 steps a beat (shuffles, 12/8)")
    p.add_argument("--bpm", type=bpm_option, default="auto", help="the loops' tempo: a number, or auto (default: each loop's, 1, 2 or 4 bars of 4/4 at 60-200 BPM)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: one per core)")
    p.add_argument("--engine", choices=["local", "ray"], default="local", help="local (default): --jobs processes here; ray: Ray tasks of 16 loops, on --jobs CPUs here or on the cluster at --address")
    p.add_argument("--address", default=None, help="with --engine ray: a running Ray cluster (auto, or ray://HEAD:10001); default a local Ray started for the run")
    p.add_argument("--map", type=read_note_map, default=None, metavar="FILE", help='a JSON file of MIDI notes, e.g. {"kick": 36, "snare": 38, "hat": 42} (default General MIDI)')
    p.set_defaults(func=cmd_transcribe)


__all__ = ["AUDIO_SUFFIXES", "Transcription", "add_subcommand", "attempt", "attempt_written", "attempts", "written", "cmd_transcribe", "ray_attempts", "find_loops", "read_note_map", "transcribe_loop", "unique_names"]
