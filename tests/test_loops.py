"""Any loop as a target: FLAC/OGG/MP3, `--bpm auto` / `--task-steps auto`, cut and silent targets.

The `raveforce solve` runs are its main() in this process (conftest's `raveforce_cli`)."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr

from raveforce.app import loops
from raveforce.env import RaveForceEnv
from raveforce.midi import read_notes
from raveforce.tasks import DRUM_LOOP

GROOVE = [5, 0, 4, 1, 2, 0, 4, 0, 1, 4, 1, 0, 6, 0, 4, 2]  # kick, snare and hats in one bar of 16ths
KEYS = ((1, 36), (2, 38), (4, 42))  # action bit: General MIDI drum
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "loop_to_midi.py"


def render(pattern, bpm) -> np.ndarray:
    """float32 mono at 44100 Hz: `pattern` (16ths) played by the shipped kit at `bpm`."""
    env = RaveForceEnv(DRUM_LOOP, target=(np.zeros(16), 44100), bpm=bpm, steps=len(pattern))
    try:
        env.reset(seed=0)
        for a in pattern:
            env.step(a)
        return env.audio
    finally:
        env.close()


def export(path, audio, *, rate=48000, **format_):
    """Write `audio` as a DAW would: stereo at `rate` Hz, in the file's format."""
    x = soxr.resample(audio.astype(np.float64), 44100, rate) * 0.9
    soundfile.write(path, np.stack([x, x], axis=1), rate, **format_)
    return path


def test_soundfile_reads_and_writes_mp3_sample_exact(tmp_path):
    x = np.zeros(44100)
    x[[1000, 30000]] = 0.9
    soundfile.write(tmp_path / "clicks.mp3", x, 44100, format="MP3", subtype="MPEG_LAYER_III")
    y, rate = soundfile.read(tmp_path / "clicks.mp3")
    assert rate == 44100 and len(y) == len(x)  # libsndfile >= 1.1: MP3, gapless
    assert np.argmax(np.abs(y[:20000])) == 1000 and 20000 + np.argmax(np.abs(y[20000:])) == 30000


@pytest.mark.xdist_group("loop95")
def test_mp3_loop_at_95_bpm_comes_back_as_midi(loop95_example):
    """A one-bar loop of GROOVE exported at 95 BPM as a 48 kHz stereo MP3: tempo and length found, the
    pattern recovered, and best.mid holds its notes at 95 BPM. The loop and the command's run are
    examples/loop_to_midi.py's (conftest's `loop95_example`; test_examples checks what it prints):
    the same export and the same `solve drum-loop --target loop95.mp3 --bpm auto` this test ran."""
    import runpy

    assert runpy.run_path(str(EXAMPLE))["GROOVE"] == GROOVE  # the example plays this test's groove
    stdout, out = loop95_example
    assert "95 BPM, 1 bar of 4/4" in stdout
    result = json.loads((out / "result.json").read_text())
    assert result["bpm"] == 95.0 and result["bars"] == 1 and result["episode_steps"] == 16 and result["bpm_estimated"]
    assert 0.5 < result["bpm_confidence"] <= 1.0
    assert result["actions"] == GROOVE
    bpm, notes = read_notes(out / "best.mid")
    assert bpm == pytest.approx(95.0, abs=1e-3)
    assert [(n.start, n.key, n.channel) for n in notes] == [(k * 120, key, 9) for k, a in enumerate(GROOVE) for bit, key in KEYS if a & bit]


@pytest.mark.parametrize(
    ("bars", "bpm", "fmt"),
    [(1, 128.0, {"format": "FLAC"}), (2, 95.0, {"format": "OGG", "subtype": "VORBIS"}), (4, 174.0, {"format": "WAV"}), (2, 70.0, {"format": "FLAC"})],
)
def test_estimate_finds_tempo_and_bars_of_exported_loops(tmp_path, bars, bpm, fmt):
    path = export(tmp_path / f"loop.{fmt['format'].lower()}", render(GROOVE * bars, bpm), **fmt)
    audio, rate = soundfile.read(path)
    found = loops.estimate(audio.mean(axis=1), rate)
    assert (found.bpm, found.bars) == (bpm, bars), found.readings
    assert found.steps() == 16 * bars


