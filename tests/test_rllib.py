"""RaveForce under Ray RLlib: PPO with 2 env runners on a local Ray instance, real scsynths.

Skips only when ray is not installed (`make test` installs it: the `rllib` extra).
"""

import importlib.util
import os
import signal
import threading
import time

import gymnasium as gym
import numpy as np
import pytest

if importlib.util.find_spec("ray") is None:
    pytest.skip("the rllib extra is not installed: pip install -e '.[rllib]'", allow_module_level=True)

pytestmark = [pytest.mark.xdist_group("ray"), pytest.mark.heavy]  # one local Ray at a time: `make test`'s workers run these on one

from raveforce.vector import RaveForceVectorEnv  # noqa: E402
from raveforce.wrappers import AppendStep, LogMelObservation  # noqa: E402

ENV_ID = "raveforce/DrumLoop-v0"
ENVS_PER_RUNNER = 4


def _rllib():
    """raveforce.integrations.rllib, imported by the tests that use it: ray, RLlib and torch cost
    ~2 s of imports, which the test worker that does not run this module (`make test`'s
    xdist_group("ray")) need not pay collecting it."""
    from raveforce.integrations import rllib

    return rllib


def processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command name) of every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    head, tail = f.read().rsplit(")", 1)
                table[int(entry)] = (int(tail.split()[1]), head.split("(", 1)[1])
            except (OSError, IndexError):
                continue
    return table


def descendants(root: int) -> dict[int, str]:
    """pid -> command name of every process below `root`."""
    table = processes()
    found, todo = {}, [root]
    while todo:
        parent = todo.pop()
        for pid, (ppid, name) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = name
                todo.append(pid)
    return found


