"""Errors shown as a plain sentence, with the technical details one click away."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


def show_error(parent: QWidget, title: str, message: str, details: str = "") -> QMessageBox:
    """Open a window-modal, non-blocking error box; ``details`` (a traceback) hides behind 'Show Details'."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorDialog")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    if details:
        box.setDetailedText(details)
    box.open()
    return box
