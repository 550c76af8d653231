"""The Dataset tab's import form: the sources (a corpus, files and folders) and the import options.

The tab runs the import and shows the dataset; this mixin builds the form and turns it into the
import's terms (:meth:`sources_list`, :meth:`options`), the same ones ``musicgpt import`` takes.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from musicgpt_gui.core.dataset.import_options import TRACK_MODES, ImportOptions
from musicgpt_gui.core.music import notation
from musicgpt_gui.core.music.grid import GRIDS
from musicgpt_gui.core.music.parts import PART_MODES
from musicgpt_gui.core.readers import formats
from musicgpt_gui.ui.context import AppContext

CORPORA = (("Bach chorales (music21)", "bach"), ("Folk songs (music21)", "folk"), ("No corpus", ""))
AUTO_TRACKS = "auto (merge for timed, flat for seed)"


class DatasetImportForm:
    """Builds the form's widgets as attributes of the tab (``tab.corpus``, ``tab.sources``, ``tab.limit``...)."""

    context: AppContext

    def _sources_box(self) -> QGroupBox:
        box = QGroupBox("Sources")
        lay = QVBoxLayout(box)
        self.corpus = QComboBox()
        for label, key in CORPORA:
            self.corpus.addItem(label, key)
        lay.addWidget(self.corpus)
        self.sources = QListWidget()
        self.sources.setToolTip("MIDI/MusicXML files and folders: add them with the buttons or drop them here")
        self.sources.setMaximumHeight(110)
        lay.addWidget(self.sources)
        row = QHBoxLayout()
        add_files = QPushButton("Add files…")
        add_folder = QPushButton("Add folder…")
        remove = QPushButton("Remove")
        for b in (add_files, add_folder, remove):
            row.addWidget(b)
        lay.addLayout(row)
        add_files.clicked.connect(self._add_files)
        add_folder.clicked.connect(self._add_folder)
        remove.clicked.connect(
            lambda: [self.sources.takeItem(self.sources.row(i)) for i in self.sources.selectedItems()]
        )
        return box

    def _options_box(self) -> QGroupBox:
        box = QGroupBox("Options")
        lay = QFormLayout(box)
        self.name = QLineEdit("bach")
        self.name.setToolTip("Folder name under datasets/ in the workspace")
        self.format = QComboBox()
        self.format.addItems(list(notation.FORMATS))
        self.format.setCurrentText(notation.DEFAULT_FORMAT)
        self.limit = QSpinBox(minimum=0, maximum=1_000_000, value=0)
        self.limit.setSpecialValueText("all")
        self.limit.setToolTip("Take at most this many pieces (0 = all)")
        self.transpose = QSpinBox(minimum=0, maximum=12, value=0)
        self.transpose.setToolTip("Also add each piece transposed by ±1..N semitones")
        self.tracks = QComboBox()
        self.tracks.addItems([AUTO_TRACKS, *TRACK_MODES])
        self.tracks.setToolTip(
            "merge: all tracks in one time-ordered stream; first: the first track with notes; "
            "flat: music21's per-track order (the seed's text, seed format only)"
        )
        lay.addRow("Dataset name", self.name)
        lay.addRow("Format", self.format)
        lay.addRow("Limit", self.limit)
        lay.addRow("Transpose ±", self.transpose)
        self.grid = QComboBox()
        for steps in GRIDS:
            self.grid.addItem(f"1/{steps} quarter", steps)
        self.grid.setCurrentIndex(self.grid.findData(ImportOptions().grid))
        self.grid.setToolTip("Timed format: the time grid; finer grids keep the timing of live performances")
        self.parts = QComboBox()
        self.parts.addItems(list(PART_MODES))
        self.parts.setToolTip(
            "Timed format: tracks: each track is a part with its name and program; programs: one part per "
            "program and per drum kit; off: one stream. Every note names its part."
        )
        self.drums = QCheckBox("Include drums (channel 10, a drum part)")
        lay.addRow("Tracks", self.tracks)
        lay.addRow("Grid", self.grid)
        lay.addRow("Parts", self.parts)
        lay.addRow("", self.drums)
        return box

    def add_sources(self, paths: list[Path]) -> None:
        present = {self.sources.item(i).text() for i in range(self.sources.count())}
        for path in paths:
            if str(path) not in present:
                self.sources.addItem(str(path))
        if paths:
            self.corpus.setCurrentIndex(self.corpus.findData(""))

    def _add_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add music files", "", formats.dialog_filter())
        self.add_sources([Path(f) for f in files])

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of MIDI files")
        if folder:
            self.add_sources([Path(folder)])

    def sources_list(self) -> list[str]:
        """The files and folders, plus ``corpus:<name>`` for the chosen corpus (the import's terms)."""
        chosen = [self.sources.item(i).text() for i in range(self.sources.count())]
        return chosen + ([f"corpus:{self.corpus.currentData()}"] if self.corpus.currentData() else [])

    def options(self) -> ImportOptions:
        tracks = self.tracks.currentText()
        return ImportOptions(
            format=self.format.currentText(),
            tracks=None if tracks == AUTO_TRACKS else tracks,
            limit=self.limit.value() or None,
            transpose=self.transpose.value(),
            grid=self.grid.currentData(),
            parts=self.parts.currentText(),
            include_drums=self.drums.isChecked(),
            cache_dir=self.context.workspace.import_cache,
        )
