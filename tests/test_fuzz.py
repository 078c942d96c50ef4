"""Fuzzing with hypothesis: actions, constructor arguments, targets and OSC messages to the quark.

Every case either works as documented (finite rewards, audio) or raises the library's own error
(a `RaveForceError` subclass) with the bad value in its message; never another exception, a
hang, a dead or leaking scsynth/sclang, or a NaN reward. Bounded: small max_examples, fixed seeds
(`derandomize`), no example database, envs reused across examples.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import time

import gymnasium as gym
import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import soundfile
from conftest import scsynth_children
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from raveforce import rewards
from raveforce.env import RaveForceEnv
from raveforce.errors import RaveForceError, TargetError
from raveforce.synth import osc
from raveforce.synth.render import render_episode
from raveforce.tasks import DRUM_LOOP, DRUM_LOOP_PATTERN


def fuzz(n: int):
    return settings(
        max_examples=n, deadline=None, derandomize=True, database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )  # fmt: skip


def mentions(message: str, value) -> bool:
    """Whether an error message repeats the bad value (as repr, str or the integer it stands for)."""
    shown = {repr(value), str(value)}
    try:
        shown.add(str(int(value)))
    except (TypeError, ValueError, OverflowError):
        pass
    if isinstance(value, np.ndarray) and value.size:
        shown.add(str(value.flat[0]))
    return any(s and s in message for s in shown)


# --- actions ------------------------------------------------------------------------------------------

ANY_SHAPE = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
actions = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(max_magnitude=10),
    st.booleans(), st.none(), st.text(max_size=4), st.binary(max_size=4),
    st.lists(st.integers(-3, 10), max_size=3),
    hnp.arrays(hnp.scalar_dtypes(), ANY_SHAPE),
    hnp.arrays(st.sampled_from([np.int8, np.uint8, np.int64, np.uint64, np.float16, np.float32, np.float64]), st.sampled_from([(), (1,), (2,)])),
    hnp.from_dtype(np.dtype(np.float32)).map(np.float32),
    st.integers(-2, 10).map(np.int16),
)  # fmt: skip


@pytest.fixture(scope="module")
def drum_env():
    env = gym.make("raveforce/DrumLoop-v0", reward="mfcc")
    env.reset(seed=0)
    yield env
    env.close()
    assert scsynth_children() == []


@pytest.fixture(scope="module")
def kick_env():
    env = gym.make("raveforce/KickFrequency-v0", reward="stft")
    env.reset(seed=0)
    yield env
    env.close()


def step_or_reject(env, action, valid: bool) -> None:
    """Step with `action`: a valid one gives finite audio and reward, an invalid one an
    InvalidActionError naming it that leaves the episode where it was."""
    base = env.unwrapped
    if base._step is None:  # an earlier example ended the episode
        env.reset()
    before = len(base.episode_rewards)
    try:
        obs, reward, terminated, truncated, _ = env.step(action)
    except RaveForceError as exc:
        assert not valid, f"valid action {action!r} rejected: {exc}"
        assert type(exc).__name__ == "InvalidActionError"
        assert mentions(str(exc), action), f"the message {str(exc)!r} does not repeat {action!r}"
        assert len(base.episode_rewards) == before
        return
    assert valid, f"invalid action {action!r} was accepted"
    assert math.isfinite(reward) and np.all(np.isfinite(obs))
    if terminated:
        env.reset()


def _discrete_valid(a, n: int) -> bool:
    x = np.asarray(a) if not isinstance(a, (str, bytes, list)) or isinstance(a, list) else None
    if x is None or x.shape != () or x.dtype == bool:
        return False
    if x.dtype.kind in "iu":
        return 0 <= int(x) < n
    if x.dtype.kind == "f":
        return bool(np.isfinite(x)) and float(x).is_integer() and 0 <= float(x) < n
    return False


@fuzz(250)
@given(action=st.one_of(actions, st.integers(-1, 8)))
@example(action=np.float64(3.0))
@example(action=np.uint64(2**63))
@example(action=float("nan"))
def test_fuzz_discrete_actions(drum_env, action):
    step_or_reject(drum_env, action, _discrete_valid(action, 8))


def _box_valid(a) -> bool:
    if isinstance(a, (str, bytes)) or a is None:
        return False
    try:
        x = np.asarray(a)
    except Exception:
        return False
    if x.dtype.kind not in "biuf" or x.shape != (1,):
        return False
    x = x.astype(np.float64)
    return bool(np.all(np.isfinite(x)) and np.all((x >= 0) & (x <= 1)))


@fuzz(200)
@given(action=st.one_of(actions, hnp.arrays(np.float32, (1,), elements=st.floats(-0.5, 1.5, width=32))))
@example(action=np.array([np.nan], np.float32))
@example(action=np.array([1 + 0j]))
@example(action=[0.5])
def test_fuzz_box_actions(kick_env, action):
    step_or_reject(kick_env, action, _box_valid(action))


# --- constructor arguments --------------------------------------------------------------------------

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**9), 10**9),
    st.booleans(), st.none(), st.text(max_size=3), st.just([120]),
)  # fmt: skip


@fuzz(60)
@given(
    bpm=st.one_of(numbers, st.floats(1, 2000), st.sampled_from([0, -120, 1e308, 10**7, 90.5])),
    steps=st.one_of(numbers, st.integers(-2, 64), st.sampled_from([0, 10**9])),
    sample_rate=st.one_of(numbers, st.sampled_from([8000, 11025, 22050, 48000, 96000, 192000, 12345, 1000, 999, 768000, 768001])),
    timeout=st.one_of(st.just(10.0), numbers),
)
@example(bpm=0, steps=16, sample_rate=44100, timeout=10.0)
@example(bpm=-1.0, steps=16, sample_rate=44100, timeout=10.0)
@example(bpm=1e12, steps=16, sample_rate=44100, timeout=10.0)
@example(bpm=120, steps=0, sample_rate=44100, timeout=10.0)
@example(bpm=120, steps=16, sample_rate=8000, timeout=10.0)
@example(bpm=120, steps=4, sample_rate=192000, timeout=10.0)
@example(bpm=120, steps=16, sample_rate=44100, timeout=float("nan"))
def test_fuzz_constructor_arguments(bpm, steps, sample_rate, timeout):
    kwargs = {"bpm": bpm, "steps": steps, "sample_rate": sample_rate, "timeout": timeout}
    try:
        seconds = steps * 0.25 * 60 / bpm
        assume(not (30 < seconds <= 3600))  # valid but long episodes: too slow for a test
    except (TypeError, ZeroDivisionError, OverflowError):
        pass
    try:
        env = gym.make("raveforce/DrumLoop-v0", **kwargs)
    except RaveForceError as exc:
        assert isinstance(exc, (ValueError, TypeError))  # ArgumentError: also a ValueError
        assert any(f"{name}={value!r}" in str(exc) for name, value in kwargs.items()) or "samples" in str(exc) or "hour" in str(exc), str(exc)
        return
    try:
        task = env.unwrapped.task
        assert (task.bpm, task.steps, task.sample_rate) == (bpm, steps, sample_rate)
        obs, _ = env.reset(seed=0)
        assert obs.shape == (task.total_samples,)
        for a in DRUM_LOOP_PATTERN[: min(steps, 3)]:
            obs, reward, *_ = env.step(a)
            assert math.isfinite(reward) and np.all(np.isfinite(obs))
        assert np.abs(obs).max() > 0.01
    finally:
        env.close()


@fuzz(15)
@given(
    bpm=st.floats(20, 3000),
    steps=st.integers(1, 40),
    sample_rate=st.sampled_from([8000, 11025, 16000, 22050, 32000, 48000, 96000, 192000, 12345, 44101]),
    reward=st.sampled_from(["mse", "mfcc", "stft", "cqt"]),
)
def test_fuzz_valid_grids_render_and_reward(bpm, steps, sample_rate, reward):
    """Odd tempos, lengths and sample rates: an episode that sounds, finite rewards, or a clear error."""
    try:
        env = gym.make("raveforce/DrumLoop-v0", bpm=bpm, steps=steps, sample_rate=sample_rate, reward=reward)
    except RaveForceError as exc:
        assert "samples" in str(exc) and "bpm" in str(exc), str(exc)  # steps shorter than 128 samples
        return
    try:
        task = env.unwrapped.task
        assume(task.total_seconds <= 30)
        env.reset(seed=0)
        pattern = (DRUM_LOOP_PATTERN * 3)[:steps]
        for a in pattern:
            obs, reward_value, *_ = env.step(a)
            assert math.isfinite(reward_value)
        assert np.all(np.isfinite(obs)) and np.abs(obs).max() > 0.01
    finally:
        env.close()


# --- targets ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def optimum():
    return render_episode(DRUM_LOOP, [DRUM_LOOP.actions.notes(a) for a in DRUM_LOOP_PATTERN])


def rewards_of(env, audio: np.ndarray) -> list[float]:
    """The rewards of an episode whose audio is `audio` (the criterion env.step uses, step by step)."""
    criterion, bounds = env.reward_criterion, env.task.boundaries
    criterion.reset()
    observed = np.zeros_like(audio)
    out = []
    for k in range(env.task.steps):
        observed[bounds[k] : bounds[k + 1]] = audio[bounds[k] : bounds[k + 1]]
        out.append(0.0 - float(criterion.distance(observed, k)))
    return out


def check_target(target, optimum) -> None:
    """Every reward in the registry works with `target` (finite rewards) or it raises TargetError."""
    for name in rewards.available():
        try:
            env = RaveForceEnv(DRUM_LOOP, target=target, reward=name)
        except TargetError as exc:
            assert str(exc)
            return
        try:
            got = rewards_of(env, optimum)
            assert np.all(np.isfinite(got)), f"reward {name}: {got}"
            assert np.all(np.isfinite(env.target))
        finally:
            env.close()


samples = hnp.arrays(
    np.float64,
    st.one_of(st.tuples(st.integers(0, 3000)), st.tuples(st.integers(0, 300), st.integers(1, 8))),
    elements=st.one_of(st.floats(-1, 1), st.floats(allow_nan=True, allow_infinity=True, width=32)),
)
rates = st.one_of(st.sampled_from([8000, 22050, 44100, 48000, 192000, 1000, 768000]), st.integers(-5, 10**6), st.floats(), st.none())


@fuzz(40)
@given(audio=samples, rate=rates)
def test_fuzz_target_arrays(audio, rate, optimum):
    check_target((audio, rate), optimum)


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: (np.zeros(0), 44100),  # empty
        lambda rng: (np.ones(1), 44100),  # one sample
        lambda rng: (np.array([0.1, np.nan, 0.2]), 44100),  # NaN samples
        lambda rng: (rng.standard_normal((44100, 8)) * 0.1, 44100),  # 8 channels
        lambda rng: (rng.standard_normal(16000) * 0.1, 8000),  # 8 kHz
        lambda rng: (rng.standard_normal(384000) * 0.1, 192000),  # 192 kHz
        lambda rng: (np.full(88200, 3e38, np.float32), 44100),  # the largest float32 samples
        lambda rng: ("not audio", 44100),
        lambda rng: ({"samples": [0.0]}, 44100),
        lambda rng: object(),
    ],
)
def test_edge_targets(make, optimum, rng):
    check_target(make(rng), optimum)


@pytest.mark.parametrize("kind", ["8ch-8k", "192k", "text", "random bytes", "empty file", "directory", "ten minutes"])
def test_target_files(kind, tmp_path, optimum, rng):
    path = tmp_path / "target.wav"
    if kind == "8ch-8k":
        soundfile.write(path, rng.standard_normal((16000, 8)).astype(np.float32) * 0.1, 8000, subtype="FLOAT")
    elif kind == "192k":
        soundfile.write(path, rng.standard_normal(384000).astype(np.float32) * 0.1, 192000, subtype="FLOAT")
    elif kind == "text":
        path.write_text("RIFF but not really a wave file")
    elif kind == "random bytes":
        path.write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    elif kind == "empty file":
        path.write_bytes(b"")
    elif kind == "directory":
        path.mkdir()
    elif kind == "ten minutes":
        soundfile.write(path, np.zeros(600 * 8000, np.int16), 8000, subtype="PCM_16")  # 10 min (small: 8 kHz, 16 bit)
    start = time.monotonic()
    check_target(str(path), optimum)
    assert time.monotonic() - start < 30


def test_ten_minute_target_costs_what_the_episode_uses(optimum):
    """A 10-minute target at 192 kHz: only the episode's 2 s are read, checked and resampled."""
    long = np.zeros(600 * 192000, np.float32)
    long[: 192000 * 2] = np.resize(optimum, 192000 * 2)  # not a faithful resampling: just some sound
    long[-1] = np.nan  # past the episode: never looked at
    start = time.monotonic()
    env = RaveForceEnv(DRUM_LOOP, target=(long, 192000), reward="mse")
    assert time.monotonic() - start < 2
    assert np.all(np.isfinite(env.target)) and np.abs(env.target).max() > 0.1
    env.close()


