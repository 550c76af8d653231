"""Drag and drop with the file manager and the DAW: MIDI files dropped in, a variation dragged out as a .mid file."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QMimeData, QUrl, Signal
from PySide6.QtWidgets import QListWidget, QPlainTextEdit

from musicgpt_gui.core.readers import midi_reader


def dropped_midi(mime: QMimeData) -> Optional[Path]:
    """The first local MIDI file among dropped URLs (by the MIDI reader's extensions), else None."""
    for url in mime.urls() if mime.hasUrls() else []:
        path = Path(url.toLocalFile()) if url.isLocalFile() else None
        if path is not None and path.suffix.lower() in midi_reader.EXTENSIONS:
            return path
    return None


class PrefixEdit(QPlainTextEdit):
    """The prefix box: typed note text, or a dropped MIDI file whose opening becomes the prefix (``midi_dropped``)."""

    midi_dropped = Signal(object)  # Path

    def dragEnterEvent(self, event) -> None:
        if dropped_midi(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:
        if dropped_midi(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event) -> None:
        path = dropped_midi(event.mimeData())
        if path is None:
            super().dropEvent(event)
            return
        event.acceptProposedAction()
        self.midi_dropped.emit(path)


class DragOutList(QListWidget):
    """A list whose rows drag out as files: ``write_row(row)`` writes the row's file (None: nothing to drag)."""

    def __init__(self, write_row: Callable[[int], Optional[Path]]) -> None:
        super().__init__()
        self._write_row = write_row
        self.setDragEnabled(True)
        self.setDragDropMode(QListWidget.DragDropMode.DragOnly)

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, items) -> Optional[QMimeData]:
        """What Qt's drag carries: the URL of the row's freshly written file (a DAW or file manager copies it)."""
        if not items:
            return None
        path = self._write_row(self.row(items[0]))
        if path is None:
            return None
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        return mime
