"""The library's own exceptions: catch `RaveForceError` to catch them all."""


class RaveForceError(Exception):
    """Base of every error RaveForce raises on purpose."""


class ArgumentError(RaveForceError, ValueError):
    """A bad argument to a constructor (a task option, a renderer name, a timeout, ...)."""


class UnknownOptionError(ArgumentError, TypeError):
    """A keyword argument that names no option."""


class ScsynthError(RaveForceError, RuntimeError):
    """scsynth failed, hung, died or reported an error."""


class ScsynthNotFoundError(ScsynthError, FileNotFoundError):
    """No scsynth executable could be found."""


class InvalidActionError(RaveForceError, ValueError):
    """An action outside the action space (or NaN, inf, wrong shape or dtype)."""


class TargetError(RaveForceError, ValueError):
    """A target that is missing, unreadable, empty or not audio."""


class EpisodeError(RaveForceError, RuntimeError):
    """`step()` called before `reset()` or after the episode ended."""


class SCLangError(RaveForceError, RuntimeError):
    """sclang (the RaveForce quark) is unreachable, replied with an error, or sent a bad reply."""


class SCLangTimeoutError(SCLangError, TimeoutError):
    """sclang did not reply within the timeout."""