# --- OSC messages to the quark ---------------------------------------------------------------------

COMMANDS = ["describe", "make", "reset", "step", "events", "close"]
osc_args = st.lists(
    st.one_of(st.integers(-(2**31), 2**31 - 1), st.floats(width=32, allow_nan=True), st.text(max_size=12), st.binary(max_size=16)),
    max_size=5,
)


@pytest.fixture(scope="module")
def quark(tmp_path_factory):
    if shutil.which("sclang") is None:
        pytest.skip("sclang is not installed")
    from test_sclang import TASKS_SCD, Served, session_processes

    file = tmp_path_factory.mktemp("scd") / "tasks.scd"
    file.write_text(TASKS_SCD)
    served = Served(file)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", served.port))
    yield served, sock
    sock.close()
    assert served.stop() == 0
    assert session_processes(served.sclang_pid) == []


def drain(sock: socket.socket) -> None:
    sock.setblocking(False)
    try:
        while True:
            sock.recv(1 << 16)
    except (BlockingIOError, ConnectionRefusedError):
        pass
    finally:
        sock.setblocking(True)


def reply_to(sock: socket.socket, request_id: int, timeout: float = 5.0):
    """The quark's reply (address, args) to request `request_id`, or None after `timeout`."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            address, args = osc.parse_message(sock.recv(1 << 16))
        except socket.timeout:
            return None
        if args[:1] in ([request_id], [-1]):
            return address, args
    return None


@fuzz(120)
@given(
    command=st.one_of(st.sampled_from(COMMANDS), st.text(max_size=8)),
    request_id=st.one_of(st.integers(-(2**31), 2**31 - 1), st.text(max_size=4), st.floats(width=32), st.binary(max_size=4)),
    name=st.one_of(st.sampled_from(["sine", "sine2", "accents"]), st.text(max_size=8), st.integers(), st.binary(max_size=8)),
    args=osc_args,
    junk=st.one_of(st.none(), st.binary(max_size=64)),
)
@example(command="step", request_id=7, name="sine", args=[0, 0.5], junk=None)
@example(command="events", request_id=8, name="accents", args=[0, "x"], junk=None)
@example(command="events", request_id=9, name="sine2", args=[2**31 - 1, float("nan"), b"\x00"], junk=None)
@example(command="describe", request_id=10, name=b"sine", args=[], junk=b"#bundle\x00")
def test_fuzz_osc_messages_to_the_quark(quark, command, request_id, name, args, junk):
    served, sock = quark
    drain(sock)
    if junk is not None:
        sock.send(junk)
    try:
        sock.send(osc.message(f"/raveforce/{command}", request_id, name, *args))
    except OSError:  # larger than a datagram can be: nothing was sent
        assume(False)
    if command in COMMANDS and isinstance(request_id, int):
        got = reply_to(sock, request_id)
        assert got is not None, f"no reply to /raveforce/{command} {request_id} {name!r} {args!r}"
        address, reply = got
        assert address in ("/raveforce/ok", "/raveforce/error")
        if address == "/raveforce/error":
            assert isinstance(reply[1], str) and reply[1]
    assert served.process.poll() is None and os.path.exists(f"/proc/{served.sclang_pid}")


def test_quark_keeps_serving_after_the_fuzz(quark):
    served, sock = quark
    for size in (0, 1, 3, 7, 1000, 60000):
        sock.send(np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes())
    drain(sock)
    env = gym.make("raveforce/SCLang-v0", name="accents", port=served.port, target=str(DRUM_LOOP.buffers[0]))
    try:
        env.reset(seed=0)
        for a in (1, 3, 2, 0):
            _, reward, *_ = env.step(a)
            assert math.isfinite(reward)
    finally:
        env.close()
    # sclang itself reports datagrams it cannot parse ("OSC messages must have type tags") and drops
    # them; any other ERROR would be an error the quark did not catch and reply with.
    errors = [line for line in served.lines if line.startswith("ERROR") and "must have type tags" not in line]
    assert not errors, "".join(errors[:10])


def test_target_that_overflows_float32_when_resampled_is_a_target_error(optimum):
    """Found by test_fuzz_target_arrays: 1.9e36 at 8 kHz overshoots float32 once resampled."""
    with pytest.raises(TargetError, match=r"peak 1.9e\+36 at 8000 Hz\) does not fit float32"):
        RaveForceEnv(DRUM_LOOP, target=(np.full(3000, 1.90158698e36), 8000), reward="mse")
    check_target((np.full(3000, 1.90158698e36), 8000), optimum)
