"""The `hits` reward: a drum-hit classifier (numpy) trained on the kit family's train split."""

import json

import numpy as np
import pytest

from raveforce import kits, rewards
from raveforce.app.landscape import render_lanes
from raveforce.kits.calibration import mixed_search
from raveforce.rewards import hits
from raveforce.tasks import DRUM_LOOP

B = DRUM_LOOP.boundaries


def test_the_numpy_network_is_the_convolutions_it_says():
    """Each layer against scipy's 2-D correlation and plain loops, on random weights."""
    from scipy.signal import correlate2d  # scipy.signal costs ~1.4 s to import: only this test needs it

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 8)).astype(np.float32)
    w, b = rng.standard_normal((4, 3, 3, 3)).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    got = hits.HitClassifier._conv(x, w, b)
    for n in range(2):
        for o in range(4):
            want = sum(correlate2d(x[n, c], w[o, c], mode="same") for c in range(3)) + b[o]
            assert np.allclose(got[n, o], np.maximum(want, 0.0), atol=1e-5)
    pooled = hits.HitClassifier._pool(got, 2, 2)
    assert pooled.shape == (2, 4, 3, 4) and pooled[1, 2, 1, 3] == got[1, 2, 2:4, 6:8].max()


def test_windows_see_only_their_own_step():
    rng = np.random.default_rng(1)
    audio = rng.standard_normal(B[-1]) * 0.1
    later = audio.copy()
    later[B[5] :] = rng.standard_normal(B[-1] - B[5])  # other audio from step 5 on
    first = hits.step_windows(audio, B[:-1], B[1:])
    second = hits.step_windows(later, B[:-1], B[1:])
    assert first.shape == (16, hits.PRE + hits.POST, hits.BANDS) and first.dtype == np.float32
    assert np.array_equal(first[:5], second[:5]) and not np.array_equal(first[5], second[5])
    assert first.min() >= 0.0 and np.allclose(first.max(axis=(1, 2)), 1.0)  # each window relative to its loudest


def test_the_shipped_target_scores_exactly_zero_and_incremental_equals_scratch():
    target = DRUM_LOOP.load_target()
    criterion = rewards.make("hits", target=target, sample_rate=44100, boundaries=B)
    assert [criterion.distance(target, k) for k in range(16)] == [0.0] * 16
    noise = (np.random.default_rng(2).standard_normal(B[-1]) * 0.05).astype(np.float32)
    criterion.reset()
    stepped = [criterion.distance(noise, k) for k in range(16)]
    fresh = [rewards.make("hits", target=target, sample_rate=44100, boundaries=B).distance(noise, k) for k in range(16)]
    assert stepped == fresh and min(stepped) > 0


def test_greedy_search_with_hits_transcribes_loops_of_train_split_kits():
    """Two kits of the classifier's own training split, other patterns than it saw: greedy search
    over the shipped kit's one-shots gets nearly every drum hit."""
    shots = render_lanes(DRUM_LOOP, [[DRUM_LOOP.actions.notes(a)] for a in range(8)])  # each action alone, by scsynth
    right = 0
    for seed in (3, 4):
        pattern = np.random.default_rng([seed, 999]).integers(0, 8, 16)
        target = kits.render_loop(kits.draw(seed), pattern, DRUM_LOOP, seed=5)
        criterion = rewards.make("hits", target=target, sample_rate=44100, boundaries=B)
        found, _ = mixed_search(criterion, shots, DRUM_LOOP)
        right += sum(int(np.sum((np.array(found) >> i & 1) == (pattern >> i & 1))) for i in range(3))
    assert right >= 0.9 * 96, right


def test_other_sample_rates_are_resampled_to_the_classifiers():
    """The shipped target at 48 kHz: the same hits heard, nearly the same probabilities."""
    from scipy.signal import resample_poly

    target = DRUM_LOOP.load_target()
    faster = resample_poly(target, 160, 147)
    bounds = np.round(B * 48000 / 44100).astype(np.int64)
    criterion = rewards.make("hits", target=faster, sample_rate=48000, boundaries=bounds)
    native = rewards.make("hits", target=target, sample_rate=44100, boundaries=B)
    assert criterion.distance(faster, 15) == 0.0 and criterion.distance(np.zeros_like(faster), 15) > 0.01
    assert np.array_equal(criterion._target_p > 0.5, native._target_p > 0.5)
    assert np.abs(criterion._target_p - native._target_p).max() < 0.01


def test_bad_model_files_are_named(tmp_path):
    foreign = tmp_path / "other.npz"
    np.savez(foreign, header=np.array(json.dumps({"format": "something-else"})))
    with pytest.raises(ValueError, match="holds format 'something-else'"):
        hits.HitClassifier.load(foreign)
    with pytest.raises(ValueError, match="missing.npz is not a readable hit classifier"):
        hits.HitClassifier.load(tmp_path / "missing.npz")


def test_drum_loop_default_is_hits_and_its_optimum_scores_exactly_zero():
    import gymnasium as gym

    from raveforce.tasks import DRUM_LOOP_PATTERN

    assert DRUM_LOOP.reward == "hits"
    env = gym.make("raveforce/DrumLoop-v0")
    try:
        env.reset(seed=0)
        assert [env.step(a)[1] for a in DRUM_LOOP_PATTERN] == [0.0] * 16
        env.reset(seed=0)
        assert sum(env.step(a)[1] for a in (0, 7) * 8) < -0.1  # rests and every drum at once: far from it
    finally:
        env.close()


def test_one_blas_thread_limits_blas_inside_and_restores_it():
    """The rewards' products run with one BLAS thread (`_optional.one_blas_thread`, used by the
    `hits` network and the vector env's rewards), whatever the process had before."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from raveforce._optional import one_blas_thread

    def blas_threads():
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    with threadpool_limits(2, user_api="blas"):
        assert blas_threads() == {2}
        with one_blas_thread():
            assert blas_threads() == {1}
        assert blas_threads() == {2}
