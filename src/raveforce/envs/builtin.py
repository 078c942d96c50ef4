"""The built-in environments: spec sheets for the built-in tasks (registered on `import raveforce`).

The paper's two tasks (DrumLoop, KickFrequency) and the suite beyond it (DrumKit, KickMatch,
FMTone, BassLine, Melody). Baseline scores of every task: docs/benchmarks/tasks.md, "Task-suite baselines".
"""

from __future__ import annotations

from raveforce.env import RaveForceEnv
from raveforce.errors import ArgumentError
from raveforce.task import replace_options
from raveforce.tasks import BASS_LINE, DRUM_KIT, DRUM_LOOP, FM_TONE, FULL_KIT, KICK_FREQUENCY, KICK_MATCH, MELODY, drum_kit_task


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
    Minus the hit-classifier distance ("hits", the default: which of kick, snare and hat a
    classifier trained on the kit family hears start at each step, the most robust to loops
    played on other kits, see docs/benchmarks/rewards.md "Kit family"), or "onsets", "multiscale", the paper's
    "mse", "mfcc", "stft", "cqt", any other registered reward, or a callable; between the audio
    so far and the same prefix of the target.
    `reward_mode="delta"` gives the improvement per step.

    ## Target
    By default `raveforce/data/targets/drum_loop.wav`, rendered from the actions
    `DRUM_LOOP_PATTERN = (5, 0, 4, 0, 6, 0, 4, 1, 5, 0, 5, 0, 6, 0, 4, 2)`: playing them gives
    a reward of 0 (up to float rounding) at every step, the optimum.

    ## Arguments
    `target`, `reward`, `bpm`, `steps`, `render_mode`, `renderer`, `scsynth`, `timeout`
    (see `RaveForceEnv`). `calibrate=True`: before anything else, fit the agent's kit to the
    target (`raveforce.kits.calibration.calibrate`: each voice's sound and gain chosen among the kit
    family's, several seconds); the drums are then that kit's synths (`kits.kit_task`), and
    `env.unwrapped.calibration` holds the fit (`.summary()`: fitted parameters, time).

    ## Version History
    - v0: initial version.
    """

    TASK = DRUM_LOOP
    _ENV_ARGUMENTS = ("target", "reward", "reward_mode", "render_mode", "renderer", "scsynth", "timeout")

    def __init__(self, *, calibrate: bool = False, **kwargs):
        if not isinstance(calibrate, bool):
            raise ArgumentError(f"calibrate={calibrate!r} is not True or False")
        task = DRUM_LOOP
        self.calibration = None
        if calibrate:
            from raveforce import kits
            from raveforce.kits.calibration import calibrate as fit_kit

            options = {k: v for k, v in kwargs.items() if k not in self._ENV_ARGUMENTS}
            base = replace_options(DRUM_LOOP, options) if options else DRUM_LOOP
            self.calibration = fit_kit(base, kwargs.get("target"))
            task = kits.kit_task(self.calibration.kit, base, name=f"{base.name}Calibrated")
            kwargs = {k: v for k, v in kwargs.items() if k in self._ENV_ARGUMENTS}
        super().__init__(task, **kwargs)


class DrumKitEnv(RaveForceEnv):
    """Imitate a drum loop on a ten-voice General MIDI kit with velocities.

    ## Action Space
    `MultiDiscrete([4] * 10)`: one level per voice, in `tasks.FULL_KIT` order (kick, snare, clap,
    closed hat, open hat, low tom, mid tom, high tom, crash, ride): 0 rests, 1-3 play it soft,
    medium or hard (MIDI velocity 42, 85, 127; the `drum` synth at amp velocity / 100).
    `velocity_levels=n` (1-31) gives `MultiDiscrete([n + 1] * 10)`, level i at velocity
    round(127 i / n); every level of every voice starts ahead of each step, so finer levels render
    slower (31 levels: about a fifth of the steps per second of 3). Each voice is a one-shot sample of
    `raveforce/data/kit/` (made by `scripts/make_data.py` from the kit family's SynthDefs).

    ## Observation Space
    `Box(-inf, inf, (88200,), float32)` at the defaults: the mono audio rendered so far at
    44100 Hz, zero-padded to the whole loop (one bar of 16ths at 120 BPM = 2 s).

    ## Rewards
    Minus the STFT distance ("stft", the default; any registered reward or a callable) between
    the audio so far and the same prefix of the target. The target is played on the agent's
    own kit, so the right pattern scores 0. For a target played on another kit, `reward="kit_hits"`
    compares what the shipped full-kit classifier hears instead: each voice's onset probability
    and loudness at every step (`rewards.kit_hits`).

    ## Target
    By default `raveforce/data/targets/drum_kit.wav`, the grid `tasks.DRUM_KIT_PATTERN` (16
    steps, every voice and level: a crash on the one, a ghost snare, a tom fill): its rows as
    actions score 0 at every step, the optimum.

    ## Grid
    `bars` (1) bars of four beats, `steps_per_beat` (4) steps a beat: 3 or 6 give a triplet
    grid for shuffles and 12/8. `bpm` sets the tempo. The default target lasts one bar of 16ths
    at 120 BPM; on another grid, pass your own `target=`.

    ## Kit
    `kit=` a Hydrogen kit's name or folder (e.g. "GMRockKit", Debian's `hydrogen-data`) plays
    each voice on that kit's instrument of its role, each level on the sample layer its velocity
    picks (`raveforce.kits.sampled.full_kit_task`); voices the kit lacks keep the shipped sample.
    `env.unwrapped.kit_voices` says which instrument plays each voice. The default target is
    played on the shipped kit, so on another kit its pattern no longer scores 0.

    ## Arguments
    `bars`, `steps_per_beat`, `velocity_levels`, `kit`, `target`, `reward`, `reward_mode`, `bpm`,
    `render_mode`, `renderer`, `scsynth`, `timeout` (see `RaveForceEnv`). Vector version:
    `gym.make_vec("raveforce/DrumKit-v0", num_envs, vectorization_mode="vector_entry_point")`.

    ## Version History
    - v0: initial version.
    """

    TASK = DRUM_KIT
    _KIT_ARGUMENTS = ("bars", "steps_per_beat", "velocity_levels", "kit")

    def __init__(self, **kwargs):
        task, self.kit_voices, kwargs = self.kit_task(kwargs)
        super().__init__(task, **kwargs)

    @classmethod
    def kit_task(cls, kwargs: dict):
        """(the task of the grid and kit arguments, {voice: the instrument that plays it}, the other arguments)."""
        options = {k: kwargs.pop(k) for k in cls._KIT_ARGUMENTS if k in kwargs}
        kit = options.pop("kit", None)
        task = drum_kit_task(**options) if options else DRUM_KIT
        if kit is None:
            return task, dict.fromkeys(FULL_KIT, "shipped"), kwargs
        from raveforce.kits import sampled

        task, voices = sampled.full_kit_task(kit, task)
        return task, voices, kwargs

    @classmethod
    def make_vector(cls, num_envs: int = 1, **kwargs):
        from raveforce.vector import RaveForceVectorEnv

        task, _, kwargs = cls.kit_task(dict(kwargs))
        return RaveForceVectorEnv(task, num_envs, **kwargs)


class KickFrequencyEnv(RaveForceEnv):
    """Find the sine frequency that best imitates a kick drum (the paper's kick task).

    ## Action Space
    `Box(0, 1, (1,), float32)`, mapped exponentially to 20-22000 Hz (`freq.linexp(0, 1, 20,
    22000)` as in the paper's SynthDef), the frequency of a sine under a fixed percussive
    envelope (attack 0.01 s, release 0.49 s).

    ## Observation Space
    `Box(-inf, inf, (22050,), float32)`: one step of one beat at 120 BPM (0.5 s at 44100 Hz).

    ## Rewards
    Minus "steady_ot" (the default): optimal transport between per-frame spectra on a
    log-frequency axis, weighted to the frames where the target holds still, so a swept kick is
    matched at the pitch it settles on (docs/benchmarks/rewards.md "Kit family"); or "spectral_ot", the paper's "mse",
    "mfcc", "stft", "cqt", any other registered reward, or a callable; between the rendered note
    and the target.

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


class KickMatchEnv(RaveForceEnv):
    """Imitate the kit's kick with five parameters of a swept sine kick.

    ## Action Space
    `Box(0, 1, (5,), float32)`, each dimension scaled exponentially into a control of the `kick`
    synth (`raveforce.tasks.instruments.kick`): `freq` 20-200 Hz (where the sweep ends), `sweep`
    40-2000 Hz (where it starts), `sweep_time` 0.002-0.5 s, `attack` 0.0005-0.1 s, `decay`
    0.02-2 s. The pitch glides exponentially from `sweep` to 1.25 * `freq` in `sweep_time`, then
    to `freq` in 0.4 s; a percussive envelope (`attack`, `decay`) shapes the sine, and the kit's
    fixed 8 ms 1200 Hz click is added.

    ## Observation Space
    `Box(-inf, inf, (22050,), float32)`: one step of one beat at 120 BPM (0.5 s at 44100 Hz).

    ## Rewards
    `-MSE` of MFCCs (default; also "mse", "stft", "cqt" or a callable) between the rendered kick
    and the target. The phase-sensitive criteria have basins about 0.03 wide per dimension and
    prefer silence elsewhere; MFCC's basin is wider.

    ## Target
    The kit's kick (`raveforce/data/kit/kick.wav`, `instruments.kit_kick`): the kick synth with
    `KICK_MATCH_PARAMETERS` = freq 48, sweep 180, sweep_time 0.03, attack 0.002, decay 0.45.
    Its action `KICK_MATCH_OPTIMUM` ~ (0.3802, 0.3845, 0.4905, 0.2616, 0.6761) scores ~0 (float32
    rounding of the action), the optimum.

    ## Episode
    One step: every action is a new kick, rendered from scratch.

    ## Version History
    - v0: initial version.
    """

    TASK = KICK_MATCH

    def __init__(self, **kwargs):
        super().__init__(KICK_MATCH, **kwargs)


class FMToneEnv(RaveForceEnv):
    """Find the hidden parameters of a two-operator FM tone.

    ## Action Space
    `Box(0, 1, (5,), float32)`, scaled into the controls of the `fm` synth
    (`raveforce.tasks.instruments.fm`, base frequency 220 Hz): `carrier` ratio 0.5-4 (exp),
    `modulator` ratio 0.25-8 (exp), modulation `index` 0-10 radians (lin), `attack` 0.001-0.1 s
    (exp), `decay` 0.05-2 s (exp). The tone is a sine at carrier * 220 Hz, phase-modulated by a
    sine at modulator * 220 Hz, under a percussive envelope.

    ## Observation Space
    `Box(-inf, inf, (22050,), float32)`: one beat at 120 BPM (0.5 s at 44100 Hz).

    ## Rewards
    `-MSE` of MFCCs (default; also "mse", "stft", "cqt" or a callable) between the tone and the
    target. The ratios have narrow basins (about 0.003 wide in action units): a hard task.

    ## Target
    `raveforce/data/targets/fm_tone.wav`, the synth with `FM_TONE_PARAMETERS` = carrier 1.0,
    modulator 3.0, index 2.5, attack 0.005, decay 0.4: the action `FM_TONE_OPTIMUM` ~
    (0.3333, 0.7170, 0.25, 0.3495, 0.5637), which scores 0, the optimum.

    ## Episode
    One step: every action is a new tone, rendered from scratch.

    ## Version History
    - v0: initial version.
    """

    TASK = FM_TONE

    def __init__(self, **kwargs):
        super().__init__(FM_TONE, **kwargs)


class BassLineEnv(RaveForceEnv):
    """Imitate a bass line, one 16th note at a time, on a saw bass through a resonant low-pass.

    ## Action Space
    `Discrete(25)`: 0 rests; action 1 + m - 28 plays MIDI note m from 28 (E1) to 51 (D#3) on the
    `bass` synth (`raveforce.tasks.instruments.bass`: a saw through RLPF at 800 Hz, 1/Q 0.3, envelope
    0.003 s attack, 0.2 s decay). A second, discrete dimension (the cutoff) is a task option:
    `actions=tasks.bass_choices(33, 50, cutoffs=(400.0, 800.0, 1600.0))` gives `Discrete(55)`,
    action 1 + (m - 33) * 3 + c (`tasks.bass_action(m, c, low=33, n_cutoffs=3)`); the default
    target is then played with c = 1. Every option's note starts ahead at each step, so keep
    the option count moderate (about 64 at most).

    ## Observation Space
    `Box(-inf, inf, (88200,), float32)`: 16 steps of a 16th note at 120 BPM (2 s at 44100 Hz).
    Step k starts at sample round(k * 5512.5), rounded half up.

    ## Rewards
    `-MSE` of STFT coefficients (default; also "mse", "mfcc", "cqt" or a callable) between the
    audio so far and the same prefix of the target.

    ## Target
    `raveforce/data/targets/bass_line.wav`, the notes `BASS_LINE_PATTERN` = A1 . A1 A2 . A1 C2 .
    D2 . D2 D3 E2 . G2 E2 (MIDI 33 - 33 45 - 33 36 - 38 - 38 50 40 - 43 40, "-" a rest), that is
    the actions (6, 0, 6, 18, 0, 6, 9, 0, 11, 0, 11, 23, 13, 0, 16, 13): they score 0 at every
    step, the optimum.

    ## Version History
    - v0: initial version.
    """

    TASK = BASS_LINE

    def __init__(self, **kwargs):
        super().__init__(BASS_LINE, **kwargs)


class MelodyEnv(RaveForceEnv):
    """Imitate a melody, one 16th note at a time, on a simple voice.

    ## Action Space
    `Discrete(25)`: 0 rests; action 1 + m - 60 plays MIDI note m from 60 (C4) to 83 (B5) on the
    `voice` synth (`raveforce.tasks.instruments.voice`: a sine with 2nd and 3rd harmonics at 0.3 and
    0.1, envelope 0.01 s attack, 0.3 s decay; notes overlap the next steps).

    ## Observation Space
    `Box(-inf, inf, (88200,), float32)`: 16 steps of a 16th note at 120 BPM (2 s at 44100 Hz).

    ## Rewards
    `-MSE` of STFT coefficients (default; also "mse", "mfcc", "cqt" or a callable) between the
    audio so far and the same prefix of the target.

    ## Target
    `raveforce/data/targets/melody.wav`, the notes `MELODY_PATTERN` = G4 . C5 E5 G5 E5 C5 . D5
    F5 . D5 B4 . G4 C5 (MIDI 67 - 72 76 79 76 72 - 74 77 - 74 71 - 67 72), that is the actions
    (8, 0, 13, 17, 20, 17, 13, 0, 15, 18, 0, 15, 12, 0, 8, 13): they score 0 at every step, the
    optimum.

    ## Version History
    - v0: initial version.
    """

    TASK = MELODY

    def __init__(self, **kwargs):
        super().__init__(MELODY, **kwargs)
