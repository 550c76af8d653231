"""A small table of musical metrics: the shown sample or variation beside its references."""
from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from musicgpt_gui.core.quality.metrics import COLUMNS, Metrics


class MetricsTable(QTableWidget):
    """One row per (label, metrics); columns as core.quality.metrics.COLUMNS."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels([heading for _, heading, _ in COLUMNS])
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setToolTip(
            "clarity: correlation of the best Krumhansl-Schmuckler key · in scale: notes in that key's scale · "
            "pc dist: pitch-class histogram distance to the validation data · repeats: 4-onset phrases heard before"
        )
        self.setMaximumHeight(130)

    def set_rows(self, rows: Sequence[tuple[str, Metrics]]) -> None:
        self.setRowCount(len(rows))
        self.setVerticalHeaderLabels([label for label, _ in rows])
        for r, (_, metrics) in enumerate(rows):
            for c, cell in enumerate(metrics.cells()):
                self.setItem(r, c, QTableWidgetItem(cell))

    def cell_text(self, row: int, column: str) -> str:
        names = [name for name, _, _ in COLUMNS]
        item = self.item(row, names.index(column))
        return item.text() if item else ""
