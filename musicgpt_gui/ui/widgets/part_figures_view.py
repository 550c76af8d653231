"""Each part's share of the notes, range and sounding time, and the bar self-similarity, of the shown variation
beside the validation songs' (core/quality/arrangement.py's plain-text table, in a fixed font)."""
from __future__ import annotations

from typing import Optional

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QLabel, QWidget

from musicgpt_gui.core.quality.arrangement import EnsembleFigures, part_table
from musicgpt_gui.core.quality.report import VALIDATION


class PartFiguresView(QLabel):
    """Hidden for a piece without parts."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setVisible(False)

    def show_figures(self, label: str, figures: Optional[EnsembleFigures],
                     reference: Optional[EnsembleFigures]) -> None:
        if figures is not None:
            rows = ([(VALIDATION, reference)] if reference is not None else []) + [(label, figures)]
            self.setText(part_table(rows))
        self.setVisible(figures is not None)
