"""raveforce.rewards: equal to librosa, incremental == from scratch, registry.

librosa is the reference (test dependency only); its first calls JIT-compile
with numba, so its results are computed once per module.
"""

import functools
import subprocess
import sys

import numpy as np
import pytest

from raveforce import rewards

librosa = pytest.importorskip("librosa")
pytestmark = pytest.mark.filterwarnings("ignore:n_fft=.* is too large:UserWarning")  # librosa, short CQT octaves

NAMES = ("cqt", "mfcc", "mse", "stft")
DISTANCE = {name: getattr(rewards, f"{name}_distance") for name in NAMES}
STEPS = 16
BOUNDARIES = np.floor(np.arange(STEPS + 1) * 5512.5 + 0.5).astype(np.int64)  # round half up of k * 5512.5


def signal(kind: str, n: int, sr: int, seed: int = 0) -> np.ndarray:
    t = np.arange(n) / sr
    rng = np.random.default_rng(seed)
    if kind == "silence":
        return np.zeros(n)
    if kind == "noise":
        return 0.3 * rng.standard_normal(n)
    if kind == "burst":  # noise bursts with silence between
        return 0.5 * rng.standard_normal(n) * ((t * 8) % 1 < 0.3)
    if kind == "sine":  # decaying tone with a harmonic, retriggered every 0.25 s
        return np.exp(-12 * (t % 0.25)) * (np.sin(2 * np.pi * 220 * t) + 0.3 * np.sin(2 * np.pi * 1320 * t))
    raise ValueError(kind)


def librosa_distance(name: str, x: np.ndarray, y: np.ndarray, sr: int) -> float:
    if name == "mse":
        return float(np.mean((x - y) ** 2))
    if name == "mfcc":
        return float(np.mean((librosa.feature.mfcc(y=x, sr=sr, n_mfcc=20) - librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)) ** 2))
    diff = librosa.stft(x) - librosa.stft(y) if name == "stft" else librosa.cqt(x, sr=sr) - librosa.cqt(y, sr=sr)
    return float(np.mean(np.stack([diff.real, diff.imag]) ** 2))


CASES = [  # (sample rate, length, x, y): lengths that are not multiples of the hop
    (44100, 5512, "burst", "sine"),
    (44100, 11025, "sine", "noise"),
    (44100, 88200, "burst", "sine"),
    (44100, 11025, "silence", "sine"),
    (22050, 11025, "noise", "sine"),
    (48000, 7001, "sine", "burst"),
]


@functools.cache
def case_signals(i: int) -> tuple[np.ndarray, np.ndarray, int]:
    sr, n, kx, ky = CASES[i]
    return signal(kx, n, sr, seed=1), signal(ky, n, sr, seed=2), sr


@functools.cache
def librosa_reference(i: int, name: str) -> float:
    x, y, sr = case_signals(i)
    return librosa_distance(name, x, y, sr)


@pytest.mark.xdist_group("librosa")  # one worker pays librosa's JIT compilation (~30 s on a fresh venv), not each
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{sr}Hz-{n}-{x}-vs-{y}" for sr, n, x, y in CASES])
def test_distance_equals_librosa(case, name):
    x, y, sr = case_signals(case)
    assert DISTANCE[name](x, y, sr) == pytest.approx(librosa_reference(case, name), rel=1e-6, abs=0)


@pytest.fixture(scope="module")
def episode():
    n, sr = int(BOUNDARIES[-1]), 44100
    target = signal("sine", n, sr)
    audio = (signal("burst", n, sr, seed=3) + 0.5 * target).astype(np.float32)
    return target, audio, sr


