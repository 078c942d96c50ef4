"""Tasks defined in sclang with the RaveForce quark, trained on from Python over OSC.

In sclang (run headless with `raveforce sclang FILE.scd`):

    SynthDef(\\sin, { |freq = 0.5| ... }).add;
    RaveForce.start(Pbind(\\instrument, \\sin, \\dur, 0.25), key: \\freq, bpm: 60, steps: 4, name: \\sine);

In Python:

    env = gym.make("raveforce/SCLang-v0", name="sine", host="127.0.0.1", port=57120, target="kick.wav")

## OSC protocol (version 1)
Requests go to sclang's UDP port (57120 unless `raveforce sclang --port` says otherwise). Every
request is `/raveforce/<command> id name args...` with `id` an int32 chosen by the client and
`name` the task's name; the reply goes to the sender's address and port:
`/raveforce/ok id results...` or `/raveforce/error id message` (sclang's error text; id -1 when
the request was too malformed to carry one).

- `describe` (or `make`, the paper's name) -> `ok id json synthdef...`: a JSON object with
  kind ("discrete" | "continuous"), size (Discrete(size) or Box(0, 1, (size,))), keys, options
  (discrete: per option, the notes `[synth, [control, value, ...]]` it plays), controls
  (continuous: per key `{key, low, high, scale: "lin" | "exp"}`, the action x in [0, 1] becomes
  low + (high - low) x or low (high / low)^x), synth and fixed (continuous: the one synth a step
  plays and its other controls), direct (whether those notes hold at every step), steps, bpm,
  beats_per_step, step_seconds, sample_rate, total_samples (observation length: step k starts at
  sample floor(k * step_seconds * sample_rate + 0.5)), buffers (sound file paths, buffers 0..n-1),
  target (a path or absent), reward (a name or absent), synthdefs ([{name, controls}]); then one
  blob of `.scsyndef` bytes per synthdefs entry.
- `reset` -> `ok id`: starts this client's episode (clients are told apart by address:port).
- `step k a...` -> `ok id path frames`: plays step k (0-based, in order after reset) with the
  action values a (a choice index, or one float in [0, 1] per key), renders the whole prefix
  with `Score.recordNRT` (the paper's method) and replies with the path of the float WAV of the
  audio so far (`frames` samples long at least). The file stays until the next step, reset or close.
- `events k a...` -> `ok id json`: the notes step k plays with action a, without rendering:
  `[[synth, [control, value, ...]], ...]` (`[]` for a rest).
- `close` -> `ok id`: ends this client's episode; sclang deletes its render files.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Sequence
from pathlib import Path

from raveforce.errors import ArgumentError, SCLangError, SCLangTimeoutError
from raveforce.synth import osc
from raveforce.task import Note

PROTOCOL_VERSION = 1
DEFAULT_PORT = 57120
SCLANG_INSTALL_HINT = "sudo apt-get install --no-install-recommends supercollider-language"
_DATA = Path(__file__).resolve().parents[1] / "data"
_PROBE = osc.bundle(1, [])  # an empty bundle, "now": a liveness probe that asks for nothing
_PROBE_SECONDS = 0.5


# --- the client --------------------------------------------------------------------------------


def _start_hint(name: str) -> str:
    return (
        f"start it with `raveforce sclang FILE.scd`, where FILE.scd defines its SynthDefs and calls "
        f"RaveForce.start(pattern, key: ..., name: \\{name})"
    )


class SCLangClient:
    """One long-lived UDP socket talking to one task of a RaveForce quark in sclang.

    `request(command, *args)` sends `/raveforce/<command> id name args...` and returns the
    reply's results; every request waits at most `timeout` seconds.
    """

    def __init__(self, name: str, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, timeout: float = 5.0) -> None:
        if not isinstance(name, str) or not name:
            raise ArgumentError(f"name={name!r} is not a task name (the name: given to RaveForce.start)")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ArgumentError(f"port={port!r} is not a UDP port number from 1 to 65535")
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ArgumentError(f"timeout={timeout!r} is not a number of seconds > 0")
        self.name, self.host, self.port, self.timeout = name, host, port, float(timeout)
        try:
            family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        except socket.gaierror as exc:
            raise SCLangError(f"host {host!r} does not resolve: {exc}") from exc
        self._socket = socket.socket(family, kind, proto)
        self._finalizer = weakref.finalize(self, self._socket.close)
        self._socket.connect(address)  # replies from elsewhere are dropped; a dead port is reported
        self._ids = itertools.count(1)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def request(self, command: str, *args: int | float | str, timeout: float | None = None) -> list:
        """Send one request and return the results of its `/raveforce/ok` reply."""
        if not self._finalizer.alive:
            raise SCLangError(f"the connection to task {self.name!r} at {self.where} is closed")
        request_id = next(self._ids) % (1 << 31)
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        try:
            self._socket.send(osc.message(f"/raveforce/{command}", request_id, self.name, *args))
            while True:
                left = deadline - time.monotonic()
                if left > 0 and not select.select([self._socket], [], [], min(left, _PROBE_SECONDS))[0]:
                    # Still waiting: an empty bundle (sclang ignores it) to a port nobody listens on
                    # any more comes back as "connection refused", so a dead sclang fails fast.
                    self._socket.send(_PROBE)
                    continue
                if left <= 0:
                    raise SCLangTimeoutError(
                        f"no reply from sclang at {self.where} to /raveforce/{command} for task "
                        f"{self.name!r} within {wait:g} s: is a RaveForce task named {self.name!r} "
                        f"running there? {_start_hint(self.name)}"
                    )
                try:
                    address, reply = osc.parse_message(self._socket.recv(1 << 16))
                except ValueError:
                    continue  # not an OSC message, so not a reply: keep waiting
                if address == "/raveforce/ok" and reply[:1] == [request_id]:
                    return reply[1:]
                if address == "/raveforce/error" and reply[:1] in ([request_id], [-1]):
                    raise SCLangError(f"sclang at {self.where}, task {self.name!r}, /raveforce/{command}: {reply[1] if len(reply) > 1 else '(no message)'}")
                # anything else is a late reply to an earlier, timed-out request: skip it
        except ConnectionRefusedError as exc:
            raise SCLangError(
                f"nothing listens at {self.where} (connection refused) for task {self.name!r}: "
                f"sclang is not running or uses another port; {_start_hint(self.name)}"
            ) from exc
        except OSError as exc:
            if isinstance(exc, SCLangError):
                raise
            raise SCLangError(f"talking to sclang at {self.where} for task {self.name!r} failed: {exc}") from exc

    def describe(self) -> tuple[dict, list[bytes]]:
        """The task's description (see the module docstring) and its SynthDefs' bytes."""
        results = self.request("describe")
        try:
            description = json.loads(results[0])
        except (IndexError, TypeError, ValueError) as exc:
            raise SCLangError(f"sclang at {self.where} sent a describe reply that is not JSON: {results[:1]!r}") from exc
        if description.get("protocol") != PROTOCOL_VERSION:
            raise SCLangError(
                f"sclang at {self.where} speaks RaveForce protocol {description.get('protocol')!r}; "
                f"this Python package speaks {PROTOCOL_VERSION}: install matching versions of the quark and package"
            )
        return description, list(results[1:])

    def events(self, step: int, action: Sequence[float]) -> tuple[Note, ...]:
        """The notes sclang's pattern plays at `step` with `action`."""
        return notes_from_osc(json.loads(self.request("events", step, *action)[0]))

    def close(self) -> None:
        self._finalizer()


