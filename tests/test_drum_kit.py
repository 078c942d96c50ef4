"""DrumKit-v0: ten voices with velocities (MultiDiscrete actions), with the real scsynth.

check_env runs over the whole registry in test_env.py; here: the action type, the shipped
target's optimum, the grid options, the vector env against the single one, MIDI and SB3.
"""

import re

import gymnasium as gym
import numpy as np
import pytest
import soundfile
from conftest import scsynth_children

from raveforce import midi, tasks
from raveforce.errors import ArgumentError, InvalidActionError
from raveforce.kits import hydrogen
from raveforce.synth.render import render_episode
from raveforce.task import Choices, MultiChoices, Note
from raveforce.tasks import DRUM_KIT, DRUM_KIT_PATTERN, FULL_KIT
from raveforce.transcribe import draw_grid, groove_grid, mix_grids


def test_multichoices_plays_every_parts_pick():
    parts = MultiChoices((Choices(((), (Note.of("a"),))), Choices(((), (Note.of("b", x=1),), (Note.of("b", x=2),)))))
    assert parts.space == gym.spaces.MultiDiscrete([2, 3])
    assert parts.notes([1, 2]) == (Note.of("a"), Note.of("b", x=2))
    assert parts.notes(np.array([0, 0])) == ()
    assert parts.candidates == (Note.of("a"), Note.of("b", x=1), Note.of("b", x=2))


@pytest.mark.parametrize(
    "action, message",
    [([1, 3], "dimension 1: 3"), ([1], "MultiDiscrete([2, 3])"), ([0.5, 1], "MultiDiscrete"), ("ab", "MultiDiscrete"), ([-1, 0], "dimension 0: -1")],
)
def test_multichoices_names_the_bad_action(action, message):
    parts = MultiChoices((Choices(((), (Note.of("a"),))), Choices(((), (Note.of("b"),), (Note.of("c"),)))))
    with pytest.raises(InvalidActionError, match=re.escape(message)):
        parts.notes(action)


def test_the_kit_is_ten_general_midi_voices_at_three_velocities():
    assert DRUM_KIT.action_space == gym.spaces.MultiDiscrete([4] * 10)
    assert [p.stem for p in DRUM_KIT.buffers] == list(FULL_KIT)
    assert tasks.velocities() == (42, 85, 127)
    assert [midi.GM_DRUMS[v] for v in FULL_KIT] == [36, 38, 39, 42, 46, 45, 47, 50, 49, 51]
    action = np.zeros(10, np.int64)
    action[FULL_KIT.index("crash")] = 3
    assert DRUM_KIT.actions.notes(action) == (Note.of("drum", buf=8, amp=1.27),)
    assert DRUM_KIT_PATTERN.shape == (16, 10)
    assert set(np.unique(DRUM_KIT_PATTERN)) == {0, 1, 2, 3} and (DRUM_KIT_PATTERN > 0).any(axis=0).all()  # every voice and level


def test_shipped_target_is_the_documented_pattern():
    shipped, rate = soundfile.read(DRUM_KIT.target, dtype="float32")
    notes = [DRUM_KIT.actions.notes(a) for a in DRUM_KIT_PATTERN]
    assert rate == 44100 and shipped.shape == (88200,)
    assert np.abs(shipped - render_episode(DRUM_KIT, notes)).max() <= 1e-6


def test_the_documented_pattern_scores_exactly_zero_and_random_does_not():
    env = gym.make("raveforce/DrumKit-v0")
    try:
        env.reset(seed=0)
        rewards = [env.step(a)[1] for a in DRUM_KIT_PATTERN]
        assert rewards == [0.0] * 16
        env.reset(seed=0)
        env.action_space.seed(3)
        finals = [env.step(env.action_space.sample())[1] for _ in range(16)]
        assert finals[-1] < -1e-3
    finally:
        env.close()
    assert scsynth_children() == []


