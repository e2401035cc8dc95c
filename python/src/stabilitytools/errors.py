"""The errors of the library: one root, each message says what failed, where, and what to do."""
from __future__ import annotations

import errno


class StabilityError(Exception):
    """The root of every error this library raises (the .NET engine's ``StabilityException``)."""


class ConfigurationError(StabilityError):
    """What the trainer was given cannot work: a bad argument, or a resumed run whose parameters changed.

    Under a supervisor the run ends with exit code 78 (EX_CONFIG), which no restart can fix, so the supervisor gives up at
    once instead of restarting into the same error.
    """


class UnsafeFileError(StabilityError):
    """A product file is a symbolic link, not a regular file, or owned by someone else (see docs/SECURITY.md)."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"Refused '{path}': {reason}. Remove it and check who else can write that folder.")
        self.path = path


class LockTimeoutError(StabilityError):
    """Another process held a file's lock for the whole bounded wait."""

    def __init__(self, path: str, waited: float):
        super().__init__(
            f"Could not lock '{path}' within {waited:.1f} s: another process holds it. "
            "If it is a trainer on the same run, stop it first (Stop-TrainingProcess), or give this run another id.")
        self.path = path


class StatusWriteError(StabilityError):
    """A document or log could not be written; the previous content is intact."""

    def __init__(self, path: str, cause: OSError):
        self.path = path
        self.disk_full = is_disk_full(cause)
        what = ("the file system is full. Free space on it, or move the state directory (STABILITY_HOME)"
                if self.disk_full else f"{cause.strerror or cause}. Check the folder's owner and permissions")
        super().__init__(f"Could not write '{path}': {what}. The previous content is intact.")


class CorruptDocumentError(StabilityError):
    """A document that a locked read-modify-write must keep exists but cannot be read; it was left as it is."""

    def __init__(self, path: str, reason: str):
        super().__init__(
            f"'{path}' exists but cannot be read ({reason}); it was left byte for byte as it is, since rewriting it would drop "
            "all it holds. Repair or remove it, then start again.")
        self.path = path


class StopRequested(Exception):
    """Raised at the next stop point (``Run.step``, ``Run.epochs``, a paused write) once SIGTERM or SIGINT arrived.

    Not a ``StabilityError``: it is the normal way a graceful stop unwinds the training loop. ``with stability.run()``
    catches it, records the run as stopped, and (by default) exits with 128 + the signal number, as the built-in trainer
    does, so its supervisor never mistakes a stop for a completion.
    """

    def __init__(self, signum: int | None = None):
        super().__init__("a stop was requested" + (f" (signal {signum})" if signum else ""))
        self.signum = signum


def is_disk_full(error: BaseException) -> bool:
    """True for ENOSPC and EDQUOT, the errors of a full file system or quota, at any depth of ``__cause__``."""
    while error is not None:
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(error, StatusWriteError) and error.disk_full:
            return True
        error = error.__cause__
    return False
