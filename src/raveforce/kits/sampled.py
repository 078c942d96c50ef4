"""Loops played on sampled kits (Hydrogen's) the way a user's loop sounds, rendered by scsynth.

`draw(seed, split)` picks, from the kits of a split, the instruments a loop is played on (one
kit's pieces, or pieces mixed across kits), distractors that the right answer leaves out
(toms, cymbals, percussion), and a `Rendition`: velocities that pick the samples' velocity
layers, humanised timing and swing, per-voice gains, pitches and EQ tilts, a room and an EQ tilt, bus
compression, a pitch shift, noise, an MP3 or OGG round trip, and the sample rate of the mix.

    drums = sampled.draw(7, "train")                       # SampledDrums, the same on every machine
    loop = sampled.render_loop(drums, pattern, DRUM_LOOP)  # float32 (88200,)
    task = sampled.kit_task(drums)                         # DRUM_LOOP played on these samples

    full = sampled.draw_full(7, "train")                   # FullKitDrums: DrumKit's ten voices
    loops = sampled.render_grid_loops([(full, grid, 0)], DRUM_KIT)   # float32 (1, 88200)
    truth = sampled.grid_truth(full, grid, DRUM_KIT, 0)    # {voice: family.Played(onsets, velocities)}

scsynth plays each hit with the `drum` synth from a mono copy of its layer's sample (made once
into the cache folder, `cache_dir()`); a pitch shift plays that copy at another rate, as a
sampler does. The room and tilt are the family's `fam_room` synth; compression, noise, the
codec and the final resampling are numpy, soundfile and soxr.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from raveforce.errors import ArgumentError
from raveforce.kits import family, hydrogen
from raveforce.kits.hydrogen import Instrument, SampledKit
from raveforce.synth import osc
from raveforce.synth.scsynth import BlockClock, render_nrt
from raveforce.task import Choices, MultiChoices, Note, Task
from raveforce.tasks import DATA, DRUM_LOOP, FULL_KIT, levels_of, velocities

VOICES = hydrogen.VOICES
MIX_RATES = (32000, 44100, 48000)  # Hz
CODECS = (None, "mp3", "ogg")
PEAK = 0.9  # a rendered loop's peak, as a normalised loop
_LANES = 31  # loops per scsynth run


@dataclass(frozen=True)
class Rendition:
    """How a loop is played and mixed (drawn with the drums)."""

    velocity: tuple[float, float]  # each hit's velocity, uniform in [low, high] within [0, 1]
    humanize_s: float  # each onset moves by up to +-humanize_s (uniform), <= 8 ms
    swing: float  # off-beat 16ths start late by swing x a 16th, 0..0.3
    gain_db: dict[str, float]  # per voice
    room_mix: float  # fam_room's dry/wet, 0..0.3
    room_size: float
    room_damp: float
    tilt_db: float  # EQ tilt: +tilt/2 dB above 1 kHz, -tilt/2 below
    compress: float  # bus compression's ratio (1: none)
    pitch_semitones: float  # the whole kit, as a sampler's pitch control
    noise_db: float  # white noise re the loop's peak (-inf: none)
    codec: str | None  # "mp3" or "ogg": a lossy round trip
    sample_rate: int  # Hz, the mix's rate (resampled to the task's)
    voice_pitch: dict[str, float] = dataclasses.field(default_factory=dict)  # semitones per voice, on top
    voice_tilt_db: dict[str, float] = dataclasses.field(default_factory=dict)  # an EQ tilt per voice, on top

    @classmethod
    def dry(cls, sample_rate: int = 44100) -> Rendition:
        """The samples as they are: velocity 0.8, on the grid, no effects."""
        return cls((0.8, 0.8), 0.0, 0.0, {v: 0.0 for v in VOICES}, 0.0, 0.5, 0.5, 0.0, 1.0, 0.0, -np.inf, None, sample_rate)

    @classmethod
    def plain(cls, sample_rate: int = 44100) -> Rendition:
        """A plainly played loop: MIDI velocities 60-127, onsets within +-4 ms, no effects."""
        return dataclasses.replace(cls.dry(sample_rate), velocity=(60 / 127, 1.0), humanize_s=0.004)


@dataclass(frozen=True)
class SampledDrums:
    """What a loop is played on: per voice its instruments (the first for most hits; a hat's
    others, such as an open hat, now and then), distractors, and the rendition."""

    seed: int
    pieces: dict[str, tuple[Instrument, ...]]
    distractors: tuple[Instrument, ...]
    distractor_density: float  # chance per step that a distractor hits
    rendition: Rendition
    kits: dict[str, str]  # voice -> the kit its pieces come from
    accents: tuple[tuple[int, Instrument], ...] = ()  # (step, instrument): hits at fixed steps, e.g. a crash on the one

    def replace(self, **changes) -> SampledDrums:
        return dataclasses.replace(self, **changes)

    def plain(self) -> SampledDrums:
        """These drums played plainly: each voice's first instrument, no distractors, `Rendition.plain()`."""
        return self.replace(pieces={v: p[:1] for v, p in self.pieces.items()}, distractors=(), rendition=Rendition.plain())


