"""A family of drum kits drawn from a seed, and loops played on them the way a user's loop sounds.

A `Kit` is the controls of three parametric SynthDefs (`instruments.fam_kick`, `fam_snare`,
`fam_hat`, shipped compiled in `data/synthdefs`) and a `Rendition`: how a loop played on it
is mixed (per-voice gain, per-hit velocity, onset jitter, a FreeVerb room, an EQ tilt, the
sample rate of the mix). Everything is drawn from the seed with numpy and rendered by scsynth
(noise UGens seeded), so a seed always gives the same audio.

    kit = kits.draw(10_004)                          # a dev-split kit
    shots = kits.render_kit(kit, 44100)              # {"kick": float32 (n,), "snare": ..., "hat": ...}
    loop = kits.render_loop(kit, pattern, DRUM_LOOP, seed=0)   # float32 (88200,)
    task = kits.kit_task(kit)                        # DRUM_LOOP played on this kit's voices

Seeds are split into `SPLITS`: choose and tune on "train" and "dev"; "held_out" is for one final
report. The parameter ranges (`draw`) span what drum machines and sample packs sound like:
kick end pitch 40-150 Hz swept down 1-8x over 5-80 ms, decay 0.08-1 s, a click, some drive;
snare tone 150-350 Hz and band-passed noise of any colour, rim-like variants; hats of noise or
a six-square metallic bank, high-passed at 4-11 kHz, closed (20-120 ms) or open-ish (to 400 ms).

`draw_full(seed)` is the ten-voice kit of DrumKit (`tasks.FULL_KIT`): `draw(seed)`'s kick, snare
and hat, and seven voices drawn from a stream of their own around the shipped kit's
(`instruments.KIT`), log-uniform unless said:
clap (`fam_clap`): noise band-passed at 700-2000 Hz, 1/Q 0.3-1.2, bursts 5-20 ms apart, a
0.08-0.5 s tail; open hat (`fam_hat`): 0.25-0.7 s, with chance 3/4 the closed hat's cymbals
(its metal, up to +0.2, its base, its cutoff times 0.8-1.2 uniform), else drawn as a hat;
toms (`fam_tom`): low 55-150 Hz, mid and high each 1.15-1.9 times the one below, swept from
1-2.25 times their pitch over 20-120 ms, a 0.15-1 s decay (the mid tom's; sweep and decay scale
with 1/sqrt(pitch)), overtone 0-0.3 and stick noise 0-0.5 (uniform, shared); crash
(`fam_cymbal`): high-passed at 2-6 kHz, attack 1-10 ms, decay 1-4.5 s, metal 0-0.6 and base
1-2 (uniform), no bell; ride: high-passed at 3-9 kHz, attack 0.5-2 ms, decay 0.6-2.5 s, metal
0.3-0.9 and base 1.5-2.7 (uniform), a bell of level 0-0.6 (uniform) at 800-2200 Hz lasting
0.25-0.6 of the decay. Their gains are -6..+6 dB as the others'. `render_grid_loops` plays
DrumKit grids (levels at `tasks.velocities`) on them and `grid_truth` tells what was played.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from raveforce.errors import ArgumentError
from raveforce.synth import osc
from raveforce.synth.scsynth import BlockClock, render_nrt
from raveforce.task import Choices, Note, Task
from raveforce.tasks import DATA, DRUM_LOOP, FULL_KIT, KIT, levels_of, velocities

VOICES = KIT  # ("kick", "snare", "hat"): action bits 1, 2, 4 as in DrumLoop
SYNTHS = {"kick": "fam_kick", "snare": "fam_snare", "hat": "fam_hat"}
FULL_SYNTHS = {  # DrumKit's ten voices (grid columns in FULL_KIT order)
    **SYNTHS, "clap": "fam_clap", "open_hat": "fam_hat", "low_tom": "fam_tom", "mid_tom": "fam_tom", "high_tom": "fam_tom",
    "crash": "fam_cymbal", "ride": "fam_cymbal",
}  # fmt: skip
NOISY = tuple(v for v in FULL_KIT if v != "kick")  # the voices drawing noise from a random generator
ROOM = "fam_room"
SPLITS = {"train": range(10_000), "dev": range(10_000, 20_000), "held_out": range(20_000, 30_000)}
MIX_RATES = (32000, 44100, 48000)  # Hz: the sample rates a rendition is mixed at
_RNGS = 64  # scsynth's random generators (-r): noisy synths sounding together need their own
_MAX_LANES = _RNGS - 1  # one-shots per scsynth, each on generator 1 + lane
_LOOP_LANES = _RNGS // 2 - 1  # loops per scsynth: generators 1 + 2 * lane (snare), 2 + 2 * lane (hat)
_GRID_LANES = (_RNGS - 1) // len(NOISY)  # 7 grid loops per scsynth: generator 1 + 9 * lane + NOISY.index(voice)


@dataclass(frozen=True)
class Rendition:
    """How a loop on the kit is played and mixed (drawn with the kit)."""

    gain_db: dict[str, float]  # per voice, -6..+6 dB
    velocity_db: float  # each hit is 0 to -velocity_db dB (uniform)
    jitter_s: float  # each onset moves by up to +-jitter_s (uniform), <= 5 ms
    room_mix: float  # FreeVerb dry/wet, 0..0.25
    room_size: float
    room_damp: float
    tilt_db: float  # EQ tilt: +tilt/2 dB above 1 kHz, -tilt/2 below, -6..+6
    sample_rate: int  # Hz, the mix's rate (resampled to the task's)

    @classmethod
    def dry(cls, sample_rate: int = 44100, voices: Sequence[str] = VOICES) -> Rendition:
        """The kit exactly: unit gains, no velocity, jitter, room or tilt."""
        return cls({v: 0.0 for v in voices}, 0.0, 0.0, 0.0, 0.5, 0.5, 0.0, sample_rate)


@dataclass(frozen=True)
class Kit:
    """A drum kit: `voices[v]` are the controls of `FULL_SYNTHS[v]` (`VOICES`, or `FULL_KIT`'s ten
    for `draw_full`); `rendition` how loops are mixed."""

    seed: int
    voices: dict[str, dict[str, float]]
    rendition: Rendition

    def notes(self) -> dict[str, Note]:
        return {v: Note.of(FULL_SYNTHS[v], **controls) for v, controls in self.voices.items()}

    def seconds(self, voice: str) -> float:
        """How long one hit of `voice` lasts (s)."""
        c = self.voices[voice]
        synth = FULL_SYNTHS[voice]
        if synth == "fam_snare":
            return c["tone_decay"] + c["noise_decay"] + 0.02
        if synth == "fam_clap":
            return 3 * c["spread"] + c["decay"] + 0.002
        if synth == "fam_cymbal":
            return c["attack"] + c["decay"] + 0.002
        return c["decay"] + 0.002

    def replace(self, **changes) -> Kit:
        return dataclasses.replace(self, **changes)


# The shipped kit (`instruments.kit_kick`, `kit_snare`, `kit_hat`) in the family's terms (the kick
# sweeps straight to 48 Hz instead of via 60 Hz): where calibration starts.
SHIPPED_VOICES = {
    "kick": {"amp": 0.6, "freq": 48.0, "sweep": 3.75, "sweep_time": 0.03, "decay": 0.45, "click": 0.3, "click_freq": 1200.0, "drive": 1.0},
    "snare": dict(amp=0.45, tone=185.0, tone_decay=0.08, tone_level=0.7, noise_freq=1800.0, noise_rq=0.8, noise_decay=0.18, noise_level=1.0, rim=0.0, seed=1979.0),  # noqa: C408
    "hat": {"amp": 0.3, "cutoff": 7000.0, "decay": 0.05, "metal": 0.0, "base": 1.0, "seed": 2019.0},
}


def shipped_like() -> Kit:
    """The shipped kit's sounds as a family kit (seed -1), dry."""
    return Kit(-1, {v: dict(c) for v, c in SHIPPED_VOICES.items()}, Rendition.dry())


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def draw(seed: int) -> Kit:
    """The kit of `seed` (any int >= 0; see SPLITS): pure numpy, the same kit on every machine."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ArgumentError(f"kit seed={seed!r} is not an integer >= 0 (splits: {SPLITS})")
    rng = np.random.default_rng([int(seed), 0x6B17])
    lu = lambda low, high: _log_uniform(rng, low, high)
    kick = {
        "amp": 0.6,
        "freq": lu(40.0, 150.0),
        "sweep": lu(1.0, 8.0),
        "sweep_time": lu(0.005, 0.08),
        "decay": lu(0.08, 1.0),
        "click": float(rng.uniform(0.0, 0.5)) if rng.random() < 0.7 else 0.0,
        "click_freq": lu(800.0, 4000.0),
        "drive": 1.0 if rng.random() < 0.5 else lu(1.0, 6.0),
    }
    rim = rng.random() < 0.25
    snare = {
        "amp": 0.45,
        "tone": float(rng.uniform(150.0, 350.0)),
        "tone_decay": lu(0.03, 0.2),
        "tone_level": float(rng.uniform(0.2, 1.0)),
        "noise_freq": lu(800.0, 6000.0),
        "noise_rq": lu(0.3, 2.0),
        "noise_decay": lu(0.02, 0.08) if rim else lu(0.06, 0.35),
        "noise_level": float(rng.uniform(0.4, 1.2)),
        "rim": float(rng.uniform(0.3, 1.0)) if rim else 0.0,
        "seed": float(rng.integers(0, 2**20)),
    }
    metallic = rng.random() < 0.4
    hat = {
        "amp": 0.3,
        "cutoff": lu(4000.0, 11000.0),
        "decay": lu(0.02, 0.12) if rng.random() < 0.7 else lu(0.12, 0.4),
        "metal": float(rng.uniform(0.5, 1.0)) if metallic else float(rng.uniform(0.0, 0.3)),
        "base": float(rng.uniform(1.0, 2.5)),
        "seed": float(rng.integers(0, 2**20)),
    }
    rendition = Rendition(
        gain_db={v: float(rng.uniform(-6.0, 6.0)) for v in VOICES},
        velocity_db=float(rng.uniform(0.0, 6.0)),
        jitter_s=float(rng.uniform(0.0, 0.005)),
        room_mix=float(rng.uniform(0.0, 0.25)),
        room_size=float(rng.uniform(0.2, 0.8)),
        room_damp=float(rng.uniform(0.2, 0.8)),
        tilt_db=float(rng.uniform(-6.0, 6.0)),
        sample_rate=int(rng.choice(MIX_RATES)),
    )
    return Kit(int(seed), {"kick": kick, "snare": snare, "hat": hat}, rendition)


def draw_full(seed: int) -> Kit:
    """The ten-voice kit of `seed` (voices in `FULL_KIT` order; see SPLITS): `draw(seed)`'s kick,
    snare, hat and rendition, the seven other voices and their gains drawn from a stream of their
    own (ranges in the module's docstring)."""
    kit = draw(seed)
    rng = np.random.default_rng([int(seed), 0x6B18])
    lu = lambda low, high: _log_uniform(rng, low, high)
    noise_seed = lambda: float(rng.integers(0, 2**20))
    clap = {"amp": 0.5, "freq": lu(700.0, 2000.0), "rq": lu(0.3, 1.2), "spread": lu(0.005, 0.02), "decay": lu(0.08, 0.5), "seed": noise_seed()}
    hat = kit.voices["hat"]
    if rng.random() < 0.75:  # the closed hat's pair of cymbals, opened
        cymbals = {"cutoff": hat["cutoff"] * float(rng.uniform(0.8, 1.2)), "metal": min(1.0, hat["metal"] + float(rng.uniform(0.0, 0.2))), "base": hat["base"]}
    else:
        metal = float(rng.uniform(0.5, 1.0)) if rng.random() < 0.4 else float(rng.uniform(0.0, 0.3))
        cymbals = {"cutoff": lu(4000.0, 11000.0), "metal": metal, "base": float(rng.uniform(1.0, 2.5))}
    open_hat = {"amp": 0.3, **cymbals, "decay": lu(0.25, 0.7), "seed": noise_seed()}
    low = lu(55.0, 150.0)
    pitches = (low, low * lu(1.15, 1.9))
    pitches += (pitches[1] * lu(1.15, 1.9),)
    shared = {"sweep": lu(1.0, 2.25), "sweep_time": lu(0.02, 0.12), "decay": lu(0.15, 1.0)}
    shared.update(overtone=float(rng.uniform(0.0, 0.3)), noise=float(rng.uniform(0.0, 0.5)))
    toms = {}
    for voice, freq in zip(("low_tom", "mid_tom", "high_tom"), pitches):
        scale = (pitches[1] / freq) ** 0.5  # lower toms sweep and ring longer
        toms[voice] = {"amp": 0.4, **shared, "freq": freq, "sweep_time": shared["sweep_time"] * scale, "decay": shared["decay"] * scale, "seed": noise_seed()}
    crash = {
        "amp": 0.35, "cutoff": lu(2000.0, 6000.0), "attack": lu(0.001, 0.01), "decay": lu(1.0, 4.5),
        "metal": float(rng.uniform(0.0, 0.6)), "base": float(rng.uniform(1.0, 2.0)), "ping": 0.0, "seed": noise_seed(),
    }  # fmt: skip
    ride_decay = lu(0.6, 2.5)
    ride = {
        "amp": 0.3, "cutoff": lu(3000.0, 9000.0), "attack": lu(0.0005, 0.002), "decay": ride_decay,
        "metal": float(rng.uniform(0.3, 0.9)), "base": float(rng.uniform(1.5, 2.7)), "ping": float(rng.uniform(0.0, 0.6)),
        "ping_freq": lu(800.0, 2200.0), "ping_decay": ride_decay * float(rng.uniform(0.25, 0.6)), "seed": noise_seed(),
    }  # fmt: skip
    drawn = {"clap": clap, "open_hat": open_hat, **toms, "crash": crash, "ride": ride}
    voices = {**kit.voices, **drawn}
    gains = {**kit.rendition.gain_db, **{v: float(rng.uniform(-6.0, 6.0)) for v in drawn}}
    rendition = dataclasses.replace(kit.rendition, gain_db={v: gains[v] for v in FULL_KIT})
    return kit.replace(voices={v: voices[v] for v in FULL_KIT}, rendition=rendition)


def split_seeds(split: str, count: int) -> list[int]:
    """The first `count` seeds of `split` ("train", "dev" or "held_out")."""
    if split not in SPLITS:
        raise ArgumentError(f"split={split!r} is not one of {sorted(SPLITS)}")
    return list(SPLITS[split][:count])


def synthdefs(voices: Sequence[str] = VOICES) -> tuple[bytes, ...]:
    """The compiled SynthDefs of `voices` (each synth once) and the room, last, as shipped."""
    names = dict.fromkeys(FULL_SYNTHS[v] for v in voices)
    return tuple((DATA / "synthdefs" / f"{name}.scsyndef").read_bytes() for name in (*names, ROOM))


def render_notes(notes: Sequence[Note], sample_rate: int, frames: int, *, scsynth: str | None = None) -> np.ndarray:
    """float32 (len(notes), frames): each note started alone at sample 0, one output channel
    each, up to 63 per fresh scsynth."""
    out = np.zeros((len(notes), frames), np.float32)
    setup = [osc.message("/d_recv", d) for d in synthdefs(FULL_KIT)] + [osc.message("/g_new", 1, 0, 0)]
    for lo in range(0, len(notes), _MAX_LANES):
        batch = notes[lo : lo + _MAX_LANES]
        starts = [_s_new(n, bus, rng=1 + bus) for bus, n in enumerate(batch)]
        score = [(0, setup), (BlockClock(sample_rate).tag(0), starts)]
        audio = render_nrt(score, sample_rate=sample_rate, channels=max(2, len(batch)), frames=frames, executable=scsynth)
        out[lo : lo + len(batch)] = audio[:, : len(batch)].T
    return out


def render_kit(kit: Kit, sample_rate: int = 44100, *, scsynth: str | None = None) -> dict[str, np.ndarray]:
    """{voice: float32 (n,)}: one hit of each voice, dry (no rendition), n = its length in samples."""
    notes = kit.notes()
    frames = max(round(kit.seconds(v) * sample_rate) for v in notes)
    audio = render_notes(list(notes.values()), sample_rate, frames, scsynth=scsynth)
    return {v: audio[i, : round(kit.seconds(v) * sample_rate)].copy() for i, v in enumerate(notes)}


def render_loop(kit: Kit, pattern: Sequence[int], task: Task = DRUM_LOOP, seed: int = 0, *, scsynth: str | None = None) -> np.ndarray:
    """float32 (task.total_samples,) at task.sample_rate: `pattern` (one DrumLoop action a step:
    bits 1 kick, 2 snare, 4 hat) played on `kit` with its rendition; the velocities and jitter of
    the hits are drawn from (kit.seed, seed)."""
    return render_loops([(kit, pattern, seed)], task, scsynth=scsynth)[0]


def render_loops(loops: Sequence[tuple[Kit, Sequence[int], int]], task: Task = DRUM_LOOP, *, scsynth: str | None = None) -> np.ndarray:
    """float32 (len(loops), task.total_samples): `render_loop` of each (kit, pattern, seed),
    the loops of one mix rate rendered together (one output channel each, 31 per scsynth)."""
    return _render_batches(loops, task, _LOOP_LANES, _check_pattern, _pattern_lanes, scsynth)


def render_grid_loops(loops: Sequence[tuple[Kit, np.ndarray, int]], task: Task, *, scsynth: str | None = None) -> np.ndarray:
    """float32 (len(loops), task.total_samples) at task.sample_rate: each (kit, grid, seed), grid an
    int (<= task.steps, 10) array of `task`'s levels (a DrumKit task, `tasks.drum_kit_task`; 0 rests),
    played on `kit` (`draw_full`) with its rendition: the hits of `grid_hits`, through the room
    and tilt at the mix rate, resampled; the loops of one mix rate rendered together (7 per scsynth)."""
    return _render_batches(loops, task, _GRID_LANES, check_grid, _grid_lanes, scsynth)


def grid_hits(kit: Kit, grid: np.ndarray, task: Task, seed: int = 0):
    """(onset s, voice, MIDI velocity, amp) of every hit of the grid loop (kit, grid, seed), in
    step order: a hit at level l of voice v is played at velocity `velocities(levels)[l - 1]`
    lowered by 0..velocity_db dB (uniform), amp = v's amp * velocity / 127 * v's gain, at the
    step's onset jittered by up to +-jitter_s (the same for all voices of a step, >= 0); drawn
    from (kit.seed, seed)."""
    grid = check_grid(grid, task)
    r = kit.rendition
    levels = velocities(levels_of(task))
    rng = np.random.default_rng([kit.seed % 2**63, int(seed), 0x100E])
    jitter = rng.uniform(-r.jitter_s, r.jitter_s, task.steps)
    drop_db = rng.uniform(0.0, r.velocity_db, (task.steps, len(FULL_KIT)))
    for k, i in zip(*np.nonzero(grid)):
        voice = FULL_KIT[i]
        if voice not in kit.voices:
            raise ArgumentError(f"kit {kit.seed} has no {voice} (a ten-voice kit: draw_full)")
        velocity = levels[grid[k, i] - 1] * 10 ** (-drop_db[k, i] / 20)
        amp = kit.voices[voice]["amp"] * velocity / 127 * 10 ** (r.gain_db.get(voice, 0.0) / 20)
        yield max(0.0, task.boundaries[k] / task.sample_rate + jitter[k]), voice, float(velocity), float(amp)


class Played(NamedTuple):
    """The hits of one voice that a loop plays, by onset."""

    onsets: np.ndarray  # float64 (n,): s from the loop's start
    velocities: np.ndarray  # float64 (n,): MIDI velocity 1-127 (not rounded)


def played_by_voice(hits: Iterable[tuple[float, str | None, float]]) -> dict[str, Played]:
    """{voice: Played} for each of `FULL_KIT` from (onset s, voice or None, MIDI velocity) hits;
    hits of no voice (None) are left out."""
    found: dict[str, list[tuple[float, float]]] = {v: [] for v in FULL_KIT}
    for onset, voice, velocity in hits:
        if voice is not None:
            found[voice].append((float(onset), float(velocity)))
    ordered = {v: np.array(sorted(h), np.float64).reshape(-1, 2) for v, h in found.items()}
    return {v: Played(h[:, 0].copy(), h[:, 1].copy()) for v, h in ordered.items()}


def grid_truth(kit: Kit, grid: np.ndarray, task: Task, seed: int = 0) -> dict[str, Played]:
    """{voice: Played}: the onsets and velocities of the hits of each voice of `FULL_KIT` that
    `render_grid_loops` plays for (kit, grid, seed)."""
    return played_by_voice((onset, voice, velocity) for onset, voice, velocity, _ in grid_hits(kit, grid, task, seed))


def check_grid(grid: np.ndarray, task: Task) -> np.ndarray:
    """`grid` as int64 (steps, 10), or ArgumentError unless it is <= task.steps steps of the ten
    voices' levels 0..levels (`tasks.levels_of(task)`)."""
    levels = levels_of(task)
    array = np.asarray(grid)
    shaped = array.ndim == 2 and array.shape[1] == len(FULL_KIT) and len(array) <= task.steps
    if not shaped or not (array.size == 0 or np.issubdtype(array.dtype, np.integer) and 0 <= array.min() and array.max() <= levels):
        raise ArgumentError(f"grid of shape {array.shape} is not <= {task.steps} steps of {len(FULL_KIT)} voices' levels in 0..{levels}")
    return array.astype(np.int64)


def lane_batches(loops: Sequence[tuple], task: Task, lanes: int, check=None):
    """(mix rate, indices) of `loops` ((kit, pattern, seed), each kit with a `rendition`), at
    most `lanes` of one mix rate a batch: the scsynth runs that render them; each pattern checked
    first by `check(pattern, task)` (default: DrumLoop actions)."""
    by_rate: dict[int, list[int]] = {}
    for i, (kit, pattern, _) in enumerate(loops):
        (check or _check_pattern)(pattern, task)
        by_rate.setdefault(kit.rendition.sample_rate, []).append(i)
    for rate, rows in by_rate.items():
        for lo in range(0, len(rows), lanes):
            yield rate, rows[lo : lo + lanes]


def _check_pattern(pattern: Sequence[int], task: Task) -> None:
    actions = [int(a) for a in pattern]
    if len(actions) > task.steps or any(not 0 <= a < 2 ** len(VOICES) for a in actions):
        raise ArgumentError(f"pattern {list(pattern)} is not <= {task.steps} actions in 0..{2 ** len(VOICES) - 1}")


def _render_batches(loops, task: Task, lanes: int, check, lane_hits, scsynth: str | None) -> np.ndarray:
    """float32 (len(loops), task.total_samples): the loops rendered `lanes` of one mix rate a
    scsynth, `lane_hits(loops, task)` giving their hits and synthdefs, then resampled."""
    out = np.zeros((len(loops), task.total_samples), np.float32)
    for rate, batch in lane_batches(loops, task, lanes, check):
        chosen = [loops[i] for i in batch]
        audio = _render_lanes([kit.rendition for kit, _, _ in chosen], *lane_hits(chosen, task), task, rate, scsynth)
        if rate != task.sample_rate:
            import soxr

            audio = soxr.resample(audio, rate, task.sample_rate, quality="HQ")
        n = min(len(audio), task.total_samples)
        out[batch, :n] = audio[:n].T
    return out


def _pattern_lanes(loops, task: Task):
    """(per loop its hits (onset s, note, random generator), the synthdefs) of DrumLoop patterns."""
    return [_pattern_hits(kit, pattern, task, seed, lane) for lane, (kit, pattern, seed) in enumerate(loops)], synthdefs()


def _pattern_hits(kit: Kit, pattern: Sequence[int], task: Task, seed: int, lane: int):
    r = kit.rendition
    rng = np.random.default_rng([kit.seed % 2**63, int(seed), 0x100F])
    notes = kit.notes()
    for k, action in enumerate(int(a) for a in pattern):
        onset = task.boundaries[k] / task.sample_rate + rng.uniform(-r.jitter_s, r.jitter_s)
        for i, v in enumerate(VOICES):
            level = 10 ** ((r.gain_db[v] - rng.uniform(0.0, r.velocity_db)) / 20)
            if action >> i & 1:
                yield onset, Note.of(notes[v].synth, **{**dict(notes[v].controls), "amp": kit.voices[v]["amp"] * level}), i + 2 * lane


def _grid_lanes(loops, task: Task):
    """(per loop its hits (onset s, note, random generator), the synthdefs) of DrumKit grids."""
    lanes = []
    for lane, (kit, grid, seed) in enumerate(loops):
        hits = grid_hits(kit, grid, task, seed)
        lanes.append([(onset, Note.of(FULL_SYNTHS[v], **{**kit.voices[v], "amp": amp}), _generator(v, lane)) for onset, v, _, amp in hits])
    return lanes, synthdefs(FULL_KIT)


def _generator(voice: str, lane: int) -> int:
    """The random generator of `voice` in grid lane `lane` (the kick draws none: 0)."""
    return 1 + lane * len(NOISY) + NOISY.index(voice) if voice in NOISY else 0


def _render_lanes(renditions: Sequence[Rendition], hits, defs: Sequence[bytes], task: Task, rate: int, scsynth: str | None) -> np.ndarray:
    """float32 (frames at `rate`, len(renditions)): lane i's hits (onset s, note, random
    generator) on a private bus read by its own room synth (renditions[i]), to output channel i."""
    lanes = max(2, len(renditions))
    clock = BlockClock(rate)
    setup = [osc.message("/d_recv", d) for d in defs] + [osc.message("/g_new", 1, 0, 0)]
    events: dict[int, list[bytes]] = {}
    for lane, (r, lane_hits) in enumerate(zip(renditions, hits)):
        bus = lanes + lane  # private: past the outputs (scsynth -i 0)
        for onset, note, generator in lane_hits:
            events.setdefault(max(0, round(onset * rate)), []).append(_s_new(note, bus, rng=generator))
        setup.append(osc.message(
            "/s_new", ROOM, -1, 3, 1, "out", lane, "source_bus", bus,
            "mix", r.room_mix, "room", r.room_size, "damp", r.room_damp, "tilt", r.tilt_db,
        ))  # fmt: skip
    score = [(0, setup)] + [(clock.tag(s), events[s]) for s in sorted(events)]
    frames = -(-task.total_samples * rate // task.sample_rate)
    nodes = sum(len(e) for e in events.values()) + lanes + 2
    return render_nrt(score, sample_rate=rate, channels=lanes, frames=frames, executable=scsynth, max_nodes=nodes)[:, : len(renditions)]


def kit_task(kit: Kit, base: Task = DRUM_LOOP, *, name: str | None = None) -> Task:
    """`base` (a DrumLoop-like task) with its drums played by `kit`'s voices (dry, each at its
    `amp`), named `name` (default base name + "Kit" + seed)."""
    notes = kit.notes()
    actions = Choices(tuple(tuple(notes[v] for i, v in enumerate(VOICES) if a >> i & 1) for a in range(2 ** len(VOICES))))
    return dataclasses.replace(base, name=name or f"{base.name}Kit{kit.seed}", synthdefs=synthdefs()[: len(VOICES)], buffers=(), actions=actions)


def _s_new(note: Note, bus: int, rng: int) -> bytes:
    """/s_new of `note` at the head of group 1, to bus `bus`, its noise (if any) from generator `rng`."""
    args: list = [note.synth, -1, 0, 1, "out", bus, "rng", rng]
    for name, value in note.controls:
        args += [name, value]
    return osc.message("/s_new", *args)


__all__ = [
    "FULL_SYNTHS", "MIX_RATES", "NOISY", "ROOM", "SHIPPED_VOICES", "SPLITS", "SYNTHS", "VOICES", "Kit", "Played", "Rendition",
    "check_grid", "draw", "draw_full", "grid_hits", "grid_truth", "kit_task", "lane_batches", "played_by_voice", "render_grid_loops",
    "render_kit", "render_loop", "render_loops", "render_notes", "shipped_like", "split_seeds", "synthdefs",
]  # fmt: skip
