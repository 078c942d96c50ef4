"""The robust rewards (multiscale, multiscale_log, spectral_ot, combine), reward_mode and landscapes.

References: auraloss's MultiResolutionSTFTLoss for multiscale (the `reference` extra; skipped
without it), scipy.stats.wasserstein_distance for spectral_ot, plain numpy STFTs for prefixes.
"""

import functools
import json

import numpy as np
import pytest
import scipy.stats

from raveforce import rewards
from raveforce.app.landscape import basin
from raveforce.rewards import features as F

ROBUST = ("multiscale", "multiscale_log", "spectral_ot")
SR = 44100
STEPS = 16
BOUNDS = np.floor(np.arange(STEPS + 1) * 5512.5 + 0.5).astype(np.int64)


def hits(n: int, sr: int = SR, seed: int = 0, freq: float = 220.0, shift: int = 0) -> np.ndarray:
    """Decaying tone + noise bursts every 0.25 s (onsets moved by `shift` samples), zero at both ends."""
    t = (np.arange(n) - shift) / sr
    rng = np.random.default_rng(seed)
    x = np.exp(-15 * (t % 0.25)) * (np.sin(2 * np.pi * freq * t) + 0.2 * rng.standard_normal(n)) * (t >= 0)
    x[:1200] = x[-1200:] = 0.0
    return x


def tone(freq: float, n: int = 22050) -> np.ndarray:
    t = np.arange(n) / SR
    return np.sin(2 * np.pi * freq * t) * np.exp(-4 * t)


def one_step(reward, x, y):
    """The distance of x from target y over the whole signal (one step)."""
    return rewards.make(reward, target=y, sample_rate=SR, boundaries=[0, len(y)]).distance(x, 0)


def numpy_stft_mag(x, n_fft, hop, win):
    """Plain numpy: centred, zero-padded frames, periodic Hann of win centred in n_fft, |X| floored at 1e-4."""
    x = np.pad(x, n_fft // 2)
    w = np.zeros(n_fft)
    w[(n_fft - win) // 2 : (n_fft - win) // 2 + win] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)
    frames = np.array([x[i : i + n_fft] for i in range(0, len(x) - n_fft + 1, hop)])
    return np.sqrt(np.maximum(1e-8, np.abs(np.fft.rfft(frames * w)) ** 2))


@pytest.mark.parametrize("name", ROBUST)
def test_silence_and_identical_audio_give_zero(name):
    target = hits(int(BOUNDS[-1]))
    criterion = rewards.make(name, target=target, sample_rate=SR, boundaries=BOUNDS)
    assert [criterion.distance(target, k) for k in range(STEPS)] == [0.0] * STEPS
    assert criterion.distance(np.zeros_like(target), 3) > 0
    silent = rewards.make(name, target=np.zeros_like(target), sample_rate=SR, boundaries=BOUNDS)
    assert silent.distance(np.zeros_like(target), 5) == 0.0
    assert silent.distance(target, 5) > 0


@pytest.mark.parametrize("name", ROBUST + ("combine",))
def test_incremental_equals_from_scratch_and_forks_are_independent(name):
    reward = rewards.combine(mfcc=1.0, multiscale=0.5, spectral_ot=0.01) if name == "combine" else name
    target, other = hits(int(BOUNDS[-1]), seed=1), hits(int(BOUNDS[-1]), seed=2, freq=330.0).astype(np.float32)
    criterion = rewards.make(reward, target=target, sample_rate=SR, boundaries=BOUNDS)
    twin = criterion.fork()
    for _ in range(2):
        criterion.reset()
        twin.reset()
        for k in range(STEPS):
            fresh = rewards.make(reward, target=target, sample_rate=SR, boundaries=BOUNDS).distance(other, k)
            assert twin.distance(target, k) == 0.0  # interleaved: must not disturb `criterion`
            assert criterion.distance(other, k) == fresh > 0  # bit-identical
    for k in (3, 9, 2, 2, 15):  # skipped, backwards, repeated
        assert criterion.distance(other, k) == rewards.make(reward, target=target, sample_rate=SR, boundaries=BOUNDS).distance(other, k)


@pytest.mark.parametrize("name", ROBUST + ("steady_ot",))  # steady_ot writes its weights into the frames first
def test_envs_on_one_target_share_its_analysis_within_a_budget(name, monkeypatch):
    """A criterion made again on an equal target reuses the target's frames (read-only) and scores
    as one computed anew; the analyses of the last targets are kept up to KEPT_BYTES."""
    from collections import OrderedDict

    from raveforce.rewards import robust

    target, other, audio = hits(int(BOUNDS[-1]), seed=1), hits(int(BOUNDS[-1]), seed=5), hits(int(BOUNDS[-1]), seed=2, freq=330.0)
    make = functools.partial(rewards.make, name, sample_rate=SR, boundaries=BOUNDS)
    monkeypatch.setattr(robust, "_kept", OrderedDict())
    first = make(target=target)
    again = make(target=target.copy())
    assert again._targets is first._targets and make(target=other)._targets is not first._targets
    assert not first._targets[0].final.flags.writeable
    monkeypatch.setattr(robust, "_kept", OrderedDict())
    fresh = make(target=target)
    assert fresh._targets is not first._targets
    for k in range(STEPS):
        assert again.distance(audio, k) == fresh.distance(audio, k)
    (_, size), = robust._kept.values()
    monkeypatch.setattr(robust, "KEPT_BYTES", size)  # room for one target's
    make(target=other)
    assert make(target=target)._targets is not fresh._targets and len(robust._kept) == 1


@pytest.mark.parametrize("resolutions", [rewards.DEFAULT_RESOLUTIONS, ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))])
def test_multiscale_prefixes_equal_a_numpy_reference(resolutions):
    target, audio = hits(int(BOUNDS[4]), seed=3), hits(int(BOUNDS[4]), seed=4, freq=180.0)
    lin = rewards.make(rewards.multiscale(resolutions), target=target, sample_rate=SR, boundaries=BOUNDS[:5])
    log = rewards.make(rewards.multiscale(resolutions, log=True), target=target, sample_rate=SR, boundaries=BOUNDS[:5])
    for k in range(4):
        b = BOUNDS[k + 1]
        mags = [(numpy_stft_mag(audio[:b], *r), numpy_stft_mag(target[:b], *r)) for r in resolutions]
        assert lin.distance(audio, k) == pytest.approx(np.mean([np.mean(np.abs(x - y)) for x, y in mags]), rel=1e-9)
        assert log.distance(audio, k) == pytest.approx(np.mean([np.mean(np.abs(np.log(x) - np.log(y))) for x, y in mags]), rel=1e-9)


