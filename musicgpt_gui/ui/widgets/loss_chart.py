"""Live train/validation loss chart (QtCharts from PySide6-Addons)."""
from __future__ import annotations

from typing import Iterable, Optional

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import QMargins, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget


class LossChart(QChartView):
    """Two series, train and validation, against the step; axes grow with the data."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        chart = QChart()
        chart.setTitle("Loss")
        chart.setMargins(QMargins(4, 4, 4, 4))
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.train = QLineSeries(name="train")
        self.train.setPen(QPen(QColor("#3a7bd5"), 2))
        self.valid = QLineSeries(name="validation")
        self.valid.setPen(QPen(QColor("#e67e22"), 2))
        self.valid.setPointsVisible(True)
        self.x_axis = QValueAxis(titleText="step", labelFormat="%d")
        self.y_axis = QValueAxis(titleText="loss", labelFormat="%.2f")
        chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.y_axis, Qt.AlignmentFlag.AlignLeft)
        for series in (self.train, self.valid):
            chart.addSeries(series)
            series.attachAxis(self.x_axis)
            series.attachAxis(self.y_axis)
        super().__init__(chart, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(200)
        self.clear()

    def clear(self) -> None:
        self.train.clear()
        self.valid.clear()
        self.x_axis.setRange(0, 10)
        self.y_axis.setRange(0, 1)

    def add_train(self, step: int, loss: float) -> None:
        self.train.append(step, loss)
        self._grow(step, loss)

    def add_valid(self, step: int, loss: float) -> None:
        self.valid.append(step, loss)
        self._grow(step, loss)

    def set_history(self, train: Iterable[tuple[int, float]], valid: Iterable[tuple[int, float]]) -> None:
        self.clear()
        for step, loss in train:
            self.add_train(step, loss)
        for step, loss in valid:
            self.add_valid(step, loss)

    def _grow(self, step: int, loss: float) -> None:
        if step > self.x_axis.max():
            self.x_axis.setMax(step)
        if loss * 1.1 > self.y_axis.max():
            self.y_axis.setMax(loss * 1.1)
