"""The kept-alive stream against one-shot renders, with the real scsynth."""

import dataclasses

import numpy as np
import pytest
from supriya import synthdef
from supriya.ugens import Line, OffsetOut

from raveforce.errors import ScsynthError, ScsynthNotFoundError
from raveforce.synth import osc
from raveforce.synth.render import NRTRenderer, StreamRenderer, make_renderer, render_episode
from raveforce.synth.scsynth import BlockClock, ScsynthStream, find_scsynth, render_nrt
from raveforce.task import Choices, Control, Controls, Note, Task
from raveforce.tasks import DRUM_LOOP, KICK_FREQUENCY


@synthdef()
def step_up(out=0):
    """1.0 from its first sample for 1 ms: its onset is the first sample that rises."""
    OffsetOut.ar(bus=out, source=Line.ar(start=1, stop=1, duration=0.001, done_action=2))


def onsets(audio):
    return np.flatnonzero(np.diff(np.r_[0.0, audio]) > 0.5).tolist()


# every offset class in a block, block starts, and far into a long stream (no clock drift)
POSITIONS = [0, 1001, 2047, 3072, 4097, 5512, 6513, 11025, 44100 * 60 * 10 + 17]


def _score(clock):
    yield 0, [osc.message("/d_recv", step_up.compile())]
    for p in POSITIONS:
        yield clock.tag(p), [osc.message("/s_new", "step_up", -1, 0, 0, "out", 0)]


def test_events_land_on_their_exact_sample_one_shot():
    clock = BlockClock(44100)
    audio = render_nrt(_score(clock), sample_rate=44100, channels=1, frames=POSITIONS[-1] + 200)
    assert onsets(audio[:, 0]) == POSITIONS


def test_events_land_on_their_exact_sample_streamed():
    clock = BlockClock(44100)
    stream = ScsynthStream(sample_rate=44100, channels=1)
    try:
        for tag, messages in _score(clock):
            stream.send(tag, messages)
        audio = stream.render(clock.ceil(POSITIONS[-1] + 200))
    finally:
        stream.close()
    assert onsets(audio[:, 0]) == POSITIONS


@pytest.mark.parametrize("bpm", [120.0, 97.0])
def test_stream_equals_one_shot_render_drum_loop(rng, bpm):
    task = dataclasses.replace(DRUM_LOOP, bpm=bpm)
    renderer = StreamRenderer(task)
    try:
        for _ in range(4):  # several episodes in one process: nothing leaks across resets
            notes = [task.actions.notes(a) for a in rng.integers(0, 8, task.steps)]
            renderer.reset()
            streamed = np.concatenate([renderer.step(k, n) for k, n in enumerate(notes)])
            reference = render_episode(task, notes)
            assert streamed.shape == (task.total_samples,)
            assert np.abs(reference).max() > 0.1
            assert np.abs(streamed - reference).max() <= 1e-6
    finally:
        renderer.close()


def test_stream_equals_one_shot_render_kick_frequency(rng):
    renderer = StreamRenderer(KICK_FREQUENCY)
    try:
        for x in rng.random((3, 1)):
            notes = [KICK_FREQUENCY.actions.notes(x)]
            renderer.reset()
            streamed = renderer.step(0, notes[0])
            assert np.abs(streamed - render_episode(KICK_FREQUENCY, notes)).max() <= 1e-6
    finally:
        renderer.close()


def test_nrt_renderer_is_the_papers_method_and_agrees(rng):
    task = dataclasses.replace(DRUM_LOOP, steps=4)
    notes = [task.actions.notes(a) for a in (7, 0, 3, 5)]
    renderer = NRTRenderer(task)
    renderer.reset()
    audio = np.concatenate([renderer.step(k, n) for k, n in enumerate(notes)])
    assert np.abs(audio - render_episode(task, notes)).max() <= 1e-6


def test_continuous_multi_step_task_falls_back_to_nrt():
    task = dataclasses.replace(KICK_FREQUENCY, steps=4, beats_per_step=0.25)  # boundaries mid-block
    assert not StreamRenderer.supports(task)
    assert isinstance(make_renderer("auto", task), NRTRenderer)
    with pytest.raises(ValueError, match="renderer='nrt'"):
        StreamRenderer(task)
    aligned = dataclasses.replace(KICK_FREQUENCY, steps=3, bpm=41.34375)  # 64000-sample steps
    assert isinstance(make_renderer("auto", aligned), StreamRenderer)


def test_unknown_renderer_name():
    with pytest.raises(ValueError, match="'auto', 'stream', 'nrt'"):
        make_renderer("fast", DRUM_LOOP)


def test_failure_line_from_scsynth_is_an_error():
    task = Task(
        name="Broken",
        synthdefs=(),
        actions=Choices(((), (Note.of("no_such_synth"),))),
        steps=2,
    )
    renderer = StreamRenderer(task)
    try:
        renderer.reset()
        with pytest.raises(ScsynthError, match="no_such_synth|SynthDef not found"):
            renderer.step(0, task.actions.notes(1))
    finally:
        renderer.close()