def note_from_osc(synth: str, args: Sequence) -> Note:
    """A Note from sclang's `[synth, [control, value, ...]]` (bus 0 only)."""
    controls = dict(zip(args[::2], args[1::2]))
    bus = controls.pop("out", 0)
    if bus != 0:
        raise SCLangError(f"a {synth!r} note plays on bus out={bus}; RaveForce renders bus 0 only")
    return Note.of(synth, **controls)


def notes_from_osc(spec: Sequence) -> tuple[Note, ...]:
    """The Notes of a list of `[synth, [control, value, ...]]`."""
    return tuple(note_from_osc(synth, args) for synth, args in spec)


# --- the launcher ------------------------------------------------------------------------------------


def find_sclang(executable: str | os.PathLike | None = None) -> str:
    """The sclang to run: `executable`, else $RAVEFORCE_SCLANG, else `sclang` on PATH."""
    candidate = executable or os.environ.get("RAVEFORCE_SCLANG") or "sclang"
    found = shutil.which(str(candidate))
    if found is None:
        raise SCLangError(
            f"sclang not found: {str(candidate)!r} is not an executable. Install it with "
            f"`{SCLANG_INSTALL_HINT}`, or pass --sclang / set RAVEFORCE_SCLANG."
        )
    return found


def find_quark(path: str | os.PathLike | None = None) -> Path:
    """The RaveForce quark folder: `path`, else $RAVEFORCE_QUARK, else the one installed with
    this package (`raveforce/quark`, in a wheel), else the one in this source tree."""
    here = Path(__file__).resolve().parents[1]  # the raveforce package
    candidates = [Path(path or os.environ.get("RAVEFORCE_QUARK"))] if (path or os.environ.get("RAVEFORCE_QUARK")) else [
        here / "quark",
        here.parents[1] / "supercollider" / "RaveForce",
    ]
    for candidate in candidates:
        if (candidate / "Classes" / "RaveForce.sc").is_file():
            return candidate
    raise SCLangError(
        f"{str(candidates[0])!r} is not the RaveForce quark (no Classes/RaveForce.sc): pass --quark or set RAVEFORCE_QUARK"
    )