def test_multiscale_equals_auraloss():
    """auraloss pads by reflection: equal on signals with >= n_fft / 2 zeros at both ends."""
    torch = pytest.importorskip("torch")
    auraloss = pytest.importorskip("auraloss")
    x, y = hits(22050, seed=5), hits(22050, seed=6, freq=250.0)
    res = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))  # auraloss's defaults
    tx, ty = (torch.tensor(v[None, None]) for v in (x, y))
    for log in (False, True):
        ref = auraloss.freq.MultiResolutionSTFTLoss(
            fft_sizes=[r[0] for r in res], hop_sizes=[r[1] for r in res], win_lengths=[r[2] for r in res],
            w_sc=0.0, w_log_mag=float(log), w_lin_mag=float(not log),
        )
        want = float(ref(tx, ty))
        assert one_step(rewards.multiscale(res, log=log), x, y) == pytest.approx(want, rel=1e-6)


def test_spectral_ot_equals_scipy_wasserstein_per_frame():
    x, y = tone(90.0, 6000) + 0.1 * hits(6000, seed=7), tone(130.0, 6000)
    n_fft, hop, fmin, cost = 2048, 256, 20.0, 1.0
    u = np.log2(np.maximum(np.fft.rfftfreq(n_fft, 1 / SR), fmin))
    px, py = (numpy_stft_mag(v, n_fft, hop, n_fft) ** 2 for v in (x, y))
    px[px <= 1e-8], py[py <= 1e-8] = 0.0, 0.0  # spectral_ot has no magnitude floor
    want = 0.0
    for a, b in zip(px, py):
        ma, mb = np.sqrt(a.sum()), np.sqrt(b.sum())
        w1 = scipy.stats.wasserstein_distance(u, u, a, b) if ma > 0 and mb > 0 else 0.0
        want += min(ma, mb) * w1 + cost * abs(ma - mb)
    assert one_step("spectral_ot", x, y) == pytest.approx(want / len(px), rel=1e-6)


def test_gain_behaviour():
    x, y = hits(22050, seed=8), hits(22050, seed=9, freq=300.0)
    for g in (0.25, 3.0):
        assert one_step("spectral_ot", g * x, g * y) == pytest.approx(g * one_step("spectral_ot", x, y), rel=1e-9)
        assert one_step("multiscale", g * x, g * y) == pytest.approx(g * one_step("multiscale", x, y), rel=1e-3)
        assert one_step("multiscale_log", g * x, g * y) == pytest.approx(one_step("multiscale_log", x, y), rel=1e-2)
        assert one_step("mse", g * x, g * y) == pytest.approx(g * g * one_step("mse", x, y), rel=1e-9)