def test_scsynth_not_found(monkeypatch):
    with pytest.raises(ScsynthNotFoundError, match="apt-get install"):
        find_scsynth("/nonexistent/scsynth")
    monkeypatch.setenv("RAVEFORCE_SCSYNTH", "/nonexistent/scsynth-from-env")
    with pytest.raises(ScsynthNotFoundError, match="RAVEFORCE_SCSYNTH"):
        StreamRenderer(DRUM_LOOP)
    monkeypatch.setenv("RAVEFORCE_SCSYNTH", find_scsynth("/usr/bin/scsynth"))
    StreamRenderer(DRUM_LOOP).close()


def test_controls_scale_like_supercollider():
    freq = Control("freq", 20.0, 22000.0, "exp")
    assert freq(0.0) == pytest.approx(20.0) and freq(1.0) == pytest.approx(22000.0)
    assert freq(0.5) == pytest.approx(np.sqrt(20.0 * 22000.0))
    assert Control("amp", 0.0, 2.0)(0.25) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="scale"):
        Control("x", 0, 1, "log")
    with pytest.raises(ValueError, match="exp scale"):
        Control("x", 0, 1, "exp")
    notes = Controls("sine_perc", (freq,), fixed=(("amp", 0.3),)).notes(np.array([1.0], np.float32))
    assert dict(notes[0].controls) == {"amp": 0.3, "freq": pytest.approx(22000.0)}


def test_every_episode_of_a_stream_is_bit_identical(rng):
    actions = rng.integers(0, 8, DRUM_LOOP.steps)
    notes = [DRUM_LOOP.actions.notes(a) for a in actions]
    renderer = StreamRenderer(DRUM_LOOP)
    try:
        episodes = []
        for other in (None, 3, None):  # an episode of other length between two identical ones
            renderer.reset()
            played = notes if other is None else notes[:other]
            episodes.append(np.concatenate([renderer.step(k, n) for k, n in enumerate(played)]))
    finally:
        renderer.close()
    assert np.array_equal(episodes[0], episodes[2])


def test_node_ids_count_again_every_episode(rng):
    """A reset frees every note, so the next episode's notes take the same node ids again (no
    "duplicate node ID" from scsynth); OSC's int32 ids never run out, as they did (OverflowError)
    after ~11 million steps of 64 lanes."""
    actions = rng.integers(0, 8, (2, DRUM_LOOP.steps))
    renderer = StreamRenderer(DRUM_LOOP, lanes=2)

    def episode():
        renderer.reset()
        return np.concatenate([renderer.step_lanes(k, [DRUM_LOOP.actions.notes(a) for a in actions[:, k]]) for k in range(DRUM_LOOP.steps)], axis=1)

    try:
        first = episode()
        used = renderer._next_node
        assert np.array_equal(episode(), first) and renderer._next_node == used  # the same ids again
        renderer._next_node = 2**31 - 100  # as after the long run: the next ids did not fit an int32
        assert np.array_equal(episode(), first)
    finally:
        renderer.close()


def test_lanes_render_what_single_streams_render(rng):
    lanes = 5
    actions = rng.integers(0, 8, (lanes, DRUM_LOOP.steps))
    batch = StreamRenderer(DRUM_LOOP, lanes=lanes)
    try:
        for _ in range(2):
            batch.reset()
            audio = np.concatenate(
                [batch.step_lanes(k, [DRUM_LOOP.actions.notes(a) for a in actions[:, k]]) for k in range(DRUM_LOOP.steps)], axis=1
            )
        for lane in (0, 3):
            single = StreamRenderer(DRUM_LOOP)
            single.reset()
            alone = np.concatenate([single.step(k, DRUM_LOOP.actions.notes(a)) for k, a in enumerate(actions[lane])])
            single.close()
            assert np.array_equal(audio[lane], alone)
    finally:
        batch.close()


def test_a_full_node_table_is_an_error_not_silence():
    clock = BlockClock(44100)
    stream = ScsynthStream(sample_rate=44100, channels=1, max_nodes=1024)
    try:
        stream.send(0, [osc.message("/d_recv", step_up.compile()), osc.message("/g_new", 1, 0, 0)])
        stream.send(clock.tag(0), [osc.message("/s_new", "step_up", 2000 + i, 0, 1, "out", 0) for i in range(1100)])
        with pytest.raises(ScsynthError, match="too many nodes"):
            stream.render(64)
    finally:
        stream.close()


def test_lanes_raise_the_node_limit_with_their_number(rng):
    lanes = 300  # 300 lanes x (3 candidates + ringing drums) is far past scsynth's default 1024 nodes
    batch = StreamRenderer(DRUM_LOOP, lanes=lanes)
    try:
        batch.reset()
        for k in range(6):
            audio = batch.step_lanes(k, [DRUM_LOOP.actions.notes(7)] * lanes)
        assert audio.shape[0] == lanes and np.abs(audio).max(axis=1).min() > 0.01
    finally:
        batch.close()


