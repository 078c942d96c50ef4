"""The built-in environments: spec sheets for the built-in tasks (registered on `import raveforce`)."""

from __future__ import annotations

from raveforce.env import RaveForceEnv
from raveforce.tasks import DRUM_LOOP, KICK_FREQUENCY


class DrumLoopEnv(RaveForceEnv):
    """Imitate a drum loop, one 16th note at a time (the paper's drum-loop task).

    ## Action Space
    `Discrete(8)`: which of the kit's drums start on this step, as bits: 1 = kick, 2 = snare,
    4 = closed hi-hat (so 0 is a rest, 3 kick + snare, 7 all three). Each drum is a one-shot
    sample (`raveforce/data/kit/*.wav`, made by `scripts/make_data.py`) played with PlayBuf.

    ## Observation Space
    `Box(-inf, inf, (88200,), float32)` at the defaults: the mono audio rendered so far at
    44100 Hz, zero-padded to the whole loop (16 steps of a 16th note at 120 BPM = 2 s).
    Step k starts at sample round(k * 5512.5), rounded half up.

    ## Rewards
    `-MSE` of MFCCs (default; also "mse", "stft", "cqt" or a callable) between the audio so far
    and the same prefix of the target.

    ## Target
    By default `raveforce/data/targets/drum_loop.wav`, rendered from the actions
    `DRUM_LOOP_PATTERN = (5, 0, 4, 0, 6, 0, 4, 1, 5, 0, 5, 0, 6, 0, 4, 2)`: playing them gives
    a reward of 0 (up to float rounding) at every step, the optimum.

    ## Arguments
    `target`, `reward`, `bpm`, `steps`, `render_mode`, `renderer`, `scsynth`, `timeout`
    (see `RaveForceEnv`).

    ## Version History
    - v0: initial version.
    """

    TASK = DRUM_LOOP

    def __init__(self, **kwargs):
        super().__init__(DRUM_LOOP, **kwargs)


class KickFrequencyEnv(RaveForceEnv):
    """Find the sine frequency that best imitates a kick drum (the paper's kick task).

    ## Action Space
    `Box(0, 1, (1,), float32)`, mapped exponentially to 20-22000 Hz (`freq.linexp(0, 1, 20,
    22000)` as in the paper's SynthDef), the frequency of a sine under a fixed percussive
    envelope (attack 0.01 s, release 0.49 s).

    ## Observation Space
    `Box(-inf, inf, (22050,), float32)`: one step of one beat at 120 BPM (0.5 s at 44100 Hz).

    ## Rewards
    `-MSE` of STFT coefficients (default; also "mse", "mfcc", "cqt" or a callable) between the
    rendered note and the target.

    ## Target
    The kit's kick (`raveforce/data/kit/kick.wav`): a sine swept from 180 Hz to 48 Hz.

    ## Episode
    One step: every action is a new note, rendered from scratch.

    ## Version History
    - v0: initial version.
    """

    TASK = KICK_FREQUENCY

    def __init__(self, **kwargs):
        super().__init__(KICK_FREQUENCY, **kwargs)