@pytest.mark.parametrize("name", NAMES)
def test_incremental_episode_equals_from_scratch(name, episode):
    target, rendered, sr = episode
    criterion = rewards.make(name, target=target, sample_rate=sr, boundaries=BOUNDARIES)
    for _ in range(2):  # a second episode after reset() must not see the first
        criterion.reset()
        audio = np.zeros_like(rendered)
        for k in range(STEPS):
            b0, b1 = BOUNDARIES[k], BOUNDARIES[k + 1]
            audio[b0:b1] = rendered[b0:b1]
            got = criterion.distance(audio, k)
            fresh = rewards.make(name, target=target, sample_rate=sr, boundaries=BOUNDARIES).distance(audio, k)
            assert got == fresh  # bit-identical
            assert got == pytest.approx(DISTANCE[name](audio[:b1], target[:b1], sr), rel=1e-9, abs=0)
            assert got > 0


@pytest.mark.parametrize("sr", [44100, 22050])
def test_any_call_order_and_tiny_steps(sr):
    rng = np.random.default_rng(7)
    boundaries = np.concatenate([[0], np.cumsum(rng.integers(1, 1500, size=24))])  # steps shorter than a hop
    n = int(boundaries[-1])
    target = signal("sine", n, sr)
    audio = signal("noise", n, sr, seed=4).astype(np.float32)
    order = [0, 1, 2, 3, 7, 8, 8, 9, 4, 5, 0, 1, 23]  # skipped, repeated, backwards
    for name in NAMES:
        criterion = rewards.make(name, target=target, sample_rate=sr, boundaries=boundaries)
        for k in order:
            b = boundaries[k + 1]
            assert criterion.distance(audio, k) == pytest.approx(DISTANCE[name](audio[:b], target[:b], sr), rel=1e-9, abs=0)


@pytest.mark.parametrize("name", NAMES)
def test_silence_and_identical_give_zero(name, episode):
    target, _, sr = episode
    assert DISTANCE[name](np.zeros(5000), np.zeros(5000), sr) == 0.0
    assert DISTANCE[name](target[:7000], target[:7000], sr) == 0.0
    perfect = target.astype(np.float32)  # a render equal to a float32-exact target
    criterion = rewards.make(name, target=perfect.astype(np.float64), sample_rate=sr, boundaries=BOUNDARIES)
    assert [criterion.distance(perfect, k) for k in range(STEPS)] == [0.0] * STEPS
    assert criterion.distance(np.zeros_like(perfect), 0) > 0
    silent = rewards.make(name, target=np.zeros_like(target), sample_rate=sr, boundaries=BOUNDARIES)
    assert silent.distance(np.zeros_like(perfect), 3) == 0.0


def test_registry_lists_the_four_criteria_sorted():
    names = rewards.available()
    assert set(NAMES) <= set(names)
    assert list(names) == sorted(names)
    for name in NAMES:
        assert rewards.make(name, target=np.zeros(8000), sample_rate=44100, boundaries=[0, 4000, 8000]).name == name


def test_unknown_name_repeats_it_and_lists_the_valid_ones():
    with pytest.raises(ValueError, match="'loudness'") as info:
        rewards.make("loudness", target=np.zeros(100), sample_rate=44100, boundaries=[0, 100])
    assert all(name in str(info.value) for name in NAMES)
    with pytest.raises(TypeError, match="42"):
        rewards.make(42, target=np.zeros(100), sample_rate=44100, boundaries=[0, 100])


def test_callable_reward_is_wrapped_as_a_distance():
    target = signal("sine", 3000, 44100)
    audio = np.ones(3000, np.float32)
    seen = []

    def l1(observed, tgt, sample_rate):
        seen.append((len(observed), len(tgt), sample_rate))
        return -float(np.abs(observed - tgt).sum())

    criterion = rewards.make(l1, target=target, sample_rate=44100, boundaries=[0, 1000, 3000])
    assert criterion.distance(audio, 0) == pytest.approx(np.abs(1 - target[:1000]).sum())
    assert criterion.distance(audio, 1) == pytest.approx(np.abs(1 - target).sum())
    assert seen == [(1000, 1000, 44100), (3000, 3000, 44100)]

    def broken(observed, tgt, sample_rate):
        return float("nan")

    with pytest.raises(ValueError, match="broken.*nan"):
        rewards.make(broken, target=target, sample_rate=44100, boundaries=[0, 3000]).distance(audio, 0)


