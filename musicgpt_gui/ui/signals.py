"""Emit Qt signals from Python safely on every PySide6 version we may run on.

PySide6 6.12.0 returns ``True`` from ``SignalInstance.emit`` without taking a reference,
so each Python-side emit lowers ``True``'s refcount by one; on Python 3.11 a few hundred
emits abort the process ("bool_dealloc: deallocating True or False").  6.11 and earlier
are fine.  :func:`emit` detects the fault once and gives the reference back.
"""
from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance


class _Probe(QObject):
    ping = Signal()


def _emit_steals_reference() -> bool:
    probe = _Probe()
    rounds = 8
    before = sys.getrefcount(True)
    results = [probe.ping.emit() for _ in range(rounds)]
    stolen = before + rounds - sys.getrefcount(True) >= rounds
    for result in results:
        if stolen:
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(result))
    return stolen


STEALS_REFERENCE = _emit_steals_reference()


def emit(signal: SignalInstance, *args: Any) -> None:
    """``signal.emit(*args)``, repairing the returned object's refcount where PySide drops it."""
    result = signal.emit(*args)
    if STEALS_REFERENCE:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(result))