def test_a_vector_lane_equals_its_single_env():
    rng = np.random.default_rng(5)
    actions = rng.integers(0, 4, (16, 3, 10))
    actions[:, 0] = DRUM_KIT_PATTERN
    vec = gym.make_vec("raveforce/DrumKit-v0", 3, vectorization_mode="vector_entry_point")
    single = gym.make("raveforce/DrumKit-v0")
    try:
        vec.reset(seed=0)
        lanes = np.array([vec.step(a)[1] for a in actions])
        for lane in range(3):
            audio, _ = single.reset(seed=0)
            for k in range(16):
                audio, reward, *_ = single.step(actions[k, lane])
                assert reward == pytest.approx(lanes[k, lane], rel=1e-6, abs=1e-9)
            assert np.abs(vec.unwrapped.audio[lane] - audio).max() <= 1e-6
    finally:
        vec.close()
        single.close()


def test_a_triplet_grid_of_two_bars_with_finer_velocities():
    env = gym.make("raveforce/DrumKit-v0", bars=2, steps_per_beat=3, velocity_levels=7, bpm=90.0, target=(np.zeros(100), 44100))
    try:
        task = env.unwrapped.task
        assert task.steps == 24 and task.beats_per_step == pytest.approx(1 / 3)
        assert task.boundaries[3] == round(60 / 90 * 44100)  # a beat in three steps
        assert env.action_space == gym.spaces.MultiDiscrete([8] * 10)
        env.reset(seed=0)
        hard = np.zeros(10, np.int64)
        hard[0] = 7
        env.step(hard)
        assert env.unwrapped.task.actions.notes(hard) == (Note.of("drum", buf=0, amp=1.27),)
    finally:
        env.close()


@pytest.mark.parametrize("kwargs, message", [({"bars": 0}, "bars=0"), ({"steps_per_beat": 2.5}, "steps_per_beat=2.5"), ({"velocity_levels": 0}, "velocity_levels=0")])
def test_a_bad_grid_names_the_value(kwargs, message):
    with pytest.raises(ArgumentError, match=message):
        gym.make("raveforce/DrumKit-v0", **kwargs)