def _stop_group(process: subprocess.Popen, tmpdir: str) -> None:
    """Stop sclang and everything it started (its scsynth renders), then remove its temp dir."""
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            os.killpg(process.pid, signal.SIGKILL)  # children that outlived sclang
        except ProcessLookupError:
            break
        except subprocess.TimeoutExpired:
            continue
    if process.stdout is not None:
        process.stdout.close()
    shutil.rmtree(tmpdir, ignore_errors=True)


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing is bound to right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BackgroundServer:
    """`raveforce sclang FILE --port PORT` in a background process, with a private TMPDIR.

    Its output lines collect in `lines`; `sclang_pid` is sclang's (its session id too).
    `stop(sig)` signals the launcher and returns its exit code; `leftovers` then lists the
    files it left in its TMPDIR (which is removed anyway).
    """

    def __init__(self, file: str | os.PathLike, port: int | None = None, ready_timeout: float = 60.0) -> None:
        import threading

        self.port = port or free_udp_port()
        self.lines: list[str] = []
        self.leftovers: list[str] = []
        self.tmpdir = tempfile.mkdtemp(prefix="raveforce-served-")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "raveforce", "sclang", str(file), "--port", str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            env=dict(os.environ, TMPDIR=self.tmpdir),
        )  # fmt: skip
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        self._ready.wait(ready_timeout)
        ready = [line for line in self.lines if "serving task(s)" in line]
        if not ready:
            self.stop()
            raise SCLangError("raveforce sclang did not start:\n" + "".join(self.lines))
        self.sclang_pid = int(ready[0].split("sclang pid ")[1].split(")")[0])

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)
            if "serving task(s)" in line or "error" in line:
                self._ready.set()
        self._ready.set()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the launcher (after 15 s, SIGKILL to its group); its exit code. A launcher killed
        by a signal before its cleanup takes sclang's session with it."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=15)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            if self.process.returncode < 0:  # killed by a signal before its cleanup: sclang, in a
                with contextlib.suppress(AttributeError, ProcessLookupError):  # session of its own, lives on
                    os.killpg(self.sclang_pid, signal.SIGKILL)
            self.leftovers = os.listdir(self.tmpdir) if os.path.isdir(self.tmpdir) else []
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        return code


