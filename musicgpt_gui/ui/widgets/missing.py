"""The plain notice a tab shows where a core part it needs is not available."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel


def missing_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setProperty("role", "missing")
    label.setWordWrap(True)
    label.setObjectName("missingCore")
    return label
