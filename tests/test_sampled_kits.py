"""Hydrogen's sampled kits as data (`raveforce.kits.hydrogen`) and loops played on them by scsynth
(`raveforce.kits.sampled`). The kits of Debian's hydrogen-data (GMRockKit, TR808EmulationKit),
which `make install` installs, are real multi-sampled kits."""

import numpy as np
import pytest
import soundfile

from raveforce.env import RaveForceEnv
from raveforce.kits import hydrogen, sampled
from raveforce.tasks import DRUM_LOOP

INSTALLED = ("GMRockKit", "TR808EmulationKit")
needs_kits = pytest.mark.skipif(
    not set(INSTALLED) <= set(hydrogen.available()), reason="hydrogen-data is not installed (make install installs it)"
)


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("RAVEFORCE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.mark.parametrize(
    "name, role, voice",
    [
        ("Kick (Tama Superstar 22\")", "kick", "kick"),
        ("BassDrum", "kick", "kick"),
        ("c3 - bass drum 1", "kick", "kick"),
        ("Kick Stomp", "kick", "kick"),
        ("Snare Rimshot", "rimshot", "snare"),
        ("Hand Clap", "clap", "snare"),
        ("Rim Click (Pearl Free Floating Maple 14x3.5)", "side_stick", "snare"),
        ("Snare Roll", "roll", None),
        ("Closed HH", "closed_hat", "hat"),
        ("Open HH", "open_hat", "hat"),
        ("VariBreaks Hat 1 Pd", "pedal_hat", "hat"),
        ("Side OHH", "open_hat", "hat"),
        ("tomhi2", "tom", None),
        ("Crash/Ride Bell (Paiste Rude Crash/Ride 18\")", "crash", None),
        ("Paiste Bell", "ride", None),
        ("Dununba1 Bell", "percussion", None),
        ("Cowbell", "percussion", None),
        ("Sample: beats_01-10.flac", "other", None),
    ],
)
def test_instrument_names_map_to_roles_and_voices(name, role, voice):
    assert hydrogen.role_of(name) == (role, voice)


def test_splits_are_disjoint_known_kits_with_four_held_out():
    names = [n for s in hydrogen.SPLITS.values() for n in s]
    assert len(names) == len(set(names)) == sum(len(v) for v in hydrogen.PACKAGES.values())
    assert len(hydrogen.split("held_out")) >= 4
    assert {"GMRockKit", "The Black Pearl 1.0"} <= set(hydrogen.split("train"))  # they share 81 samples


def test_a_kit_that_is_not_installed_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("RAVEFORCE_HYDROGEN_KITS", str(tmp_path))
    with pytest.raises(hydrogen.HydrogenKitError, match=r"'ForzeeStereo' is not installed.*apt-get install --no-install-recommends hydrogen-drumkits"):
        hydrogen.load("ForzeeStereo")
    with pytest.raises(hydrogen.HydrogenKitError, match="hydrogen-data hydrogen-drumkits"):
        hydrogen.load("NoSuchKit")
    with pytest.raises(Exception, match=r"split='test' is not one of \['dev', 'held_out', 'train'\]"):
        hydrogen.split("test")


def _wav(path, frames=2000, rate=44100, channels=1):
    rng = np.random.default_rng(0)
    soundfile.write(path, (rng.standard_normal((frames, channels)) * np.exp(-np.arange(frames) / 300)[:, None] * 0.5).astype(np.float32), rate)


