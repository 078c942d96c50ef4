"""The kit family: seeded kits, their one-shots and loops rendered by scsynth."""

import numpy as np
import pytest

from raveforce import kits
from raveforce.errors import ArgumentError
from raveforce.synth.render import render_episode
from raveforce.tasks import DRUM_LOOP, DRUM_LOOP_PATTERN


def test_splits_are_disjoint_and_seeds_reproducible():
    ranges = list(kits.SPLITS.values())
    assert all(set(a).isdisjoint(b) for i, a in enumerate(ranges) for b in ranges[i + 1 :])
    assert kits.draw(10_003) == kits.draw(10_003)
    assert kits.draw(10_003) != kits.draw(10_004)
    assert kits.split_seeds("held_out", 2) == [20_000, 20_001]


def test_drawn_parameters_stay_in_the_documented_ranges():
    drawn = [kits.draw(s) for s in range(200)]
    kick = np.array([k.voices["kick"]["freq"] for k in drawn])
    sweep = np.array([k.voices["kick"]["sweep"] for k in drawn])
    cutoff = np.array([k.voices["hat"]["cutoff"] for k in drawn])
    jitter = np.array([k.rendition.jitter_s for k in drawn])
    gains = np.array([list(k.rendition.gain_db.values()) for k in drawn])
    assert 40 <= kick.min() and kick.max() <= 150 and kick.max() - kick.min() > 80
    assert 1 <= sweep.min() and sweep.max() <= 8
    assert 4000 <= cutoff.min() and cutoff.max() <= 11000
    assert 0 <= jitter.min() and jitter.max() <= 0.005
    assert np.abs(gains).max() <= 6
    assert {k.rendition.sample_rate for k in drawn} == set(kits.MIX_RATES)
    assert any(k.voices["snare"]["rim"] > 0 for k in drawn) and any(k.voices["hat"]["metal"] > 0.5 for k in drawn)


@pytest.mark.parametrize("seed", [-1, 1.5, True, "3"])
def test_a_bad_seed_is_rejected_by_name(seed):
    with pytest.raises(ArgumentError, match="seed"):
        kits.draw(seed)


def test_a_loop_is_reproducible_and_its_renditions_vary():
    kit = kits.draw(3)
    a = kits.render_loop(kit, DRUM_LOOP_PATTERN, DRUM_LOOP, seed=0)
    assert a.shape == (DRUM_LOOP.total_samples,) and a.dtype == np.float32
    assert np.array_equal(a, kits.render_loop(kit, DRUM_LOOP_PATTERN, DRUM_LOOP, seed=0))
    assert not np.array_equal(a, kits.render_loop(kit, DRUM_LOOP_PATTERN, DRUM_LOOP, seed=1))
    assert np.abs(a).max() > 0.05


def test_a_dry_loop_is_the_kit_task_played_and_the_one_shots_mixed():
    kit = kits.draw(5).replace(rendition=kits.Rendition.dry(44100))
    loop = kits.render_loop(kit, DRUM_LOOP_PATTERN, DRUM_LOOP)
    task = kits.kit_task(kit)
    played = render_episode(task, [task.actions.notes(a) for a in DRUM_LOOP_PATTERN])
    shots = kits.render_kit(kit, 44100)
    mixed = np.zeros(DRUM_LOOP.total_samples, np.float32)
    for k, action in enumerate(DRUM_LOOP_PATTERN):
        for i, v in enumerate(kits.VOICES):
            if action >> i & 1:
                start = DRUM_LOOP.boundaries[k]
                part = shots[v][: DRUM_LOOP.total_samples - start]
                mixed[start : start + len(part)] += part
    peak = np.abs(played).max()
    assert np.abs(loop - played).max() < 1e-3 * peak  # the dry room and flat tilt pass the mix through
    assert np.abs(mixed - played).max() < 1e-3 * peak  # noise seeded per voice: a hit sounds the same alone


def test_a_bad_pattern_is_rejected():
    with pytest.raises(ArgumentError, match="pattern"):
        kits.render_loop(kits.draw(0), [8] * 16)


def test_loops_and_one_shots_rendered_together_sound_as_rendered_alone():
    rng = np.random.default_rng(0)
    loops = [(kits.draw(s), rng.integers(0, 8, 16), 0) for s in range(40)]  # more than one scsynth's lanes
    together = kits.render_loops(loops)
    for i in (0, 17, 39):
        assert np.array_equal(together[i], kits.render_loop(*loops[i][:2], seed=0))  # noise per lane
    snares = [kits.draw(s).notes()["snare"] for s in range(70)]
    assert np.array_equal(kits.render_notes(snares, 44100, 4000)[-3:], kits.render_notes(snares[-3:], 44100, 4000))
