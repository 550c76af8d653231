"""Drag on a piano roll to select a span of whole beats; the roll itself is left untouched.

:class:`SpanSelection` watches the roll's mouse events through an event filter (it never eats
them, so the roll's own handlers still run) and draws the span on a see-through overlay.
"""
from __future__ import annotations

import math
from typing import Optional

from PySide6.QtCore import QEvent, QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

from musicgpt_gui.ui.widgets.piano_roll import KEY_WIDTH, PianoRoll

SPAN_FILL = QColor(255, 170, 0, 60)
SPAN_EDGE = QColor("#e08a00")


class _Overlay(QWidget):
    def __init__(self, selection: "SpanSelection") -> None:
        super().__init__(selection.roll)
        self.selection = selection
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.resize(selection.roll.size())

    def paintEvent(self, _event) -> None:
        beats = self.selection.beats
        if beats is None or self.selection.length() is None:
            return
        left, right = (self.selection.x_of(b) for b in beats)
        painter = QPainter(self)
        painter.setPen(QPen(SPAN_EDGE, 1))
        painter.setBrush(SPAN_FILL)
        painter.drawRect(QRectF(left, 0, max(1.0, right - left), self.height() - 1))


class SpanSelection(QObject):
    """The selected beats ``(first, last)`` on ``roll``, snapped outwards to whole beats; ``changed`` on release."""

    changed = Signal()

    def __init__(self, roll: PianoRoll) -> None:
        super().__init__(roll)
        self.roll = roll
        self.beats: Optional[tuple[float, float]] = None
        self._anchor: Optional[float] = None
        self.overlay = _Overlay(self)
        roll.installEventFilter(self)

    def length(self) -> Optional[float]:
        parsed = self.roll.parsed
        if parsed is None or not parsed.notes:
            return None
        return float(parsed.length) or 1.0

    def _scale(self) -> float:
        return max(1.0, self.roll.width() - KEY_WIDTH - 4) / (self.length() or 1.0)

    def x_of(self, quarters: float) -> float:
        """The roll's x for a time in quarter notes (the roll's own mapping)."""
        return KEY_WIDTH + quarters * self._scale()

    def quarters_at(self, x: float) -> Optional[float]:
        length = self.length()
        return None if length is None else min(max((x - KEY_WIDTH) / self._scale(), 0.0), length)

    def set_beats(self, first: float, last: float) -> None:
        """Select the whole beats covering ``first`` .. ``last`` (either order)."""
        low, high = sorted((first, last))
        low, high = math.floor(low), math.ceil(high)
        length = self.length()
        if length is not None:
            high = min(high, math.ceil(length))
        self.beats = (float(low), float(max(high, low + 1)))
        self.overlay.update()

    def clear(self) -> None:
        self.beats, self._anchor = None, None
        self.overlay.update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.roll:
            kind = event.type()
            if kind == QEvent.Type.Resize:
                self.overlay.resize(self.roll.size())
            elif kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
                self._anchor = self.quarters_at(event.position().x())
            elif kind in (QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease) and self._anchor is not None:
                here = self.quarters_at(event.position().x())
                if here is not None:
                    self.set_beats(self._anchor, here)
                if kind == QEvent.Type.MouseButtonRelease:
                    self._anchor = None
                    self.changed.emit()
        return False