def test_register_a_custom_criterion(monkeypatch):
    monkeypatch.setattr(rewards.base, "_REGISTRY", dict(rewards.base._REGISTRY))

    @rewards.register
    class Peak(rewards.Criterion):
        name = "peak"

        def _update(self, audio, step, start):
            b = self.boundaries[step + 1]
            return float(abs(np.max(np.abs(audio[:b])) - np.max(np.abs(self.target[:b]))))

    assert "peak" in rewards.available()
    criterion = rewards.make("peak", target=np.full(10, 0.5), sample_rate=8000, boundaries=[0, 5, 10])
    assert criterion.distance(np.ones(10), 1) == 0.5

    class Other(Peak):
        pass

    with pytest.raises(ValueError, match="'peak'"):
        rewards.register(Other)


def test_bad_arguments_are_repeated_in_errors():
    target = np.zeros(1000)
    with pytest.raises(ValueError, match="1000"):
        rewards.make("mse", target=target, sample_rate=44100, boundaries=[0, 500, 999])
    with pytest.raises(ValueError, match="-5"):
        rewards.make("mse", target=target, sample_rate=-5, boundaries=[0, 1000])
    criterion = rewards.make("stft", target=target, sample_rate=44100, boundaries=[0, 500, 1000])
    with pytest.raises(ValueError, match=r"\[0, 2\), got 2"):
        criterion.distance(np.zeros(1000, np.float32), 2)
    with pytest.raises(ValueError, match="96000"):
        rewards.make("cqt", target=target, sample_rate=96000, boundaries=[0, 1000])


def test_runtime_does_not_import_librosa():
    code = "import sys, raveforce.rewards as r, numpy as np; r.cqt_distance(np.ones(3000), np.zeros(3000), 44100); print('librosa' in sys.modules, 'numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize("name", ["mse", "mfcc", "stft", "cqt"])
def test_fork_shares_the_target_and_keeps_its_own_cache(name):
    rng = np.random.default_rng(7)
    bounds = np.floor(np.arange(5) * 5512.5 + 0.5).astype(np.int64)
    target = rng.standard_normal(bounds[-1]) * 0.1
    a, b = (rng.standard_normal(bounds[-1]).astype(np.float32) * 0.1 for _ in range(2))
    first = rewards.make(name, target=target, sample_rate=44100, boundaries=bounds)
    twin = first.fork()
    fresh = rewards.make(name, target=target, sample_rate=44100, boundaries=bounds)
    for k in range(4):  # interleaved episodes must not disturb each other's caches
        da, db = first.distance(a, k), twin.distance(b, k)
        assert db == fresh.distance(b, k)
        assert da != db


@pytest.mark.parametrize("name", ["mse", "mfcc", "stft", "cqt"])
def test_another_prefix_is_computed_from_scratch(name):
    """Scoring candidate A's step 0, then candidate B's step 1, must not reuse A's cache."""
    rng = np.random.default_rng(11)
    bounds = np.floor(np.arange(4) * 5512.5 + 0.5).astype(np.int64)
    target = rng.standard_normal(bounds[-1]) * 0.1
    a, b = (rng.standard_normal(bounds[-1]).astype(np.float32) * 0.1 for _ in range(2))
    criterion = rewards.make(name, target=target, sample_rate=44100, boundaries=bounds)
    criterion.distance(a, 0)
    fresh = rewards.make(name, target=target, sample_rate=44100, boundaries=bounds)
    assert criterion.distance(b, 1) == fresh.distance(b, 1)


