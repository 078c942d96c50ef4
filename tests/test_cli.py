"""The `raveforce` command as a user runs it: solve, figure, render, and one-line errors on bad input.

The console script and `python -m raveforce` are started as processes where the entry point is
what is tested (the shipped solve, a pipe closed early); the other commands run as their main() in
this process (conftest's `raveforce_cli`: exit code, stdout and stderr), without ~1 s of imports each."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile

from raveforce.midi import read_notes
from raveforce.tasks import DRUM_LOOP, DRUM_LOOP_PATTERN

RAVEFORCE = Path(sys.executable).parent / "raveforce"  # the console script pip installed


def pattern_keys(pattern) -> list[tuple[int, int]]:
    """(step, General MIDI drum key) of every hit of a drum-loop pattern, in order."""
    return [(k, key) for k, a in enumerate(pattern) for bit, key in ((1, 36), (2, 38), (4, 42)) if a & bit]


def test_solve_drum_loop_recovers_the_shipped_pattern(tmp_path):
    out = tmp_path / "demo"
    done = subprocess.run([str(RAVEFORCE), "solve", "drum-loop", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "pattern " + " ".join(map(str, DRUM_LOOP_PATTERN)) in done.stdout
    assert done.stdout.count("step ") == 16 and done.stderr == ""  # per-step lines; no progress bar in a pipe
    result = json.loads((out / "result.json").read_text())
    assert result["task"] == "raveforce/DrumLoop-v0" and result["agent"] == "dp" and result["reward"] == DRUM_LOOP.reward
    assert result["actions"] == list(DRUM_LOOP_PATTERN) and result["matches_shipped_pattern"] is True
    assert len(result["rewards"]) == 16 and abs(result["total_reward"]) < 1e-6
    assert sorted(p.name for p in out.iterdir()) == ["best.mid", "best.wav", "index.html", "report.png", "result.json", "target.mid", "target.wav"]
    _, best = read_notes(out / "best.mid")
    assert [(n.start // 120, n.key) for n in best] == pattern_keys(DRUM_LOOP_PATTERN)
    assert read_notes(out / "target.mid") == read_notes(out / "best.mid")
    page = (out / "index.html").read_text()
    assert "href='best.mid'" in page and "href='target.mid'" in page
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]  # no temporary directory left


def test_solve_again_replaces_only_its_own_files(tmp_path, raveforce_cli):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    (out / "result.json").write_text("old")
    done = raveforce_cli("solve", "drum-loop", "--agent", "random", "--seed", "3", "--reward", "mse", "--out", out)
    assert done.returncode == 0, done.stderr
    assert (out / "mine.txt").read_text() == "keep me"
    result = json.loads((out / "result.json").read_text())
    assert result["agent"] == "random" and result["reward"] == "mse" and result["total_reward"] < 0
    assert result["actions"] != list(DRUM_LOOP_PATTERN)


@pytest.mark.parametrize("agent", ["sweep", "actor-critic"])
def test_solve_kick_frequency(tmp_path, agent, raveforce_cli):
    done = raveforce_cli("solve", "kick-frequency", "--agent", agent, "--reward", "stft", "--out", tmp_path / "kick")
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "kick" / "result.json").read_text())
    assert result["task"] == "raveforce/KickFrequency-v0" and result["agent"] == agent and result["reward"] == "stft"
    assert 60 < result["frequency_hz"] < 80  # figure 6: the STFT reward peaks near 69 Hz
    assert len(result["actions"]) == 1 and result["total_reward"] == result["rewards"][0] < 0
    assert f"frequency {result['frequency_hz']:.2f} Hz" in done.stdout


def test_solve_with_a_target_file(tmp_path, raveforce_cli):
    """The drum loop's target rendered by `raveforce render` from another pattern: dp finds that pattern."""
    pattern = [1, 0, 2, 0, 4, 4, 3, 0, 1, 1, 2, 0, 7, 0, 4, 0]
    wav = tmp_path / "other.wav"
    assert raveforce_cli("render", "drumloop", "--actions", " ".join(map(str, pattern)), "--out", wav).returncode == 0
    done = raveforce_cli("solve", "drum-loop", "--agent", "greedy", "--target", wav, "--out", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["actions"] == pattern and "matches_shipped_pattern" not in result
    assert [(n.start // 120, n.key) for n in read_notes(tmp_path / "out" / "best.mid")[1]] == pattern_keys(pattern)
    assert not (tmp_path / "out" / "target.mid").exists()  # the target's pattern is not known


@pytest.mark.heavy
def test_figures_write_png_and_csv(tmp_path, raveforce_cli):
    out = tmp_path / "figures"
    for args, rows in ((("5", "--random", "3"), 4 * 4 * 16), (("6", "--points", "64"), 4 * 64), (("7", "--episodes", "1"), 2 * 1 * 17)):
        done = raveforce_cli("figure", *args, "--out", out)
        assert done.returncode == 0, done.stderr
        n = args[0]
        assert (out / f"figure{n}.png").read_bytes()[:4] == b"\x89PNG"
        with open(out / f"figure{n}.csv") as f:
            assert len(list(csv.DictReader(f))) == rows
    summary = json.loads((out / "figure7.json").read_text())
    assert summary["nrt"]["median_episode_seconds"] > 10 * summary["stream"]["median_episode_seconds"]
    kick = json.loads((out / "figure6.json").read_text())
    assert 50 < kick["stft"]["best_frequency_hz"] < 90 and 50 < kick["mse"]["best_frequency_hz"] < 90
    drums = json.loads((out / "figure5.json").read_text())
    for criterion in ("mse", "mfcc", "stft", "cqt"):
        assert drums[criterion]["optimal_return"] > drums[criterion]["best_random_return"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["solve", "drum-kit", "--out", "{out}"], "invalid choice: 'drum-kit' (choose from 'drum-loop', 'kick-frequency')"),
        (["solve", "drum-loop", "--agent", "sweep", "--out", "{out}"], "unknown agent 'sweep' for drum-loop; valid: dp, greedy, random, ppo"),
        (["solve", "kick-frequency", "--agent", "dp", "--out", "{out}"], "valid: sweep, actor-critic, random"),
        (["solve", "drum-loop", "--reward", "loudness", "--out", "{out}"], "unknown reward 'loudness'; valid: "),
        (["solve", "drum-loop", "--target", "{tmp}/notes.wav", "--out", "{out}"], "is not readable audio"),
        (["solve", "drum-loop", "--target", "{tmp}/missing.wav", "--out", "{out}"], "does not exist"),
        (["solve", "drum-loop", "--out", "/dev/null/out"], "cannot be written"),
        (["solve", "drum-loop", "--out", "{tmp}/notes.wav"], "exists and is not a directory"),
        (["solve", "drum-loop", "--bpm", "1000", "--out", "{out}"], "'1000' BPM is not a tempo from 30 to 300 BPM"),
        (["solve", "drum-loop", "--bpm", "-5", "--out", "{out}"], "'-5' BPM is not a tempo from 30 to 300 BPM"),
        (["figure", "8", "--out", "{out}"], "invalid choice: '8'"),
        (["train", "kick-frequency", "--out", "{out}"], "unknown task 'kick-frequency' for train --engine sb3; valid: drum-loop"),
        (["train", "drum-loop", "--algo", "a2c", "--out", "{out}"], "invalid choice: 'a2c' (choose from 'ppo', 'dqn')"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(tmp_path, args, message, raveforce_cli):
    (tmp_path / "notes.wav").write_text("not a sound file")
    before = sorted(p.name for p in tmp_path.iterdir())
    done = raveforce_cli(*[a.format(out=tmp_path / "out", tmp=tmp_path) for a in args])
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing half-written


def test_render_still_works(tmp_path, raveforce_cli):
    done = raveforce_cli("render", "raveforce/KickFrequency-v0", "--actions", "0.18", "--out", tmp_path / "kick.wav")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "kick.wav").stat().st_size > 22050 * 4


def test_render_plays_ten_voice_levels_and_names_a_bad_out(tmp_path, raveforce_cli):
    from raveforce.tasks import DRUM_KIT_PATTERN

    levels = " ".join(":".join(str(x) for x in row) for row in DRUM_KIT_PATTERN)
    done = raveforce_cli("render", "drum-kit", "--actions", levels, "--out", tmp_path / "kit")
    assert done.returncode == 0 and done.stdout.count("reward 0\n") == 16, done.stderr
    assert soundfile.info(tmp_path / "kit").format == "WAV"  # a WAV whatever the name
    wrong = raveforce_cli("render", "drum-kit", "--actions", levels, "--out", tmp_path)
    assert wrong.returncode == 2 and "is a directory" in wrong.stderr and len(wrong.stderr.splitlines()) == 1


def test_output_piped_into_a_reader_that_leaves_early_is_not_an_error():
    done = subprocess.run(
        f"{sys.executable} -m raveforce list | head -1", shell=True, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.startswith("tasks:") and "Traceback" not in done.stderr


def test_policy_transcribes_a_loop_of_any_length_and_warns_in_one_line(tmp_path, raveforce_cli):
    """The shipped policy hears the whole loop in one pass: two bars, or a bar and a half. A
    target longer than the episode is cut with a one-line warning (no line of Python source)."""
    import numpy as np
    import soundfile

    loop = DRUM_LOOP.load_target()
    soundfile.write(tmp_path / "two.wav", np.concatenate([loop, loop, loop[:4410]]), DRUM_LOOP.sample_rate)
    for steps in (32, 24):
        done = raveforce_cli("solve", "drum-loop", "--target", tmp_path / "two.wav", "--agent", "policy", "--bpm", "120", "--task-steps", str(steps), "--out", tmp_path / f"out{steps}")
        assert done.returncode == 0, done.stderr
        actions = json.loads((tmp_path / f"out{steps}" / "result.json").read_text())["actions"]
        assert len(actions) == steps and sum(a == p for a, p in zip(actions, list(DRUM_LOOP_PATTERN) * 2)) >= steps - 2
        assert "warning" in done.stderr and not any(line[:1].isspace() for line in done.stderr.splitlines())  # no source lines
