"""An episode's notes as a Standard MIDI File, for a DAW (written with `mido`).

480 ticks per beat, the task's tempo as a tempo event, one track:

- the kit's drums (the `drum` synth) as General MIDI percussion on channel 10 (kick 36,
  snare 38, clap 39, closed hi-hat 42, open hi-hat 46, low tom 45, mid tom 47, high tom 50,
  crash 49, ride 51, or the keys of a `drum_notes` map), a 16th note long at their step's onset;
- a note with a `freq` control (bass, voice, the kick tasks' sines) as the nearest MIDI note on
  channel 1 plus a pitch bend for the rest (bend range +-2 semitones, set with RPN 0), lasting
  its envelope (`attack` + `decay` or `release`, from the note or the SynthDef's defaults), cut
  at the next pitched onset; `fm` sounds at `carrier * freq`.

A note's velocity is 100 at its SynthDef's default `amp`, and in proportion to the `amp` it was
played at (clipped to 1-127): DrumLoop plays every hit at one fixed level, so its drums are all
at 100; DrumKit's levels write their velocities (42, 85, 127 for soft, medium, hard).
Notes of other synths are skipped. Step k starts at tick round(k * beats_per_step * 480).
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from raveforce.task import Note, Task

TICKS_PER_BEAT = 480
DRUM_CHANNEL = 9  # mido counts from 0: General MIDI's channel 10
PITCH_CHANNEL = 0
GM_DRUMS = {  # General MIDI percussion keys of the shipped kits' drums
    "kick": 36, "snare": 38, "clap": 39, "hat": 42, "open_hat": 46,
    "low_tom": 45, "mid_tom": 47, "high_tom": 50, "crash": 49, "ride": 51,
}  # fmt: skip
DRUM_VELOCITY = 100  # a note at its SynthDef's default amp (every DrumLoop hit: the kit plays one fixed level)
BEND_RANGE = 2.0  # semitones at full pitch-wheel deflection (the General MIDI default, also sent as RPN 0)
MIDO_HINT = "mido is not installed: pip install mido (a dependency of raveforce)"


@dataclass(frozen=True)
class MidiNote:
    """One note as written: start and length in ticks, channel (0-15), key (0-127), velocity,
    and the pitch-wheel value (-8192..8191) in force while it sounds (0 for drums)."""

    start: int
    length: int
    channel: int
    key: int
    velocity: int = 100
    bend: int = 0


def hz_to_midi(hz: float) -> float:
    """The (fractional) MIDI note number of `hz` (69 = A4 = 440 Hz)."""
    return 69.0 + 12.0 * math.log2(hz / 440.0)


def key_and_bend(hz: float) -> tuple[int, int]:
    """The nearest MIDI key (clipped to 0-127) and the pitch-wheel value that makes up the rest."""
    m = hz_to_midi(max(hz, 1e-3))
    key = min(127, max(0, round(m)))
    bend = round((m - key) / BEND_RANGE * 8192)
    return key, max(-8192, min(8191, bend))


def synthdef_defaults(scsyndef: bytes) -> dict[str, dict[str, float]]:
    """{synthdef name: {control name: default value}} read from compiled SynthDef bytes
    (SCgf versions 1 and 2)."""
    if scsyndef[:4] != b"SCgf":
        return {}
    version = struct.unpack(">i", scsyndef[4:8])[0]
    count_fmt, count_size = (">i", 4) if version >= 2 else (">h", 2)
    pos = 8
    n_defs = struct.unpack(">h", scsyndef[pos : pos + 2])[0]
    pos += 2
    out = {}

    def count() -> int:
        nonlocal pos
        value = struct.unpack(count_fmt, scsyndef[pos : pos + count_size])[0]
        pos += count_size
        return value

    def pstring() -> str:
        nonlocal pos
        n = scsyndef[pos]
        pos += 1
        pos += n
        return scsyndef[pos - n : pos].decode("latin-1")

    for _ in range(min(n_defs, 1)):  # the controls of the first definition are all we need
        name = pstring()
        n_constants = count()
        pos += 4 * n_constants
        n_params = count()
        values = struct.unpack(f">{n_params}f", scsyndef[pos : pos + 4 * n_params])
        pos += 4 * n_params
        controls = {}
        for _ in range(count()):
            control = pstring()
            controls[control] = float(values[count()])
        out[name] = controls
    return out


@lru_cache(maxsize=64)
def _defaults(synthdefs: tuple[bytes, ...]) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {}
    for d in synthdefs:
        found.update(synthdef_defaults(d))
    return found


FAMILY_DRUMS = {"fam_kick": "kick", "fam_snare": "snare", "fam_hat": "hat"}  # raveforce.kits' voices


def _drum_key(note: Note, kit: Sequence[str], drum_notes: Mapping[str, int]) -> int | None:
    if note.synth in FAMILY_DRUMS:
        return drum_notes[FAMILY_DRUMS[note.synth]]
    buf = dict(note.controls).get("buf")
    if note.synth != "drum" or buf is None or not 0 <= int(buf) < len(kit):
        return None
    return drum_notes.get(kit[int(buf)])


def velocity(amp: float | None, default_amp: float | None) -> int:
    """The MIDI velocity of a note played at `amp` where its SynthDef's default is `default_amp`:
    DRUM_VELOCITY at the default (or when either is unknown), in proportion otherwise, 1-127."""
    if amp is None or not default_amp:
        return DRUM_VELOCITY
    return max(1, min(127, round(DRUM_VELOCITY * amp / default_amp)))


def _pitch_hz(controls: dict[str, float], synth: str) -> float | None:
    if "freq" not in controls:
        return None
    return controls["freq"] * controls.get("carrier", 1.0) if synth == "fm" else controls["freq"]


def midi_notes(task: Task, steps: Sequence[Sequence[Note]], *, kit: Sequence[str] | None = None, drum_notes: Mapping[str, int] | None = None) -> list[MidiNote]:
    """The MidiNotes of an episode: `steps[k]` holds the notes step k played (a Choices option
    or a Controls note). kit: the drum name of each buffer (default: each buffer's file name,
    kick.wav -> "kick", as the built-in kit's are named). drum_notes: {drum name: MIDI key}
    overriding GM_DRUMS for the drums it names."""
    drum_notes = {**GM_DRUMS, **(drum_notes or {})}
    if kit is None:
        kit = [Path(buffer).stem for buffer in task.buffers]
    defaults = _defaults(tuple(task.compiled_synthdefs()))
    ticks_per_second = task.bpm / 60.0 * TICKS_PER_BEAT
    step_ticks = [round(k * task.beats_per_step * TICKS_PER_BEAT) for k in range(len(steps) + 1)]
    notes: list[MidiNote] = []
    for k, step_notes in enumerate(steps):
        start, step_end = step_ticks[k], step_ticks[k + 1]
        for note in step_notes:
            synth_defaults = defaults.get(note.synth, {})
            controls = {**synth_defaults, **dict(note.controls)}
            level = velocity(controls.get("amp"), synth_defaults.get("amp"))
            key = _drum_key(note, kit, drum_notes)
            if key is not None:
                sixteenth = TICKS_PER_BEAT // 4
                notes.append(MidiNote(start, max(1, min(sixteenth, step_end - start)), DRUM_CHANNEL, key, level))
                continue
            hz = _pitch_hz(controls, note.synth)
            if hz is None:
                continue
            seconds = controls.get("attack", 0.0) + controls.get("decay", controls.get("release", 0.0))
            length = round(seconds * ticks_per_second) if seconds > 0 else step_end - start
            key, bend = key_and_bend(hz)
            notes.append(MidiNote(start, max(1, length), PITCH_CHANNEL, key, level, bend))
    return _cut_at_next_onset(notes)


def _cut_at_next_onset(notes: list[MidiNote]) -> list[MidiNote]:
    """Pitched notes end where the next pitched onset begins (a monophonic line in the DAW)."""
    pitched = sorted((n for n in notes if n.channel == PITCH_CHANNEL), key=lambda n: n.start)
    cut = []
    for n, following in zip(pitched, pitched[1:] + [None]):
        if following is not None and following.start > n.start:
            n = MidiNote(n.start, min(n.length, following.start - n.start), n.channel, n.key, n.velocity, n.bend)
        cut.append(n)
    return sorted([n for n in notes if n.channel != PITCH_CHANNEL] + cut, key=lambda n: (n.start, n.channel, n.key))


def write_midi(path: str | os.PathLike, task: Task, steps: Sequence[Sequence[Note]], *, kit: Sequence[str] | None = None, drum_notes: Mapping[str, int] | None = None) -> Path:
    """Write the notes of `steps` (see `midi_notes`) as a type-0 MIDI file; returns the path."""
    try:
        import mido
    except ImportError as exc:
        raise ImportError(MIDO_HINT) from exc
    notes = midi_notes(task, steps, kit=kit, drum_notes=drum_notes)
    events: list[tuple[int, int, str, dict]] = []  # (tick, order: offs before bends before ons, message type, its values)
    if any(n.channel == PITCH_CHANNEL for n in notes):
        for control, value in ((101, 0), (100, 0), (6, int(BEND_RANGE)), (38, 0)):  # RPN 0: bend range
            events.append((0, 0, "control_change", {"channel": PITCH_CHANNEL, "control": control, "value": value}))
    bend_now = 0
    for n in notes:
        if n.channel == PITCH_CHANNEL and n.bend != bend_now:
            events.append((n.start, 2, "pitchwheel", {"channel": n.channel, "pitch": n.bend}))
            bend_now = n.bend
        events.append((n.start, 3, "note_on", {"channel": n.channel, "note": n.key, "velocity": n.velocity}))
        events.append((n.start + n.length, 1, "note_off", {"channel": n.channel, "note": n.key, "velocity": 0}))
    events.sort(key=lambda e: (e[0], e[1]))
    end = round(task.steps * task.beats_per_step * TICKS_PER_BEAT)
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=task.name, time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(task.bpm), time=0))
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    now = 0
    for tick, _, kind, values in events:
        track.append(mido.Message(kind, time=tick - now, **values))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(0, end - now)))
    midi = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(track)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    midi.save(path)
    return path


def write_actions(path: str | os.PathLike, task: Task, actions: Sequence, *, drum_notes: Mapping[str, int] | None = None) -> Path:
    """Write the notes that `actions` (one per step) play in `task` as a MIDI file (drum_notes:
    see `midi_notes`)."""
    return write_midi(path, task, [task.actions.notes(a) for a in actions], drum_notes=drum_notes)


def read_notes(path: str | os.PathLike) -> tuple[float, list[MidiNote]]:
    """(tempo in BPM, MidiNotes) of a MIDI file, for checking what was written."""
    import mido

    midi = mido.MidiFile(path)
    bpm, bend, now = 120.0, {}, 0
    started: dict[tuple[int, int], tuple[int, int, int]] = {}
    notes = []
    for message in mido.merge_tracks(midi.tracks):
        now += message.time
        if message.type == "set_tempo":
            bpm = mido.tempo2bpm(message.tempo)
        elif message.type == "pitchwheel":
            bend[message.channel] = message.pitch
        elif message.type == "note_on" and message.velocity > 0:
            started[(message.channel, message.note)] = (now, message.velocity, bend.get(message.channel, 0))
        elif message.type in ("note_off", "note_on") and (message.channel, message.note) in started:
            start, velocity, b = started.pop((message.channel, message.note))
            notes.append(MidiNote(start, now - start, message.channel, message.note, velocity, b))
    return bpm, sorted(notes, key=lambda n: (n.start, n.channel, n.key))


__all__ = ["DRUM_VELOCITY", "GM_DRUMS", "MidiNote", "TICKS_PER_BEAT", "hz_to_midi", "key_and_bend", "midi_notes", "read_notes", "synthdef_defaults", "velocity", "write_actions", "write_midi"]