@pytest.mark.parametrize(
    "name, n",
    [(name, n) for name in ("mse", "stft", "mfcc") for n in (5, 64)]
    + [("multiscale", 11), ("cqt", 11), ("multiscale_log", 5), ("spectral_ot", 5)]  # 11: two chunks of rows
    + [("onsets", 5)],  # the per-env fallback
)
def test_batch_distances_equal_the_per_env_distances(name, n):
    """Random episodes, per-env targets (three, shared by forks): batched == per-env, to the bit,
    at every step, after a reset of all or some rows, and the single path after a batched one."""
    rng = np.random.default_rng(n)
    steps, sr = 8, 44100
    bounds = np.floor(np.arange(steps + 1) * 5512.5 + 0.5).astype(np.int64)
    targets = [rng.standard_normal(bounds[-1]) * 0.1 * (j + 1) for j in range(3)]
    heads = [rewards.make(name, target=t, sample_rate=sr, boundaries=bounds) for t in targets]
    batched = [heads[i % 3] if i < 3 else heads[i % 3].fork() for i in range(n)]
    alone = [rewards.make(name, target=targets[i % 3], sample_rate=sr, boundaries=bounds) for i in range(n)]
    schedule = [*range(steps), *range(steps), *range(5), 2, 3, 3, 4]  # reset, reset, then some rows restart
    audio = (rng.standard_normal((n, bounds[-1])) * 0.1).astype(np.float32)
    for t, k in enumerate(schedule):
        if k == 0:
            for c in batched + alone:
                c.reset()
        if t == len(schedule) - 4:  # step 2 again: rows in different cache states, new audio in some
            audio[::2, bounds[1] :] *= 0.5
        got = rewards.batch_distances(batched, audio, k)
        want = np.array([c.distance(row, k) for c, row in zip(alone, audio)])
        assert got.dtype == np.float64 and got.tolist() == want.tolist(), (t, k)
        if k == 3:  # one row alone between batched calls
            batched[1].reset()
            alone[1].reset()
    assert (getattr(batched[0], "_batch", None) is not None) == (name != "onsets")  # batched, or the fallback
    assert batched[n - 1].distance(audio[n - 1], 5) == alone[n - 1].distance(audio[n - 1], 5)
    assert rewards.batch_distances(batched, audio, 6).tolist() == [c.distance(row, 6) for c, row in zip(alone, audio)]


def test_batch_distances_checks_its_arguments():
    bounds = np.array([0, 1000, 2000])
    c = rewards.make("mse", target=np.zeros(2000), sample_rate=44100, boundaries=bounds)
    batch = [c, c.fork()]
    with pytest.raises(ValueError, match=r"one row per criterion \(2\)"):
        rewards.batch_distances(batch, np.zeros((3, 2000), np.float32), 0)
    with pytest.raises(ValueError, match="at least 2000 samples"):
        rewards.batch_distances(batch, np.zeros((2, 1500), np.float32), 1)
    with pytest.raises(ValueError, match="non-finite"):
        rewards.batch_distances(batch, np.full((2, 2000), np.inf, np.float32), 0)
    assert rewards.batch_distances(batch, np.ones((2, 2000), np.float32), 1).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("sr", [22050, 48000])