def test_stream_reads_a_render_into_a_given_array_and_checks_it():
    stream = ScsynthStream(sample_rate=44100, channels=2)
    try:
        stream.send(0, [osc.message("/d_recv", step_up.compile())])
        stream.send(stream.clock.tag(100), [osc.message("/s_new", "step_up", -1, 0, 0, "out", 1)])
        out = np.full((128, 2), 7.0, dtype=np.float32)
        stream.request(128)
        assert stream.requested == 128
        assert stream.collect(out=out) is out and stream.requested == 0
        assert onsets(out[:, 1]) == [100] and not out[:, 0].any()
        stream.request(64)
        with pytest.raises(ValueError, match=r"C-contiguous float32 \(64, 2\)"):
            stream.collect(out=np.zeros((64, 2)))  # float64
    finally:
        stream.close()


def test_sounding_frames_keeps_the_sound_and_a_margin_of_its_trailing_zeros(tmp_path):
    import soundfile

    from raveforce.audio import ONE_SHOT_MARGIN, sounding_frames

    cases = {
        "tail.wav": np.r_[np.ones(100), np.zeros(50)],
        "short_tail.wav": np.r_[np.ones(100), np.zeros(2)],
        "no_tail.wav": np.ones(100),
        "silent.wav": np.zeros(30),
        "stereo.wav": np.c_[np.r_[np.ones(10), np.zeros(40)], np.r_[np.zeros(20), np.ones(1), np.zeros(29)]],
    }
    want = {"tail.wav": 100 + ONE_SHOT_MARGIN, "short_tail.wav": 102, "no_tail.wav": 100, "silent.wav": ONE_SHOT_MARGIN, "stereo.wav": 21 + ONE_SHOT_MARGIN}
    for name, audio in cases.items():
        soundfile.write(tmp_path / name, audio, 44100, subtype="FLOAT")
        assert sounding_frames(tmp_path / name) == want[name], name


def test_one_shot_buffers_are_loaded_without_their_silence_and_render_the_same(tmp_path, rng):
    """DrumLoop's kit without its trailing zeros (one at another sample rate, so PlayBuf interpolates
    between samples) renders the same values as the whole files."""
    import soundfile

    from raveforce.audio import sounding_frames
    from raveforce.synth.render import setup_messages

    kit = []
    for i, path in enumerate(DRUM_LOOP.buffers):
        audio, rate = soundfile.read(path, dtype="float32")
        kit.append(tmp_path / path.name)
        soundfile.write(kit[-1], audio, 48000 if i == 1 else rate, subtype="FLOAT")
        assert sounding_frames(kit[-1]) < len(audio)  # the shipped kit has trailing zeros to skip
    whole = dataclasses.replace(DRUM_LOOP, buffers=tuple(kit), one_shot_buffers=False)
    trimmed = dataclasses.replace(whole, one_shot_buffers=True)
    assert setup_messages(trimmed) != setup_messages(whole)
    for _ in range(3):
        notes = [whole.actions.notes(a) for a in rng.integers(0, 8, whole.steps)]
        reference = render_episode(whole, notes)
        assert np.abs(reference).max() > 0.1
        assert np.array_equal(render_episode(trimmed, notes), reference)  # == : a zero's sign may differ


@pytest.mark.parametrize("one_shot", [False, True])
def test_a_missing_or_unreadable_buffer_is_an_error_naming_it(tmp_path, one_shot):
    """scsynth plays a buffer it cannot read as silence, without a word: the renderers say which
    file, before scsynth starts."""
    from conftest import scsynth_children

    from raveforce.env import RaveForceEnv
    from raveforce.errors import ArgumentError

    (tmp_path / "notes.wav").write_text("not a sound file")
    for bad, message in ((tmp_path / "missing.wav", "does not exist"), (tmp_path / "notes.wav", "is not a sound file")):
        task = dataclasses.replace(DRUM_LOOP, buffers=(DRUM_LOOP.buffers[0], bad, DRUM_LOOP.buffers[2]), one_shot_buffers=one_shot)
        for renderer in ("stream", "nrt"):
            env = RaveForceEnv(task, renderer=renderer)
            try:
                with pytest.raises(ArgumentError, match=rf"task 'DrumLoop': buffers\[1\] '{bad}' {message}"):
                    env.reset()
                    env.step(2)  # the NRT renderer starts scsynth at a step
                assert scsynth_children() == []
            finally:
                env.close()


@pytest.mark.parametrize("lanes", [1, 3])
def test_actions_with_no_notes_render_silence(lanes):
    """Steps off scsynth's chunks with no candidate notes at all (every action a rest)."""
    task = dataclasses.replace(DRUM_LOOP, actions=Choices(((), ())))
    renderer = StreamRenderer(task, lanes=lanes)
    try:
        renderer.reset()
        audio = np.concatenate([renderer.step_lanes(k, [()] * lanes) for k in range(task.steps)], axis=1)
    finally:
        renderer.close()
    assert audio.shape == (lanes, task.total_samples) and not audio.any()
