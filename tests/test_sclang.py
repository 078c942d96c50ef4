"""The sclang quark path, against a real sclang started with `raveforce sclang FILE.scd`."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from conftest import play
from gymnasium.utils.env_checker import check_env

import raveforce
from raveforce.env import RaveForceEnv
from raveforce.envs import DrumLoopEnv
from raveforce.envs.sclang import SCLangEnv
from raveforce.errors import InvalidActionError, SCLangError, SCLangTimeoutError
from raveforce.synth import osc
from raveforce.synth.render import render_episode
from raveforce.synth.sclang import BackgroundServer, SCLangClient, free_udp_port
from raveforce.task import Control, Controls, Note, Task
from raveforce.tasks import DATA, DRUM_LOOP_PATTERN

pytestmark = pytest.mark.skipif(shutil.which("sclang") is None, reason="sclang is not installed")

QUARK = Path(__file__).resolve().parents[1] / "supercollider" / "RaveForce"
KICK = DATA / "kit" / "kick.wav"

TASKS_SCD = r"""
(
SynthDef(\sin, { |freq = 0.5, att = 0.01, rel = 0.49|
    var f = freq.linexp(0, 1, 20, 22000);
    OffsetOut.ar(0, SinOsc.ar(f) * Env.perc(att, rel).kr(2));
}).add;
RaveForce.start(Pbind(\instrument, \sin, \dur, 0.25), key: \freq, bpm: 60, steps: 4, name: \sine);
RaveForce.start(Pbind(\instrument, \sin, \dur, 0.5), key: [\freq, \rel -> [0.05, 0.4, \exp]], bpm: 120,
    steps: 3, name: \sine2);
SynthDef(\drum, { |out = 0, buf = 0, amp = 1|
    OffsetOut.ar(out, PlayBuf.ar(1, buf, BufRateScale.kr(buf), doneAction: 2) * amp);
}).add;
// Accents that change from step to step: the describe reply cannot list the notes once.
RaveForce.start(Pbind(\instrument, \drum, \dur, 0.25, \amp, Pseq([1, 0.5], inf)),
    key: \buf -> [[], [0], [1], [0, 2]], steps: 4, name: \accents,
    buffers: ["kick", "snare", "hat"].collect { |d| "RAVEFORCE_KIT".getenv +/+ d ++ ".wav" });
)
"""





def session_processes(sid: int, wait: float = 5.0) -> list[str]:
    """The live processes of session `sid` (sclang's), after waiting up to `wait` s for none."""
    deadline = time.monotonic() + wait
    while True:
        done = subprocess.run(["pgrep", "-a", "-s", str(sid)], capture_output=True, text=True)
        alive = [line for line in done.stdout.splitlines() if "<defunct>" not in line]  # dead, not yet reaped
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


class Served(BackgroundServer):
    """The launcher in the background; stopping it asserts it left no temp files."""

    def stop(self, sig: int = signal.SIGTERM) -> int:
        code = super().stop(sig)
        assert self.leftovers == [], f"temp files left: {self.leftovers}"
        return code


def spectral_peak(audio: np.ndarray, sample_rate: int) -> float:
    return float(np.argmax(np.abs(np.fft.rfft(audio))) * sample_rate / len(audio))


# --- whole episodes, against the core env --------------------------------------------------------


@pytest.mark.parametrize("mode", ["events", "sclang"])
def test_sine_episode_equals_core_render(tasks, mode):
    actions = [np.array([x], dtype=np.float32) for x in (0.1, 0.35, 0.6, 0.2)]
    env = gym.make("raveforce/SCLang-v0", name="sine", port=tasks.port, mode=mode, target=str(KICK))
    try:
        task = env.unwrapped.task
        assert env.action_space == gym.spaces.Box(0, 1, (1,), np.float32)
        assert (task.bpm, task.steps, task.beats_per_step, task.total_samples) == (60, 4, 0.25, 44100)
        obs, rewards = play(env, actions)
        # The core env, given the SynthDef sclang compiled and the notes the pattern plays:
        core_task = Task(name="sine", synthdefs=task.synthdefs, actions=Controls("sin", (Control("freq", 0, 1),)),
                         target=KICK, bpm=60, steps=4, beats_per_step=0.25)  # fmt: skip
        core = RaveForceEnv(core_task, renderer="nrt")
        expected, core_rewards = play(core, actions)
        core.close()
    finally:
        env.close()
    assert np.abs(expected).max() > 0.5
    assert np.abs(obs - expected).max() <= 1e-6
    np.testing.assert_allclose(rewards, core_rewards, rtol=1e-5)
    reference = render_episode(core_task, [(Note.of("sin", freq=float(a[0])),) for a in actions])
    assert spectral_peak(obs, 44100) == pytest.approx(spectral_peak(reference, 44100), rel=0.01)
    assert np.sqrt(np.mean(obs**2)) == pytest.approx(np.sqrt(np.mean(reference**2)), rel=0.01)


@pytest.mark.parametrize("mode", ["events", "sclang"])
def test_drum_loop_example_equals_core_drum_loop(drums, mode):
    env = gym.make("raveforce/SCLang-v0", name="drum_loop", port=drums.port, mode=mode)
    core = DrumLoopEnv()
    try:
        assert env.action_space == gym.spaces.Discrete(8)
        assert env.observation_space.shape == (88200,)
        obs, rewards = play(env, DRUM_LOOP_PATTERN)
        expected, core_rewards = play(core, DRUM_LOOP_PATTERN)
        other, _ = play(env, [3] * 16)  # a second episode on the same connection
    finally:
        env.close()
        core.close()
    assert np.abs(obs - expected).max() <= 1e-6
    np.testing.assert_allclose(rewards, core_rewards, atol=1e-6)
    assert np.abs(other - expected).max() > 0.1


def test_several_keys_and_several_tasks_in_one_sclang(tasks):
    env = SCLangEnv("sine2", port=tasks.port, target=str(KICK))
    try:
        task = env.task
        assert env.action_space == gym.spaces.Box(0, 1, (2,), np.float32)
        assert task.actions.controls == (Control("freq", 0, 1, "lin"), Control("rel", 0.05, 0.4, "exp"))
        assert (task.bpm, task.steps) == (120, 3)  # not the \sine task's
        actions = [np.array(a, dtype=np.float32) for a in ([0.2, 0.0], [0.5, 1.0], [0.3, 0.5])]
        obs, _ = play(env, actions)
        notes = [(Note.of("sin", freq=float(a[0]), rel=0.05 * 8 ** float(a[1])),) for a in actions]
        for step, a in enumerate(actions):  # sclang's own evaluation of the pattern agrees
            (note,) = env.client.events(step, [float(x) for x in a])
            assert note.synth == "sin" and dict(note.controls) == pytest.approx(dict(notes[step][0].controls))
    finally:
        env.close()
    assert np.abs(obs - render_episode(task, notes)).max() <= 1e-6


def test_notes_that_change_per_step_come_from_sclang_each_step(tasks):
    env = SCLangEnv("accents", port=tasks.port, target=str(KICK))
    try:
        assert env.description["direct"] is False
        obs, _ = play(env, [1, 1, 3, 0])
    finally:
        env.close()
    drum = env.task
    notes = [(Note.of("drum", buf=0, amp=1),), (Note.of("drum", buf=0, amp=0.5),),
             (Note.of("drum", buf=0, amp=1), Note.of("drum", buf=2, amp=1)), ()]  # fmt: skip
    expected = render_episode(drum, notes)
    assert np.abs(obs - expected).max() <= 1e-6
    unaccented = render_episode(drum, [tuple(Note.of("drum", buf=dict(n.controls)["buf"]) for n in step) for step in notes])
    assert np.abs(obs - unaccented).max() > 0.1


def test_rest_only_steps_render_silence_in_sclang(drums):
    env = SCLangEnv("drum_loop", port=drums.port, mode="sclang")
    try:
        obs, _ = play(env, [0] * 15 + [1])
    finally:
        env.close()
    assert np.all(obs[: 15 * 5512] == 0)
    assert np.abs(obs[82688:]).max() > 0.1


@pytest.mark.parametrize("name,mode", [("sine", "events"), ("accents", "events"), ("sine", "sclang")])
def test_check_env(tasks, name, mode):
    env = gym.make("raveforce/SCLang-v0", name=name, port=tasks.port, mode=mode, target=str(KICK))
    try:
        check_env(env.unwrapped)
    finally:
        env.close()


def test_bad_actions_are_rejected_before_sending(tasks):
    env = SCLangEnv("sine", port=tasks.port, mode="sclang", target=str(KICK))
    try:
        env.reset(seed=0)
        with pytest.raises(InvalidActionError, match=r"1\.5"):
            env.step(np.array([1.5], dtype=np.float32))
        env.step(np.array([0.5], dtype=np.float32))  # the episode goes on at step 0
    finally:
        env.close()


# --- errors --------------------------------------------------------------------------------------


def test_errors_from_sclang_carry_its_message(tasks):
    client = SCLangClient("accents", port=tasks.port, timeout=5)
    try:
        with pytest.raises(SCLangError, match=r"action 9 for key 'buf' is not an integer from 0 to 3"):
            client.request("events", 0, 9)
        with pytest.raises(SCLangError, match=r"step 7 is not an integer from 0 to 3"):
            client.request("events", 7, 1)
        with pytest.raises(SCLangError, match=r"step 2 out of order"):
            client.request("reset")
            client.request("step", 2, 1)
    finally:
        client.close()
    with pytest.raises(SCLangError, match=r"no task named nosuch.*accents.*sine"):
        SCLangEnv("nosuch", port=tasks.port, target=str(KICK))
    with pytest.raises(SCLangError, match=r"task 'sine' has no target: pass target="):
        SCLangEnv("sine", port=tasks.port)


def test_malformed_messages_get_error_replies_and_sclang_keeps_serving(tasks):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.connect(("127.0.0.1", tasks.port))
        s.send(b"not OSC at all\x00\x00")  # sclang drops what it cannot parse
        s.send(osc.message("/raveforce/describe", "seven", "sine"))  # a string where the id goes
        address, args = osc.parse_message(s.recv(1 << 16))
        assert address == "/raveforce/error" and args[0] == -1
        assert "first argument must be an integer request id" in args[1]
        s.send(osc.message("/raveforce/describe", 7))  # no task name
        address, args = osc.parse_message(s.recv(1 << 16))
        assert (address, args[0]) == ("/raveforce/error", 7) and "no task named nil" in args[1]
    client = SCLangClient("sine", port=tasks.port)
    assert client.describe()[0]["name"] == "sine"
    client.close()


def test_dead_sclang_gives_a_clear_error():
    port = free_udp_port()
    start = time.monotonic()
    with pytest.raises(SCLangError, match=rf"nothing listens at 127.0.0.1:{port}.*task 'sine'.*raveforce sclang"):
        SCLangEnv("sine", port=port, timeout=5)
    assert time.monotonic() - start < 1


def test_timeout_gives_a_clear_error():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # listens, never answers
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        start = time.monotonic()
        with pytest.raises(SCLangTimeoutError, match=rf"no reply from sclang at 127.0.0.1:{port} .* 'sine' within 0.3 s.*raveforce sclang"):
            SCLangEnv("sine", port=port, timeout=0.3)
        assert 0.3 <= time.monotonic() - start < 1.5


def test_sclang_that_dies_mid_episode(tmp_path):
    file = tmp_path / "t.scd"
    file.write_text(TASKS_SCD)
    served = Served(file)
    env = SCLangEnv("sine", port=served.port, mode="sclang", target=str(KICK), timeout=2)
    try:
        env.reset(seed=0)
        env.step(np.array([0.5], dtype=np.float32))
        served.stop()
        with pytest.raises(SCLangError, match=rf"127.0.0.1:{served.port}.*'sine'"):
            env.step(np.array([0.5], dtype=np.float32))
    finally:
        env.close()
    assert session_processes(served.sclang_pid) == []


# --- the launcher ----------------------------------------------------------------------------------


def run_launcher(file: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "raveforce", "sclang", str(file), "--port", str(free_udp_port())],
        capture_output=True, text=True, timeout=timeout, start_new_session=True,
    )  # fmt: skip


