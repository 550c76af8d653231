"""Attention on a piano roll: click a note or chord and every earlier one is shaded by how much it
is attended to (or, in reverse, every later one by how much it attends to the selected one).

:class:`RollPicture` holds the geometry and draws onto any QPainter (the widget, a PNG, an SVG);
:class:`AttentionRoll` adds clicking and hovering.  Shades are linear in the weight: the most
attended drawn element (the selected one aside) gets the full colour, which the header names.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from musicgpt_gui.core.music.notation import midi_to_name
from musicgpt_gui.core.viz.element_layout import ElementLayout

KEY_WIDTH = 34
HEADER = 18
LOW = (214, 219, 227)  # weight 0
HIGH = (214, 69, 38)  # the largest drawn weight
SELECTED = QColor("#1f4e9c")
BAR_LINE = QColor("#d5dae3")


def shade(fraction: float) -> QColor:
    """The colour of a note attended with ``fraction`` of the largest drawn weight."""
    f = min(max(fraction, 0.0), 1.0)
    return QColor(*(round(lo + f * (hi - lo)) for lo, hi in zip(LOW, HIGH)))


def shade_fraction(color: QColor) -> float:
    """Inverse of :func:`shade` (read back from drawn pixels)."""
    return (LOW[2] - color.blue()) / (LOW[2] - HIGH[2])


class RollPicture:
    """The notes of an :class:`ElementLayout` laid out in a ``width`` × ``height`` box."""

    def __init__(self, layout: ElementLayout) -> None:
        self.layout = layout
        self.element_of_note = np.array([n.element for n in layout.notes], dtype=np.int64)
        self.has_notes = np.zeros(len(layout.labels), dtype=bool)
        self.has_notes[self.element_of_note] = True
        self.rects = np.zeros((len(layout.notes), 4))  # x0, y0, x1, y1 of each note as last drawn

    def place(self, width: float, height: float) -> None:
        notes = self.layout.notes
        if not notes:
            return
        self.low = min(n.pitch for n in notes) - 1
        self.high = max(n.pitch for n in notes) + 1
        self.row = (height - HEADER) / (self.high - self.low + 1)
        self.x_scale = max(1.0, width - KEY_WIDTH - 4) / (float(self.layout.length) or 1.0)
        onset = np.array([float(n.onset) for n in notes])
        duration = np.array([float(n.duration) for n in notes])
        pitch = np.array([n.pitch for n in notes])
        x0 = KEY_WIDTH + onset * self.x_scale
        y0 = HEADER + (self.high - pitch) * self.row
        self.rects = np.stack(
            [x0, y0, x0 + np.maximum(1.5, duration * self.x_scale - 1), y0 + max(1.5, self.row - 1)], axis=1
        )

    def peak(self, weights: np.ndarray, selected: Optional[int]) -> float:
        """The weight drawn in full colour: the largest over elements with notes, the selected one aside."""
        drawn = self.has_notes.copy()
        if selected is not None:
            drawn[selected] = False
        return float(weights[drawn].max()) if drawn.any() else 0.0

    def draw(
        self,
        painter: QPainter,
        width: float,
        height: float,
        weights: Optional[np.ndarray] = None,
        selected: Optional[int] = None,
        title: str = "",
    ) -> None:
        painter.fillRect(QRectF(0, 0, width, height), QColor("#fbfcfe"))
        if not self.layout.notes:
            painter.setPen(QColor("#8a94a6"))
            painter.drawText(QRectF(0, 0, width, height), Qt.AlignmentFlag.AlignCenter, "No notes to show")
            return
        self.place(width, height)
        self._draw_keys_and_bars(painter, width, height)
        peak = self.peak(weights, selected) if weights is not None else 0.0
        painter.setPen(Qt.PenStyle.NoPen)
        for (x0, y0, x1, y1), element in zip(self.rects, self.element_of_note):
            if element == selected:
                painter.setBrush(SELECTED)
            else:
                painter.setBrush(shade(weights[element] / peak if peak > 0 else 0.0))
            painter.drawRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        if selected is not None:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(QColor("#0b1f44"), 1.5))
            for x0, y0, x1, y1 in self.rects[self.element_of_note == selected]:
                painter.drawRect(QRectF(x0 - 1, y0 - 1, x1 - x0 + 2, y1 - y0 + 2))
        painter.setPen(QColor("#3b4452"))
        painter.setFont(QFont(painter.font().family(), 8))
        legend = f"full colour = weight {peak:.4g}" if weights is not None else "click a note or chord"
        painter.drawText(
            QRectF(KEY_WIDTH, 0, width - KEY_WIDTH - 4, HEADER),
            Qt.AlignmentFlag.AlignVCenter,
            f"{title}   {legend}".strip(),
        )

    def _draw_keys_and_bars(self, painter: QPainter, width: float, height: float) -> None:
        painter.setFont(QFont(painter.font().family(), 7))
        for pitch in range(self.low, self.high + 1):
            y = HEADER + (self.high - pitch) * self.row
            if pitch % 12 in (1, 3, 6, 8, 10):
                painter.fillRect(QRectF(KEY_WIDTH, y, width - KEY_WIDTH, self.row), QColor("#eef1f6"))
            if pitch % 12 == 0:
                painter.setPen(QColor("#5b6676"))
                painter.drawText(
                    QRectF(0, y + self.row - 12, KEY_WIDTH - 3, 12), Qt.AlignmentFlag.AlignRight, midi_to_name(pitch)
                )
        painter.setPen(QPen(BAR_LINE, 1))
        for start in self.layout.bar_starts:
            x = KEY_WIDTH + float(start) * self.x_scale
            painter.drawLine(QPointF(x, HEADER), QPointF(x, height))

    def element_at(self, x: float, y: float) -> Optional[int]:
        """The element whose note is drawn at (x, y); the one drawn last wins, as on screen."""
        r = self.rects
        inside = np.nonzero((r[:, 0] <= x) & (x <= r[:, 2]) & (r[:, 1] <= y) & (y <= r[:, 3]))[0]
        return int(self.element_of_note[inside[-1]]) if inside.size else None


class AttentionRoll(QWidget):
    """The interactive roll: ``set_layout`` once per text, ``set_matrix`` per layer/head, click to select."""

    element_selected = Signal(int)
    hovered = Signal(int, float)  # element, its weight in the shown direction

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.picture: Optional[RollPicture] = None
        self.matrix: Optional[np.ndarray] = None
        self.selected: Optional[int] = None
        self.reverse = False
        self.title = ""
        self.setMouseTracking(True)
        self.setMinimumSize(200, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(700, 320)

    def set_layout(self, layout: ElementLayout) -> None:
        self.picture = RollPicture(layout)
        self.selected = None
        self.update()

    def set_matrix(self, matrix: np.ndarray, title: str = "") -> None:
        self.matrix, self.title = matrix, title
        self.update()

    def set_reverse(self, reverse: bool) -> None:
        self.reverse = reverse
        self.update()

    def select(self, element: Optional[int]) -> None:
        self.selected = element
        self.update()
        if element is not None:
            self.element_selected.emit(element)

    def shading(self) -> Optional[np.ndarray]:
        """The weight behind each element's shade (its row, or its column in reverse)."""
        from musicgpt_gui.core.viz.attention_patterns import selection_weights

        if self.matrix is None or self.selected is None:
            return None
        return selection_weights(self.matrix, self.selected, reverse=self.reverse)

    def draw(self, painter: QPainter, width: float, height: float) -> None:
        if self.picture is None:
            painter.fillRect(QRectF(0, 0, width, height), QColor("#fbfcfe"))
            return
        direction = "attended by" if self.reverse else "attending"
        title = self.title
        if self.selected is not None:
            title = f"{title} · {direction} {self.picture.layout.labels[self.selected]!r}".lstrip(" ·")
        self.picture.draw(painter, width, height, self.shading(), self.selected, title)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        self.draw(painter, self.width(), self.height())
        painter.end()

    def mousePressEvent(self, event) -> None:
        element = self.picture.element_at(event.position().x(), event.position().y()) if self.picture else None
        if element is not None:
            self.select(element)

    def mouseMoveEvent(self, event) -> None:
        if self.picture is None:
            return
        element = self.picture.element_at(event.position().x(), event.position().y())
        weights = self.shading()
        if element is None:
            QToolTip.hideText()
            return
        label = self.picture.layout.labels[element]
        weight = float(weights[element]) if weights is not None else float("nan")
        text = label if weights is None else f"{label}\nweight {weight:.4f}"
        QToolTip.showText(event.globalPosition().toPoint(), text, self)
        self.hovered.emit(element, weight)
