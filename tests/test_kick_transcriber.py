"""The shipped kick transcriber: one pass on KickTranscribe-v0 with real scsynth, its policy
file's errors, and `solve kick-frequency --agent policy`."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from raveforce.transcribe import KickTranscribeEnv
from raveforce.transcribe import kick_policy as kick_transcriber


def test_shipped_policy_hits_dev_frequencies_within_50_cents_in_one_step():
    policy = kick_transcriber.load()
    env = KickTranscribeEnv.make_vector(16)
    control = env.task.actions.controls[0]
    try:
        obs, info = env.reset(seed=100_000)  # the dev split's seeds (training used 0..)
        actions = policy.act(obs["audio"], obs["target"], 0)
        _, reward, terminated, _, _ = env.step(actions)
        played = np.array([control(float(a)) for a in actions[:, 0]])
        cents = np.abs(1200 * np.log2(played / info["target_frequency"]))
        assert actions.shape == (16, 1) and terminated.all()
        assert (cents <= 50).mean() >= 0.9 and np.median(cents) < 25
        wrong = np.clip(actions + 0.05, 0, 1)  # about 600 cents off
        obs, _ = env.reset(seed=100_000)
        assert (env.step(wrong)[1] < reward).all()
    finally:
        env.close()


def test_corrupt_missing_or_misshapen_kick_policy_file_is_named(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(kick_transcriber.PolicyFileError, match="bad.npz"):
        kick_transcriber.load(bad)
    with pytest.raises(kick_transcriber.PolicyFileError, match="does not exist"):
        kick_transcriber.load(tmp_path / "none.npz")
    with pytest.raises(kick_transcriber.PolicyFileError, match="drum.npz"):
        kick_transcriber.load(shutil.copy(kick_transcriber.POLICY_PATH.with_name("drum_transcriber.npz"), tmp_path / "drum.npz"))
    policy = kick_transcriber.load()
    policy.kernel = policy.kernel[:-1]  # an even number of taps
    with pytest.raises(kick_transcriber.PolicyFileError, match="kernel"):
        kick_transcriber.load(policy.save(tmp_path / "even.npz"))


def test_solve_kick_frequency_with_the_policy_is_one_env_step(tmp_path):
    from raveforce.app.main import main

    assert main(["solve", "kick-frequency", "--agent", "policy", "--out", str(tmp_path / "out")]) == 0
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["env_steps"] == 1 and len(result["actions"]) == 1 and 0 < result["actions"][0][0] < 1
    assert result["total_reward"] < 0 and (tmp_path / "out" / "best.wav").exists()