def test_pitch_shift_costs_octaves_for_spectral_ot():
    """A tone against a tone: spectral_ot grows with the interval (a single basin), raw MSE saturates."""
    target = tone(440.0)
    ot = [one_step("spectral_ot", tone(440.0 * 2.0 ** (c / 1200)), target) for c in (25, 100, 600, 1200, 2400, 4800)]
    assert all(a < b for a, b in zip(ot, ot[1:]))
    assert ot[4] / ot[3] == pytest.approx(2.0, rel=0.1) and ot[5] / ot[4] == pytest.approx(2.0, rel=0.1)  # linear in octaves
    mse = [one_step("mse", tone(440.0 * 2.0 ** (c / 1200)), target) for c in (1200, 2400, 4800)]
    assert max(mse) / min(mse) < 1.05  # flat away from the answer


def test_time_shift_multiscale_prefers_late_hits_to_silence_mse_does_not():
    """2.5 ms of jitter: the magnitude distance still rates the right sound above silence."""
    target = hits(22050, seed=10)
    late = hits(22050, seed=10, shift=110)
    for name in ("multiscale", "spectral_ot", "multiscale_log"):
        assert one_step(name, late, target) < 0.5 * one_step(name, np.zeros_like(target), target)
    assert one_step("mse", late, target) > one_step("mse", np.zeros_like(target), target)


def test_combine_is_the_weighted_sum_and_checks_its_parts():
    x, y = hits(11025, seed=11), hits(11025, seed=12, freq=200.0)
    both = rewards.combine(mfcc=1.0, multiscale=0.5)
    assert both.name == "combine(mfcc=1.0, multiscale=0.5)"
    assert one_step(both, x, y) == pytest.approx(one_step("mfcc", x, y) + 0.5 * one_step("multiscale", x, y), rel=1e-12)
    custom = rewards.combine((rewards.spectral_ot(mass_cost=0.0), 2.0))
    assert one_step(custom, x, y) == pytest.approx(2 * one_step(rewards.spectral_ot(mass_cost=0.0), x, y), rel=1e-12)
    with pytest.raises(ValueError, match="'loudness'"):
        rewards.combine(loudness=1.0)
    with pytest.raises(ValueError, match="-1"):
        rewards.combine(mfcc=-1)
    with pytest.raises(ValueError, match=r"\(64, 0, 64\)"):
        rewards.multiscale(((64, 0),))


def test_nan_audio_raises_and_silence_is_finite():
    target = np.zeros(8000)
    for name in ROBUST:
        criterion = rewards.make(name, target=target, sample_rate=SR, boundaries=[0, 4000, 8000])
        assert criterion.distance(np.zeros(8000), 1) == 0.0
        bad = np.zeros(8000)
        bad[100] = np.nan
        with pytest.raises(ValueError, match="non-finite"):
            criterion.distance(bad, 0)


def test_basin_of_the_maximum():
    assert basin(np.array([0, 1, 2, 5, 3, 3, 4, 1])) == (0, 5)
    assert basin(np.array([3, 2, 1])) == (0, 2)


# --- with scsynth --------------------------------------------------------------------------------


def test_delta_rewards_are_differences_and_sum_to_the_last_absolute_reward():
    import gymnasium as gym

    import raveforce  # noqa: F401
    from raveforce.tasks import DRUM_LOOP_PATTERN

    actions = [1, 0, 4, 2, 7, 0]
    runs = {}
    for mode in ("absolute", "delta"):
        env = gym.make("raveforce/DrumLoop-v0", reward="multiscale", reward_mode=mode)
        try:
            env.reset(seed=0)
            runs[mode] = [env.step(a)[1] for a in actions]
        finally:
            env.close()
    absolute, delta = np.array(runs["absolute"]), np.array(runs["delta"])
    assert delta[0] == absolute[0] and np.allclose(delta[1:], np.diff(absolute), rtol=0, atol=1e-12)
    assert np.sum(delta) == pytest.approx(absolute[-1], rel=1e-12)
    with pytest.raises(ValueError, match="'relative'"):
        gym.make("raveforce/DrumLoop-v0", reward_mode="relative")
    envs = gym.make_vec("raveforce/DrumLoop-v0", num_envs=2, vectorization_mode="vector_entry_point", reward="multiscale", reward_mode="delta")
    try:
        envs.reset(seed=0)
        vec = [envs.step(np.array([a, DRUM_LOOP_PATTERN[k]]))[1] for k, a in enumerate(actions)]
    finally:
        envs.close()
    assert np.allclose([r[0] for r in vec], delta, rtol=0, atol=1e-12)
    assert all(r[1] == 0.0 for r in vec)  # the shipped optimum: distance 0 throughout


