"""`raveforce transcribe`: a folder of loops to MIDI, JSON and one index.html with the shipped
one-pass transcriber; bad files skipped and named; `--map` for other drum notes.

The runs are its main() in this process (conftest's `raveforce_cli`), with the real scsynth."""

import importlib.util
import json
import tempfile

import mido
import numpy as np
import pytest
import soundfile
from conftest import scsynth_children
from test_loops import GROOVE, export, render

from raveforce import agents
from raveforce.midi import DRUM_CHANNEL, read_notes
from raveforce.task import replace_options
from raveforce.tasks import DRUM_LOOP, FULL_KIT, drum_kit_task, velocities
from raveforce.transcribe import groove_grid, kit_classifier

BEAT = [1, 0, 4, 0, 2, 0, 4, 0, 1, 0, 5, 0, 2, 0, 4, 4]  # another groove, for the second loop


def test_a_folder_of_loops_bad_files_skipped_and_named(tmp_path, raveforce_cli, monkeypatch):
    loops = tmp_path / "loops"
    loops.mkdir()
    export(loops / "break.wav", render(GROOVE * 2, 100.0))  # two bars at 100 BPM, stereo 48 kHz
    export(loops / "beat.flac", render(BEAT, 128.0), rate=44100, format="FLAC")
    soundfile.write(loops / "silence.wav", np.zeros(88200), 44100)
    (loops / "notes.mp3").write_text("not audio")
    (loops / "readme.txt").write_text("not a loop: not an audio file name, not read")
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # scsynth's FIFOs and the like: none may be left

    done = raveforce_cli("transcribe", loops, "--out", tmp_path / "out")

    assert done.returncode == 1, done.stderr
    skipped = [line for line in done.stderr.splitlines() if "skipped" in line]
    assert len(skipped) == 2, done.stderr
    assert f"{str(loops / 'notes.mp3')!r}: " in skipped[0] and "is not readable audio" in skipped[0]
    assert f"{str(loops / 'silence.wav')!r}: is silent" in skipped[1]
    assert "transcribed 2 of 4 loops" in done.stdout
    out = tmp_path / "out"
    names = ("beat", "break")
    assert sorted(p.name for p in out.iterdir()) == sorted(["index.html"] + [f"{n}{ext}" for n in names for ext in (".mid", ".json", ".target.wav", ".result.wav")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loops", "out", "temp"]  # no staging directory left
    assert list(temp.iterdir()) == [] and scsynth_children() == []

    result = json.loads((out / "break.json").read_text())
    assert (result["bpm"], result["bars"], result["steps"]) == (100.0, 2, 32) and 0.5 < result["bpm_confidence"] <= 1
    assert result["file"] == str(loops / "break.wav") and result["actions"] == GROOVE * 2
    assert abs(result["swing"]) < 0.05  # played straight
    keys = {"kick": 36, "snare": 38, "hat": 42}
    hits = [{"step": k, "voice": v, "note": keys[v], "velocity": 100} for k, a in enumerate(GROOVE * 2) for bit, v in ((1, "kick"), (2, "snare"), (4, "hat")) if a & bit]
    assert sorted(result["notes"], key=lambda n: (n["step"], n["note"])) == hits
    bpm, notes = read_notes(out / "break.mid")
    assert bpm == pytest.approx(100.0, abs=1e-3)
    assert sorted((n.start, n.key, n.velocity, n.channel) for n in notes) == sorted((n["step"] * 120, n["note"], 100, DRUM_CHANNEL) for n in result["notes"])
    assert mido.MidiFile(out / "break.mid").ticks_per_beat == 480
    target, rate = soundfile.read(out / "break.target.wav")
    result_audio = soundfile.read(out / "break.result.wav", dtype="float32")[0]
    assert rate == 44100 and len(target) == len(result_audio) == round(4.8 * 44100)
    played, _, _ = agents.play(replace_options(DRUM_LOOP, {"bpm": 100.0, "steps": 32}), result["actions"], target=(target, rate))
    assert np.abs(result_audio - played).max() < 1e-6  # mixed in numpy: scsynth's render of the answer

    page = (out / "index.html").read_text()
    for name in names:
        assert f"src='{name}.target.wav'" in page and f"src='{name}.result.wav'" in page and f"href='{name}.mid'" in page
    assert page.count("<table class='grid'>") == 2 and "notes.mp3" in page and "silence.wav" in page

    for name, path in (("break", loops / "break.wav"), ("beat", loops / "beat.flac")):  # the same answer as solve's
        solved = raveforce_cli("solve", "drum-loop", "--agent", "policy", "--bpm", "auto", "--target", path, "--out", tmp_path / f"solve-{name}")
        assert solved.returncode == 0, solved.stderr
        solve = json.loads((tmp_path / f"solve-{name}" / "result.json").read_text())
        mine = json.loads((out / f"{name}.json").read_text())
        assert (mine["actions"], mine["bpm"], mine["steps"]) == (solve["actions"], solve["bpm"], solve["episode_steps"])
        assert mine["bpm_confidence"] == solve["bpm_confidence"]


def test_map_changes_the_notes_and_same_names_do_not_collide(tmp_path, raveforce_cli):
    """Also the path without worker processes (--jobs 1); the others run with one per core."""
    for folder, pattern in (("a", GROOVE), ("b", BEAT)):
        (tmp_path / folder).mkdir()
        export(tmp_path / folder / "loop.wav", render(pattern, 120.0), rate=44100)
    (tmp_path / "map.json").write_text(json.dumps({"kick": 35, "hat": 44}))

    done = raveforce_cli("transcribe", tmp_path / "a", tmp_path / "b" / "loop.wav", "--bpm", "120", "--map", tmp_path / "map.json", "--jobs", "1", "--out", tmp_path / "out")

    assert done.returncode == 0, done.stderr
    for name, pattern in (("loop", GROOVE), ("loop-2", BEAT)):
        result = json.loads((tmp_path / "out" / f"{name}.json").read_text())
        assert result["actions"] == pattern and result["bpm_confidence"] is None and (result["bpm"], result["steps"]) == (120.0, 16)
        keys = [m.note for m in mido.MidiFile(tmp_path / "out" / f"{name}.mid") if m.type == "note_on"]
        expected = [key for a in pattern for bit, key in ((1, 35), (2, 38), (4, 44)) if a & bit]
        assert sorted(keys) == sorted(expected) and {n["note"] for n in result["notes"]} == set(expected)


def render_kit(grid: np.ndarray, task) -> np.ndarray:
    """float32 mono at 44100 Hz: `grid` (steps, 10) levels played by DrumKit's kit with scsynth."""
    played, _, _ = agents.play(task, [row.tolist() for row in grid], target=(np.zeros(task.total_samples), 44100))
    return played


def test_the_full_kit_with_velocities(tmp_path, raveforce_cli):
    """--kit full: ten voices at three levels, in the JSON and the MIDI alike; the result is
    scsynth's render of the answer; the grooves' kicks and snares are heard (on DrumKit's own kit)."""
    task = replace_options(drum_kit_task(bars=2), {"bpm": 104.0})
    grids = [groove_grid(np.random.default_rng(seed), bars=2) for seed in (3, 4)]
    (tmp_path / "loops").mkdir()
    for i, grid in enumerate(grids):
        export(tmp_path / "loops" / f"groove{i}.wav", render_kit(grid, task))

    done = raveforce_cli("transcribe", tmp_path / "loops", "--kit", "full", "--out", tmp_path / "out")

    assert done.returncode == 0, done.stderr
    for i, grid in enumerate(grids):
        result = json.loads((tmp_path / "out" / f"groove{i}.json").read_text())
        assert (result["kit"], result["bpm"], result["steps"], result["steps_per_beat"]) == ("full", 104.0, 32, 4)
        found = np.array(result["actions"])
        assert found.shape == (32, len(FULL_KIT)) and set(np.unique(found)) <= {0, 1, 2, 3}
        assert {(n["step"], n["voice"], n["velocity"]) for n in result["notes"]} == {(k, FULL_KIT[v], velocities()[found[k, v] - 1]) for k, v in zip(*np.nonzero(found))}
        thresholds = dict(zip(FULL_KIT, kit_classifier.classifier().thresholds))
        assert all(thresholds[n["voice"]] <= n["confidence"] <= 1 for n in result["notes"])
        _, notes = read_notes(tmp_path / "out" / f"groove{i}.mid")
        assert sorted((n.start // 120, n.key, n.velocity) for n in notes) == sorted((n["step"], n["note"], n["velocity"]) for n in result["notes"])
        result_audio = soundfile.read(tmp_path / "out" / f"groove{i}.result.wav", dtype="float32")[0]
        assert np.abs(result_audio - render_kit(found, task)).max() < 1e-6
        for voice in ("kick", "snare"):  # the rest is scored in docs/benchmarks/transcription.md
            assert np.array_equal(found[:, FULL_KIT.index(voice)] > 0, grid[:, FULL_KIT.index(voice)] > 0), voice
    page = (tmp_path / "out" / "index.html").read_text()
    assert "ten voices with velocities" in page and "open_hat" in page


def test_the_triplet_grid(tmp_path, raveforce_cli):
    """--grid triplet: three steps a beat, on the loop's tempo; the shuffle is on the grid."""
    task = replace_options(drum_kit_task(bars=1, steps_per_beat=3), {"bpm": 90.0})
    grid = np.zeros((12, len(FULL_KIT)), np.int64)
    grid[::3, FULL_KIT.index("kick")] = 3
    grid[[0, 2, 3, 5, 6, 8, 9, 11], FULL_KIT.index("hat")] = 2
    grid[[3, 9], FULL_KIT.index("snare")] = 3
    export(tmp_path / "shuffle.wav", render_kit(grid, task))

    done = raveforce_cli("transcribe", tmp_path / "shuffle.wav", "--kit", "full", "--grid", "triplet", "--bpm", "90", "--out", tmp_path / "out")

    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "out" / "shuffle.json").read_text())
    assert (result["steps"], result["steps_per_beat"]) == (12, 3)
    found = np.array(result["actions"])
    assert np.array_equal(found[:, FULL_KIT.index("kick")] > 0, grid[:, FULL_KIT.index("kick")] > 0)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ('{"kick": 36, "tom": 45}', "'tom' is not a voice"),
        ('{"snare": 128}', "snare 128 is not a MIDI note"),
        ('{"hat": "42"}', 'hat "42" is not a MIDI note'),
        ("[36, 38]", "holds a JSON list, not an object"),
        ("{kick: 36", "is not a readable JSON file"),
    ],
)
def test_a_bad_map_is_one_line_and_exit_2(tmp_path, raveforce_cli, content, says):
    (tmp_path / "map.json").write_text(content)
    soundfile.write(tmp_path / "loop.wav", np.ones(44100) * 0.1, 44100)
    done = raveforce_cli("transcribe", tmp_path / "loop.wav", "--map", tmp_path / "map.json", "--out", tmp_path / "out")
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
    assert says in done.stderr and "voices kick, snare, clap, hat, open_hat, low_tom, mid_tom, high_tom, crash, ride; notes 0-127" in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--bpm", "fast"], "'fast' is neither 'auto' nor a tempo"),
        (["--kit", "all"], "invalid choice: 'all'"),
        (["--grid", "8"], "invalid choice: '8'"),
        (["--jobs", "0"], "--jobs 0 is not a number of processes"),
        (["--address", "auto"], "add --engine ray"),
        (["empty"], "no audio files"),
        (["missing.wav"], "'missing.wav' does not exist"),
    ],
)
def test_usage_errors_exit_2(tmp_path, raveforce_cli, monkeypatch, args, says):
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path)
    loops = [] if args[0] in ("empty", "missing.wav") else ["empty"]
    done = raveforce_cli("transcribe", *loops, *args, "--out", tmp_path / "out")
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1 and says in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()


needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed (the rllib extra)")


@needs_ray
@pytest.mark.heavy
def test_the_ray_engine_writes_what_the_local_one_does(tmp_path, raveforce_cli):
    """--engine ray on a local Ray of two workers: the files' bytes go to the tasks, the answers come back in order."""
    import ray

    loops = tmp_path / "loops"
    loops.mkdir()
    export(loops / "break.wav", render(GROOVE * 2, 100.0))
    export(loops / "beat.flac", render(BEAT, 128.0), rate=44100, format="FLAC")
    (loops / "notes.mp3").write_text("not audio")
    local = raveforce_cli("transcribe", loops, "--jobs", "1", "--out", tmp_path / "local")
    remote = raveforce_cli("transcribe", loops, "--engine", "ray", "--jobs", "2", "--out", tmp_path / "ray")
    assert local.returncode == remote.returncode == 1, remote.stderr
    assert remote.stderr.replace(str(tmp_path / "ray"), "OUT") == local.stderr.replace(str(tmp_path / "local"), "OUT")
    for name in ("break", "beat"):
        assert json.loads((tmp_path / "ray" / f"{name}.json").read_text()) == json.loads((tmp_path / "local" / f"{name}.json").read_text())
        assert (tmp_path / "ray" / f"{name}.mid").read_bytes() == (tmp_path / "local" / f"{name}.mid").read_bytes()
    assert not ray.is_initialized() and not scsynth_children()
