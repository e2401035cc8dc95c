"""Durable writes that wait out a full disk instead of failing the run (the built-in trainer's ``DiskFullPause``)."""
from __future__ import annotations

import threading
import time
from typing import Callable, Optional, TypeVar

from .errors import StopRequested, is_disk_full

T = TypeVar("T")


class DiskFullPause:
    """Runs a write until it succeeds, pausing while the file system is full (ENOSPC, EDQUOT).

    Every write given here leaves nothing torn when it fails (temporary file, rename), so pausing loses nothing: the
    first failure calls ``on_pause(what, error)`` (a ``disk_full`` event, a ``paused`` status), then the write is
    retried with a delay that grows from ``initial`` to ``maximum`` seconds, until it succeeds (``on_resume(what,
    seconds)``) or a stop is requested (``StopRequested``: the run resumes later from its newest durable checkpoint).
    Any other error is raised at once.
    """

    def __init__(self, stop: threading.Event, on_pause: Callable[[str, BaseException], None],
                 on_resume: Callable[[str, float], None], signum: Callable[[], Optional[int]] = lambda: None,
                 initial: float = 1.0, maximum: float = 5.0):
        self._stop, self._on_pause, self._on_resume, self._signum = stop, on_pause, on_resume, signum
        self.initial, self.maximum = initial, maximum
        self.pauses = 0

    def run(self, write: Callable[[], T], what: str) -> T:
        paused_at = None
        delay = self.initial
        while True:
            try:
                result = write()
            except Exception as e:
                if not is_disk_full(e):
                    raise
                if paused_at is None:
                    paused_at = time.monotonic()
                    self.pauses += 1
                    self._on_pause(what, e)
                if self._stop.wait(delay):
                    raise StopRequested(self._signum()) from e
                delay = min(delay * 2, self.maximum)
                continue
            if paused_at is not None:
                self._on_resume(what, time.monotonic() - paused_at)
            return result
