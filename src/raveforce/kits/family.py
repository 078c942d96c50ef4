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
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from raveforce.errors import ArgumentError
from raveforce.synth import osc
from raveforce.synth.scsynth import BlockClock, render_nrt
from raveforce.task import Choices, Note, Task
from raveforce.tasks import DATA, DRUM_LOOP, KIT

VOICES = KIT  # ("kick", "snare", "hat"): action bits 1, 2, 4 as in DrumLoop
SYNTHS = {"kick": "fam_kick", "snare": "fam_snare", "hat": "fam_hat"}
ROOM = "fam_room"
SPLITS = {"train": range(10_000), "dev": range(10_000, 20_000), "held_out": range(20_000, 30_000)}
MIX_RATES = (32000, 44100, 48000)  # Hz: the sample rates a rendition is mixed at
_RNGS = 64  # scsynth's random generators (-r): noisy synths sounding together need their own
_MAX_LANES = _RNGS - 1  # one-shots per scsynth, each on generator 1 + lane
_LOOP_LANES = _RNGS // 2 - 1  # loops per scsynth: generators 1 + 2 * lane (snare), 2 + 2 * lane (hat)


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
    def dry(cls, sample_rate: int = 44100) -> Rendition:
        """The kit exactly: unit gains, no velocity, jitter, room or tilt."""
        return cls({v: 0.0 for v in VOICES}, 0.0, 0.0, 0.0, 0.5, 0.5, 0.0, sample_rate)


@dataclass(frozen=True)
class Kit:
    """A drum kit: `voices[v]` are the controls of `SYNTHS[v]`; `rendition` how loops are mixed."""

    seed: int
    voices: dict[str, dict[str, float]]
    rendition: Rendition

    def notes(self) -> dict[str, Note]:
        return {v: Note.of(SYNTHS[v], **self.voices[v]) for v in VOICES}

    def seconds(self, voice: str) -> float:
        """How long one hit of `voice` lasts (s)."""
        c = self.voices[voice]
        if voice == "kick":
            return c["decay"] + 0.002
        if voice == "snare":
            return c["tone_decay"] + c["noise_decay"] + 0.02
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


def split_seeds(split: str, count: int) -> list[int]:
    """The first `count` seeds of `split` ("train", "dev" or "held_out")."""
    if split not in SPLITS:
        raise ArgumentError(f"split={split!r} is not one of {sorted(SPLITS)}")
    return list(SPLITS[split][:count])


def synthdefs() -> tuple[bytes, ...]:
    """The compiled SynthDefs of the family (voices and room), as shipped."""
    return tuple((DATA / "synthdefs" / f"{name}.scsyndef").read_bytes() for name in (*SYNTHS.values(), ROOM))


def render_notes(notes: Sequence[Note], sample_rate: int, frames: int, *, scsynth: str | None = None) -> np.ndarray:
    """float32 (len(notes), frames): each note started alone at sample 0, one output channel
    each, up to 63 per fresh scsynth."""
    out = np.zeros((len(notes), frames), np.float32)
    setup = [osc.message("/d_recv", d) for d in synthdefs()] + [osc.message("/g_new", 1, 0, 0)]
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
    frames = max(round(kit.seconds(v) * sample_rate) for v in VOICES)
    audio = render_notes([notes[v] for v in VOICES], sample_rate, frames, scsynth=scsynth)
    return {v: audio[i, : round(kit.seconds(v) * sample_rate)].copy() for i, v in enumerate(VOICES)}


def render_loop(kit: Kit, pattern: Sequence[int], task: Task = DRUM_LOOP, seed: int = 0, *, scsynth: str | None = None) -> np.ndarray:
    """float32 (task.total_samples,) at task.sample_rate: `pattern` (one DrumLoop action a step:
    bits 1 kick, 2 snare, 4 hat) played on `kit` with its rendition; the velocities and jitter of
    the hits are drawn from (kit.seed, seed)."""
    return render_loops([(kit, pattern, seed)], task, scsynth=scsynth)[0]


