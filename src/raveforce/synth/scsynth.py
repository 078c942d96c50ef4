"""SuperCollider's scsynth in non-real-time mode: finding it, its block clock, a kept-alive
stream fed step by step, and one-shot renders of a whole score.

Non-real-time scsynth runs on a clock of 64-bit OSC units (seconds * 2**32) that advances by a
whole number of units per block, and it starts a bundle's synths at the sample offset its time tag
falls on inside the block. `BlockClock.tag` inverts that arithmetic exactly, so an event meant
for sample `s` starts at sample `s`, however long the stream runs.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import soundfile

from raveforce.errors import ScsynthError, ScsynthNotFoundError
from raveforce.synth import osc

INSTALL_HINT = "sudo apt-get install --no-install-recommends supercollider-server sc3-plugins-server"
_PIPE_SIZE = 1 << 20
_STDIN_BUFFER = 1 << 18  # a step's bundles reach scsynth in one write at request()'s flush: one wake-up, not three
_F_SETPIPE_SZ = 1031


def find_scsynth(executable: str | os.PathLike | None = None) -> str:
    """The scsynth to run: `executable`, else $RAVEFORCE_SCSYNTH, else `scsynth` on PATH."""
    candidate = executable or os.environ.get("RAVEFORCE_SCSYNTH") or "scsynth"
    found = shutil.which(str(candidate))
    if found is None:
        source = (
            "the executable argument"
            if executable
            else "RAVEFORCE_SCSYNTH"
            if os.environ.get("RAVEFORCE_SCSYNTH")
            else "PATH"
        )
        raise ScsynthNotFoundError(
            f"scsynth not found: {str(candidate)!r} (from {source}) is not an executable. "
            f"Install SuperCollider's server with `{INSTALL_HINT}`, or pass its path as "
            "`scsynth=` or in the RAVEFORCE_SCSYNTH environment variable."
        )
    return found


@dataclass(frozen=True)
class BlockClock:
    """scsynth's non-real-time clock: sample positions <-> OSC time tags, block by block."""

    sample_rate: int
    block_size: int = 64

    @cached_property
    def _osc_to_samples(self) -> float:
        return self.sample_rate * (1.0 / osc.OSC_UNITS_PER_SECOND)

    @cached_property
    def units_per_block(self) -> int:
        """OSC units scsynth adds per block: (int64)(block / (sr / 2**32)), as scsynth computes it."""
        return int(self.block_size / self._osc_to_samples)

    def tag(self, sample: int) -> int:
        """The time tag that makes scsynth start a bundle's synths exactly at `sample`.

        scsynth runs a bundle before the first block whose end time is >= the tag, at offset
        floor((tag - block start) * sr / 2**32 + 0.5); one unit past the sample's exact time lands
        on the sample (a tag exactly on a block start would run a block early, at offset 63).
        """
        block, offset = divmod(int(sample), self.block_size)
        return block * self.units_per_block + int(offset / self._osc_to_samples) + 1

    def ceil(self, sample: int) -> int:
        """The first block boundary at or after `sample`."""
        return -(-int(sample) // self.block_size) * self.block_size


def _command(
    executable: str,
    score: str,
    output: str,
    sample_rate: int,
    header: str,
    channels: int,
    block_size: int,
    chunk: int | None = None,
    max_nodes: int = 1024,
    buffers: int = 1024,
) -> list[str]:
    return [
        executable, "-N", score, "_", output, str(sample_rate), header, "float",
        "-o", str(channels), "-i", "0", "-a", str(max(1024, channels + 128)),
        "-z", str(block_size), "-Z", str(chunk or block_size), "-D", "0", "-R", "0", "-V", "-1",
        "-n", str(max(1024, max_nodes)), "-m", str(max(8192, 8 * max_nodes)), "-b", str(max(1024, buffers)),
    ]  # fmt: skip


def _failures(text: str) -> list[str]:
    """The lines of scsynth's output that report an error."""
    markers = ("FAILURE", "ERROR", "exception", "not found", "Couldn't")
    return [line for line in text.splitlines() if any(m in line for m in markers)]


def render_nrt(
    entries: Iterable[tuple[int, Sequence[bytes]]],
    *,
    sample_rate: int,
    channels: int,
    frames: int,
    executable: str | None = None,
    block_size: int = 64,
    timeout: float = 60.0,
    max_nodes: int = 1024,
    buffers: int = 1024,
) -> np.ndarray:
    """Render a whole score with a fresh `scsynth -N` (the reference, and the paper's method).

    entries: (time tag, encoded messages) in time order. Returns float32 (frames, channels);
    a score that renders less than `frames` is zero-padded. `max_nodes` and `buffers`: at least
    how many synths may sound at once and how many buffers the score may use (scsynth ignores
    a /b_allocRead past its last buffer without a word).
    """
    exe = find_scsynth(executable)
    entries = list(entries)
    last_tag = max((t for t, _ in entries), default=0)
    end = BlockClock(sample_rate, block_size).tag(frames + block_size)
    with tempfile.TemporaryDirectory(prefix="raveforce-nrt-") as tmp:
        score, out = Path(tmp, "score.osc"), Path(tmp, "out.wav")
        with open(score, "wb") as f:
            for tag, messages in entries:
                f.write(osc.score_entry(tag, messages))
            f.write(osc.score_entry(max(end, last_tag), []))  # render through `frames`
        cmd = _command(exe, str(score), str(out), sample_rate, "WAV", channels, block_size, max_nodes=max_nodes, buffers=buffers)
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise ScsynthError(f"scsynth did not finish a {frames}-frame render within {timeout} s") from exc
        failures = _failures(done.stdout + done.stderr)
        if done.returncode != 0 or failures or not out.exists():
            detail = "; ".join(failures) or (done.stdout + done.stderr).strip()[-500:]
            raise ScsynthError(f"scsynth failed rendering a score (exit code {done.returncode}): {detail}")
        audio, _ = soundfile.read(out, dtype="float32", always_2d=True)
    result = np.zeros((frames, channels), dtype=np.float32)
    n = min(frames, len(audio))
    result[:n] = audio[:n]
    return result


def _stop(process: subprocess.Popen, tmpdir: str, fds: list[int]) -> None:
    """Kill scsynth and remove its FIFO and temp dir (also run by the finalizer)."""
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
    fds.clear()
    if process.poll() is None:
        try:
            process.stdin.close()
        except OSError:
            pass
        try:
            process.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    for stream in (process.stdin, process.stdout):
        try:
            stream.close()
        except OSError:
            pass
    shutil.rmtree(tmpdir, ignore_errors=True)


class ScsynthStream:
    """One kept-alive `scsynth -N _ _ fifo` whose score arrives on stdin, rendered on demand.

    `send(tag, messages)` queues a bundle; `render(frames)` makes scsynth render that many frames
    (a whole number of chunks) and returns them as float32 (frames, channels). scsynth renders
    a block only once it has read a bundle stamped past the block's end, so `render` sends one;
    it writes its output a chunk (`-Z`) at a time, so a render must end on a chunk boundary.
    The process, its FIFO and temp dir go away on `close()`, on garbage collection and at exit.
    """

    def __init__(
        self,
        *,
        sample_rate: int,
        channels: int,
        executable: str | None = None,
        block_size: int = 64,
        chunk: int | None = None,
        timeout: float = 10.0,
        max_nodes: int = 1024,
    ) -> None:
        self.clock = BlockClock(sample_rate, block_size)
        self.chunk = chunk or block_size  # frames scsynth renders before it writes them out
        if self.chunk % block_size:
            raise ValueError(f"chunk={chunk} is not a multiple of the block size {block_size}")
        self.channels = channels
        self.timeout = timeout
        self.frames_rendered = 0
        self._last_tag = 0
        exe = find_scsynth(executable)
        try:
            self._tmpdir = tempfile.mkdtemp(prefix="raveforce-scsynth-")
        except OSError as exc:
            raise ScsynthError(f"cannot make a temp dir for scsynth's output FIFO in {tempfile.gettempdir()!r}: {exc}") from exc
        fifo = os.path.join(self._tmpdir, "out.raw")
        self._fds: list[int] = []
        try:
            os.mkfifo(fifo)
            # Open the reading end first (non-blocking, so a scsynth that never opens it cannot hang us).
            self._fifo = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            self._fds.append(self._fifo)
            try:
                import fcntl

                fcntl.fcntl(self._fifo, _F_SETPIPE_SZ, _PIPE_SIZE)
            except OSError:
                pass
            cmd = _command(exe, "_", fifo, sample_rate, "RAW", channels, block_size, self.chunk, max_nodes)
            self._process = subprocess.Popen(
                ["stdbuf", "-oL", "-eL", *cmd] if shutil.which("stdbuf") else cmd,
                stdin=subprocess.PIPE,
                bufsize=_STDIN_BUFFER,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=self._tmpdir,
                start_new_session=True,
            )
        except OSError as exc:  # no FIFO, no descriptors left, scsynth not startable: leave nothing behind
            for fd in self._fds:
                os.close(fd)
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            raise ScsynthError(f"cannot start scsynth {exe!r} with its output FIFO in {self._tmpdir!r}: {exc}") from exc
        os.set_blocking(self._process.stdout.fileno(), False)
        self._output = select.poll()  # scsynth's printed output, checked after every render
        self._output.register(self._process.stdout.fileno(), select.POLLIN)
        self._fifo_ready = select.poll()  # its rendered frames
        self._fifo_ready.register(self._fifo, select.POLLIN)
        try:
            import fcntl

            fcntl.fcntl(self._process.stdin.fileno(), _F_SETPIPE_SZ, _PIPE_SIZE)
        except OSError:
            pass
        self._finalizer = weakref.finalize(self, _stop, self._process, self._tmpdir, self._fds)
        self._log = ""
        self._requested = 0

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def send(self, tag: int, messages: Sequence[bytes], elements: bytes = b"") -> None:
        """Queue one bundle at a raw time tag (tags must never go backwards): `messages`, then
        `elements`, messages already framed (`osc.Frames`)."""
        if tag < self._last_tag:
            raise ScsynthError(f"time tag {tag} is earlier than the previous bundle's {self._last_tag}")
        self._last_tag = tag
        self._write(osc.score_entry(tag, messages, elements))

    def _write(self, data: bytes) -> None:
        try:
            self._process.stdin.write(data)
        except (BrokenPipeError, OSError, ValueError) as exc:
            raise self._died("while receiving a bundle") from exc

    def render(self, frames: int) -> np.ndarray:
        """Render the next `frames` frames (a multiple of the block size): float32 (frames, channels)."""
        self.request(frames)
        return self.collect()

    @property
    def requested(self) -> int:
        """Frames asked for by `request` and not yet collected."""
        return self._requested

    def request(self, frames: int) -> None:
        """Ask scsynth to render the next `frames` frames; `collect()` reads them."""
        if frames % self.chunk:
            raise ValueError(f"frames={frames} is not a multiple of the chunk size {self.chunk}")
        if self._requested:
            raise ScsynthError("request() twice without collect()")
        self.send(self.clock.tag(self.frames_rendered + frames), [])
        try:
            self._process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as exc:
            raise self._died("while receiving a bundle") from exc
        self._requested = frames

    def collect(self, out: np.ndarray | None = None) -> np.ndarray:
        """float32 (frames, channels): the frames `request` asked for (read into `out` if given, a
        C-contiguous float32 array of that shape, and returned)."""
        frames, self._requested = self._requested, 0
        end = self.frames_rendered + frames
        if out is None:
            out = np.empty((frames, self.channels), dtype=np.float32)
        elif out.shape != (frames, self.channels) or out.dtype != np.float32 or not out.flags.c_contiguous:
            raise ValueError(f"out must be C-contiguous float32 {(frames, self.channels)}, got {out.dtype} {out.shape}")
        view = memoryview(out).cast("B")
        got, size, deadline = 0, len(view), time.monotonic() + self.timeout
        while got < size:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ScsynthError(
                    f"scsynth rendered {got // (4 * self.channels)} of {frames} frames within the "
                    f"{self.timeout} s timeout (process {self._process.pid}); it may be hung"
                )
            # Wait for scsynth's next chunk, in slices: a FIFO no writer ever opened does not wake
            # poll, so a scsynth that died before opening it shows only as not alive.
            if not self._fifo_ready.poll(min(left, 0.01) * 1000.0):
                if not self.alive:
                    raise self._died("while rendering")
                continue
            try:
                n = os.readv(self._fifo, [view[got:]])
            except BlockingIOError:
                continue
            except OSError as exc:
                raise self._died(f"while rendering ({exc})") from exc
            if n:
                got += n
            elif not self.alive:
                raise self._died("while rendering")
            else:  # the FIFO reads as EOF while it has no writer (a scsynth still starting)
                time.sleep(min(left, 0.001))
        self.frames_rendered = end
        self._check_output()
        return out

    def _check_output(self) -> None:
        """Raise if scsynth printed an error (its output is line-buffered, read without blocking)."""
        if not self._output.poll(0):
            return
        try:
            chunk = os.read(self._process.stdout.fileno(), 1 << 16)
        except BlockingIOError:
            return
        except OSError:
            return
        if not chunk:
            return
        text = chunk.decode(errors="replace")
        self._log = (self._log + text)[-4000:]
        failures = _failures(text)
        if failures:
            raise ScsynthError("scsynth reported: " + "; ".join(failures))

    def _died(self, when: str) -> ScsynthError:
        code = self._process.poll()
        try:
            self._check_output()
        except ScsynthError as exc:
            return ScsynthError(f"scsynth failed {when}: {exc}")
        state = f"exited with code {code}" if code is not None else "stopped responding"
        tail = self._log.strip()[-300:]
        return ScsynthError(f"scsynth {state} {when}" + (f": {tail}" if tail else ""))

    def close(self) -> None:
        """Stop scsynth and remove its FIFO and temp dir. Safe to call twice."""
        self._finalizer()
