"""The built-in tasks, as data (`builtin`): DrumLoop and KickFrequency from the paper, KickMatch,
FMTone, BassLine and Melody beyond it, with their targets' known optima; DrumKit, ten drums with
velocities (`drum_kit`); and the SynthDefs they
play (`instruments`, written with supriya into `raveforce/data/synthdefs` by `scripts/make_data.py`).

May import: the engine (`raveforce.task`, `raveforce.errors`, ...) and `raveforce.synth`.
`instruments` needs supriya (`pip install -e '.[synthdefs]'`) and is not imported here.
"""

from raveforce.tasks import builtin, drum_kit
from raveforce.tasks.builtin import *  # noqa: F403
from raveforce.tasks.drum_kit import *  # noqa: F403

__all__ = [*builtin.__all__, *drum_kit.__all__]
