"""`raveforce doctor` as a user runs it: everything found here, and the fix when scsynth is not."""

import os
import subprocess
import sys

from raveforce.synth.scsynth import INSTALL_HINT


def doctor(**env):
    return subprocess.run([sys.executable, "-m", "raveforce", "doctor"], capture_output=True, text=True, timeout=120, env={**os.environ, **env})


def test_doctor_reports_versions_plugins_extras_and_a_timed_render():
    done = doctor()
    lines = {line.split()[1] if line.startswith(("ok", "MISSING")) else line: line for line in done.stdout.splitlines()}
    assert "scsynth 3." in lines["scsynth"] and "/scsynth" in lines["scsynth"]
    assert " in /" in lines["plugins"] and "1 s render" in done.stdout and "44100 frames in " in done.stdout
    for extra in ("sb3", "rllib", "plot"):
        assert f"extra {extra}" in done.stdout
    missing = [line for line in done.stdout.splitlines() if line.startswith("MISSING")]
    assert done.returncode == (1 if missing else 0), done.stdout
    assert all("fix: " in line for line in missing)


def test_doctor_without_scsynth_exits_1_with_the_install_command():
    done = doctor(RAVEFORCE_SCSYNTH="/nonexistent/scsynth")
    assert done.returncode == 1
    missing = [line for line in done.stdout.splitlines() if line.startswith("MISSING")]
    by_name = {line.split()[1]: line for line in missing}
    assert {"scsynth", "plugins", "1"} <= set(by_name)  # "1 s render"
    assert all(INSTALL_HINT in by_name[name] for name in ("scsynth", "plugins", "1"))
    assert done.stdout.splitlines()[-1].startswith("missing: scsynth, plugins")


def test_doctor_counts_the_sampled_kits_and_names_what_installs_the_rest(tmp_path):
    (tmp_path / "GMRockKit").mkdir()
    (tmp_path / "GMRockKit" / "drumkit.xml").write_text("<drumkit_info/>")  # counted, not read
    done = doctor(RAVEFORCE_HYDROGEN_KITS=str(tmp_path))
    line = next(line for line in done.stdout.splitlines() if "sampled kits" in line)
    assert line.startswith("ok") and "1 of 16 Hydrogen kits" in line and "apt-get install --no-install-recommends hydrogen-data hydrogen-drumkits" in line
