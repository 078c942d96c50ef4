"""Solve the paper's drum-loop task with the baseline agents: greedy and beam search ("dynamic
programming") recover the pattern the shipped target was made of; random search does not.

    .venv/bin/python examples/solve_drum_loop.py          # or: raveforce solve drum-loop --out out/demo
"""

from raveforce import agents
from raveforce.tasks import DRUM_LOOP, DRUM_LOOP_PATTERN


def main() -> None:
    for name, solution in (
        ("random", agents.random_search(DRUM_LOOP, episodes=256, seed=0)),
        ("greedy", agents.greedy(DRUM_LOOP)),
        ("beam", agents.beam_search(DRUM_LOOP, width=4)),
    ):
        print(f"{name:7s} {solution.actions}  total reward {solution.total_reward:10.4g}  ({solution.evaluations} env steps)")
    print("target ", list(DRUM_LOOP_PATTERN))
    audio, rewards, _ = agents.play(DRUM_LOOP, solution.actions)  # the beam's pattern in a single env
    print(f"played: {len(audio)} samples, rewards {[round(r, 6) for r in rewards]}")


if __name__ == "__main__":
    main()
