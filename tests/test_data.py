"""The shipped package data is what scripts/make_data.py makes from the sources in the repo."""

import numpy as np
import pytest
import soundfile

from raveforce.synth.render import render_episode
from raveforce.tasks import DATA, DRUM_LOOP, DRUM_LOOP_PATTERN, instruments


@pytest.mark.parametrize("synth", instruments.PLAYED, ids=lambda s: s.name)
def test_shipped_synthdefs_are_the_compiled_sources(synth):
    assert (DATA / "synthdefs" / f"{synth.name}.scsyndef").read_bytes() == synth.compile()


@pytest.mark.parametrize("name", sorted(instruments.KIT))
def test_shipped_kit_is_reproducible(name):
    shipped, rate = soundfile.read(DATA / "kit" / f"{name}.wav", dtype="float32")
    assert rate == 44100
    assert np.abs(shipped).max() > 0.1
    assert np.array_equal(shipped, instruments.render_kit_sound(name))  # noise UGens are seeded


def test_shipped_target_is_the_documented_pattern():
    shipped, rate = soundfile.read(DRUM_LOOP.target, dtype="float32")
    notes = [DRUM_LOOP.actions.notes(a) for a in DRUM_LOOP_PATTERN]
    assert rate == 44100 and shipped.shape == (88200,)
    assert np.abs(shipped - render_episode(DRUM_LOOP, notes)).max() <= 1e-6
