"""The full-kit transcription measures (`raveforce.transcribe.scores`) on answers whose scores are known."""

import numpy as np
import pytest

from raveforce.kits import family
from raveforce.tasks import DRUM_KIT, FULL_KIT
from raveforce.transcribe import groove_grid, scores

HAT, OPEN = FULL_KIT.index("hat"), FULL_KIT.index("open_hat")
LOW, MID, HIGH = (FULL_KIT.index(t) for t in scores.TOMS)


def loops(count=20):
    rng = np.random.default_rng(4)
    grids = [groove_grid(rng) for _ in range(count)]
    for g in grids:  # every loop plays a tom alone somewhere, and a closed and an open hat
        g[1, [LOW, MID, HIGH]] = (0, 2, 0)
        g[3, [HAT, OPEN]] = (1, 0)
        g[5, [HAT, OPEN]] = (0, 2)
    truths = [family.grid_truth(family.draw_full(10_000 + i), g, DRUM_KIT, seed=i) for i, g in enumerate(grids)]
    return grids, truths, [DRUM_KIT] * count


def test_the_played_grid_scores_one_and_its_velocities_correlate():
    grids, truths, tasks = loops()
    s = scores.full_kit(grids, truths, tasks)
    for voice in FULL_KIT:
        if s["voices"][voice]["played"]:
            assert s["voices"][voice]["grid"] == (1.0, 1.0, 1.0) and s["voices"][voice]["onset"][0.05][2] == 1.0, voice  # jitter <= 5 ms
    assert s["macro_f"][0.05] == 1.0
    assert s["hat_confusion"] == {"closed_as_open": 0.0, "open_as_closed": 0.0}
    assert np.allclose(np.diag(s["tom_confusion"][:, :3]), 1.0)
    assert s["velocity"]["spearman"] > 0.9 and 0 <= s["velocity"]["mae"] < 127 * (1 - 10 ** (-6 / 20))  # the kits' velocity drop is at most 6 dB


def test_confusions_and_misses_show_where_they_are():
    grids, truths, tasks = loops()
    swapped = []
    for g in grids:
        a = g.copy()
        a[:, [HAT, OPEN]] = g[:, [OPEN, HAT]]
        a[:, [LOW, MID, HIGH]] = g[:, [MID, HIGH, LOW]]  # each tom answered as the next one down
        a[:, FULL_KIT.index("crash")] = 0
        swapped.append(a)
    s = scores.full_kit(swapped, truths, tasks)
    assert s["hat_confusion"] == {"closed_as_open": 1.0, "open_as_closed": 1.0}
    assert s["tom_confusion"][MID - LOW, 0] == 1.0 and s["tom_confusion"][0, 2] == 1.0  # mid answered low, low answered high
    crash = s["voices"]["crash"]
    assert crash["grid"][1] == 0.0 and crash["grid"][0] == 1.0  # nothing answered: recall 0, precision undefined (1)
    assert s["macro_f"][0.05] < 0.5
    silence = scores.full_kit([np.zeros_like(g) for g in grids], truths, tasks)
    assert silence["macro_f"][0.05] == 0.0 and np.isnan(silence["velocity"]["spearman"]) and silence["velocity"]["hits"] == 0


def test_a_step_late_is_a_miss_on_the_grid_and_at_30_ms_but_found_at_50_ms_only_if_near():
    grids, truths, tasks = loops(5)
    late = [np.roll(g, 1, axis=0) for g in grids]  # 125 ms late at 120 BPM
    s = scores.full_kit(late, truths, tasks)
    kick = s["voices"]["kick"]
    assert kick["onset"][0.05][2] == pytest.approx(kick["grid"][2]) and kick["grid"][2] < 0.6
