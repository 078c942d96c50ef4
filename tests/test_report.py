"""What a person looks at and listens to: index.html in real headless Chromium, report pictures, the wrappers."""

import re
import shutil
import subprocess
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import soundfile
from conftest import scsynth_children

import raveforce  # noqa: F401  (registers the environments)
from raveforce.tasks import DRUM_LOOP_PATTERN
from raveforce.wrappers import AppendStep, LogMelObservation, RecordEpisodeAudio

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """`raveforce solve drum-loop --agent greedy --out DIR`, its main() in this process."""
    import contextlib
    import io

    from raveforce.app.main import main

    out = tmp_path_factory.mktemp("solve") / "greedy"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        code = main(["solve", "drum-loop", "--agent", "greedy", "--out", str(out)])
    assert code == 0, err.getvalue()
    return out


def dump_dom(page: Path, tmp_path: Path) -> str:
    done = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
            "--disable-background-networking", "--disable-component-update", "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium-profile'}", "--virtual-time-budget=10000",
            "--dump-dom", page.resolve().as_uri(),
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def audio_states(dom: str) -> dict[str, str]:
    return {m[1]: m[0] for m in re.findall(r'<li class="(\w+)" data-audio="([\w-]+)"', dom)}


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make install adds it)")
def test_index_html_renders_and_both_players_load_their_wavs(solved, tmp_path):
    dom = dump_dom(solved / "index.html", tmp_path)
    assert "RaveForce raveforce/DrumLoop-v0: greedy agent" in dom
    assert audio_states(dom) == {"audio-target": "loaded", "audio-result": "loaded"}
    assert re.search(r"audio-target: loaded \(2\.000 s\)", dom)  # 88200 samples at 44.1 kHz
    # the 16-step grid: one cell per drum per step, lit where the pattern plays that drum
    lit = sum(bin(a).count("1") for a in DRUM_LOOP_PATTERN)
    assert dom.count("class=\"on\"") == lit and dom.count("class=\"off\"") == 3 * 16 - lit
    assert '<img src="report.png"' in dom


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make install adds it)")
def test_the_page_reports_players_whose_files_are_missing(solved, tmp_path):
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(solved / "index.html", alone / "index.html")  # no WAVs beside it
    assert audio_states(dump_dom(alone / "index.html", tmp_path)) == {"audio-target": "failed", "audio-result": "failed"}


def test_solve_outputs_are_what_the_page_links(solved):
    page = (solved / "index.html").read_text()
    for name in re.findall(r'(?:src|href)="([^"]+)"', page) + re.findall(r"(?:src|href)='([^']+)'", page):
        assert (solved / name).is_file(), name
    assert "http" not in page  # self-contained: no network
    target, rate = soundfile.read(solved / "target.wav", dtype="float32")
    best, _ = soundfile.read(solved / "best.wav", dtype="float32")
    assert rate == 44100 and target.shape == best.shape == (88200,)
    assert np.max(np.abs(best - target)) < 1e-5  # greedy found the pattern the target was made of
    with open(solved / "report.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_record_episode_audio_writes_every_nth_episode(tmp_path):
    env = RecordEpisodeAudio(gym.make("raveforce/DrumLoop-v0", steps=2), tmp_path / "episodes", every=2)
    try:
        for episode in range(5):
            env.reset(seed=0)
            env.step(episode % 8)
            env.step(1)
            if episode == 4:
                last = env.unwrapped.audio
    finally:
        env.close()
    assert sorted(p.name for p in (tmp_path / "episodes").iterdir()) == [f"rl-episode-{i}.wav" for i in (0, 2, 4)]
    written, rate = soundfile.read(tmp_path / "episodes" / "rl-episode-4.wav", dtype="float32")
    assert rate == 44100 and np.array_equal(written, last)
    assert not scsynth_children()


def test_log_mel_computes_only_changed_frames_and_equals_a_fresh_wrapper(rng):
    """Each call computes again the frames whose samples changed since its slot's last call: the
    values of a wrapper that never saw the audio, through steps, a change far back, a whole new
    episode, an unchanged call and a reset, with another slot's calls in between."""
    base = gym.make("raveforce/DrumLoop-v0")
    kept, x = LogMelObservation(base), np.zeros(88200, np.float32)
    try:
        for lo, hi in [(0, 5512), (5512, 11025), (11025, 16537), (100, 200), (0, 88200), (0, 0)]:
            x[lo:hi] = rng.standard_normal(hi - lo)
            other = rng.standard_normal(88200).astype(np.float32)
            for slot, audio in ((None, x), (3, other)):
                assert np.array_equal(kept.log_mel(audio, slot=slot), LogMelObservation(base).log_mel(audio))
        x[:] = 0.0  # a reset
        out = kept.log_mel(x)
        assert not out.any()
        out[:] = 5.0  # the caller's copy
        assert not kept.log_mel(x).any()
        with pytest.raises(ValueError, match=r"audio of shape \(88199,\); this wrapper's observations are \(88200,\)"):
            kept.log_mel(x[1:])
    finally:
        base.close()


def test_log_mel_and_step_observations():
    env = AppendStep(LogMelObservation(gym.make("raveforce/DrumLoop-v0"), n_mels=32))
    try:
        assert env.observation_space.shape == (43 * 32 + 16,)
        obs, _ = env.reset(seed=0)
        assert obs.dtype == np.float32 and env.observation_space.contains(obs)
        assert not obs[:-16].any() and obs[-16:].tolist() == [1.0] + [0.0] * 15  # silence, step 0
        obs, *_ = env.step(1)  # a kick in step 0: the first frames light up, the rest stays silent
        mel = obs[:-16].reshape(43, 32)
        assert mel[0].max() > 0.5 and not mel[4:].any()
        assert obs[-16:].argmax() == 1
    finally:
        env.close()