def test_landscape_command_writes_csv_and_png(tmp_path, raveforce_cli):
    """`raveforce landscape` as its main() in this process (conftest's `raveforce_cli`)."""
    pytest.importorskip("matplotlib")
    cmd = ["landscape", "KickFrequency", "--reward", "mse,spectral_ot", "--points", "24", "--out", str(tmp_path)]
    done = raveforce_cli(*cmd)
    assert done.returncode == 0, done.stderr
    rows = np.genfromtxt(tmp_path / "landscape.csv", delimiter=",", names=True)
    assert len(rows) == 24 and set(rows.dtype.names) == {"action", "freq", "mse", "spectral_ot"}
    ot = rows["spectral_ot"]
    assert basin(ot) == (0, 23)  # one basin over the whole range
    assert 40 < rows["freq"][np.argmax(ot)] < 90  # the kit's kick sweeps 180 -> 48 Hz
    assert (tmp_path / "landscape.png").stat().st_size > 10_000
    bad = raveforce_cli(*cmd[:2], "--reward", "loudness", "--out", str(tmp_path))
    assert bad.returncode == 2 and "'loudness'" in bad.stderr
    json.dumps(rows.tolist())  # plain numbers


@pytest.mark.parametrize("name", ["spectral_ot", "steady_ot"])
def test_ot_rewards_from_powers_equal_the_magnitude_formula(name):
    """The OT criteria read re**2 + im**2 (no square root, no floor): within 1e-8 of the same
    rfft's |X|**2 (the formula before), far from the target and one part in 1e4 from it (where
    the CDFs nearly cancel: the magnitude-based code was 6e-10 from this reference there); 0 on the target."""
    y = tone(70.0) + 0.05 * hits(22050, seed=3)
    criterion = rewards.make(name, target=y, sample_rate=SR, boundaries=[0, len(y)])
    du = np.diff(np.log2(np.maximum(np.fft.rfftfreq(2048, 1 / SR), 20.0)))

    def cdf(v):  # per frame: the power CDF over bins 0..bins-2, and the power sum
        power = np.abs(F.rfft(numpy_frames(v))) ** 2
        total = power.sum(axis=1)
        return np.cumsum(power, axis=1)[:, :-1] / np.where(total > 0, total, 1.0)[:, None], total

    (ca, pa), (ct, pt) = cdf(y), cdf(y)
    for x in (tone(110.0) + 0.1 * hits(22050, seed=4), y * (1 + 1e-4 * np.random.default_rng(5).standard_normal(len(y)))):
        ca, pa = cdf(x)
        w1 = np.abs(ca - ct) @ du
        if name == "spectral_ot":
            ma, mt = np.sqrt(pa), np.sqrt(pt)
            want = np.mean(np.minimum(ma, mt) * w1 + np.abs(ma - mt))
        else:
            weights = criterion._targets[0].final[:, -1]
            want = np.sum(weights * np.where(pa > 0, w1, np.sum(du))) / np.sum(weights)
        assert criterion.distance(x, 0) == pytest.approx(want, rel=1e-8, abs=0)
    assert criterion.distance(y, 0) == 0.0


def numpy_frames(x, n_fft=2048, hop=256):
    """Centred, zero-padded frames times the criteria's periodic Hann of n_fft."""
    x = np.pad(x, n_fft // 2)
    return np.array([x[i : i + n_fft] for i in range(0, len(x) - n_fft + 1, hop)]) * F.centred_hann(n_fft, n_fft)


def test_cumsum_rows_is_numpys_cumsum_to_the_bit():
    rng = np.random.default_rng(9)
    for shape in ((1, 7), (2, 5), (87, 1025), (3, 4, 513)):
        x = rng.random(shape) * np.geomspace(1e-9, 1e3, shape[-1])
        want = np.cumsum(x, axis=-1)
        assert np.array_equal(F.cumsum_rows(x.copy(), out=np.empty(shape)), want)
        wide = np.zeros((*shape[:-1], shape[-1] + 2))
        F.cumsum_rows(x, out=wide[..., :-2])
        assert np.array_equal(wide[..., :-2], want) and not wide[..., -2:].any()
        y = x.copy()
        assert F.cumsum_rows(y, out=y) is y and np.array_equal(y, want)