@dataclass(frozen=True)
class FullKitDrums(SampledDrums):
    """Drums for DrumKit's ten voices (`draw_full`): `pieces[v]` is one instrument for each voice
    of `FULL_KIT` that a kit of the split has, `kits[v]` the kit it comes from."""

    main: str = ""  # the kit the drums are drawn around
    missing: tuple[str, ...] = ()  # voices that no kit of the split has: their hits are not played

    @property
    def borrowed(self) -> dict[str, str]:
        """{voice: kit} of the voices that come from another kit than `main`."""
        return {v: k for v, k in self.kits.items() if k != self.main}


def cache_dir() -> Path:
    """Where mono copies of the samples are kept: $RAVEFORCE_CACHE, else $XDG_CACHE_HOME/raveforce,
    else ~/.cache/raveforce; `samples/` inside it."""
    base = os.environ.get("RAVEFORCE_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "raveforce"
    return Path(base) / "samples"


def mono_sample(path: Path, pitch_semitones: float = 0.0, tilt_db: float = 0.0) -> Path:
    """A float32 mono WAV of the sound file `path` (channels averaged), with an EQ tilt of
    `tilt_db` (+tilt/2 dB above 1 kHz, -tilt/2 below, first order) and its header's rate scaled
    by 2 ** (pitch / 12) so that the `drum` synth plays it that much higher; made once."""
    import soundfile

    stat = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{stat.st_mtime_ns}|{stat.st_size}|{pitch_semitones:.4f}|{tilt_db:.4f}".encode()).hexdigest()[:16]
    out = cache_dir() / f"{path.stem[:40]}-{key}.wav"
    if not out.is_file():
        audio, rate = soundfile.read(path, dtype="float64", always_2d=True)
        mono = audio.mean(axis=1)
        if tilt_db:
            mono = tilt(mono, rate, tilt_db)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        soundfile.write(tmp, mono.astype(np.float32), round(rate * 2 ** (pitch_semitones / 12)), subtype="FLOAT", format="WAV")
        os.replace(tmp, out)
    return out


def tilt(x: np.ndarray, rate: int, tilt_db: float, corner_hz: float = 1000.0) -> np.ndarray:
    """`x` split at `corner_hz` by a one-pole low-pass, its highs raised by tilt/2 dB and its lows lowered by as much."""
    from scipy.signal import lfilter

    a = np.exp(-2 * np.pi * corner_hz / rate)
    low = lfilter([1 - a], [1, -a], x)
    return low * 10 ** (-tilt_db / 40) + (x - low) * 10 ** (tilt_db / 40)


def _kits(split_or_names) -> tuple[list[SampledKit], list[SampledKit]]:
    """(the installed kits of a split or of kit names, those of them with a kick, a snare and a hat)."""
    names = hydrogen.split(split_or_names) if isinstance(split_or_names, str) else tuple(split_or_names)
    installed = set(hydrogen.available())
    loaded = [hydrogen.load(n) for n in names if n in installed]
    complete = [k for k in loaded if all(k.instruments_of(v) for v in VOICES)]
    if not complete:
        missing = [n for n in names if n not in installed]
        raise hydrogen.HydrogenKitError(
            f"no kit of {split_or_names!r} with a kick, a snare and a hat is installed (missing: {missing}); "
            f"install them with `{hydrogen.install_command(missing[0] if missing else '')}`"
        )
    return loaded, complete


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ArgumentError(f"seed={seed!r} is not an integer >= 0")


def draw(seed: int, split: str | Sequence[str] = "train", *, mix_chance: float = 0.25) -> SampledDrums:
    """The drums of `seed` on the installed kits of `split` (a split name of `hydrogen.SPLITS` or
    kit names): one kit's kick, snare and hat, each from another kit of the split with chance
    `mix_chance`; up to 3 distractors; a rendition. The same seed and installed kits give the same drums."""
    _check_seed(seed)
    kits, complete = _kits(split)
    rng = np.random.default_rng([int(seed), 0x5A3D])
    main = complete[int(rng.integers(len(complete)))]
    pieces, sources = {}, {}
    for voice in VOICES:
        owners = [k for k in kits if k.instruments_of(voice)]
        kit = owners[int(rng.integers(len(owners)))] if rng.random() < mix_chance else main
        options = kit.instruments_of(voice)
        first = [i for i in options if i.role != "open_hat"] or options
        chosen = [first[int(rng.integers(len(first)))]]
        opens = kit.instruments_of("open_hat") if voice == "hat" else []
        if opens and rng.random() < 0.5:
            chosen.append(opens[int(rng.integers(len(opens)))])
        pieces[voice], sources[voice] = tuple(chosen), kit.name
    others = [i for k in kits for i in k.distractors if i.role not in ("other", "roll")]
    count = int(rng.integers(0, 4)) if others else 0
    distractors = tuple(others[int(i)] for i in rng.choice(len(others), size=min(count, len(others)), replace=False)) if count else ()
    rendition = _draw_rendition(rng, VOICES)
    density = float(rng.uniform(0.02, 0.1))
    rendition = _draw_voice_colours(rng, rendition, VOICES)  # drawn last: the shipped hits model was trained on the drums this order gives
    return SampledDrums(int(seed), pieces, distractors, density, rendition, sources)


def _draw_rendition(rng: np.random.Generator, voices: Sequence[str]) -> Rendition:
    """A rendition with gains for `voices`, no per-voice pitches or tilts."""
    return Rendition(
        velocity=tuple(sorted(rng.uniform(0.35, 1.0, 2).tolist())),
        humanize_s=float(rng.uniform(0.0, 0.008)),
        swing=float(rng.uniform(0.0, 0.3)) if rng.random() < 0.3 else 0.0,
        gain_db={v: float(rng.uniform(-6.0, 6.0)) for v in voices},
        room_mix=float(rng.uniform(0.0, 0.3)),
        room_size=float(rng.uniform(0.2, 0.8)),
        room_damp=float(rng.uniform(0.2, 0.8)),
        tilt_db=float(rng.uniform(-6.0, 6.0)),
        compress=float(rng.uniform(1.0, 6.0)) if rng.random() < 0.5 else 1.0,
        pitch_semitones=float(rng.uniform(-2.0, 2.0)) if rng.random() < 0.3 else 0.0,
        noise_db=float(rng.uniform(-70.0, -35.0)) if rng.random() < 0.5 else -np.inf,
        codec=CODECS[int(rng.integers(len(CODECS)))],
        sample_rate=int(rng.choice(MIX_RATES)),
    )


def _draw_voice_colours(rng: np.random.Generator, rendition: Rendition, voices: Sequence[str]) -> Rendition:
    """`rendition` with a pitch and a tilt for each of `voices` (each 0 with chance 1/2)."""
    return dataclasses.replace(
        rendition,
        voice_pitch={v: round(float(rng.uniform(-3.0, 3.0)) * 2) / 2 if rng.random() < 0.5 else 0.0 for v in voices},  # 0.5 st steps: a bounded cache
        voice_tilt_db={v: float(round(rng.uniform(-9.0, 9.0))) if rng.random() < 0.5 else 0.0 for v in voices},
    )


def draw_full(seed: int, split: str | Sequence[str] = "train", *, mix_chance: float = 0.25) -> FullKitDrums:
    """Drums for DrumKit's ten voices of `seed` on the installed kits of `split` (as `draw`): a
    kit with a kick, a snare and a hat (`main`), each voice one of its instruments of the voice's
    first role it has (`FULL_KIT_ROLES`) and its three toms together, low to high by their names
    or pitch (`_toms_by_voice`, as `full_kit_task`); a voice (or the toms) from another kit of the split with chance
    `mix_chance`, and always when `main` lacks it (toms: has fewer than three; a kit with three
    or more when one has them), or `missing` when no kit has it; up to 3 distractors of the kits'
    percussion; a rendition over the ten voices (its `velocity` range is only the distractors').
    A stream of its own: not `draw(seed)`'s drums."""
    _check_seed(seed)
    kits, complete = _kits(split)
    rng = np.random.default_rng([int(seed), 0x5A40])
    main = complete[int(rng.integers(len(complete)))]

    def source(owners: list[SampledKit]) -> SampledKit:
        has_main = any(k.name == main.name for k in owners)
        return main if has_main and rng.random() >= mix_chance else owners[int(rng.integers(len(owners)))]

    pieces, sources = {}, {}
    for voice in FULL_KIT_ROLES:
        owners = [k for k in kits if _role_instruments(k, voice)]
        if owners:
            kit = source(owners)
            options = _role_instruments(kit, voice)
            pieces[voice], sources[voice] = (options[int(rng.integers(len(options)))],), kit.name
    owners = [k for k in kits if len(k.instruments_of("tom")) >= 3] or [k for k in kits if k.instruments_of("tom")]
    if owners:
        kit = source(owners)
        for voice, tom in _toms_by_voice(kit).items():
            pieces[voice], sources[voice] = (tom,), kit.name
    others = [i for k in kits for i in k.instruments if i.role == "percussion"]
    count = min(int(rng.integers(0, 4)), len(others))
    distractors = tuple(others[int(i)] for i in rng.choice(len(others), size=count, replace=False)) if count else ()
    rendition = _draw_rendition(rng, FULL_KIT)
    density = float(rng.uniform(0.02, 0.1))
    rendition = _draw_voice_colours(rng, rendition, FULL_KIT)
    order = [v for v in FULL_KIT if v in pieces]
    return FullKitDrums(
        int(seed), {v: pieces[v] for v in order}, distractors, density, rendition, {v: sources[v] for v in order},
        main=main.name, missing=tuple(v for v in FULL_KIT if v not in pieces),
    )  # fmt: skip


def kit_task(drums: SampledDrums, base: Task = DRUM_LOOP, *, velocity: float = 0.8, name: str | None = None) -> Task:
    """`base` (DrumLoop-like) with its kick, snare and hat played by the first instrument of each
    voice of `drums` at `velocity` (its layer and loudness), dry and at the samples' pitch."""
    buffers, notes = [], []
    for i, voice in enumerate(VOICES):
        instrument = drums.pieces[voice][0]
        layer = instrument.layer(velocity)
        buffers.append(mono_sample(layer.path, layer.pitch))
        notes.append(Note.of("drum", buf=i, amp=velocity * instrument.gain * layer.gain))
    actions = Choices(tuple(tuple(notes[i] for i in range(len(VOICES)) if a >> i & 1) for a in range(2 ** len(VOICES))))
    return dataclasses.replace(base, name=name or f"{base.name}Sampled{drums.seed}", buffers=tuple(buffers), actions=actions)


FULL_KIT_ROLES = {  # a DrumKit voice: the Hydrogen roles that may play it, in order of preference
    "kick": ("kick",), "snare": ("snare", "rimshot"), "clap": ("clap",), "hat": ("closed_hat", "pedal_hat"),
    "open_hat": ("open_hat",), "crash": ("crash", "cymbal"), "ride": ("ride",),
}  # fmt: skip
TOMS = ("low_tom", "mid_tom", "high_tom")


def full_kit_task(name: str | os.PathLike, base: Task) -> tuple[Task, dict[str, str]]:
    """`base` (a DrumKit task, `tasks.drum_kit_task`) played on Hydrogen kit `name`, and which
    instrument plays each voice. A voice plays the kit's first instrument of its roles
    (`FULL_KIT_ROLES`); the toms go low to high by their names, else by their pitch
    (`_toms_by_voice`: two toms are low and high, one is mid); a level at MIDI velocity v plays
    the layer that velocity picks, at amp v / 127 times the instrument's and layer's gains, dry.
    A voice the kit lacks keeps the shipped sample ("shipped" in the dict)."""
    kit = hydrogen.load(name)
    chosen = {voice: found[0] for voice in FULL_KIT_ROLES if (found := _role_instruments(kit, voice))}
    chosen.update(_toms_by_voice(kit))
    levels = velocities(levels_of(base))
    buffers: list[Path] = []
    parts = []
    for i, voice in enumerate(FULL_KIT):
        options: list[tuple[Note, ...]] = [()]
        for v in levels:
            if voice in chosen:
                layer = chosen[voice].layer(v / 127)
                path, amp = mono_sample(layer.path, layer.pitch), v / 127 * chosen[voice].gain * layer.gain
            else:
                path, amp = base.buffers[i], v / 100
            if path not in buffers:
                buffers.append(path)
            options.append((Note.of("drum", buf=buffers.index(path), amp=amp),))
        parts.append(Choices(tuple(options)))
    task = dataclasses.replace(base, name=f"{base.name}{kit.name.replace(' ', '')}", buffers=tuple(buffers), actions=MultiChoices(tuple(parts)))
    return task, {v: chosen[v].name if v in chosen else "shipped" for v in FULL_KIT}


def _role_instruments(kit: SampledKit, voice: str) -> list[Instrument]:
    """The kit's instruments of the first role of `FULL_KIT_ROLES[voice]` that it has (none: [])."""
    for role in FULL_KIT_ROLES[voice]:
        found = [i for i in kit.instruments if i.role == role]  # by role: instruments_of("snare") is the voice
        if found:
            return found
    return []


TOM_NAMES = ((r"floor", 0), (r"mid", 1), (r"\blow?\b", 0), (r"\bhi(gh)?\b|tomhi", 2))  # (pattern, index in TOMS): the first match wins


def _toms_by_voice(kit: SampledKit) -> dict[str, Instrument]:
    """{tom voice: instrument}: when the names of all the kit's toms say low, mid or high
    (`TOM_NAMES`), the first tom of each; else the toms low to high by pitch (`_pitch_hz`): one
    tom is the mid tom, two are low and high, of more the lowest, the middle and the highest."""
    toms = kit.instruments_of("tom")
    named = [next((i for pattern, i in TOM_NAMES if re.search(pattern, tom.name.lower())), None) for tom in toms]
    if toms and None not in named:
        return {TOMS[i]: toms[named.index(i)] for i in sorted(set(named))}
    toms = sorted(toms, key=lambda i: _pitch_hz(i.layer(0.8).path))
    picks = {1: ("mid_tom",), 2: ("low_tom", "high_tom")}.get(len(toms), TOMS)
    return dict(zip(picks, toms if len(toms) <= 3 else [toms[0], toms[len(toms) // 2], toms[-1]]))


@lru_cache(maxsize=512)
def _pitch_hz(path: Path) -> float:
    """The strongest frequency (Hz) of the first 0.2 s of a sound file, mono."""
    import soundfile

    audio, rate = soundfile.read(path, dtype="float64", always_2d=True, frames=-1)
    head = audio[: int(0.2 * rate)].mean(axis=1)
    spectrum = np.abs(np.fft.rfft(head * np.hanning(len(head)), n=1 << 15))
    return float(np.fft.rfftfreq(1 << 15, 1 / rate)[1:][np.argmax(spectrum[1:])])


def render_loop(drums: SampledDrums, pattern: Sequence[int], task: Task = DRUM_LOOP, seed: int = 0, *, scsynth: str | None = None) -> np.ndarray:
    """float32 (task.total_samples,): `pattern` (DrumLoop actions: bits 1 kick, 2 snare, 4 hat)
    played on `drums` with its rendition; the hits' velocities, timing and distractors are drawn
    from (drums.seed, seed)."""
    return render_loops([(drums, pattern, seed)], task, scsynth=scsynth)[0]


def render_loops(loops: Sequence[tuple[SampledDrums, Sequence[int], int]], task: Task = DRUM_LOOP, *, scsynth: str | None = None) -> np.ndarray:
    """float32 (len(loops), task.total_samples): `render_loop` of each (drums, pattern, seed), the
    loops of one mix rate rendered together (one output channel each, 31 per scsynth)."""
    return _render(loops, task, None, _pattern_plays, scsynth)


def render_grid_loops(loops: Sequence[tuple[SampledDrums, np.ndarray, int]], task: Task, *, scsynth: str | None = None) -> np.ndarray:
    """float32 (len(loops), task.total_samples): each (drums, grid, seed), grid an int (<= task.steps,
    10) array of `task`'s levels (a DrumKit task, `tasks.drum_kit_task`; 0 rests), played on
    `drums` (`draw_full`) as `grid_hits` says, with the rendition of `render_loops` (room, tilt,
    compression, pitch, noise, codec, mix rate; 31 loops per scsynth)."""
    return _render(loops, task, family.check_grid, _grid_plays, scsynth)


def grid_hits(drums: SampledDrums, grid: np.ndarray, task: Task, seed: int = 0):
    """(onset s, voice or None, instrument, MIDI velocity, gain dB) of every hit that
    `render_grid_loops` plays for (drums, grid, seed), in step order. A hit at level l of a voice
    that `drums.pieces` has plays its first instrument at velocity `velocities(levels)[l - 1]`,
    which picks the velocity layer and scales the amp (as Hydrogen does), at the voice's gain;
    hits of other voices are not played. Onsets are humanized per hit and swung as `hits`'
    (>= 0); accents and distractors (voice None) play as in `render_loops`."""
    grid = family.check_grid(grid, task)
    r = drums.rendition
    levels = velocities(levels_of(task))
    rng = np.random.default_rng([drums.seed, int(seed), 0x5A41])
    humanize = rng.uniform(-r.humanize_s, r.humanize_s, (task.steps, len(FULL_KIT) + 1))
    distracted = rng.random(task.steps) < drums.distractor_density
    distractor = rng.integers(max(1, len(drums.distractors)), size=task.steps)
    distractor_velocity = rng.uniform(*r.velocity, task.steps)
    accents: dict[int, list[Instrument]] = {}
    for step, piece in drums.accents:
        accents.setdefault(step, []).append(piece)
    for k, row in enumerate(grid):
        on_grid = task.boundaries[k] / task.sample_rate + (r.swing * task.step_seconds if k % 2 else 0.0)
        for piece in accents.get(k, ()):
            yield on_grid, None, piece, 127 * r.velocity[1], 0.0
        for i in np.flatnonzero(row):
            voice = FULL_KIT[i]
            if voice in drums.pieces:
                yield max(0.0, on_grid + humanize[k, i]), voice, drums.pieces[voice][0], float(levels[row[i] - 1]), r.gain_db.get(voice, 0.0)
        if drums.distractors and distracted[k]:
            yield max(0.0, on_grid + humanize[k, -1]), None, drums.distractors[distractor[k]], 127 * distractor_velocity[k], 0.0


def grid_truth(drums: SampledDrums, grid: np.ndarray, task: Task, seed: int = 0) -> dict[str, family.Played]:
    """{voice: family.Played}: the onsets and MIDI velocities of the hits of each voice of
    `FULL_KIT` that `render_grid_loops` plays for (drums, grid, seed) (none for a voice `drums` lacks)."""
    return family.played_by_voice((onset, voice, velocity) for onset, voice, _, velocity, _ in grid_hits(drums, grid, task, seed))


def _render(loops, task: Task, check, plays, scsynth: str | None) -> np.ndarray:
    """float32 (len(loops), task.total_samples): the loops rendered 31 of one mix rate a scsynth,
    `plays(drums, pattern, seed, task)` giving each one's hits, then finished (`_finish`)."""
    out = np.zeros((len(loops), task.total_samples), np.float32)
    for rate, batch in family.lane_batches(loops, task, _LANES, check):
        audio = _render_lanes([(loops[i][0].rendition, plays(*loops[i], task)) for i in batch], task, rate, scsynth)
        for lane, i in enumerate(batch):
            out[i] = _finish(audio[:, lane], loops[i][0].rendition, loops[i][0].seed, loops[i][2], rate, task)
    return out


def _pattern_plays(drums: SampledDrums, pattern: Sequence[int], seed: int, task: Task):
    """(onset s, instrument, velocity 0..1, gain dB, the voice whose pitch and tilt apply) of a DrumLoop pattern."""
    return ((onset, piece, velocity, gain_db, piece.voice) for onset, piece, velocity, gain_db in hits(drums, pattern, task, seed))


def _grid_plays(drums: SampledDrums, grid: np.ndarray, seed: int, task: Task):
    """(onset s, instrument, velocity 0..1, gain dB, the voice whose pitch and tilt apply) of a DrumKit grid."""
    return ((onset, piece, velocity / 127, gain_db, voice) for onset, voice, piece, velocity, gain_db in grid_hits(drums, grid, task, seed))


def hits(drums: SampledDrums, pattern: Sequence[int], task: Task, seed: int):
    """(onset s, instrument, velocity 0..1, gain dB) of every hit of the loop that `render_loop`
    renders with these arguments, distractors included, in step order."""
    r = drums.rendition
    rng = np.random.default_rng([drums.seed, int(seed), 0x5A3E])
    step_s = task.step_seconds
    accents = {}
    for step, piece in drums.accents:
        accents.setdefault(step, []).append(piece)
    for k, action in enumerate(int(a) for a in pattern):
        on_grid = task.boundaries[k] / task.sample_rate + (r.swing * step_s if k % 2 else 0.0)
        for piece in accents.get(k, ()):
            yield on_grid, piece, r.velocity[1], 0.0
        for i, voice in enumerate(VOICES):
            if action >> i & 1:
                pieces = drums.pieces[voice]
                piece = pieces[1] if len(pieces) > 1 and rng.random() < 0.2 else pieces[0]
                yield on_grid + rng.uniform(-r.humanize_s, r.humanize_s), piece, rng.uniform(*r.velocity), r.gain_db[voice]
        if drums.distractors and rng.random() < drums.distractor_density:
            piece = drums.distractors[int(rng.integers(len(drums.distractors)))]
            yield on_grid + rng.uniform(-r.humanize_s, r.humanize_s), piece, rng.uniform(*r.velocity), 0.0


def onsets(drums: SampledDrums, pattern: Sequence[int], task: Task, seed: int) -> dict[str, np.ndarray]:
    """{voice: onset times (s), sorted}: where the loop's kick, snare and hat hits start (the
    reference for onset-based scores; distractors are in no voice)."""
    times: dict[str, list[float]] = {v: [] for v in VOICES}
    for onset, piece, _, _ in hits(drums, pattern, task, seed):
        if piece.voice is not None:
            times[piece.voice].append(float(onset))
    return {v: np.sort(np.array(t)) for v, t in times.items()}


def _render_lanes(loops, task: Task, rate: int, scsynth: str | None) -> np.ndarray:
    """float32 (frames at `rate`, len(loops)): each (rendition, plays) loop's plays (`_pattern_plays`)
    on a private bus, through its own room synth."""
    lanes = max(2, len(loops))
    clock = BlockClock(rate)
    synthdefs = [(DATA / "synthdefs" / "drum.scsyndef").read_bytes(), family.synthdefs()[-1]]
    setup = [osc.message("/d_recv", d) for d in synthdefs] + [osc.message("/g_new", 1, 0, 0)]
    buffers: dict[Path, int] = {}
    events: dict[int, list[bytes]] = {}
    for lane, (r, plays) in enumerate(loops):
        bus = lanes + lane  # private: past the outputs
        for onset, piece, velocity, gain_db, voice in plays:
            layer = piece.layer(float(velocity))
            pitch = layer.pitch + r.pitch_semitones + r.voice_pitch.get(voice, 0.0)
            path = mono_sample(layer.path, pitch, r.voice_tilt_db.get(voice, 0.0))
            if path not in buffers:
                buffers[path] = len(buffers)
                setup.append(osc.message("/b_allocRead", buffers[path], str(path)))
            amp = float(velocity) * piece.gain * layer.gain * 10 ** (gain_db / 20)
            message = osc.message("/s_new", "drum", -1, 0, 1, "out", bus, "buf", buffers[path], "amp", amp)
            events.setdefault(max(0, round(onset * rate)), []).append(message)
        setup.append(osc.message(
            "/s_new", family.ROOM, -1, 3, 1, "out", lane, "source_bus", bus,
            "mix", r.room_mix, "room", r.room_size, "damp", r.room_damp, "tilt", r.tilt_db,
        ))  # fmt: skip
    score = [(0, setup)] + [(clock.tag(s), events[s]) for s in sorted(events)]
    frames = -(-task.total_samples * rate // task.sample_rate)
    nodes = sum(len(e) for e in events.values()) + lanes + 2
    audio = render_nrt(score, sample_rate=rate, channels=lanes, frames=frames, executable=scsynth, max_nodes=nodes, buffers=len(buffers))
    return audio[:, : len(loops)]


def _finish(audio: np.ndarray, r: Rendition, drums_seed: int, seed: int, rate: int, task: Task) -> np.ndarray:
    """The bus's numpy stages: compression, the loop's peak at PEAK, noise, the codec, the task's rate."""
    x = audio.astype(np.float64)
    if r.compress > 1.0:
        x = compress(x, rate, ratio=r.compress)
    peak = np.abs(x).max()
    if peak > 0:
        x *= PEAK / peak
        if np.isfinite(r.noise_db):
            rng = np.random.default_rng([drums_seed, int(seed), 0x5A3F])
            x += rng.standard_normal(len(x)) * PEAK * 10 ** (r.noise_db / 20)
    if r.codec is not None:
        x = codec_round_trip(x, rate, r.codec)
    if rate != task.sample_rate:
        import soxr

        x = soxr.resample(x, rate, task.sample_rate, quality="HQ")
    out = np.zeros(task.total_samples, np.float32)
    n = min(len(x), task.total_samples)
    out[:n] = x[:n]
    return out


def compress(x: np.ndarray, rate: int, *, ratio: float, threshold_db: float = -18.0, attack_s: float = 0.003, release_s: float = 0.08) -> np.ndarray:
    """A feed-forward bus compressor: above `threshold_db` (re the peak) the level rises by
    1/ratio; the gain follows the level with the attack and release times, then makes up to the peak."""
    from scipy.signal import lfilter

    peak = np.abs(x).max()
    if peak == 0:
        return x
    level_db = 20 * np.log10(np.maximum(np.abs(x) / peak, 1e-6))
    over = np.maximum(level_db - threshold_db, 0.0)
    target = -over * (1 - 1 / ratio)  # dB of gain, <= 0
    a = np.exp(-1 / (attack_s * rate))
    smoothed = lfilter([1 - a], [1, -a], target)  # one-pole attack towards the reduction
    r = np.exp(-1 / (release_s * rate))
    gain_db = np.minimum(smoothed, lfilter([1 - r], [1, -r], target))  # the release holds the reduction longer
    y = x * 10 ** (gain_db / 20)
    return y * (peak / max(np.abs(y).max(), 1e-12))


def codec_round_trip(x: np.ndarray, rate: int, codec: str) -> np.ndarray:
    """`x` written as MP3 or OGG Vorbis and read back (libsndfile), the length kept."""
    import soundfile

    if codec not in ("mp3", "ogg"):
        raise ArgumentError(f"codec={codec!r} is not 'mp3' or 'ogg'")
    buffer = io.BytesIO()
    clipped = np.clip(x, -1.0, 1.0).astype(np.float32)
    if codec == "mp3":
        soundfile.write(buffer, clipped, rate, format="MP3", subtype="MPEG_LAYER_III")
    else:
        soundfile.write(buffer, clipped, rate, format="OGG", subtype="VORBIS")
    buffer.seek(0)
    y, _ = soundfile.read(buffer, dtype="float64")
    out = np.zeros(len(x))
    out[: min(len(x), len(y))] = y[: len(x)]
    return out


__all__ = [
    "CODECS", "MIX_RATES", "PEAK", "FullKitDrums", "Rendition", "SampledDrums", "cache_dir", "codec_round_trip", "compress", "draw",
    "draw_full", "grid_hits", "grid_truth", "hits", "kit_task", "mono_sample", "onsets", "render_grid_loops", "render_loop",
    "render_loops", "tilt",
]  # fmt: skip
