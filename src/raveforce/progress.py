"""A dependency-free progress line on stderr: `label [#######.........] 7/16  message`."""

from __future__ import annotations

import sys
import time


class ProgressLine:
    """Call with (done, total, message). On a terminal the line is redrawn in place; elsewhere
    (logs, CI) a line is printed at most every 10% and at the end."""

    def __init__(self, label: str, *, stream=None, width: int = 24) -> None:
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self._last_tenth = -1

    def __call__(self, done: int, total: int, message: str = "") -> None:
        total = max(total, 1)
        filled = int(self.width * min(done, total) / total)
        bar = "#" * filled + "." * (self.width - filled)
        line = f"{self.label} [{bar}] {done}/{total} {time.perf_counter() - self.start:6.1f}s  {message}"
        if self.tty:
            self.stream.write("\r\033[K" + line + ("\n" if done >= total else ""))
        else:
            tenth = 10 * done // total
            if tenth == self._last_tenth and done < total:
                return
            self._last_tenth = tenth
            self.stream.write(line + "\n")
        self.stream.flush()