def serve(file: str | os.PathLike, *, port: int | None = None, sclang: str | None = None, quark: str | None = None, out=None) -> int:
    """Run FILE.scd in headless sclang with the quark on its include path until Ctrl-C, SIGTERM or
    SIGHUP (sclang runs in a session of its own: it is stopped with the launcher).

    Prints sclang's output (its errors included) and returns sclang's exit code, 1 when FILE
    fails to compile, raises or starts no task, 0 when stopped by a signal.
    """
    out = out or sys.stdout
    path = Path(file).resolve()
    if not path.is_file():
        raise SCLangError(f"{str(file)!r} is not a file (an .scd file that calls RaveForce.start)")
    exe, quark_dir = find_sclang(sclang), find_quark(quark)
    tmpdir = tempfile.mkdtemp(prefix="raveforce-sclang-")
    conf = Path(tmpdir, "sclang_conf.yaml")
    conf.write_text(f"includePaths:\n    - {json.dumps(str(quark_dir))}\nexcludePaths: []\npostInlineWarnings: false\n")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TMPDIR=tmpdir, RAVEFORCE_FILE=str(path))
    env.setdefault("RAVEFORCE_KIT", str(_DATA / "kit"))
    env.setdefault("RAVEFORCE_DATA", str(_DATA))
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
    cmd = [exe, "-D", "-l", str(conf), *(["-u", str(port)] if port else []), str(quark_dir / "run.scd")]
    process = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        cwd=path.parent, env=env, start_new_session=True, text=True, errors="replace",
    )  # fmt: skip
    finalizer = weakref.finalize(process, _stop_group, process, tmpdir)

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    stops = [signal.SIGTERM]
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # its terminal closed (not under nohup)
        stops.append(signal.SIGHUP)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN and os.getsid(0) == os.getpid():
        # Started by a shell as a background job (SIGINT ignored) in a session of its own, which
        # no terminal's Ctrl-C reaches: a SIGINT is then sent on purpose (BackgroundServer.stop).
        stops.append(signal.SIGINT)
    previous = {sig: signal.signal(sig, interrupted) for sig in stops}
    startup: list[str] = []  # class-library chatter, shown only if sclang fails before the file runs
    started = False
    try:
        for line in process.stdout:
            if not started:
                startup.append(line)
                started = "*** Welcome to SuperCollider" in line
                continue
            if line.startswith("RAVEFORCE-READY"):
                _, listen, names = line.split(maxsplit=2)
                if port and int(listen) != port:
                    print(f"raveforce sclang: error: UDP port {port} is in use (sclang took {listen}); "
                          "stop what uses it or pass another --port", file=out, flush=True)  # fmt: skip
                    return 1
                print(f"raveforce sclang: serving task(s) {names.strip()} on UDP port {listen} "
                      f"(sclang pid {process.pid}); Ctrl-C to stop", file=out, flush=True)  # fmt: skip
            elif line.startswith("RAVEFORCE-FAILED"):
                print(f"raveforce sclang: error: {line.split(maxsplit=1)[1].strip()}", file=out, flush=True)
            elif not line.startswith("Found 0 LADSPA plugins"):  # printed by every Score.recordNRT
                print(line, end="", file=out, flush=True)
        code = process.wait()
        if not started:
            print("".join(startup), end="", file=out)
            print(f"raveforce sclang: sclang exited with code {code} before running {path}", file=out, flush=True)
        return code if code else (1 if not started else 0)
    except KeyboardInterrupt:
        print("raveforce sclang: stopping sclang", file=out, flush=True)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        finalizer()


__all__ = ["BackgroundServer", "SCLangClient", "find_quark", "find_sclang", "note_from_osc", "notes_from_osc", "serve"]