def test_batched_cqt_at_other_sample_rates_equals_the_per_env_cqt(sr):
    """7 resampling stages at 22.05 kHz, 8 at 48 kHz: the batch keeps each stage's rows."""
    rng = np.random.default_rng(sr)
    bounds = np.array([0, sr // 3, sr // 2, sr])
    heads = [rewards.make("cqt", target=rng.standard_normal(sr) * 0.1, sample_rate=sr, boundaries=bounds) for _ in range(2)]
    batched = [heads[i % 2] if i < 2 else heads[i % 2].fork() for i in range(4)]
    alone = [h.fork() for h in batched]
    audio = (rng.standard_normal((4, sr)) * 0.1).astype(np.float32)
    for k in range(3):
        assert rewards.batch_distances(batched, audio, k).tolist() == [c.distance(row, k) for c, row in zip(alone, audio)], k
    assert batched[3].distance(audio[3], 0) == alone[3].distance(audio[3], 0)  # alone again after the batch


@pytest.mark.parametrize("name", ["mse", "stft", "mfcc", "multiscale", "spectral_ot", "cqt"])
def test_batch_distances_of_long_steps_equal_the_per_env_distances(name):
    """Steps longer than the batch's scratch rows (KickFrequency's one 1-s step): still to the bit,
    and the incremental check of the second step still sees the first step's samples."""
    rng = np.random.default_rng(3)
    bounds = np.array([0, 70000, 88200])
    targets = [rng.standard_normal(bounds[-1]) * 0.1 for _ in range(2)]
    heads = [rewards.make(name, target=t, sample_rate=44100, boundaries=bounds) for t in targets]
    batched = [heads[i % 2] if i < 2 else heads[i % 2].fork() for i in range(6)]
    alone = [rewards.make(name, target=targets[i % 2], sample_rate=44100, boundaries=bounds) for i in range(6)]
    audio = (rng.standard_normal((6, bounds[-1])) * 0.1).astype(np.float32)
    for k in (0, 1, 0, 1):
        got = rewards.batch_distances(batched, audio, k)
        assert got.tolist() == [c.distance(row, k) for c, row in zip(alone, audio)], k
        audio[1::2, : bounds[1]] *= 0.5  # rows 1, 3, 5 no longer follow: computed from scratch at step 1


def test_mfcc_frames_keep_the_bits_of_the_full_dct():
    """The single env's MFCC recomputes only the changed frames' DCT while the clip level stays:
    bit-identical to the whole product, through clip changes, where the BLAS check allows it."""
    from raveforce.rewards import features as F

    schedule = tuple((F.first_changed_frame(int(BOUNDARIES[k]), hop=F.HOP, n_fft=F.N_FFT), F.n_frames(int(BOUNDARIES[k + 1]), F.HOP)) for k in range(STEPS))
    reuse = F.dct_rows_reusable(schedule)
    rng = np.random.default_rng(5)
    db = np.zeros((schedule[-1][1], F.N_MELS))
    tracker, kept = F.MfccFrames(len(db)), 0
    for episode in range(3):
        tracker.clear()
        for k, (first, stop) in enumerate(schedule):
            db[first:stop] = rng.uniform(-90.0, -10.0 + (k % 4 == 1) * 12.0 * episode, (stop - first, F.N_MELS))  # louder now and then: a new clip level
            clip = tracker.clip
            got = tracker.update(db[:stop], first if k and reuse else 0)
            assert np.array_equal(got, F.mfcc_from_db(db[:stop]))
            kept += bool(k and reuse and tracker.clip == clip)  # this step kept the frames before `first`
    if not reuse:
        pytest.skip("this BLAS rounds a frame's DCT differently in smaller products: the full product is used")
    assert kept >= 10


def test_batched_mfcc_frames_keep_the_bits_of_the_full_dct():
    """The vector env's MFCC: three rows' changed frames at once, rows on different clip levels
    and one row starting over mid-episode, each to the bit of its whole product."""
    from raveforce.rewards import features as F

    schedule = tuple((F.first_changed_frame(int(BOUNDARIES[k]), hop=F.HOP, n_fft=F.N_FFT), F.n_frames(int(BOUNDARIES[k + 1]), F.HOP)) for k in range(STEPS))
    if not F.dct_rows_reusable(schedule):
        pytest.skip("this BLAS rounds a frame's DCT differently in smaller products: the full product is used")
    rng = np.random.default_rng(6)
    frames = schedule[-1][1]
    db = np.zeros((3, frames, F.N_MELS))
    mfcc, row_max, state = np.zeros((3, frames, F.N_MFCC)), np.zeros((3, frames)), np.array([[np.nan, 0.0]] * 3)
    for k, (first, stop) in enumerate(schedule):
        louder = np.array([0.0, 12.0 * (k % 3 == 1), 0.0])[:, None, None]  # row 1: a new clip level now and then
        db[:, first:stop] = rng.uniform(-90.0, -10.0, (3, stop - first, F.N_MELS)) + louder
        if k == 5:
            state[2, 1] = 0.0  # row 2 starts over (MfccFrames.clear): its frames are all recomputed
        got = F.mfcc_update_many(db[:, :stop], mfcc, row_max, state, first if k else 0)
        assert np.array_equal(got, F.mfcc_from_db_many(db[:, :stop])), k
    assert state[:, 1].tolist() == [frames] * 3
    # The frames before the first changed one are kept, not recomputed: a mark left in them stays,
    # except in a row that starts over.
    mfcc[:, 0, 0] = 1234.5
    state[1, 1] = 0.0
    got = F.mfcc_update_many(db, mfcc, row_max, state, frames - 2)
    assert got[:, 0, 0].tolist()[::2] == [1234.5, 1234.5] and got[1, 0, 0] != 1234.5


def test_signal_frames_are_the_centred_sliding_windows():
    from numpy.lib.stride_tricks import sliding_window_view

    from raveforce.rewards import features as F

    rows = np.zeros((2, 1024 + 5000 + 1536))
    for data in (rows[1], rows[:, ::1][1, ::-1]):  # contiguous, and reversed (strided)
        signal = F._Signal(5000, pad=1024, tail=1536)
        signal.data = data
        signal.write(0, np.arange(1.0, 4001.0))
        for first, stop in ((0, 8), (3, 8), (7, 8)):
            lo = 1024 + first * 512 - 1024
            want = sliding_window_view(data[lo : lo + (stop - first - 1) * 512 + 2048], 2048)[::512]
            got = signal.frames(first, stop, hop=512, n_fft=2048)
            assert got.shape == want.shape and np.array_equal(got, want) and not got.flags.writeable
        with pytest.raises(ValueError, match="outside the signal"):
            signal.frames(0, 20, hop=512, n_fft=2048)


def test_fast_library_calls_give_the_public_calls_bits():
    """The features call scipy's FFTs and scipy's sparse product without their Python
    dispatch (checked on probes at first use): equal to the public calls on other shapes too."""
    import scipy.fft

    from raveforce.rewards import features as F

    rng = np.random.default_rng(11)
    for shape in ((13, 2048), (1, 512), (3, 7, 1024), (45, 256)):
        x = rng.standard_normal(shape)
        spec = scipy.fft.rfft(x)
        assert np.array_equal(F.rfft(x), spec)
        assert np.array_equal(F.irfft(spec, shape[-1]), scipy.fft.irfft(spec, shape[-1]))
    basis = F.mel_basis(44100)
    power = rng.random((17, basis.shape[1]))
    assert np.array_equal(F._csr_product_call()(basis, power.T), basis @ power.T)


@pytest.mark.parametrize("sr", [22050, 44100, 48000])
def test_cqt_filters_equal_the_basis_times_the_rfft(sr):
    """The CQT frames go through one real product with the filters instead of an rfft and the
    sparse basis: energies within 1e-12 of sum |basis @ rfft(frame)[band]|**2, the same bits for
    a frame alone, with a neighbour, or among other rows (the batched and incremental paths)."""
    from raveforce.rewards import features as F

    plan = F.cqt_plan(sr)
    frames = np.random.default_rng(sr).standard_normal((3, 90, plan.n_fft)) * np.geomspace(1e-3, 1.0, 90)[:, None]
    want = np.sum(np.abs(np.fft.rfft(frames)[..., plan.band] @ plan.basis.T) ** 2, axis=-1)
    got = F.frame_energies(frames, 0, 90, plan.filters)
    assert got == pytest.approx(want, rel=1e-12, abs=0)
    for first, stop in ((0, 1), (89, 90), (5, 6), (3, 47), (40, 90)):
        assert np.array_equal(F.frame_energies(frames, first, stop, plan.filters), got[:, first:stop])
        assert np.array_equal(F.frame_energies(frames[1:2], first, stop, plan.filters), got[1:2, first:stop])
