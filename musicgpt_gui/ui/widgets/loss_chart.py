"""Live train/validation chart in bits per musical element, with the n-gram yardstick as a line (QtCharts)."""
from __future__ import annotations

from typing import Iterable, Optional

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import QMargins, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

BITS, LOSS = "bits per element", "loss (nats per token)"


class LossChart(QChartView):
    """Train and validation against the step, plus a horizontal 'n-gram' line; axes grow with the data.

    Values are bits per element when the run knows its tokens per element (it has validation
    data), so vocabularies compare and the n-gram line shares the axis; otherwise the raw loss.
    """

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        chart = QChart()
        chart.setMargins(QMargins(4, 4, 4, 4))
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.train = QLineSeries(name="train")
        self.train.setPen(QPen(QColor("#3a7bd5"), 2))
        self.valid = QLineSeries(name="validation")
        self.valid.setPen(QPen(QColor("#e67e22"), 2))
        self.valid.setPointsVisible(True)
        self.ngram = QLineSeries(name="n-gram")
        self.ngram.setPen(QPen(QColor("#7f8c8d"), 2, Qt.PenStyle.DashLine))
        self.x_axis = QValueAxis(titleText="step", labelFormat="%d")
        self.y_axis = QValueAxis(labelFormat="%.2f")
        chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.y_axis, Qt.AlignmentFlag.AlignLeft)
        for series in (self.train, self.valid, self.ngram):
            chart.addSeries(series)
            series.attachAxis(self.x_axis)
            series.attachAxis(self.y_axis)
        super().__init__(chart, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(200)
        self.ngram_value: Optional[float] = None
        self.clear()

    def clear(self) -> None:
        self.train.clear()
        self.valid.clear()
        self.ngram.clear()
        self.ngram_value = None
        self.x_axis.setRange(0, 10)
        self.y_axis.setRange(0, 1)
        self.set_unit(BITS)

    def set_unit(self, unit: str) -> None:
        self.chart().setTitle("Bits per element" if unit == BITS else "Loss")
        self.y_axis.setTitleText(unit)

    def add_train(self, step: int, value: float) -> None:
        self.train.append(step, value)
        self._grow(step, value)

    def add_valid(self, step: int, value: float) -> None:
        self.valid.append(step, value)
        self._grow(step, value)

    def set_ngram(self, value: Optional[float], order: Optional[int] = None) -> None:
        """The yardstick as a horizontal line over the whole step range (None hides it)."""
        self.ngram_value = value
        self.ngram.setName(f"n-gram (n={order})" if order else "n-gram")
        self._draw_ngram()
        if value is not None:
            self._grow(int(self.x_axis.max()), value)

    def set_history(self, train: Iterable[tuple[int, float]], valid: Iterable[tuple[int, float]],
                    ngram: Optional[float] = None, order: Optional[int] = None, unit: str = BITS) -> None:
        self.clear()
        self.set_unit(unit)
        for step, value in train:
            self.add_train(step, value)
        for step, value in valid:
            self.add_valid(step, value)
        self.set_ngram(ngram, order)

    def _draw_ngram(self) -> None:
        self.ngram.clear()
        if self.ngram_value is not None:
            self.ngram.append(self.x_axis.min(), self.ngram_value)
            self.ngram.append(self.x_axis.max(), self.ngram_value)

    def _grow(self, step: int, value: float) -> None:
        if step > self.x_axis.max():
            self.x_axis.setMax(step)
            self._draw_ngram()
        if value * 1.1 > self.y_axis.max():
            self.y_axis.setMax(value * 1.1)
