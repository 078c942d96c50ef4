"""ProgressLine: a tqdm bar with an ETA on a terminal, nothing elsewhere; the (done, total, message) call."""

import io

from raveforce.app.progress import ProgressLine


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_terminal_gets_a_bar_with_count_eta_and_message():
    screen = Terminal()
    progress = ProgressLine("dp", stream=screen, width=100)
    for k in range(16):
        progress(k + 1, 16, f"step {k + 1}: best action 5")
    text = screen.getvalue()
    assert "dp: 100%" in text and "16/16" in text and "step 16: best action 5" in text
    assert "16/16 [00:00<00:00" in text  # [elapsed<remaining]: the ETA
    assert text.endswith("\n") and progress._bar is None  # closed at the end


def test_a_pipe_or_log_gets_nothing():
    log = io.StringIO()
    progress = ProgressLine("dp", stream=log)
    for k in range(16):
        progress(k + 1, 16, "step")
    assert log.getvalue() == ""


def test_a_second_run_starts_a_new_bar_and_total_may_change():
    screen = Terminal()
    progress = ProgressLine("ppo", stream=screen, width=100)
    progress(10, 10)
    progress(3, 40, "again")
    progress(40, 40, "again")
    text = screen.getvalue()
    assert "10/10" in text and "40/40" in text and text.count("\n") == 2


def test_solve_in_a_terminal_draws_the_bar(tmp_path):
    """`raveforce solve` with stderr on a pseudo-terminal, as a person runs it."""
    import os
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "raveforce", "solve", "drum-loop", "--agent", "greedy", "--task-steps", "4", "--out", str(tmp_path / "out")],
            stdout=subprocess.DEVNULL, stderr=slave, timeout=300,
        )  # fmt: skip
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the writer is gone and everything was read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    screen = b"".join(chunks).decode(errors="replace")
    assert done.returncode == 0, screen
    assert "greedy: 100%" in screen and "4/4 [" in screen and "step 4" in screen
