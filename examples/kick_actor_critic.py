"""The paper's kick task (section 5.2.2): which sine frequency imitates a kick drum best?
A sweep (grid, then finer grids) and the paper's critic/actor pair (numpy) agree.

    .venv/bin/python examples/kick_actor_critic.py   # or: raveforce solve kick-frequency --agent actor-critic --out out/kick
"""

from raveforce import agents
from raveforce.tasks import KICK_FREQUENCY

HZ = KICK_FREQUENCY.actions.controls[0]  # action in [0, 1] -> 20..22000 Hz, exponentially


def main() -> None:
    sweep = agents.sweep(KICK_FREQUENCY)
    print(f"sweep:        {HZ(float(sweep.actions[0][0])):7.2f} Hz  reward {sweep.rewards[0]:.6g}  ({sweep.evaluations} renders)")
    ac = agents.actor_critic(KICK_FREQUENCY, seed=0)
    path = " -> ".join(f"{HZ(x):.1f}" for x in ac.history["actor"])
    print(f"actor-critic: {HZ(float(ac.actions[0][0])):7.2f} Hz  reward {ac.rewards[0]:.6g}  ({ac.evaluations} renders)")
    print(f"the actor's path (Hz): {path}")


if __name__ == "__main__":
    main()