def scsynth_of(pid: int) -> list[tuple[int, str]]:
    """(pid, FIFO path) of the scsynth processes started by process `pid`."""
    found = []
    for child, (ppid, name) in processes().items():
        if ppid == pid and name == "scsynth":
            with open(f"/proc/{child}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            found.append((child, argv[argv.index(b"-N") + 3].decode()))  # scsynth -N score _ <out>
    return found


def wait_until_gone(pids, seconds=20.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while True:
        alive = [p for p in pids if _state(p) not in (None, "Z")]  # a zombie is dead, only not yet reaped
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def _state(pid: int):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def test_make_env_is_the_batched_vector_env_with_the_sb3_observation(rng):
    """What each env runner builds: a RaveForceVectorEnv whose rows equal the single wrapped env."""
    rllib = _rllib()
    envs = rllib.make_env(ENV_ID, {"num_envs": 3, "reward": "mse", "observation": "logmel"})
    single = AppendStep(LogMelObservation(gym.make(ENV_ID, reward="mse")))
    try:
        assert isinstance(envs.unwrapped, RaveForceVectorEnv) and len(envs.unwrapped._groups) == 1  # one scsynth
        assert envs.single_observation_space == single.observation_space
        assert envs.observation_space.shape == (3, single.observation_space.shape[0])
        actions = rng.integers(0, 8, (17, 3))
        obs, _ = envs.reset(seed=0)
        expected, _ = single.reset(seed=0)
        assert np.array_equal(obs[2], expected)
        for k, a in enumerate(actions):
            obs, reward, terminated, _, _ = envs.step(a)
            if k < 16:  # the episode
                expected, expected_reward, expected_terminated, _, _ = single.step(int(a[2]))
                assert np.array_equal(obs[2], expected) and reward[2] == expected_reward
                assert terminated.all() == expected_terminated
            else:  # NEXT_STEP autoreset: a fresh episode, step one-hot back at 0
                expected, _ = single.reset()
                assert np.array_equal(obs[2], expected) and not reward.any()
    finally:
        envs.close()
        single.close()
    audio = rllib.make_env(ENV_ID, {"reward": "mse"})  # RLlib's "sync" mode: the single env as is
    try:
        assert audio.observation_space.shape == (88200,)
    finally:
        audio.close()
    with pytest.raises(ValueError, match="observation='mel'"):
        rllib.make_env(ENV_ID, {"num_envs": 2, "observation": "mel"})
    with pytest.raises(ValueError, match="'raveforce/Nope-v0' is not a RaveForce env"):
        rllib.make_env("raveforce/Nope-v0", {})


def runner_scsynths(algo) -> dict[int, list[tuple[int, str]]]:
    """env runner pid -> its scsynth processes (pid, FIFO path)."""
    pids = algo.env_runner_group.foreach_env_runner(lambda runner: os.getpid(), local_env_runner=False)
    return {pid: scsynth_of(pid) for pid in pids}


@pytest.fixture(scope="class")
def local_ray():
    """One local Ray for TestPPOOnOneLocalRay's runs: {pid: command name} of what Ray and the runs
    started (the runs add theirs) and the runs' scsynth FIFO paths, both checked after `ray.shutdown()`."""
    import ray

    assert not ray.is_initialized()
    earlier = descendants(os.getpid())  # e.g. the session's sclang fixtures, in this test worker
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="error")  # never a running cluster
    started = {pid: name for pid, name in descendants(os.getpid()).items() if pid not in earlier}
    fifos = []
    try:
        yield started, fifos
    finally:
        ray.shutdown()
    # Nothing Ray or RaveForce started outlives the shutdown: no raylet, no workers, no scsynth.
    everything = {pid: name for pid, name in started.items() if pid not in earlier}
    assert {"raylet", "gcs_server", "scsynth"} <= set(everything.values()), everything
    left = wait_until_gone(list(everything), seconds=60)  # a loaded machine takes a while to stop Ray's workers
    assert not left, {p: everything[p] for p in left}
    assert fifos and not any(os.path.exists(os.path.dirname(f)) for f in fifos)


class TestPPOOnOneLocalRay:
    """The PPO runs share one local Ray (starting one costs ~10 s of the machine's two cores and
    warms the worker processes the next run reuses); after its shutdown nothing it started lives."""

    @pytest.mark.parametrize("recovery", ["sub_environments", "env_runner"])
    def test_ppo_two_env_runners_one_scsynth_each_recovers_from_a_killed_scsynth(self, local_ray, recovery):
        started, all_fifos = local_ray
        _ppo_recovers_from_a_killed_scsynth(recovery, started, all_fifos)


def test_cli_train_engine_rllib_starts_and_stops_a_ray_of_its_own(tmp_path, capsys):
    """`raveforce train drum-loop --engine rllib` with no Ray running: its main() in this process (a
    subprocess would import ray, RLlib and torch again, ~10 s of the two cores) starts a local Ray,
    writes its checkpoint and shuts the Ray down; nothing it started outlives it. Runs after
    TestPPOOnOneLocalRay's shared Ray is shut down (collection order, one worker: xdist_group "ray")."""
    import ray

    from raveforce.app.main import main

    assert not ray.is_initialized()
    earlier = set(descendants(os.getpid()))
    with Watch(exclude=earlier) as seen:
        code = main(["train", "drum-loop", "--engine", "rllib", "--num-env-runners", "1", "--envs-per-runner", "2",
                     "--iterations", "1", "--reward", "mse", "--checkpoint", str(tmp_path / "ckpt")])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    # one env runner (the PPO tests run two): the command's plumbing, one actor less to start
    assert "iteration 1: 64 env steps, 4 episodes" in out, out
    assert "healthy env runners 1/1" in out and "done: 64 env steps" in out
    assert (tmp_path / "ckpt").is_dir() and f"checkpoint: {tmp_path / 'ckpt'}" in out
    assert not ray.is_initialized()  # it shut down the Ray it started
    assert {"raylet", "gcs_server", "scsynth"} <= set(seen.processes.values()), seen.processes
    assert len(seen.scsynths) == 1, seen.scsynths  # its env runner's, with its FIFO in a temp dir of its own
    left = wait_until_gone(list(seen.processes), seconds=60)  # a loaded machine takes a while to stop Ray's workers
    assert not left, {p: seen.processes[p] for p in left}
    assert not any(os.path.exists(os.path.dirname(f)) for f in seen.scsynths.values())

    assert main(["train", "nope", "--engine", "rllib"]) == 2
    stderr = capsys.readouterr().err
    assert "unknown task 'nope'" in stderr and "raveforce/DrumLoop-v0" in stderr


class Watch(threading.Thread):
    """While in its `with` block: every process below this one (but `exclude`) and the FIFO of every
    scsynth among them, looked at every 0.1 s."""

    def __init__(self, exclude=()) -> None:
        super().__init__(daemon=True)
        self.exclude = set(exclude)
        self.processes: dict[int, str] = {}
        self.scsynths: dict[int, str] = {}  # pid -> FIFO path
        self._stop_event = threading.Event()

    def __enter__(self) -> "Watch":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop_event.set()
        self.join()

    def run(self) -> None:
        while True:
            last = self._stop_event.is_set()
            for pid, name in descendants(os.getpid()).items():
                if pid in self.exclude:
                    continue
                self.processes[pid] = name  # again: a child forked as "python" may exec scsynth later
                if name == "scsynth" and pid not in self.scsynths:
                    try:
                        with open(f"/proc/{pid}/cmdline", "rb") as f:
                            argv = f.read().split(b"\0")
                        self.scsynths[pid] = argv[argv.index(b"-N") + 3].decode()  # scsynth -N score _ <out>
                    except (OSError, ValueError, IndexError):
                        pass  # gone, or its command line not yet readable: the next look
            if last:
                return
            self._stop_event.wait(0.1)


def _ppo_recovers_from_a_killed_scsynth(recovery: str, started: dict[int, str], all_fifos: list[str]) -> None:
    """PPO, 2 env runners on the local Ray: a scsynth killed mid-step, sampling goes on."""
    rllib = _rllib()
    algo = None
    try:
        config = rllib.ppo_config(
            ENV_ID,
            num_env_runners=2,
            num_envs_per_env_runner=ENVS_PER_RUNNER,
            env_config={"reward": "mse"},
            rollout_fragment_length=8,  # each iteration ends mid-episode: the kill hits a step
            train_batch_size=2 * ENVS_PER_RUNNER * 8,
            minibatch_size=32,
            num_epochs=1,
            hidden=(32,),
            num_cpus_per_env_runner=0.5,
            # no seed: RLlib seeds torch with use_deterministic_algorithms, whose import of
            # torch._dynamo costs every env runner actor ~1.5 s of CPU; no check here needs it
        )
        if recovery == "env_runner":  # the env runner fails; RLlib restarts the actor
            config = config.fault_tolerance(restart_failed_sub_environments=False, delay_between_env_runner_restarts_s=0.5)
        algo = config.build_algo()
        first = rllib.summarize(algo.train())
        assert first["env_steps_sampled"] == 2 * ENVS_PER_RUNNER * 8 and first["env_step_failures"] == 0

        # One scsynth per env runner, each with its own FIFO in its own temp dir.
        before = runner_scsynths(algo)
        assert len(before) == 2 and all(len(s) == 1 for s in before.values()), before
        fifos = [s[0][1] for s in before.values()]
        assert len({os.path.dirname(f) for f in fifos}) == 2
        all_fifos.extend(fifos)

        victim_runner, [(victim, victim_fifo)] = sorted(before.items())[0]
        os.kill(victim, signal.SIGKILL)
        summaries = [rllib.summarize(algo.train()) for _ in range(3)]
        # Sampling went on: every iteration collected its batch, episodes completed.
        assert [s["env_steps_sampled"] for s in summaries] == [2 * ENVS_PER_RUNNER * 8 * k for k in (2, 3, 4)]
        deadline = time.monotonic() + 60  # a restarted actor rejoins at the start of a later iteration
        while algo.env_runner_group.num_healthy_remote_workers() < 2 and time.monotonic() < deadline:
            summaries.append(rllib.summarize(algo.train()))
        assert summaries[-1]["episodes"] > 0 and np.isfinite(summaries[-1]["episode_return_mean"])
        after = runner_scsynths(algo)
        assert len(after) == 2 and all(len(s) == 1 for s in after.values()), after
        assert victim not in [s[0][0] for s in after.values()]
        if recovery == "sub_environments":  # reported as an env step failure; the same runner, a new scsynth
            assert summaries[-1]["env_step_failures"] >= 1
            assert victim_runner in after and after[victim_runner][0][1] != victim_fifo
        else:  # the runner died with its env; a new actor process with a new scsynth
            assert victim_runner not in after
            assert algo.env_runner_group.num_healthy_remote_workers() == 2
        assert not os.path.exists(os.path.dirname(victim_fifo))  # the dead scsynth's temp dir went with it

        # Sampled episodes: the env's shapes, and the rewards of the env replaying their actions.
        episodes = algo.env_runner_group.foreach_env_runner(
            lambda runner: [tuple(np.asarray(x) for x in (e.get_observations(), e.get_actions(), e.get_rewards())) for e in runner.sample(num_episodes=ENVS_PER_RUNNER)],
            local_env_runner=False,
        )
        episodes = [e for runner in episodes for e in runner]
        assert len(episodes) >= 2 * ENVS_PER_RUNNER
        reference = AppendStep(LogMelObservation(gym.make(ENV_ID, reward="mse")))
        try:
            for observations, actions, rewards in episodes[:: ENVS_PER_RUNNER]:  # one per runner
                assert observations.shape == (17, *reference.observation_space.shape) and observations.dtype == np.float32
                assert actions.shape == (16,) and rewards.shape == (16,)
                expected_obs, _ = reference.reset(seed=0)
                assert np.array_equal(observations[0], expected_obs)
                for k, action in enumerate(actions):
                    expected_obs, expected_reward, terminated, _, _ = reference.step(int(action))
                    assert np.allclose(observations[k + 1], expected_obs, rtol=0, atol=1e-6)
                    assert rewards[k] == pytest.approx(expected_reward, rel=1e-6, abs=1e-12) and rewards[k] <= 0
                assert terminated
        finally:
            reference.close()
        started.update(descendants(os.getpid()))  # the env runners and their scsynths, checked after the shutdown
    finally:
        if algo is not None:
            algo.stop()


def test_without_ray_the_error_says_what_to_install():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['ray'] = None\n"  # as if ray were not installed
        "from raveforce.app.main import main\n"
        "sys.exit(main(['train', 'drum-loop', '--engine', 'rllib']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "raveforce train: error: RaveForce's RLlib integration needs ray" in done.stderr
    assert "pip install -e '.[rllib]'" in done.stderr
