"""Fault injection with real processes: every fault gives a clear RaveForce error within a bounded
time, the env recovers on the next reset(), and nothing is left running or on disk.

Faults already covered elsewhere (not repeated here): scsynth SIGKILLed mid-episode and SIGSTOPped
past the timeout in a single env (test_env.py), a dead scsynth in a vector env (test_vector.py),
FAILURE lines and a full node table (test_render.py), a dead or silent sclang port and sclang
stopped between steps (test_sclang.py).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import stat
import tempfile
import threading
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from conftest import play, scsynth_children

from raveforce.envs.sclang import SCLangEnv
from raveforce.errors import EpisodeError, RaveForceError, SCLangError, SCLangTimeoutError, ScsynthError
from raveforce.synth import osc
from raveforce.synth.render import render_episode
from raveforce.synth.sclang import SCLangClient
from raveforce.synth.scsynth import find_scsynth
from raveforce.tasks import DRUM_LOOP, DRUM_LOOP_PATTERN

HAVE_SCLANG = shutil.which("sclang") is not None
needs_sclang = pytest.mark.skipif(not HAVE_SCLANG, reason="sclang is not installed")


@pytest.fixture(scope="module")
def optimum_audio():
    """The drum loop's optimum, rendered once in one go (the reference)."""
    return render_episode(DRUM_LOOP, [DRUM_LOOP.actions.notes(a) for a in DRUM_LOOP_PATTERN])


def gone(pid: int, wait: float = 5.0) -> bool:
    """Whether process `pid` has exited and been reaped (no zombie left)."""
    deadline = time.monotonic() + wait
    while os.path.exists(f"/proc/{pid}"):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def stop(pid: int) -> None:
    """SIGSTOP `pid` and wait until it is stopped (the signal is delivered asynchronously)."""
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + 5
    while "\nState:\tT" not in Path(f"/proc/{pid}/status").read_text() and time.monotonic() < deadline:
        time.sleep(0.005)


