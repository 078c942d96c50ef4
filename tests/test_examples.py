"""The examples run as documented."""

import pytest


def test_custom_task_example_recovers_its_riff(run_example):
    """`python examples/custom_task.py`, run in this process (conftest's `run_example`)."""
    stdout = run_example("custom_task.py")
    lines = dict(line.split(" ", 1) for line in stdout.splitlines() if line.startswith(("found", "answer")))
    assert lines["found"].strip() == lines["answer"].strip()


@pytest.mark.xdist_group("loop95")
def test_loop_to_midi_example_finds_the_pattern_it_played(loop95_example):
    """The example's run: conftest's `loop95_example` (test_loops checks the files it wrote)."""
    stdout, _ = loop95_example
    lines = dict(line.split(":", 1) for line in stdout.splitlines() if line.startswith(("pattern found:", "pattern played:")))
    assert lines["pattern found"].split() == lines["pattern played"].split() and "best.mid at 95 BPM:" in stdout
