"""A time limit for one step of a campaign, so a hang is a finding and not a stuck run."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator


class Hang(Exception):
    """A step ran past its time limit."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ``Hang`` after ``seconds`` (SIGALRM: only in the main thread; elsewhere, and for
    code stuck inside C that never returns to Python, there is no limit)."""
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield
        return

    def _raise(signum: int, frame: object) -> None:
        raise Hang(f"no answer after {seconds:g} s")

    # an enclosing limit keeps running: the shorter one wins, the outer one is restored
    outer, _ = signal.getitimer(signal.ITIMER_REAL)
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, min(seconds, outer) if outer else seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            left = outer - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))
