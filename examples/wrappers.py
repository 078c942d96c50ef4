"""Gymnasium wrappers: small observations for neural networks, and episodes written to WAV.

    .venv/bin/python examples/wrappers.py
"""

import gymnasium as gym

import raveforce  # noqa: F401  (registers the environments)
from raveforce.wrappers import AppendStep, LogMelObservation, RecordEpisodeAudio


def main() -> None:
    env = gym.make("raveforce/DrumLoop-v0")
    env = RecordEpisodeAudio(env, "out/example-wrappers", every=2)  # episodes 0, 2, 4, ... to WAV
    env = AppendStep(LogMelObservation(env, n_mels=32))  # 88200 samples -> 43 x 32 log-mel + 16 step one-hot
    try:
        print("observation space:", env.observation_space.shape)
        for episode in range(3):
            obs, _ = env.reset(seed=episode)
            total, done = 0.0, False
            while not done:
                obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
                total += reward
                done = terminated or truncated
            print(f"episode {episode}: return {total:.4g}")
        print("wrote", [str(p) for p in env.get_wrapper_attr("written")])
    finally:
        env.close()


if __name__ == "__main__":
    main()
