"""Optional dependencies, imported on demand: each missing one is an ImportError with its install command."""

from __future__ import annotations

import contextlib
import functools

MATPLOTLIB_HINT = "matplotlib is not installed: pip install -e '.[plot]' (or pip install matplotlib)"
SB3_HINT = "stable-baselines3 is not installed: pip install torch==2.13.0 && pip install -e '.[sb3]'"


def pyplot():
    """matplotlib.pyplot with the file-only Agg backend."""
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(MATPLOTLIB_HINT) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def stable_baselines3():
    """The stable_baselines3 module."""
    try:
        import stable_baselines3
    except ImportError as exc:
        raise ImportError(SB3_HINT) from exc
    return stable_baselines3


def quiet_logger(model):
    """`model` (an SB3 algorithm) with a logger that writes nowhere: without one, every learn()
    without tensorboard leaves an empty SB3-<date> folder in the temp directory."""
    from stable_baselines3.common.logger import Logger

    model.set_logger(Logger(folder=None, output_formats=[]))
    return model


@functools.cache
def _threadpools():
    """threadpoolctl's controller of the loaded BLAS libraries (found once), or None without threadpoolctl."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def one_blas_thread():
    """A context in which BLAS (OpenBLAS under numpy) runs one thread, as OPENBLAS_NUM_THREADS=1
    would: the products here are small, and BLAS's threads wait for each other and for scsynth
    (a `hits` window took 0.3 ms alone and up to 8 ms beside a busy core with 2 threads). ~14 us
    a use; a null context without threadpoolctl."""
    controller = _threadpools()
    return contextlib.nullcontext() if controller is None else controller.limit(limits=1, user_api="blas")
