"""Many Python-side emits must not corrupt refcounts (PySide6 6.12.0 drops a reference to True per emit)."""
from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal

from musicgpt_gui.ui.signals import emit


class Source(QObject):
    ping = Signal(int)


def test_emit_keeps_the_reference_count_of_its_result_balanced() -> None:
    source = Source()
    seen = []
    source.ping.connect(seen.append)
    before = sys.getrefcount(True)
    for i in range(5000):
        emit(source.ping, i)
    assert len(seen) == 5000
    assert abs(sys.getrefcount(True) - before) < 50