def render_loops(loops: Sequence[tuple[Kit, Sequence[int], int]], task: Task = DRUM_LOOP, *, scsynth: str | None = None) -> np.ndarray:
    """float32 (len(loops), task.total_samples): `render_loop` of each (kit, pattern, seed),
    the loops of one mix rate rendered together (one output channel each, 31 per scsynth)."""
    out = np.zeros((len(loops), task.total_samples), np.float32)
    for rate, batch in lane_batches(loops, task, _LOOP_LANES):
        audio = _render_loop_lanes([loops[i] for i in batch], task, rate, scsynth)
        if rate != task.sample_rate:
            import soxr

            audio = soxr.resample(audio, rate, task.sample_rate, quality="HQ")
        n = min(len(audio), task.total_samples)
        out[batch, :n] = audio[:n].T
    return out


def lane_batches(loops: Sequence[tuple], task: Task, lanes: int):
    """(mix rate, indices) of `loops` ((kit, pattern, seed), each kit with a `rendition`), at
    most `lanes` of one mix rate a batch: the scsynth runs that render them; each pattern checked first."""
    by_rate: dict[int, list[int]] = {}
    for i, (kit, pattern, _) in enumerate(loops):
        _check_pattern(pattern, task)
        by_rate.setdefault(kit.rendition.sample_rate, []).append(i)
    for rate, rows in by_rate.items():
        for lo in range(0, len(rows), lanes):
            yield rate, rows[lo : lo + lanes]


def _check_pattern(pattern: Sequence[int], task: Task) -> None:
    actions = [int(a) for a in pattern]
    if len(actions) > task.steps or any(not 0 <= a < 2 ** len(VOICES) for a in actions):
        raise ArgumentError(f"pattern {list(pattern)} is not <= {task.steps} actions in 0..{2 ** len(VOICES) - 1}")


def _render_loop_lanes(loops, task: Task, rate: int, scsynth: str | None) -> np.ndarray:
    """float32 (frames at `rate`, len(loops)): each loop on its own output channel, its voices on a
    private bus read by its own room synth."""
    lanes = max(2, len(loops))
    clock = BlockClock(rate)
    setup = [osc.message("/d_recv", d) for d in synthdefs()] + [osc.message("/g_new", 1, 0, 0)]
    events: dict[int, list[bytes]] = {}
    for lane, (kit, pattern, seed) in enumerate(loops):
        r = kit.rendition
        bus = lanes + lane  # private: past the outputs (scsynth -i 0)
        rng = np.random.default_rng([kit.seed % 2**63, int(seed), 0x100F])
        notes = kit.notes()
        for k, action in enumerate(int(a) for a in pattern):
            onset = task.boundaries[k] / task.sample_rate + rng.uniform(-r.jitter_s, r.jitter_s)
            for i, v in enumerate(VOICES):
                level = 10 ** ((r.gain_db[v] - rng.uniform(0.0, r.velocity_db)) / 20)
                if action >> i & 1:
                    note = Note.of(notes[v].synth, **{**dict(notes[v].controls), "amp": kit.voices[v]["amp"] * level})
                    events.setdefault(max(0, round(onset * rate)), []).append(_s_new(note, bus, rng=i + 2 * lane))
        setup.append(osc.message(
            "/s_new", ROOM, -1, 3, 1, "out", lane, "source_bus", bus,
            "mix", r.room_mix, "room", r.room_size, "damp", r.room_damp, "tilt", r.tilt_db,
        ))  # fmt: skip
    score = [(0, setup)] + [(clock.tag(s), events[s]) for s in sorted(events)]
    frames = -(-task.total_samples * rate // task.sample_rate)
    return render_nrt(score, sample_rate=rate, channels=lanes, frames=frames, executable=scsynth)[:, : len(loops)]


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


__all__ = ["MIX_RATES", "ROOM", "SHIPPED_VOICES", "SPLITS", "SYNTHS", "VOICES", "Kit", "Rendition", "draw", "kit_task", "lane_batches", "render_kit", "render_loop", "render_loops", "render_notes", "shipped_like", "split_seeds", "synthdefs"]
