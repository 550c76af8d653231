"""Drag on a piano roll to select a span of whole beats.

:class:`SpanSelection` follows the roll's own drag selection and snaps it outwards to whole
beats, so the roll draws the one rectangle and a looping transport plays exactly those beats.
"""
from __future__ import annotations

import math
from typing import Optional

from PySide6.QtCore import QObject, Signal

from musicgpt_gui.ui.widgets.piano_roll import PianoRoll


class SpanSelection(QObject):
    """The selected beats ``(first, last)`` on ``roll``; ``changed`` whenever they change."""

    changed = Signal()

    def __init__(self, roll: PianoRoll) -> None:
        super().__init__(roll)
        self.roll = roll
        self.beats: Optional[tuple[float, float]] = None
        roll.selection_changed.connect(self._follow)

    def x_of(self, quarters: float) -> float:
        """The roll's x for a time in quarter notes."""
        return self.roll.quarters_to_x(quarters)

    def set_beats(self, first: float, last: float) -> None:
        """Select the whole beats covering ``first`` .. ``last`` (either order)."""
        low, high = sorted((first, last))
        low, high = math.floor(low), math.ceil(high)
        parsed = self.roll.parsed
        if parsed is not None and parsed.notes:
            high = min(high, math.ceil(parsed.length))
        beats = (float(low), float(max(high, low + 1)))
        if beats != self.beats:
            self.beats = beats
            self.changed.emit()
        self.roll.set_selection(beats)

    def clear(self) -> None:
        self.roll.set_selection(None)
        self._follow(None)

    def _follow(self, selection: Optional[tuple[float, float]]) -> None:
        if selection is None:
            if self.beats is not None:
                self.beats = None
                self.changed.emit()
        elif selection != self.beats:
            self.set_beats(*selection)
