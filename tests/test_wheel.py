"""The wheel as a user installs it: built with `pip wheel`, installed alone into a fresh venv
(its dependencies from the package index), run from outside the source tree."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "src", "supercollider")

pytestmark = [pytest.mark.xdist_group("wheel"), pytest.mark.heavy]  # the tests on one worker: one wheel and venv, not two

SCLANG_TASK = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import gymnasium as gym
    import numpy as np

    import raveforce
    from raveforce.synth.sclang import BackgroundServer, find_quark

    quark = find_quark()
    assert Path(raveforce.__file__).parent / "quark" == quark, quark
    server = BackgroundServer(quark / "examples" / "sine.scd")
    try:
        env = gym.make("raveforce/SCLang-v0", name="sine", port=server.port)
        env.reset(seed=0)
        obs, reward, *_ = env.step(np.array([0.3], np.float32))
        env.close()
        assert np.abs(obs).max() > 0.1 and np.isfinite(reward), (np.abs(obs).max(), reward)
    finally:
        server.stop()
    print("sclang task ok", obs.shape, reward)
    """
)


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A fresh venv in a temp dir with only the wheel (and its dependencies) installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "quark"))
        elif path.exists():
            shutil.copy2(path, src / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(tmp / "dist"), str(src)], check=True, env=env, timeout=600, cwd=tmp)
    (wheel,) = (tmp / "dist").glob("raveforce-*.whl")
    # without a pip of its own (seeding one costs ~5 s): this pip installs into it, without
    # byte-compiling every dependency first (half the install's 16 s; Python compiles what it imports)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp / "venv")], check=True, env=env, timeout=300)
    python = tmp / "venv" / "bin" / "python"
    subprocess.run([*pip, "--python", str(python), "install", "--no-compile", str(wheel)], check=True, env=env, timeout=900, cwd=tmp)
    yield python, tmp, env
    shutil.rmtree(tmp, ignore_errors=True)


def test_wheel_carries_the_quark(venv):
    python, tmp, env = venv
    (wheel,) = (tmp / "dist").glob("raveforce-*.whl")
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "raveforce/quark/Classes/RaveForce.sc" in names and "raveforce/quark/examples/sine.scd" in names
    assert "raveforce/data/kit/kick.wav" in names


def test_installed_wheel_lists_tasks_and_prints_the_quark_path(venv):
    python, tmp, env = venv
    raveforce = str(python.parent / "raveforce")
    listed = subprocess.run([raveforce, "list"], capture_output=True, text=True, env=env, cwd=tmp, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "raveforce/DrumLoop-v0" in listed.stdout and "raveforce/SCLang-v0" in listed.stdout
    where = subprocess.run([raveforce, "quark-path"], capture_output=True, text=True, env=env, cwd=tmp, timeout=120)
    quark = Path(where.stdout.strip())
    assert where.returncode == 0 and quark.is_relative_to(tmp / "venv") and (quark / "RaveForce.quark").is_file()


@pytest.mark.skipif(shutil.which("sclang") is None, reason="sclang is not installed (supercollider-language)")
def test_installed_wheel_runs_a_sclang_task(venv):
    python, tmp, env = venv
    done = subprocess.run([str(python), "-c", SCLANG_TASK], capture_output=True, text=True, env=env, cwd=tmp, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sclang task ok" in done.stdout
