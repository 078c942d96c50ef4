"""Kit calibration and the mixed-one-shot search, with real scsynth renders."""

import json

import gymnasium as gym
import numpy as np
import pytest

import raveforce  # noqa: F401  (registers the envs)
from raveforce import kits
from raveforce import rewards as R
from raveforce.app.landscape import render_lanes
from raveforce.app.main import main
from raveforce.errors import TargetError
from raveforce.kits import calibration
from raveforce.tasks import DRUM_LOOP, DRUM_LOOP_PATTERN

PATTERN = [5, 0, 4, 2, 6, 0, 5, 0, 1, 4, 6, 0, 5, 4, 2, 4]


@pytest.fixture(scope="module")
def shipped_shots():
    return render_lanes(DRUM_LOOP, [[DRUM_LOOP.actions.notes(a)] for a in range(8)])


def test_snapshot_scores_a_step_as_a_fresh_criterion_does(shipped_shots):
    target = DRUM_LOOP.load_target()
    audio = np.zeros(DRUM_LOOP.total_samples, np.float32)
    chosen = R.make("multiscale", target=target, sample_rate=44100, boundaries=DRUM_LOOP.boundaries)
    for k, a in enumerate(PATTERN[:6]):
        audio[DRUM_LOOP.boundaries[k] :] += shipped_shots[a][: DRUM_LOOP.total_samples - DRUM_LOOP.boundaries[k]]
        twin = calibration.snapshot(chosen)
        fresh = R.make("multiscale", target=target, sample_rate=44100, boundaries=DRUM_LOOP.boundaries)
        assert twin.distance(audio, k) == pytest.approx(fresh.distance(audio, k), rel=1e-12)
        chosen.distance(audio, k)


@pytest.mark.parametrize("width", [1, 3])
def test_mixed_search_finds_the_shipped_pattern(shipped_shots, width):
    criterion = R.make(DRUM_LOOP.reward, target=DRUM_LOOP.load_target(), sample_rate=44100, boundaries=DRUM_LOOP.boundaries)
    actions, ret = calibration.mixed_search(criterion, shipped_shots, DRUM_LOOP, width=width)
    assert actions == list(DRUM_LOOP_PATTERN)
    assert ret == pytest.approx(0.0, abs=1e-6)


@pytest.fixture(scope="module")
def other_kit_loop():
    kit = kits.draw(10_007)  # a dev-split kit, with its rendition
    return kit, kits.render_loop(kit, PATTERN, DRUM_LOOP, seed=0)


def test_calibration_fits_the_target_better_and_its_kit_hears_the_pattern(other_kit_loop):
    _, loop = other_kit_loop
    fit = calibration.calibrate(DRUM_LOOP, (loop, 44100))
    assert fit.residual_after < 0.8 * fit.residual_before
    assert fit.activations.shape == (16, 3)
    json.dumps(fit.summary())
    shots = calibration.action_shots(kits.render_kit(fit.kit), 8, DRUM_LOOP.total_samples)
    criterion = R.make(DRUM_LOOP.reward, target=loop, sample_rate=44100, boundaries=DRUM_LOOP.boundaries)
    heard, _ = calibration.mixed_search(criterion, shots, DRUM_LOOP)
    right = sum(int(np.sum((np.array(heard) >> i & 1) == (np.array(PATTERN) >> i & 1))) for i in range(3))
    assert right >= 44  # of 48 drum hits


@pytest.mark.parametrize(
    "audio, match",
    [
        (np.zeros(88200, np.float32), "silent"),
        (0.1 * np.random.default_rng(0).standard_normal(88200).astype(np.float32), "no drum hit"),
        (0.3 * np.sin(2 * np.pi * 440 * np.arange(88200) / 44100).astype(np.float32), "no drum hit"),
    ],
    ids=["silent", "white noise", "sine"],
)
def test_a_target_without_hits_is_a_target_error(audio, match):
    with pytest.raises(TargetError, match=match):
        calibration.calibrate(DRUM_LOOP, (audio, 44100))


def test_drum_loop_env_calibrates_its_kit(other_kit_loop):
    _, loop = other_kit_loop
    env = gym.make("raveforce/DrumLoop-v0", target=(loop, 44100), calibrate=True)
    try:
        fitted = env.unwrapped.calibration
        assert fitted is not None and env.unwrapped.task.name == "DrumLoopCalibrated"
        assert {n.synth for n in env.unwrapped.task.actions.notes(7)} == {"fam_kick", "fam_snare", "fam_hat"}
        env.reset(seed=0)
        rewards = [env.step(a)[1] for a in PATTERN]
        assert all(np.isfinite(rewards)) and rewards[-1] < 0
    finally:
        env.close()
    with pytest.raises(TargetError, match="silent"):
        gym.make("raveforce/DrumLoop-v0", target=(np.zeros(88200, np.float32), 44100), calibrate=True)


def test_solve_drum_loop_calibrate_records_the_fit(tmp_path, other_kit_loop):
    from raveforce.audio import write_wav

    _, loop = other_kit_loop
    target = write_wav(tmp_path / "loop.wav", loop, 44100)
    out = tmp_path / "out"
    assert main(["solve", "drum-loop", "--agent", "greedy", "--calibrate", "--target", str(target), "--out", str(out)]) == 0
    result = json.loads((out / "result.json").read_text())
    assert set(result["calibration"]["voices"]) == {"kick", "snare", "hat"}
    assert result["calibration"]["seconds"] > 0
    assert main(["solve", "kick-frequency", "--calibrate", "--out", str(tmp_path / "k")]) == 2
