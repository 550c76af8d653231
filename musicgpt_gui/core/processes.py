"""Worker processes that start fast and are safe to start from any thread.

Python threads cannot share the CPU with pure-Python work (the GIL), so work that must truly run beside other
work -- importing files, or training's set-up beside TensorFlow's import -- goes to another process.
"""
from __future__ import annotations

import multiprocessing
import sys
import threading
from typing import Sequence


def worker_context(preload: Sequence[str] = ()) -> multiprocessing.context.BaseContext:
    """The multiprocessing context to start workers with.

    From a single-threaded caller (CLI, scripts) on Linux it forks, so workers inherit what is imported and
    start in milliseconds.  From a GUI worker thread it uses forkserver (a clean server process with
    ``preload`` imported; start-up paid once per app), because forking a process that runs other threads can
    deadlock.  Elsewhere: spawn.
    """
    if sys.platform.startswith("linux"):
        if threading.active_count() == 1:
            return multiprocessing.get_context("fork")
        ctx = multiprocessing.get_context("forkserver")
        if preload:
            ctx.set_forkserver_preload(list(preload))
        return ctx
    return multiprocessing.get_context("spawn")
