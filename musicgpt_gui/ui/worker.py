"""The one worker pattern: every long core job runs off the GUI thread through :class:`Worker`.

A job is a plain function ``job(*args, on_progress=..., cancel=..., **kwargs) -> result``
(see ``musicgpt_gui.core.jobs``).  The worker runs it on a ``QThread`` and turns its
outcome into exactly one of ``finished(result)``, ``failed(message, details)`` or
``cancelled(result_or_None)``, followed by ``done()``.  ``finished`` never follows a
cancel request: a job that returns normally after being cancelled (training saves and
returns) is reported through ``cancelled`` with its result.  Progress is throttled so a
job with thousands of steps cannot flood the event loop.
"""
from __future__ import annotations

import gc
import os
import sys
import threading
import time
import traceback
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, QThread, Signal

from musicgpt_gui.core.jobs import Cancelled, CancelToken, JobError, Progress, throttled
from musicgpt_gui.ui.signals import emit

PROGRESS_INTERVAL_S = 0.05
JOB_NICENESS = 5  # jobs yield the CPU to the GUI thread; threads they start (TF's pools) inherit it


GIL_SWITCH_INTERVAL_S = 0.001
FREEZE_INTERVAL_S = 1.0


def favour_the_gui_thread() -> None:
    """Keep the GIL from blocking the GUI thread for long while a job runs.

    * Freeze the objects alive now (modules, widgets, loaded libraries): a full garbage
      collection triggered by the job (TensorFlow builds graphs of many objects) would
      otherwise walk them all while holding the GIL -- measured at 0.4-1 s with TF loaded.
    * Hand the GIL over every 1 ms instead of 5 ms: a repaint takes it many times (every
      Python-overridden virtual, every slot), and each take may wait one switch interval.
    """
    gc.freeze()
    if sys.getswitchinterval() > GIL_SWITCH_INTERVAL_S:
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


def freezing(on_progress: Callable[[Progress], None]) -> Callable[[Progress], None]:
    """Freeze what the job has built so far, at most once a second, at its progress reports.

    A job that builds many long-lived objects (a TensorFlow graph, an n-gram's counts, parsed scores)
    makes each full collection walk all of them while holding the GIL: 200-500 ms stalls of the GUI,
    growing with the job.  Frozen objects are skipped, so a collection walks only what is new.
    """
    last = time.monotonic()

    def report(progress: Progress) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= FREEZE_INTERVAL_S:
            gc.freeze()
            last = now
        on_progress(progress)

    return report


def lower_this_thread_priority() -> None:
    """Make the calling thread (and threads it creates) nicer, where the OS has per-thread niceness."""
    if hasattr(os, "setpriority") and hasattr(threading, "get_native_id"):
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + JOB_NICENESS)
        except OSError:  # not permitted or not per-thread here: run at normal priority
            pass


class _JobThread(QThread):
    """Runs the job; signals emitted here are queued to receivers on the GUI thread."""

    report = Signal(object)
    outcome = Signal(str, object)

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict, cancel: CancelToken) -> None:
        super().__init__()
        self._fn, self._args, self._kwargs, self._cancel = fn, args, kwargs, cancel

    def run(self) -> None:
        lower_this_thread_priority()
        on_progress = freezing(throttled(lambda p: emit(self.report, p), PROGRESS_INTERVAL_S))
        try:
            result = self._fn(*self._args, on_progress=on_progress, cancel=self._cancel, **self._kwargs)
        except Cancelled as exc:
            emit(self.outcome, "cancelled", str(exc))
        except JobError as exc:
            emit(self.outcome, "failed", (str(exc), ""))
        except Exception as exc:  # any other failure becomes a dialog with details, never a crash
            message = str(exc) or type(exc).__name__
            emit(self.outcome, "failed", (message, traceback.format_exc()))
        else:
            emit(self.outcome, "cancelled" if self._cancel.cancelled else "finished", result)


class Worker(QObject):
    """Runs one job once.  Create a new Worker per run; keep a reference while it runs."""

    progress = Signal(object)  # Progress
    finished = Signal(object)  # the job's result
    failed = Signal(str, str)  # plain message, details (traceback; empty for JobError)
    cancelled = Signal(object)  # the job's result if it returned after the cancel, else None
    done = Signal()  # after any of the three outcomes

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.cancel_token = CancelToken()
        favour_the_gui_thread()
        self._thread = _JobThread(fn, args, kwargs, self.cancel_token)
        self._thread.report.connect(self._on_report)
        self._thread.outcome.connect(self._on_outcome)
        self.name = getattr(fn, "__name__", "job")
        _LIVE.add(self)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        """Ask the job to stop at its next safe point (it raises Cancelled or returns early)."""
        self.cancel_token.cancel()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, timeout_s: float) -> bool:
        """Block until the job's thread ended; True when it did within ``timeout_s``."""
        return self._thread.wait(max(0, int(timeout_s * 1000)))

    def _on_report(self, progress: Progress) -> None:
        if not self.cancel_token.cancelled:
            emit(self.progress, progress)

    def _on_outcome(self, kind: str, payload: object) -> None:
        self._thread.wait()
        _LIVE.discard(self)
        if kind == "finished":
            emit(self.finished, payload)
        elif kind == "cancelled":
            emit(self.cancelled, payload)
        else:
            message, details = payload
            emit(self.failed, message, details)
        emit(self.done)


_LIVE: set[Worker] = set()  # keeps running workers alive even if their tab dropped them


def cancel_all_and_wait(timeout_s: float) -> list[str]:
    """Cancel every running job and wait for them; returns the names still running after the timeout."""
    workers = running_workers()
    for worker in workers:
        worker.cancel()
    deadline = time.monotonic() + timeout_s
    return [w.name for w in workers if not w.wait(max(0.0, deadline - time.monotonic()))]


def running_workers() -> list[Worker]:
    return [w for w in list(_LIVE) if w.is_running()]


class JobSlot(QObject):
    """A tab's single job slot: refuses a second job while one runs, and forgets it when done."""

    busy_changed = Signal(bool)

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.worker: Optional[Worker] = None

    @property
    def busy(self) -> bool:
        return self.worker is not None

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Worker:
        """Start ``fn`` in a new Worker; connect to the returned worker's signals before events run."""
        if self.worker is not None:
            raise RuntimeError("this tab already runs a job")
        worker = Worker(fn, *args, **kwargs)
        self.worker = worker
        worker.done.connect(self._release)
        worker.start()
        emit(self.busy_changed, True)
        return worker

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _release(self) -> None:
        self.worker = None
        emit(self.busy_changed, False)
