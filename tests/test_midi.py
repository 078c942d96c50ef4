"""MIDI of an episode: written with mido, read back, compared with the actions that were played."""

import gymnasium as gym
import numpy as np
import pytest

import raveforce  # noqa: F401  (registers the environments)
from raveforce import midi, tasks
from raveforce.midi import DRUM_CHANNEL, PITCH_CHANNEL, TICKS_PER_BEAT, read_notes
from raveforce.wrappers import RecordEpisodeAudio

SIXTEENTH = TICKS_PER_BEAT // 4


def episode_midi(env_id, actions, path, **kwargs):
    env = gym.make(env_id, **kwargs)
    try:
        env.reset(seed=0)
        for a in actions:
            env.step(a)
        env.unwrapped.save_midi(path)
    finally:
        env.close()
    return read_notes(path)


def test_drum_loop_is_general_midi_drums_on_channel_10_on_the_16th_grid(tmp_path):
    bpm, notes = episode_midi("raveforce/DrumLoop-v0", tasks.DRUM_LOOP_PATTERN, tmp_path / "d.mid")
    expected = [(k * SIXTEENTH, key) for k, a in enumerate(tasks.DRUM_LOOP_PATTERN) for bit, key in ((1, 36), (2, 38), (4, 42)) if a & bit]
    assert [(n.start, n.key) for n in notes] == expected
    assert {n.channel for n in notes} == {DRUM_CHANNEL} and {n.length for n in notes} == {SIXTEENTH}
    assert bpm == pytest.approx(120.0, abs=1e-3)


def test_tempo_and_grid_follow_the_task(tmp_path):
    bpm, notes = episode_midi("raveforce/DrumLoop-v0", [1, 2, 4, 7], tmp_path / "d.mid", bpm=95, steps=4)
    assert bpm == pytest.approx(95.0, abs=1e-3)
    assert [(n.start, n.key) for n in notes] == [(0, 36), (120, 38), (240, 42), (360, 36), (360, 38), (360, 42)]


def test_bass_line_notes_have_their_keys_and_durations(tmp_path):
    actions = [tasks.bass_action(m) for m in tasks.BASS_LINE_PATTERN]
    _, notes = episode_midi("raveforce/BassLine-v0", actions, tmp_path / "b.mid")
    played = [(k, m) for k, m in enumerate(tasks.BASS_LINE_PATTERN) if m is not None]
    assert [(n.start, n.key) for n in notes] == [(k * SIXTEENTH, m) for k, m in played]
    sounding = round((0.003 + 0.2) * 2 * TICKS_PER_BEAT)  # the bass SynthDef's attack + decay at 120 BPM
    for (k, _), next_onset, n in zip(played, [k for k, _ in played[1:]] + [None], notes):
        gap = None if next_onset is None else (next_onset - k) * SIXTEENTH
        assert n.length == (sounding if gap is None else min(sounding, gap))
        assert n.channel == PITCH_CHANNEL and n.bend == 0


def test_melody_notes(tmp_path):
    actions = [tasks.melody_action(m) for m in tasks.MELODY_PATTERN]
    _, notes = episode_midi("raveforce/Melody-v0", actions, tmp_path / "m.mid")
    assert [n.key for n in notes] == [m for m in tasks.MELODY_PATTERN if m is not None]


@pytest.mark.parametrize("x", [0.0, 0.178, 0.5, 0.93])
def test_kick_frequency_is_the_nearest_note_plus_pitch_bend(tmp_path, x):
    _, notes = episode_midi("raveforce/KickFrequency-v0", [np.array([x], np.float32)], tmp_path / "k.mid")
    (n,) = notes
    hz = tasks.KICK_FREQUENCY.actions.controls[0](np.float32(x))
    heard = n.key + n.bend / 8192 * midi.BEND_RANGE
    assert abs(heard - midi.hz_to_midi(hz)) < 0.01  # within a cent
    assert n.length == TICKS_PER_BEAT  # attack 0.01 + release 0.49 s: one beat at 120 BPM


def test_fm_tone_sounds_at_carrier_times_freq(tmp_path):
    _, (n,) = episode_midi("raveforce/FMTone-v0", [tasks.FM_TONE_OPTIMUM], tmp_path / "f.mid")
    assert n.key == 57 and abs(n.bend) < 2  # 1.0 * 220 Hz = A3


def test_record_episode_audio_saves_midi_beside_the_wav(tmp_path):
    env = RecordEpisodeAudio(gym.make("raveforce/DrumLoop-v0", steps=2), tmp_path, every=1, midi=True)
    try:
        env.reset(seed=0)
        env.step(3)
        env.step(4)
    finally:
        env.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rl-episode-0.mid", "rl-episode-0.wav"]
    assert [(n.start, n.key) for n in read_notes(tmp_path / "rl-episode-0.mid")[1]] == [(0, 36), (0, 38), (120, 42)]


def test_synthdef_defaults_are_read_from_the_compiled_bytes():
    defaults = midi.synthdef_defaults(tasks.BASS_LINE.compiled_synthdefs()[0])["bass"]
    assert defaults["decay"] == pytest.approx(0.2) and defaults["attack"] == pytest.approx(0.003) and defaults["freq"] == 55.0


def test_a_kit_family_task_writes_general_midi_drums_too():
    from raveforce import kits

    task = kits.kit_task(kits.draw(kits.SPLITS["dev"][0]))
    notes = midi.midi_notes(task, [task.actions.notes(a) for a in (1, 2, 4, 7)])
    assert [(n.start, n.key, n.channel) for n in notes] == [(0, 36, DRUM_CHANNEL), (120, 38, DRUM_CHANNEL), (240, 42, DRUM_CHANNEL)] + [
        (360, key, DRUM_CHANNEL) for key in (36, 38, 42)
    ]


def test_velocity_follows_the_amp_a_note_was_played_at():
    """100 at the SynthDef's default amp (every DrumLoop hit), in proportion to a note's own amp
    otherwise (accents, softer notes), clipped to 1-127."""
    from raveforce.task import Note

    assert {n.velocity for n in midi.midi_notes(tasks.DRUM_LOOP, [tasks.DRUM_LOOP.actions.notes(7)])} == {100}
    bass = midi.synthdef_defaults(tasks.BASS_LINE.compiled_synthdefs()[0])["bass"]["amp"]
    steps = [[Note.of("bass", freq=55.0)], [Note.of("bass", freq=55.0, amp=bass / 2)], [Note.of("bass", freq=55.0, amp=bass * 1.2)], [Note.of("bass", freq=55.0, amp=bass * 9)]]
    assert [n.velocity for n in midi.midi_notes(tasks.BASS_LINE, steps)] == [100, 50, 120, 127]
    kick = Note.of("drum", buf=0, amp=0.6)  # the `drum` synth's default amp is 1
    assert [(n.key, n.velocity) for n in midi.midi_notes(tasks.DRUM_LOOP, [[kick]])] == [(36, 60)]
    assert midi.velocity(None, 0.3) == midi.velocity(0.3, None) == 100 and midi.velocity(1e-9, 0.3) == 1
