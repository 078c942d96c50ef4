"""The `kit_hits` reward: the shipped full-kit classifier's onset probabilities and heard loudness
of ten voices, step by step; DrumKit-v0 renders with the real scsynth."""

import gymnasium as gym
import numpy as np

from raveforce import rewards
from raveforce.rewards import kit_hits
from raveforce.tasks import DRUM_KIT, DRUM_KIT_PATTERN
from raveforce.transcribe import kit_classifier, mix_grids

B = DRUM_KIT.boundaries


def test_the_shipped_pattern_scores_exactly_zero_in_drum_kit():
    env = gym.make("raveforce/DrumKit-v0", reward="kit_hits")
    try:
        env.reset(seed=0)
        rewards_seen = [env.step(action)[1] for action in DRUM_KIT_PATTERN]
    finally:
        env.close()
    assert rewards_seen == [0.0] * 16


def test_incremental_equals_scratch_and_velocity_counts():
    target = mix_grids(DRUM_KIT, [DRUM_KIT_PATTERN])[0]
    softer = DRUM_KIT_PATTERN.copy()
    softer[softer == 3] = 1  # the same hits, the hard ones played soft
    other = mix_grids(DRUM_KIT, [softer])[0]
    criterion = rewards.make("kit_hits", target=target, sample_rate=44100, boundaries=B)
    stepped = [criterion.distance(other, k) for k in range(16)]
    fresh = [rewards.make("kit_hits", target=target, sample_rate=44100, boundaries=B).distance(other, k) for k in range(16)]
    assert stepped == fresh
    assert stepped[0] > 0  # step 0's hard kick and crash, played soft
    silence = np.zeros_like(target)
    assert rewards.make("kit_hits", target=target, sample_rate=44100, boundaries=B).distance(silence, 15) > stepped[-1]


def test_the_reward_hears_what_the_transcriber_hears():
    """Per step, the reward's values are the transcriber's (p, p * v) of the same loop."""
    audio = mix_grids(DRUM_KIT, [DRUM_KIT_PATTERN])[0].astype(np.float64)
    p, v = kit_classifier.outputs(audio, DRUM_KIT)
    criterion = rewards.make("kit_hits", target=audio, sample_rate=44100, boundaries=B)
    np.testing.assert_allclose(criterion._target_p, np.concatenate([p, p * v], axis=1), atol=1e-6)
    assert kit_hits.classifier() is kit_hits.classifier()
