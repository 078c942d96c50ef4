"""Write your own task: a plucked bass that must imitate a four-note riff.

    .venv/bin/python examples/custom_task.py

A Task is data: the SynthDefs (here built with supriya), how an action becomes notes, the grid,
and a target. RaveForceEnv turns any Task into a Gymnasium environment.
"""

from supriya import Envelope, synthdef
from supriya.ugens import RLPF, EnvGen, OffsetOut, Saw

from raveforce import RaveForceEnv
from raveforce.synth.render import render_episode
from raveforce.task import Choices, Note, Task


@synthdef()
def pluck(out=0, freq=110.0, amp=0.4):
    envelope = EnvGen.kr(envelope=Envelope.percussive(0.005, 0.4), done_action=2)
    tone = RLPF.ar(source=Saw.ar(frequency=freq), frequency=freq * 4, reciprocal_of_q=0.3)
    OffsetOut.ar(bus=out, source=tone * envelope * amp)  # OffsetOut: sample-accurate onsets


PITCHES = (55.0, 65.41, 73.42, 82.41)  # A1 C2 D2 E2
RIFF = Task(
    name="BassRiff",
    synthdefs=(pluck,),
    # action 0 is a rest, action i plays PITCHES[i - 1]
    actions=Choices(((),) + tuple((Note.of("pluck", freq=f),) for f in PITCHES)),
    bpm=120.0,
    steps=8,
    beats_per_step=0.5,  # eighth notes
    reward="stft",
)
ANSWER = (1, 0, 1, 3, 2, 0, 4, 1)


def main() -> None:
    # The target: the riff rendered once (any sound file or (samples, rate) pair works too).
    target = render_episode(RIFF, [RIFF.actions.notes(a) for a in ANSWER])
    env = RaveForceEnv(RIFF, target=(target, RIFF.sample_rate))
    try:
        # Greedy search: at each step keep the action with the best reward. The reward of step k
        # depends only on steps 0..k, so replaying the chosen prefix is enough.
        chosen: list[int] = []
        for k in range(RIFF.steps):
            scores = {}
            for a in range(env.action_space.n):
                env.reset(seed=0)
                for prev in chosen:
                    env.step(prev)
                scores[a] = env.step(a)[1]
            chosen.append(max(scores, key=scores.get))
            print(f"step {k}: action {chosen[-1]}  reward {scores[chosen[-1]]:.3g}")
        print("found ", chosen)
        print("answer", list(ANSWER))
        assert chosen == list(ANSWER)
    finally:
        env.close()


if __name__ == "__main__":
    main()