@pytest.mark.parametrize(
    "code,messages",
    [
        ("(\nvar x = 1\nRaveForce.start(;\n)\n", ["syntax error", "does not compile"]),
        ("RaveForce.start(Pbind(), key: 3);\n", ["raised", "key: 3 is not a Symbol"]),
        ("SynthDef(\\x, { OffsetOut.ar(0, DC.ar(0)) }).add;\n", ["started no RaveForce task"]),
        ("RaveForce.start(Pbind(\\instrument, \\nope, \\dur, 0.25), key: \\freq);\n", ["SynthDef 'nope' is not known"]),
    ],
)
def test_launcher_surfaces_sclang_errors(tmp_path, code, messages):
    file = tmp_path / "bad.scd"
    file.write_text(code)
    done = run_launcher(file)
    assert done.returncode == 1
    for message in messages:
        assert message in done.stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])  # SIGHUP: its terminal closed
def test_launcher_stops_cleanly(tmp_path, sig):
    file = tmp_path / "t.scd"
    file.write_text(TASKS_SCD)
    # The launcher as a terminal starts it, SIGHUP at its default: under `nohup make test` it would
    # inherit SIGHUP ignored, and then (by design, as nohup asks) not stop on it.
    hup = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        served = Served(file)
    finally:
        signal.signal(signal.SIGHUP, signal.SIG_DFL if hup is None else hup)  # None: set outside Python
    with contextlib.closing(SCLangEnv("sine", port=served.port, mode="sclang", target=str(KICK))) as env:
        env.reset(seed=0)
        env.step(np.array([0.5], dtype=np.float32))  # leaves a render file in sclang's temp dir
    assert served.stop(sig) == 0
    assert "stopping sclang" in "".join(served.lines)
    assert session_processes(served.sclang_pid) == []


def test_a_launcher_killed_before_its_cleanup_leaves_no_sclang(tmp_path):
    """sclang runs in a session of its own; a launcher killed by a signal it does not handle
    (here SIGUSR1; after stop()'s 15 s, SIGKILL) cannot stop it: BackgroundServer.stop() does."""
    file = tmp_path / "t.scd"
    file.write_text(TASKS_SCD)
    server = BackgroundServer(file)
    assert session_processes(server.sclang_pid, wait=0) != []
    assert server.stop(signal.SIGUSR1) == -signal.SIGUSR1
    assert session_processes(server.sclang_pid) == []


def test_launcher_refuses_a_busy_port(tasks, tmp_path):
    file = tmp_path / "t.scd"
    file.write_text(TASKS_SCD)
    done = subprocess.run(
        [sys.executable, "-m", "raveforce", "sclang", str(file), "--port", str(tasks.port)],
        capture_output=True, text=True, timeout=60, start_new_session=True,
    )  # fmt: skip
    assert done.returncode == 1
    assert f"UDP port {tasks.port} is in use" in done.stdout


def test_registered():
    assert "raveforce/SCLang-v0" in raveforce.ENVS
