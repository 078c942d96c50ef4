"""The steady_ot reward (KickFrequency's default): level-free log-frequency OT over the frames where
the target holds still. References: scipy.stats.wasserstein_distance per frame, a swept tone."""

import numpy as np
import pytest
import scipy.stats

from raveforce import rewards
from raveforce.tasks import KICK_FREQUENCY

SR = 44100
N = 22050


def swept(end_hz: float, sweep: float = 6.0, sweep_s: float = 0.04, decay_s: float = 0.12) -> np.ndarray:
    """A short kick-like tone: exponentially swept from sweep * end_hz to end_hz in sweep_s, then steady."""
    t = np.arange(N) / SR
    hz = end_hz * sweep ** np.clip(1 - t / sweep_s, 0, 1)
    return np.sin(2 * np.pi * np.cumsum(hz) / SR) * np.exp(-t / decay_s * 4)


def steady(hz: float) -> np.ndarray:
    t = np.arange(N) / SR
    return np.sin(2 * np.pi * hz * t) * np.minimum(t / 0.01, 1) * np.exp(-3 * t)


def one_step(reward, x, y):
    return rewards.make(reward, target=y, sample_rate=SR, boundaries=[0, N]).distance(x, 0)


def test_kick_frequency_default_and_identity():
    assert KICK_FREQUENCY.reward == "steady_ot" and "steady_ot" in rewards.available()
    target = swept(60.0)
    assert one_step("steady_ot", target, target) == 0.0
    assert one_step("steady_ot", np.zeros(N), np.zeros(N)) == 0.0  # a silent target scores 0
    assert one_step("steady_ot", np.zeros(N), target) > 0


def test_a_swept_tone_is_matched_at_its_end_pitch_where_spectral_ot_is_not():
    """The reason for the reward: a short kick swept 6x down to 60 Hz. steady_ot's best steady
    tone is within 50 cents of 60 Hz; spectral_ot's, weighted by the loud sweep, far above."""
    target = swept(60.0)
    cents = np.arange(-600, 2401, 25)
    best = {}
    for name in ("steady_ot", "spectral_ot"):
        d = [one_step(name, steady(60.0 * 2 ** (c / 1200)), target) for c in cents]
        best[name] = cents[int(np.argmin(d))]
    assert abs(best["steady_ot"]) <= 50
    assert best["spectral_ot"] >= 100


def test_gain_invariant_and_equal_to_scipy_on_a_steady_target():
    """On a steady tone every audible frame (but the first) weighs the same; then the distance is
    the mean of scipy's per-frame Wasserstein-1 on the log axis over those frames (frames as numpy)."""
    target, x = steady(100.0), steady(150.0) + 0.1 * steady(3000.0)
    assert one_step("steady_ot", 3.0 * x, 0.5 * target) == pytest.approx(one_step("steady_ot", x, target), rel=1e-9)
    n_fft, hop = 2048, 256
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)

    def spectra(a):
        a = np.pad(a, (n_fft // 2, n_fft // 2 + hop))
        return np.abs(np.fft.rfft(np.array([a[i : i + n_fft] for i in range(0, N + 1, hop)][: 1 + N // hop]) * window)) ** 2

    u = np.log2(np.maximum(np.fft.rfftfreq(n_fft, 1 / SR), 20.0))
    px, pt = spectra(x), spectra(target)
    crit = rewards.make("steady_ot", target=target, sample_rate=SR, boundaries=[0, N])
    w = crit._targets[0].final[:, -1]
    assert w[0] == 0 and np.ptp(w[10:-10]) < 0.05  # steady: equal weights past the attack, the first frame none
    # W1 on the axis u: mass at bin f sits at u[f] (bins under fmin share one place)
    per_frame = np.array([scipy.stats.wasserstein_distance(u, u, a, b) if b.sum() > 0 else 0.0 for a, b in zip(px, pt)])
    assert one_step("steady_ot", x, target) == pytest.approx(np.sum(w * per_frame) / w.sum(), rel=1e-6)


def test_incremental_equals_from_scratch():
    bounds = np.array([0, 5000, 11025, 16000, N])
    target, other = swept(80.0), steady(70.0) + swept(200.0)
    criterion = rewards.make("steady_ot", target=target, sample_rate=SR, boundaries=bounds)
    for k in range(4):
        assert criterion.distance(other, k) == rewards.make("steady_ot", target=target, sample_rate=SR, boundaries=bounds).distance(other, k) > 0


def test_bad_parameters_name_the_value():
    with pytest.raises(ValueError, match="steadiness > 0"):
        rewards.steady_ot(steadiness=0.0)
    custom = rewards.steady_ot(steadiness=0.02)
    target = swept(60.0)
    assert one_step(custom, steady(60.0), target) < one_step(custom, steady(120.0), target)


def test_batched_rows_equal_one_criterion_each():
    """batch_distances (the vector env's path) over forks, including a second target: to the bit."""
    bounds = np.array([0, 5000, 11025, 16000, N])
    make = lambda t: rewards.make("steady_ot", target=t, sample_rate=SR, boundaries=bounds)
    first, second = make(swept(80.0)), make(swept(55.0, sweep=3.0))
    criteria = [first, first.fork(), second, second.fork()]
    audio = np.stack([steady(70.0), swept(200.0), steady(55.0), np.zeros(N)]).astype(np.float32)
    for k in range(4):
        want = [make(c.target).distance(row, k) for c, row in zip(criteria, audio)]
        assert rewards.batch_distances(criteria, audio, k).tolist() == want