def test_a_loop_no_reading_fits_is_refused_with_the_valid_lengths(tmp_path, raveforce_cli):
    path = export(tmp_path / "short.flac", render(GROOVE, 240.0), format="FLAC")  # 1 s: 240 BPM a bar
    done = raveforce_cli("solve", "drum-loop", "--target", path, "--bpm", "auto", "--out", tmp_path / "out")
    assert done.returncode == 2 and "1.000 s is not 1, 2 or 4 bars of 4/4 between 60 and 200 BPM" in done.stderr
    assert not (tmp_path / "out").exists()


def test_silent_and_unreadable_targets_exit_2_with_the_reason(tmp_path, raveforce_cli):
    soundfile.write(tmp_path / "silence.wav", np.zeros(88200), 44100)
    (tmp_path / "notes.mp3").write_text("not audio")
    for path, reason in ((tmp_path / "silence.wav", "is silent"), (tmp_path / "notes.mp3", "is not readable audio")):
        for extra in ([], ["--bpm", "auto"]):
            done = raveforce_cli("solve", "drum-loop", "--agent", "greedy", "--target", path, *extra, "--out", tmp_path / "out")
            assert done.returncode == 2 and reason in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.mp3", "silence.wav"]


def test_a_target_longer_than_the_episode_is_cut_with_a_warning(tmp_path, raveforce_cli):
    path = export(tmp_path / "long.ogg", render(GROOVE * 2, 120.0), rate=44100, format="OGG", subtype="VORBIS")  # 4 s
    done = raveforce_cli("solve", "drum-loop", "--agent", "greedy", "--target", path, "--task-steps", "4", "--out", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert warnings == [f"raveforce: warning: target {str(path)!r} lasts 4.000 s; the episode keeps 0.000-0.500 s (4 steps at 120 BPM)"]
    assert json.loads((tmp_path / "out" / "result.json").read_text())["actions"] == GROOVE[:4]


def test_a_target_shorter_than_the_episode_is_padded_with_a_warning(tmp_path, raveforce_cli):
    path = export(tmp_path / "short.wav", render(GROOVE[:4], 120.0)[:11025], rate=44100, format="WAV")  # 0.25 s of 2 s
    done = raveforce_cli("solve", "drum-loop", "--agent", "greedy", "--target", path, "--out", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert warnings == [f"raveforce: warning: target {str(path)!r} lasts 0.250 s, less than the episode's 0.000-2.000 s (16 steps at 120 BPM): the rest is heard as silence"]


def test_task_steps_auto_at_a_given_tempo(tmp_path, raveforce_cli):
    path = export(tmp_path / "loop.flac", render(GROOVE * 2, 100.0), rate=44100, format="FLAC")
    done = raveforce_cli("solve", "drum-loop", "--agent", "greedy", "--target", path, "--bpm", "100", "--task-steps", "auto", "--out", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["episode_steps"] == 32 and result["bpm"] == 100.0 and result["steps_estimated"]
    assert result["actions"] == GROOVE * 2


@pytest.mark.parametrize("late", [0.0, 0.2, 1 / 3])
def test_swing_is_how_late_the_off_beat_steps_sound(late):
    from raveforce.transcribe import kit_samples

    task = DRUM_LOOP
    kit = kit_samples(task.buffers, task.sample_rate)
    audio = np.zeros(task.total_samples + 44100)
    pattern = GROOVE
    step = task.step_seconds * task.sample_rate
    for k, action in enumerate(pattern):
        start = int(task.boundaries[k] + (late * step if k % 2 else 0))
        for i, sample in enumerate(kit):
            if action >> i & 1:
                audio[start : start + len(sample)] += sample
    played = np.array(pattern) > 0
    assert loops.swing(audio, task.sample_rate, task.boundaries[:-1], played) == pytest.approx(late, abs=0.05)
    assert loops.swing(audio, task.sample_rate, task.boundaries[:-1], np.arange(16) == 0) is None  # one hit: no telling