def test_both_xml_formats_are_read(tmp_path):
    old = tmp_path / "Old Kit"
    old.mkdir()
    _wav(old / "k.wav")
    (old / "drumkit.xml").write_text(
        "<drumkit_info><name>Old</name><instrumentList>"
        "<instrument><id>0</id><name>Kick 1</name><filename>k.wav</filename></instrument>"
        "<instrument><id>1</id><name>17</name><filename>missing.wav</filename></instrument>"
        "</instrumentList></drumkit_info>"
    )
    kit = hydrogen.load(old)
    assert [(i.name, i.voice, len(i.layers)) for i in kit.instruments] == [("Kick 1", "kick", 1)]
    assert kit.instruments[0].layer(0.3).path == old / "k.wav"

    new = tmp_path / "New"
    new.mkdir()
    _wav(new / "soft.flac", channels=2)
    _wav(new / "hard.wav")
    (new / "drumkit.xml").write_text(
        '<drumkit_info xmlns="http://www.hydrogen-music.org/drumkit"><name>New</name><license>CC0</license><instrumentList>'
        "<instrument><name>Snare</name><volume>0.5</volume><gain>0.8</gain><instrumentComponent>"
        "<layer><filename>soft.flac</filename><min>0</min><max>0.5</max><gain>1</gain><pitch>0</pitch></layer>"
        "<layer><filename>hard.wav</filename><min>0.5</min><max>1</max><gain>0.9</gain><pitch>0</pitch></layer>"
        "</instrumentComponent></instrument></instrumentList></drumkit_info>"
    )
    kit = hydrogen.load(new)
    snare = kit.instruments_of("snare")[0]
    assert (kit.license, snare.gain, [la.path.name for la in snare.layers]) == ("CC0", pytest.approx(0.4), ["soft.flac", "hard.wav"])
    assert snare.layer(0.2).path.name == "soft.flac" and snare.layer(0.9).gain == pytest.approx(0.9)
    mono = sampled.mono_sample(snare.layer(0.2).path)
    audio, rate = soundfile.read(mono)
    assert audio.ndim == 1 and rate == 44100 and sampled.mono_sample(snare.layer(0.2).path) == mono  # made once
    assert soundfile.info(sampled.mono_sample(snare.layer(0.2).path, 12.0)).samplerate == 88200  # an octave up
    with pytest.raises(Exception, match=r"velocity=1.5 is not in \[0, 1\]"):
        snare.layer(1.5)


@needs_kits
def test_the_debian_kits_have_velocity_layers_and_all_three_voices():
    rock = hydrogen.load("GMRockKit")
    kick = rock.instruments_of("kick")[0]
    assert len(kick.layers) >= 4
    assert kick.layer(0.05).path.name == "Kick-Softest.wav" and "Soft" not in kick.layer(0.99).path.name
    for name in INSTALLED:
        kit = hydrogen.load(name)
        assert all(kit.instruments_of(v) for v in hydrogen.VOICES), name
        assert {i.role for i in kit.distractors} >= {"tom", "percussion"}


@needs_kits
def test_a_dry_loop_is_the_samples_on_the_grid():
    """With the dry rendition and no distractors, scsynth's render is the mono samples mixed at
    the step boundaries, at the velocity's layer and loudness, scaled to the loop's peak."""
    drums = sampled.draw(3, INSTALLED)
    drums = drums.replace(pieces={v: p[:1] for v, p in drums.pieces.items()}, distractors=(), rendition=sampled.Rendition.dry())
    pattern = [1, 0, 4, 0, 2, 0, 4, 0, 1, 1, 4, 0, 2, 0, 4, 7]
    loop = sampled.render_loop(drums, pattern, DRUM_LOOP)
    expected = np.zeros(DRUM_LOOP.total_samples)
    for k, action in enumerate(pattern):
        for i, voice in enumerate(hydrogen.VOICES):
            if action >> i & 1:
                piece = drums.pieces[voice][0]
                layer = piece.layer(0.8)
                x, _ = soundfile.read(sampled.mono_sample(layer.path, layer.pitch))
                start = int(DRUM_LOOP.boundaries[k])
                n = min(len(x), len(expected) - start)
                expected[start : start + n] += x[:n] * 0.8 * piece.gain * layer.gain
    expected *= sampled.PEAK / np.abs(expected).max()
    assert np.abs(loop).max() == pytest.approx(sampled.PEAK, rel=1e-6)
    assert np.abs(loop - expected).max() < 2e-3  # the room synth's filters at 0 dB and 0 mix


@needs_kits
def test_renditions_are_seeded_and_differ():
    a = sampled.render_loops([(sampled.draw(s, INSTALLED), [1, 0, 4, 0, 2, 0, 4, 0] * 2, 0) for s in (0, 1, 2)], DRUM_LOOP)
    b = sampled.render_loops([(sampled.draw(s, INSTALLED), [1, 0, 4, 0, 2, 0, 4, 0] * 2, 0) for s in (0, 1, 2)], DRUM_LOOP)
    assert np.array_equal(a, b)
    assert a.shape == (3, DRUM_LOOP.total_samples) and np.all(np.abs(a).max(axis=1) > 0.5)
    assert np.abs(a[0] - a[1]).max() > 0.1


@needs_kits
def test_an_env_plays_a_sampled_kit():
    drums = sampled.draw(0, INSTALLED)
    task = sampled.kit_task(drums)
    env = RaveForceEnv(task, target=(np.zeros(task.total_samples, np.float32), task.sample_rate), reward="mse")
    try:
        env.reset(seed=0)
        obs, *_ = env.step(1)
        layer = drums.pieces["kick"][0].layer(0.8)
        x, _ = soundfile.read(sampled.mono_sample(layer.path, layer.pitch))
        n = min(len(x), int(task.boundaries[1]))
        gain = 0.8 * drums.pieces["kick"][0].gain * layer.gain
        assert np.abs(obs[:n] - x[:n] * gain).max() < 1e-6
    finally:
        env.close()


