"""Steering beside what it did: one row per active control of the shown variation or candidate, with the
value asked for, the value measured in the generated bars, and the bars that kept it (core's ControlRow)."""
from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

COLUMNS = ("Control", "Asked", "Measured", "Kept")


class SteerResultTable(QTableWidget):
    """Hidden when nothing was steered."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setMaximumHeight(130)
        self.setVisible(False)

    def set_rows(self, rows: Sequence) -> None:
        """``rows``: steer.measure.ControlRow of one variation (empty: hide)."""
        self.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate((row.control, row.asked, row.measured, row.kept)):
                self.setItem(r, c, QTableWidgetItem(text))
        self.setVisible(bool(rows))

    def cell_text(self, row: int, column: str) -> str:
        item = self.item(row, COLUMNS.index(column))
        return item.text() if item else ""
