"""Drum kits beyond the shipped samples: the synthetic kit family (`family`: seeded kits of
SynthDefs with train, dev and held-out splits, rendered in scsynth with renditions on top),
Hydrogen's sampled kits (`hydrogen`: recorded, multi-sampled kits read from their drumkit.xml,
split by kit) and loops played on them (`sampled`), and calibration (`calibration`: a kit
fitted to a target loop's sounds).

May import: the engine, `raveforce.synth`, `raveforce.rewards` and `raveforce.tasks`.
`raveforce.kits.draw(seed)` and the rest of `family` are available here directly.
"""

from raveforce.kits.family import *  # noqa: F403
from raveforce.kits.family import __all__  # noqa: F401