def stream_of(env):
    return env.unwrapped._renderer._stream


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """RaveForce's temp dirs land here, so a test can see (and break) them."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


def wrapper(tmp_path: Path, name: str, body: str) -> str:
    """An executable shell script standing in for scsynth (a real process misbehaving)."""
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\necho $$ > {tmp_path / 'pid'}\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


# --- scsynth --------------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSTOP])
def test_faulty_scsynth_in_a_vector_env_is_named_bounded_and_recovered(sig, rng):
    actions = rng.integers(0, 8, (16, 4))
    # 2 s: a loaded machine (parallel test workers) can take over 0.5 s to start a scsynth
    envs = gym.make_vec("raveforce/DrumLoop-v0", num_envs=4, vectorization_mode="vector_entry_point", processes=2, reward="mse", timeout=2.0)
    try:
        envs.reset(seed=0)
        envs.step(actions[0])
        victim = envs._groups[1]._stream._process
        stop(victim.pid) if sig == signal.SIGSTOP else victim.send_signal(sig)
        start = time.monotonic()
        with pytest.raises(RaveForceError, match=r"sub-environments 2-3 failed at step 1.*scsynth 2 of 2") as caught:
            envs.step(actions[1])
        elapsed = time.monotonic() - start
        assert caught.value.indices == (2, 3)
        assert elapsed < (3.0 if sig == signal.SIGSTOP else 0.5)  # the timeout (2 s) bounds a hang
        if sig == signal.SIGSTOP:
            assert "timeout" in str(caught.value)
        assert gone(victim.pid)  # the hung scsynth was killed and reaped
        with pytest.raises(EpisodeError):
            envs.step(actions[2])
        obs, _ = play(envs, actions)
        single = gym.make("raveforce/DrumLoop-v0", reward="mse")
        alone, _ = play(single, actions[:, 3])
        single.close()
        assert np.array_equal(obs[3], alone)
    finally:
        envs.close()
    assert scsynth_children() == []


def test_hung_one_shot_scsynth_times_out_and_is_killed(tmp_path, private_tmp):
    """renderer="nrt": a scsynth that stops itself before rendering hits the timeout, is killed."""
    stopped = wrapper(tmp_path, "scsynth-stopped", f'kill -STOP $$; exec {find_scsynth()} "$@"')
    env = gym.make("raveforce/DrumLoop-v0", renderer="nrt", scsynth=stopped, timeout=0.5)
    try:
        env.reset(seed=0)
        start = time.monotonic()
        with pytest.raises(ScsynthError, match=r"did not finish .* within 0.5 s"):
            env.step(1)
        assert time.monotonic() - start < 2
        assert gone(int((tmp_path / "pid").read_text()))
    finally:
        env.close()
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize(
    "body,message",
    [
        ("echo 'exec format error: not scsynth'; exit 3", r"exited with code 3.*not scsynth"),
        ("exec sleep 30", r"timeout"),  # starts, never opens the FIFO, never renders
    ],
)
def test_scsynth_that_fails_to_start_or_hangs_at_start(tmp_path, private_tmp, body, message):
    env = gym.make("raveforce/DrumLoop-v0", scsynth=wrapper(tmp_path, "scsynth-bad", body), timeout=0.5)
    try:
        start = time.monotonic()
        with pytest.raises(ScsynthError, match=message):
            env.reset(seed=0)
        assert time.monotonic() - start < 2
        assert list(private_tmp.iterdir()) == []  # the failed start's FIFO and temp dir are gone
    finally:
        env.close()
    assert scsynth_children() == [] and gone(int((tmp_path / "pid").read_text()))


def test_fifo_and_temp_dir_removed_under_a_running_env(private_tmp, optimum_audio):
    """An open FIFO outlives its name: the episode goes on, bit-exact, and close() still cleans up."""
    env = gym.make("raveforce/DrumLoop-v0", reward="mse")
    try:
        env.reset(seed=0)
        for a in DRUM_LOOP_PATTERN[:5]:
            env.step(a)
        stream = stream_of(env)
        os.unlink(Path(stream._tmpdir, "out.raw"))
        for a in DRUM_LOOP_PATTERN[5:10]:
            env.step(a)
        shutil.rmtree(stream._tmpdir)
        for a in DRUM_LOOP_PATTERN[10:]:
            obs, reward, *_ = env.step(a)
        assert np.abs(obs - optimum_audio).max() <= 1e-6 and abs(reward) < 1e-9
        obs, _ = play(env, DRUM_LOOP_PATTERN)  # the next episode on the same scsynth
        assert np.abs(obs - optimum_audio).max() <= 1e-6
    finally:
        env.close()
    assert list(private_tmp.iterdir()) == [] and scsynth_children() == []


def test_temp_root_removed_gives_a_clear_error_and_recovers(tmp_path, monkeypatch):
    root = tmp_path / "gone"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    env = gym.make("raveforce/DrumLoop-v0", reward="mse")
    try:
        env.reset(seed=0)
        env.step(1)
        stream_of(env)._process.kill()
        shutil.rmtree(root)
        with pytest.raises(ScsynthError):
            env.step(1)
        with pytest.raises(ScsynthError, match=str(root)):  # no place for scsynth's FIFO
            env.reset(seed=0)
        root.mkdir()
        _, rewards = play(env, DRUM_LOOP_PATTERN)
        assert max(abs(r) for r in rewards) < 1e-9
    finally:
        env.close()
    assert list(root.iterdir()) == [] and scsynth_children() == []


# --- sclang ---------------------------------------------------------------------------------------


class Relay:
    """A UDP relay between clients and sclang on loopback that can lose replies or add garbage."""

    def __init__(self, upstream_port: int) -> None:
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.port = self.front.getsockname()[1]
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.connect(("127.0.0.1", upstream_port))
        self.lose = set()  # addresses whose next reply is lost, e.g. {"/raveforce/ok"}
        self.garbage: list[bytes] = []  # sent to the client before each reply
        self.lost: list[str] = []
        self._client = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.front, self.back], [], [], 0.05)
            for sock in ready:
                try:
                    data, address = sock.recvfrom(1 << 16)
                except OSError:
                    continue
                if sock is self.front:
                    self._client = address
                    self.back.send(data)
                    continue
                reply = osc.parse_message(data)[0]
                if reply in self.lose:
                    self.lose.discard(reply)
                    self.lost.append(reply)
                    continue
                for g in self.garbage:
                    self.front.sendto(g, self._client)
                self.front.sendto(data, self._client)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.front.close()
        self.back.close()




KICK = DRUM_LOOP.buffers[0]


@needs_sclang
def test_lost_reply_times_out_then_reset_recovers(tasks):
    """A lost `events` reply (notes asked per step): a timeout error, the episode ends, reset() recovers."""
    relay = Relay(tasks.port)
    env = SCLangEnv("accents", port=relay.port, target=str(KICK), timeout=1.0)  # also scsynth's: 0.5 s is short under load
    try:
        expected, _ = play(env, [1, 3, 2, 1])
        env.reset(seed=0)
        env.step(1)
        relay.lose.add("/raveforce/ok")
        start = time.monotonic()
        with pytest.raises(SCLangTimeoutError, match=r"/raveforce/events .*within 1 s"):
            env.step(3)
        assert 1.0 <= time.monotonic() - start < 2.5 and relay.lost == ["/raveforce/ok"]
        with pytest.raises(EpisodeError):  # the episode ended with the failure
            env.step(3)
        obs, _ = play(env, [1, 3, 2, 1])  # the late reply, if any, is skipped
        assert np.array_equal(obs, expected)
    finally:
        env.close()
        relay.close()


@needs_sclang
def test_garbage_datagrams_from_sclangs_address_are_skipped(tasks):
    relay = Relay(tasks.port)
    relay.garbage = [b"", b"\x00" * 7, b"not OSC", b"/raveforce/ok\x00\x00\x00,i\x00\x00", osc.message("/raveforce/ok", "x"),
                     b"/raveforce/ok\x00\x00\x00,b\x00\x00\x7f\xff\xff\xff", osc.message("/raveforce/error")]  # fmt: skip
    client = SCLangClient("sine", port=relay.port, timeout=2)
    try:
        assert client.describe()[0]["name"] == "sine"
        client.request("reset")
        assert client.events(0, [0.5])[0].synth == "sin"
    finally:
        client.close()
        relay.close()


@needs_sclang
def test_stopped_sclang_times_out_and_recovers_when_resumed(tasks):
    seen = len(tasks.lines)  # the session's sclang: earlier tests' lines are not this one's
    env = SCLangEnv("sine", port=tasks.port, mode="sclang", target=str(KICK), timeout=0.5)
    try:
        env.reset(seed=0)
        stop(tasks.sclang_pid)
        try:
            start = time.monotonic()
            with pytest.raises(SCLangTimeoutError, match="within 0.5 s"):
                env.reset(seed=0)
            assert time.monotonic() - start < 1.5
        finally:
            os.kill(tasks.sclang_pid, signal.SIGCONT)
        obs, rewards = play(env, [np.array([x], np.float32) for x in (0.1, 0.2, 0.3, 0.4)])
        assert np.abs(obs).max() > 0.1 and np.all(np.isfinite(rewards))
    finally:
        env.close()
    assert not [line for line in tasks.lines[seen:] if "ERROR" in line]  # the client's liveness probes are ignored


@needs_sclang
def test_sclang_killed_mid_step_then_restarted(tmp_path):
    """SIGKILL to sclang while it renders a step: an error at once, no scsynth left; a new sclang
    on the same port serves the same env after reset()."""
    from test_sclang import TASKS_SCD, Served, session_processes

    file = tmp_path / "t.scd"
    file.write_text(TASKS_SCD)
    served = Served(file)
    again = None
    env = SCLangEnv("sine", port=served.port, mode="sclang", target=str(KICK), timeout=5)
    actions = [np.array([x], np.float32) for x in (0.1, 0.35, 0.6, 0.2)]
    try:
        expected, _ = play(env, actions)
        env.reset(seed=0)
        env.step(actions[0])
        killer = threading.Timer(0.03, os.kill, (served.sclang_pid, signal.SIGKILL))  # mid-render (~0.1 s)
        killer.start()
        start = time.monotonic()
        with pytest.raises(SCLangError, match=rf"127.0.0.1:{served.port}"):
            env.step(actions[1])
        assert time.monotonic() - start < 2  # not the 10 s step timeout: the liveness probe saw it die
        killer.join()
        served.stop()
        assert session_processes(served.sclang_pid) == []  # its recordNRT scsynth went with it
        with pytest.raises(EpisodeError):
            env.step(actions[1])
        again = Served(file, port=served.port)
        obs, _ = play(env, actions)
        assert np.array_equal(obs, expected)
    finally:
        env.close()
        for server in (served, again):
            if server is not None and os.path.isdir(server.tmpdir):  # not stopped yet (a failure)
                server.stop()
    assert session_processes(again.sclang_pid) == []


def _outside_address() -> str | None:
    """A non-loopback IPv4 address of this machine, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


@needs_sclang
def test_quark_serves_loopback_only(tasks):
    outside = _outside_address()
    if outside is None:
        pytest.skip("no non-loopback IPv4 address")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((outside, 0))
        s.settimeout(1.0)
        s.sendto(osc.message("/raveforce/describe", 5, "sine"), (outside, tasks.port))
        with pytest.raises(socket.timeout):
            s.recvfrom(1 << 16)
    assert any(f"dropping requests from {outside}" in line for line in tasks.lines)
    client = SCLangClient("sine", port=tasks.port)
    assert client.describe()[0]["name"] == "sine"
    client.close()
