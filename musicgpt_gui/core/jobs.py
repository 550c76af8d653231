"""The job contract shared by every long task (import, train, generate, attention).

A job is a plain function ``job(..., *, on_progress, cancel)``.  It reports through
``on_progress`` and raises :class:`Cancelled` once ``cancel`` is set, so the same
function runs from the CLI, from a Qt worker thread and from tests without threads.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable


class Cancelled(Exception):
    """Raised inside a job when its cancel token was set; the job keeps what it finished."""


class JobError(Exception):
    """A failure with a plain, user-facing message (shown without a traceback)."""


@dataclass
class Progress:
    """One progress report: ``fraction`` in [0, 1], a short ``message`` and the job's own ``info``.

    ``info`` is the job's typed payload (a dataclass such as ``training.TrainProgress``), or None.
    """

    fraction: float
    message: str = ""
    info: Any = None


ProgressFn = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    """Default sink for callers that do not want progress."""


class CancelToken:
    """Thread-safe cancel flag; jobs call :meth:`check` at safe points."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancellation was requested."""
        if self._event.is_set():
            raise Cancelled()


def sub_progress(on_progress: ProgressFn, start: float, end: float) -> ProgressFn:
    """Map a sub-step's 0..1 progress onto ``start..end`` of the parent's range."""
    span = end - start

    def report(p: Progress) -> None:
        on_progress(Progress(start + span * min(max(p.fraction, 0.0), 1.0), p.message, p.info))

    return report


def throttled(on_progress: ProgressFn, min_interval: float = 0.05) -> ProgressFn:
    """Forward at most one report per ``min_interval`` seconds (plus the final 100% one).

    Training emits thousands of steps; the UI only needs ~20 updates a second.
    """
    last = [0.0]

    def report(p: Progress) -> None:
        now = time.monotonic()
        if p.fraction >= 1.0 or now - last[0] >= min_interval:
            last[0] = now
            on_progress(p)

    return report