@needs_kits
def test_drum_transcribe_draws_targets_on_sampled_kits():
    import gymnasium as gym

    import raveforce  # noqa: F401

    env = gym.make("raveforce/DrumTranscribe-v0", kits="hydrogen:GMRockKit,TR808EmulationKit")
    try:
        obs, info = env.reset(seed=4)
        drums = sampled.draw(int(info["target_kit"]), INSTALLED)
        expected = sampled.render_loop(drums, info["target_pattern"], env.unwrapped.task, int(info["target_loop_seed"]))
        assert np.array_equal(obs["target"], expected)
        assert np.abs(obs["target"]).max() > 0.3
    finally:
        env.close()
    vector = gym.make_vec("raveforce/DrumTranscribe-v0", 3, vectorization_mode="vector_entry_point", kits="hydrogen:GMRockKit")
    try:
        obs, info = vector.reset(seed=1)
        assert obs["target"].shape == (3, DRUM_LOOP.total_samples) and len(set(info["target_kit"].tolist())) == 3
    finally:
        vector.close()


def test_bad_sampled_kits_options_are_clear_errors(monkeypatch, tmp_path):
    import gymnasium as gym

    import raveforce

    with pytest.raises(raveforce.ArgumentError, match="names no kit"):
        gym.make("raveforce/DrumTranscribe-v0", kits="hydrogen:")
    monkeypatch.setenv("RAVEFORCE_HYDROGEN_KITS", str(tmp_path))
    with pytest.raises(hydrogen.HydrogenKitError, match=r"missing: \['GMRockKit'\].*apt-get install --no-install-recommends hydrogen-data"):
        gym.make("raveforce/DrumTranscribe-v0", kits="hydrogen:GMRockKit")


def test_tilt_raises_the_highs_and_lowers_the_lows():
    rate = 44100
    t = np.arange(rate) / rate
    for hz, sign in ((60.0, -1), (12000.0, 1)):
        x = np.sin(2 * np.pi * hz * t)
        y = sampled.tilt(x, rate, 6.0)
        gain_db = 20 * np.log10(np.abs(y[rate // 2 :]).max() / np.abs(x[rate // 2 :]).max())
        assert gain_db == pytest.approx(3.0 * sign, abs=0.5)  # first order: 2.7 dB at 12 kHz
    assert np.array_equal(sampled.tilt(x, rate, 0.0), x) or np.abs(sampled.tilt(x, rate, 0.0) - x).max() < 1e-12


@needs_kits
def test_per_voice_pitch_and_tilt_change_only_their_voice():
    drums = sampled.draw(5, INSTALLED)
    dry = drums.replace(pieces={v: p[:1] for v, p in drums.pieces.items()}, distractors=(), rendition=sampled.Rendition.dry())
    pattern = [1, 0, 0, 0] * 4  # kicks only
    plain = sampled.render_loop(dry, pattern, DRUM_LOOP)
    import dataclasses

    hat_changed = dry.replace(rendition=dataclasses.replace(dry.rendition, voice_pitch={"hat": 2.0}, voice_tilt_db={"hat": 6.0}))
    kick_changed = dry.replace(rendition=dataclasses.replace(dry.rendition, voice_pitch={"kick": 2.0}))
    assert np.array_equal(sampled.render_loop(hat_changed, pattern, DRUM_LOOP), plain)
    assert np.abs(sampled.render_loop(kick_changed, pattern, DRUM_LOOP) - plain).max() > 0.05


@needs_kits
def test_accents_play_at_their_steps_and_are_no_voice():
    drums = sampled.draw(2, INSTALLED)
    crash = hydrogen.load("GMRockKit").instruments_of("crash")[0]
    dry = drums.replace(pieces={v: p[:1] for v, p in drums.pieces.items()}, distractors=(), rendition=sampled.Rendition.dry())
    quiet = [0] * 16
    assert np.abs(sampled.render_loop(dry, quiet, DRUM_LOOP)).max() == 0.0
    loud = sampled.render_loop(dry.replace(accents=((4, crash),)), quiet, DRUM_LOOP)
    start = int(DRUM_LOOP.boundaries[4])
    assert np.abs(loud[:start]).max() == 0.0 and np.abs(loud[start : start + 2000]).max() > 0.5
    assert all(len(t) == 0 for t in sampled.onsets(dry.replace(accents=((4, crash),)), quiet, DRUM_LOOP, 0).values())
