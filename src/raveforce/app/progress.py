"""Progress bars with an ETA on stderr for long work (tqdm), quiet when stderr is not a terminal.

    progress = ProgressLine("dp")
    for k in range(16):
        ...
        progress(k + 1, 16, f"step {k + 1}: best action 5")

draws `dp:  44%|████▍     | 7/16 [00:03<00:04, 2.1it/s, step 7: best action 5]`.
"""

from __future__ import annotations

import shutil
import sys


class ProgressLine:
    """Call with (done, total, message): one tqdm bar, redrawn in place, closed when done >= total
    (a later call starts a new bar). Writes nothing unless `stream` (default stderr) is a terminal."""

    def __init__(self, label: str, *, stream=None, width: int | None = None) -> None:
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.width = width  # columns of the whole line (None: the terminal's)
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._bar = None

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if not self.tty:
            return
        from tqdm import tqdm

        total = max(int(total), 1)
        if self._bar is None:
            size = shutil.get_terminal_size((100, 24))  # a pty that reports 0 x 0 gets 100 x 24 (tqdm would hide the bar)
            self._bar = tqdm(total=total, desc=self.label, file=self.stream, ncols=self.width or size.columns, nrows=size.lines, leave=True)
        bar = self._bar
        if bar.total != total:
            bar.total = total
        bar.set_postfix_str(message, refresh=False)
        bar.update(min(int(done), total) - bar.n)
        if done >= total:
            bar.close()
            self._bar = None

    def close(self) -> None:
        """End the bar where it stands (after an interruption)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