def test_midi_carries_the_voices_and_velocities(tmp_path):
    path = midi.write_actions(tmp_path / "kit.mid", DRUM_KIT, DRUM_KIT_PATTERN)
    bpm, notes = midi.read_notes(path)
    keys = {midi.GM_DRUMS[v]: i for i, v in enumerate(FULL_KIT)}
    written = sorted((n.start // 120, keys[n.key], n.velocity) for n in notes)
    expected = sorted((k, i, tasks.velocities()[level - 1]) for k, i in zip(*np.nonzero(DRUM_KIT_PATTERN)) for level in [DRUM_KIT_PATTERN[k, i]])
    assert bpm == pytest.approx(120.0) and written == expected
    assert all(n.channel == midi.DRUM_CHANNEL for n in notes)


@pytest.mark.skipif("GMRockKit" not in hydrogen.available(), reason="hydrogen-data is not installed (make install installs it)")
def test_a_hydrogen_kit_plays_each_voice_on_its_instrument_and_layer():
    env = gym.make("raveforce/DrumKit-v0", kit="GMRockKit")
    try:
        voices = env.unwrapped.kit_voices
        assert voices == {
            "kick": "Kick", "snare": "Snare", "clap": "Hand Clap", "hat": "Hat Closed", "open_hat": "Hat Open",
            "low_tom": "Floor Tom", "mid_tom": "Tom 2", "high_tom": "Tom 1", "crash": "Crash", "ride": "Ride",
        }  # fmt: skip
        snare = env.unwrapped.task.actions.parts[FULL_KIT.index("snare")]
        soft, hard = snare.options[1][0], snare.options[3][0]
        assert dict(soft.controls)["buf"] != dict(hard.controls)["buf"]  # GMRockKit's snare has velocity layers
        env.reset(seed=0)
        audio = [env.step(a)[0] for a in DRUM_KIT_PATTERN][-1]
        assert 0.1 < np.abs(audio).max() < 4.0
    finally:
        env.close()
    assert scsynth_children() == []


def test_sb3_trains_on_the_vector_env():
    from raveforce.agents import baselines

    run = baselines.run("a2c", DRUM_KIT, seed=0, steps=256, envs=2, kwargs=baselines.hyperparameters("DrumKit")["a2c"], points=2)
    assert run.env_steps >= 256 and np.isfinite(run.final_distance) and run.final_distance >= 0 and len(run.curve) >= 2
    assert scsynth_children() == []


def test_a_mixed_grid_is_scsynths_render():
    grid = draw_grid(np.random.default_rng(2), steps=16, levels=3)
    rendered = render_episode(DRUM_KIT, [DRUM_KIT.actions.notes(a) for a in grid])
    assert np.abs(mix_grids(DRUM_KIT, [grid])[0] - rendered).max() <= 1e-6


def test_grooves_have_fills_crashes_ride_patterns_ghost_notes_and_accents():
    rng = np.random.default_rng(0)
    grids = np.stack([groove_grid(rng, bars=2) for _ in range(400)])
    voice = {v: i for i, v in enumerate(FULL_KIT)}
    share = lambda mask: float(np.mean(mask))  # noqa: E731
    assert 0.4 < share(grids[:, 0, voice["crash"]] == 3) < 0.6
    assert 0.4 < share((grids[:, -4:, [voice["low_tom"], voice["mid_tom"], voice["high_tom"]]] > 0).any(axis=(1, 2))) < 0.6
    assert 0.15 < share((grids[:, :, voice["ride"]] > 0).any(axis=1)) < 0.3  # 0.3 of the grooves, less those without a cymbal pattern
    assert share((grids[:, :, voice["snare"]] == 1).any(axis=1)) > 0.3  # ghost notes
    assert set(np.unique(grids[:, 4:16:8, voice["snare"]])) <= {0, 1, 3} and (grids[:, 4, voice["snare"]] == 3).mean() > 0.8  # backbeats hard


def test_drum_kit_transcribe_draws_targets_its_pattern_matches():
    env = gym.make("raveforce/DrumKitTranscribe-v0", patterns="grooves")
    try:
        obs, info = env.reset(seed=3)
        assert info["target_pattern"].shape == (16, 10) and obs["target"].shape == (88200,)
        right = [env.step(a)[1] for a in info["target_pattern"]]
        env.reset(seed=3)
        env.action_space.seed(0)
        wrong = [env.step(env.action_space.sample())[1] for _ in range(16)]
        assert max(abs(r) for r in right) <= 1e-6 * abs(wrong[-1])
    finally:
        env.close()
    with pytest.raises(ArgumentError, match="patterns='grooves' are bars of 16ths"):
        gym.make("raveforce/DrumKitTranscribe-v0", patterns="grooves", steps_per_beat=3)
    with pytest.raises(ArgumentError, match="one chance in"):
        gym.make("raveforce/DrumKitTranscribe-v0", density=[0.5] * 3)
    assert scsynth_children() == []


def test_drum_kit_transcribe_vector_lanes_equal_single_envs():
    vec = gym.make_vec("raveforce/DrumKitTranscribe-v0", 2, vectorization_mode="vector_entry_point")
    single = gym.make("raveforce/DrumKitTranscribe-v0")
    try:
        obs, info = vec.reset(seed=0)
        actions = np.random.default_rng(1).integers(0, 4, (16, 2, 10))
        lanes = np.array([vec.step(a)[1] for a in actions])
        for lane in range(2):
            single.reset(options={"target": (obs["target"][lane].copy(), 44100)})
            rewards = [single.step(a)[1] for a in actions[:, lane]]
            assert np.allclose(rewards, lanes[:, lane], rtol=1e-6, atol=1e-9)
    finally:
        vec.close()
        single.close()
