"""`raveforce doctor`: what this machine has for RaveForce, and the fix for what it lacks.

Checks scsynth and sclang (path and version), the UGen plugins scsynth will load, the extras
(sb3, rllib, plot) and chromium, Hydrogen's sampled kits (optional: for real drum loops), and
renders one second with scsynth, timed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PIP_EXTRA = "pip install 'raveforce[{extra}]'"
EXTRAS = {  # extra: (modules it brings, the fix)
    "sb3": (("stable_baselines3", "torch"), "pip install torch==2.13.0 && " + PIP_EXTRA.format(extra="sb3")),
    "rllib": (("ray", "torch"), "pip install torch==2.13.0 && " + PIP_EXTRA.format(extra="rllib")),
    "plot": (("matplotlib",), PIP_EXTRA.format(extra="plot")),
    "baselines": (("cma", "yaml", "rliable"), PIP_EXTRA.format(extra="baselines")),
}
CHROMIUM_HINT = "sudo apt-get install --no-install-recommends chromium (only the test that opens index.html needs it)"


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, whether it is there, what was found or the fix."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok     ' if self.ok else 'MISSING'}  {self.name:16} {self.detail}"


def _version(executable: str) -> str:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    try:
        done = subprocess.run([executable, "-v"], capture_output=True, text=True, timeout=30, env=env, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"(no version: {exc})"
    return (done.stdout + done.stderr).strip().splitlines()[0] if (done.stdout + done.stderr).strip() else "(no version printed)"


def check_scsynth() -> tuple[Check, str | None]:
    from raveforce.errors import ScsynthNotFoundError
    from raveforce.synth.scsynth import INSTALL_HINT, find_scsynth

    try:
        exe = find_scsynth()
    except ScsynthNotFoundError:
        return Check("scsynth", False, f"not found; fix: {INSTALL_HINT} (or set RAVEFORCE_SCSYNTH)"), None
    return Check("scsynth", True, f"{_version(exe)} at {exe}"), exe


def plugin_dirs(scsynth: str) -> list[Path]:
    """The UGen plugin folders a packaged scsynth loads (prefix/lib/SuperCollider/plugins and
    prefix/share/SuperCollider/Extensions), those that exist."""
    prefix = Path(scsynth).resolve().parents[1]
    dirs = [prefix / "lib" / "SuperCollider" / "plugins", prefix / "share" / "SuperCollider" / "Extensions"]
    return [d for d in dirs if d.is_dir()]


def check_plugins(scsynth: str | None) -> Check:
    from raveforce.synth.scsynth import INSTALL_HINT

    if scsynth is None:
        return Check("plugins", False, f"no scsynth; fix: {INSTALL_HINT}")
    found = {d: n for d in plugin_dirs(scsynth) if (n := sum(1 for _ in d.rglob("*.so")))}
    if not found:
        return Check("plugins", False, f"no UGen plugins next to {scsynth}; fix: {INSTALL_HINT}")
    return Check("plugins", True, ", ".join(f"{n} in {d}" for d, n in found.items()))


def check_sclang() -> Check:
    from raveforce.errors import SCLangError
    from raveforce.synth.sclang import SCLANG_INSTALL_HINT, find_quark, find_sclang

    try:
        exe = find_sclang()
    except SCLangError:
        return Check("sclang", False, f"not found (only `raveforce sclang` needs it); fix: {SCLANG_INSTALL_HINT}")
    try:
        quark = f"; quark at {find_quark()}"
    except SCLangError as exc:
        return Check("sclang", False, f"{exc}; fix: reinstall raveforce")
    return Check("sclang", True, f"{_version(exe)} at {exe}{quark}")


def check_extras() -> list[Check]:
    checks = []
    for extra, (modules, fix) in EXTRAS.items():
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        detail = f"{', '.join(modules)} installed" if not missing else f"{', '.join(missing)} not installed; fix: {fix}"
        checks.append(Check(f"extra {extra}", not missing, detail))
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    checks.append(Check("chromium", browser is not None, browser or f"not found; fix: {CHROMIUM_HINT}"))
    return checks


def check_render(scsynth: str | None) -> Check:
    """Render one second of a 440 Hz sine with a fresh scsynth; its wall time."""
    from raveforce.errors import ScsynthError
    from raveforce.synth import osc
    from raveforce.synth.scsynth import INSTALL_HINT, BlockClock, render_nrt
    from raveforce.tasks import KICK_FREQUENCY

    if scsynth is None:
        return Check("1 s render", False, f"no scsynth; fix: {INSTALL_HINT}")
    rate = KICK_FREQUENCY.sample_rate
    score = [
        (0, [osc.message("/d_recv", d) for d in KICK_FREQUENCY.compiled_synthdefs()]),
        (BlockClock(rate).tag(0), [osc.message("/s_new", "sine_perc", -1, 0, 0, "freq", 440.0, "release", 0.99)]),
    ]
    start = time.perf_counter()
    try:
        audio = render_nrt(score, sample_rate=rate, channels=1, frames=rate, executable=scsynth, timeout=30)
    except ScsynthError as exc:
        return Check("1 s render", False, f"{exc}; fix: {INSTALL_HINT}")
    seconds = time.perf_counter() - start
    peak = float(abs(audio).max())
    if not 0.1 < peak < 1.0:
        return Check("1 s render", False, f"rendered a peak of {peak:.3g} instead of about 0.5; fix: {INSTALL_HINT}")
    return Check("1 s render", True, f"{rate} frames in {seconds * 1000:.0f} ms (peak {peak:.2f})")


def check_kits() -> Check:
    """Hydrogen's sampled kits: how many of the 16 are installed. Optional (the library runs
    without them), so always ok; the detail names what installs the rest."""
    from raveforce.kits import hydrogen

    known = [n for names in hydrogen.PACKAGES.values() for n in names]
    installed = [n for n in hydrogen.available() if n in known]
    missing = [n for n in known if n not in installed]
    detail = f"{len(installed)} of {len(known)} Hydrogen kits"
    if missing:
        commands = {hydrogen.install_command(n) for n in missing}
        command = commands.pop() if len(commands) == 1 else hydrogen.install_command("")
        detail += f"; the rest (for training and the real-loop benchmarks): {command}"
    return Check("sampled kits", True, detail)


def run(out=None) -> int:
    """Print every check; 0 when everything is there, 1 (after the fixes) when anything is missing."""
    out = out or sys.stdout
    scsynth_check, scsynth = check_scsynth()
    checks = [scsynth_check, check_plugins(scsynth), check_sclang(), *check_extras(), check_kits(), check_render(scsynth)]
    print(f"raveforce {_package_version()} on Python {sys.version.split()[0]} ({sys.executable})", file=out)
    for check in checks:
        print(check.line(), file=out, flush=True)
    missing = [c.name for c in checks if not c.ok]
    if missing:
        print(f"missing: {', '.join(missing)} (the fix is on each line above)", file=out)
        return 1
    print("everything RaveForce uses is here", file=out)
    return 0


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("raveforce")
    except PackageNotFoundError:
        return "(not installed)"


__all__ = ["Check", "check_kits", "run"]
