"""Train stable-baselines3 PPO on the drum loop (needs the sb3 extra: `make install` has it).

The policy sees log-mel frames of the audio so far plus a one-hot of the step
(`raveforce.wrappers`), and every 32nd training episode is written to WAV.

    .venv/bin/python examples/train_sb3.py [STEPS]     # or: raveforce train drum-loop --algo ppo --steps 8192 --out out/ppo
"""

import sys

import numpy as np

from raveforce import agents
from raveforce.agents.sb3 import train
from raveforce.tasks import DRUM_LOOP, DRUM_LOOP_PATTERN


def main(steps: int = 4096) -> None:
    result = train("ppo", steps=steps, seed=0, record="out/example-ppo/episodes", every=32)
    random = agents.random_search(DRUM_LOOP, episodes=64, seed=0)
    print(f"PPO after {steps} steps: {result.actions}  return {result.total_reward:.4g}")
    print(f"target pattern:        {list(DRUM_LOOP_PATTERN)}")
    print(f"random agent's mean return {np.mean(random.history['returns']):.4g}; recorded {len(result.recorded)} episodes")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4096)
