"""One heatmap thumbnail of the pooled attention per layer × head, labelled by the head's strongest
pattern; clicking a thumbnail selects that head."""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from musicgpt_gui.core.viz.attention_patterns import HeadSummary

CELL = 84  # thumbnail edge on screen
LABEL = 28  # two lines of text under each thumbnail
GAP = 8
MARGIN_LEFT = 26  # layer names
MARGIN_TOP = 16  # head names
COLD, HOT = np.array([255, 255, 255]), np.array([12, 44, 132])
COLOR_TABLE = [QColor(*(COLD + (HOT - COLD) * i / 255).astype(int)).rgb() for i in range(256)]


def heat_image(thumbnail: np.ndarray) -> QImage:
    """An 8-bit indexed image of a thumbnail in 0..1 (white = none, dark blue = its maximum)."""
    data = np.ascontiguousarray(np.round(thumbnail * 255).astype(np.uint8))
    h, w = data.shape
    image = QImage(data.data, w, h, w, QImage.Format.Format_Indexed8).copy()
    image.setColorTable(COLOR_TABLE)
    return image


class HeadGrid(QWidget):
    head_selected = Signal(int, int)  # layer, head

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.summary: Optional[HeadSummary] = None
        self.images: list[list[QImage]] = []
        self.selected: Optional[tuple[int, int]] = None
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setToolTip("Each head's attention between elements (rows attend to columns); click one to show it")

    def shape(self) -> tuple[int, int]:
        return self.summary.scores.shape[:2] if self.summary is not None else (0, 0)

    def figure_size(self) -> QSize:
        layers, heads = self.shape()
        return QSize(MARGIN_LEFT + heads * (CELL + GAP), MARGIN_TOP + layers * (CELL + LABEL + GAP))

    def sizeHint(self) -> QSize:
        return self.figure_size().expandedTo(QSize(120, 80))

    def set_summary(self, summary: HeadSummary) -> None:
        self.summary = summary
        self.images = [[heat_image(t) for t in layer] for layer in summary.thumbnails]
        self.setFixedSize(self.sizeHint())
        self.update()

    def select(self, head: Optional[tuple[int, int]]) -> None:
        self.selected = head
        self.update()

    def cell_rect(self, layer: int, head: int) -> QRectF:
        return QRectF(MARGIN_LEFT + head * (CELL + GAP), MARGIN_TOP + layer * (CELL + LABEL + GAP), CELL, CELL)

    def draw(self, painter: QPainter, width: float, height: float) -> None:
        painter.fillRect(QRectF(0, 0, width, height), QColor("#ffffff"))
        if self.summary is None:
            return
        layers, heads = self.shape()
        painter.setFont(QFont(painter.font().family(), 7))
        painter.setPen(QColor("#3b4452"))
        for h in range(heads):
            painter.drawText(QRectF(MARGIN_LEFT + h * (CELL + GAP), 0, CELL, MARGIN_TOP),
                             Qt.AlignmentFlag.AlignCenter, f"head {h}")
        for layer in range(layers):
            top = self.cell_rect(layer, 0).top()
            painter.setPen(QColor("#3b4452"))
            painter.drawText(QRectF(0, top, MARGIN_LEFT - 4, CELL), Qt.AlignmentFlag.AlignCenter, f"L{layer}")
            for h in range(heads):
                rect = self.cell_rect(layer, h)
                painter.drawImage(rect, self.images[layer][h])
                painter.setPen(QPen(QColor("#c3cad6"), 1))
                painter.drawRect(rect)
                painter.setPen(QColor("#3b4452"))
                painter.drawText(QRectF(rect.left() - GAP / 2, rect.bottom() + 1, CELL + GAP, LABEL),
                                 Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                                 self.summary.label(layer, h))
        if self.selected is not None:
            painter.setPen(QPen(QColor("#d62728"), 2.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(self.cell_rect(*self.selected).adjusted(-2, -2, 2, 2))

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        self.draw(painter, self.width(), self.height())
        painter.end()

    def head_at(self, x: float, y: float) -> Optional[tuple[int, int]]:
        layers, heads = self.shape()
        for layer in range(layers):
            for h in range(heads):
                if self.cell_rect(layer, h).contains(x, y):
                    return layer, h
        return None

    def mousePressEvent(self, event) -> None:
        head = self.head_at(event.position().x(), event.position().y())
        if head is not None:
            self.select(head)
            self.head_selected.emit(*head)
