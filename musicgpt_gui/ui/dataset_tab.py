"""Dataset: turn MIDI files, folders or a built-in corpus into note text, inspect and play the pieces.

The sources and options form is :mod:`dataset_import_form`; this module runs the import and shows the dataset.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from musicgpt_gui.core.dataset import builtin, dataset_files
from musicgpt_gui.core.dataset.importer import import_dataset
from musicgpt_gui.core.dataset.metadata import DatasetMetadata, load_metadata
from musicgpt_gui.core.jobs import JobError, Progress
from musicgpt_gui.core.music import notation
from musicgpt_gui.ui.context import AppContext
from musicgpt_gui.ui.dataset_import_form import DatasetImportForm
from musicgpt_gui.ui.settings_binder import SettingsBinder
from musicgpt_gui.ui.tab_base import Tab, fill_combo, list_datasets
from musicgpt_gui.ui.widgets.piano_roll import PianoRoll
from musicgpt_gui.ui.widgets.transport import Transport

COLUMNS = ("Piece", "Items", "Duration (s)", "Status")
ERROR_COLOR = QColor("#b00020")


class DatasetTab(DatasetImportForm, Tab):
    title = "Dataset"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.folder: Optional[Path] = None
        self.texts: list[str] = []
        self.setAcceptDrops(True)

        left = QWidget()
        llay = QVBoxLayout(left)
        llay.addWidget(self._sources_box())
        llay.addWidget(self._options_box())
        self._binder = self._bind_settings()
        self._loaded = ""
        run_row = QHBoxLayout()
        self.import_button = QPushButton("Import")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        run_row.addWidget(self.import_button)
        run_row.addWidget(self.cancel_button)
        llay.addLayout(run_row)
        self.progress = QProgressBar()
        self.progress.setValue(0)
        self.progress_label = QLabel()
        self.progress_label.setProperty("role", "hint")
        self.progress_label.setWordWrap(True)
        llay.addWidget(self.progress)
        llay.addWidget(self.progress_label)
        llay.addWidget(self._saved_box())
        llay.addStretch(1)

        right = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        tlay = QVBoxLayout(top)
        tlay.setContentsMargins(0, 0, 0, 0)
        self.stats = QLabel("No dataset loaded.")
        self.stats.setWordWrap(True)
        tlay.addWidget(self.stats)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        tlay.addWidget(self.table)
        bottom = QWidget()
        block = QVBoxLayout(bottom)
        block.setContentsMargins(0, 0, 0, 0)
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setPlaceholderText("Select a piece to see its note text.")
        self.part_list = QLabel()
        self.part_list.setWordWrap(True)
        self.part_list.setToolTip("The piece's parts (import with Parts: tracks or programs), with their notes")
        self.roll = PianoRoll()
        self.play_button = Transport(context, self.preview.toPlainText, self.roll)
        self.play_button.setEnabled(False)
        block.addWidget(self.preview, 1)
        block.addWidget(self.part_list)
        block.addWidget(self.roll, 2)
        block.addWidget(self.play_button, 0, Qt.AlignmentFlag.AlignLeft)
        right.addWidget(top)
        right.addWidget(bottom)
        right.setSizes([300, 400])

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        QVBoxLayout(self).addWidget(splitter)

        self.import_button.clicked.connect(self.start_import)
        self.cancel_button.clicked.connect(self.cancel_import)
        self.table.itemSelectionChanged.connect(self._show_selected)
        context.workspace_changed.connect(lambda _: self.refresh())
        self.refresh()

    # -- layout ------------------------------------------------------------------------------
    def _saved_box(self) -> QGroupBox:
        box = QGroupBox("Saved datasets")
        lay = QHBoxLayout(box)
        self.saved = QComboBox()
        load = QPushButton("Load")
        open_other = QPushButton("Open…")
        save_as = QPushButton("Save as…")
        lay.addWidget(self.saved, 1)
        for b in (load, open_other, save_as):
            lay.addWidget(b)
        load.clicked.connect(lambda: self.saved.currentData() and self.load_dataset(self.saved.currentData()))
        open_other.clicked.connect(self._open_other)
        save_as.clicked.connect(self._save_as)
        return box

    # -- drag and drop ---------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        self.add_sources([Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()])
        event.acceptProposedAction()

    # -- import -------------------------------------------------------------------------------
    def out_dir(self) -> Path:
        return self.context.workspace.datasets / (self.name.text().strip() or "dataset")

    def start_import(self) -> None:
        sources = self.sources_list()
        if not sources:
            self.on_failed("Add files or folders, or choose a built-in corpus.", "")
            return
        self.progress.setValue(0)
        self.progress_label.setText("Importing…")
        self.start_job(
            import_dataset,
            sources,
            self.options(),
            self.out_dir(),
            on_finished=self._imported,
            on_cancelled=self._import_cancelled,
        )

    def open_default_corpus(self) -> bool:
        """First start (no dataset in the workspace yet): show the Bach chorales right away.

        The shipped pre-converted dataset is unpacked (milliseconds); without it they are imported.
        """
        if list_datasets(self.context.workspace.datasets) or self.busy():
            return False
        if builtin.has_builtin():
            self._show_new(builtin.install_builtin(self.context.workspace.datasets))
            self.progress_label.setText("The Bach chorales are ready (the built-in dataset).")
            return True
        self.sources.clear()
        self.corpus.setCurrentIndex(self.corpus.findData("bach"))
        self.limit.setValue(0)
        self.name.setText("bach")
        self.start_import()
        return True

    def cancel_import(self) -> None:
        self.slot.cancel()
        self.progress_label.setText("Cancelling…")

    def on_progress(self, progress: Progress) -> None:
        self.progress.setValue(int(progress.fraction * 100))
        self.progress_label.setText(progress.message)

    def _imported(self, result: Any) -> None:
        self.progress.setValue(100)
        skipped = f"; {len(result.errors)} file(s) skipped (red rows)" if result.errors else ""
        self.progress_label.setText(
            f"Imported {result.pieces} pieces ({result.items} items) into "
            f"{result.out_dir.name}; {result.cache_hits} from the cache{skipped}."
        )
        self._show_new(result.out_dir)

    def _import_cancelled(self, message: Optional[str]) -> None:
        """The import keeps what it finished (or the dataset that was there); its message says which."""
        folder = self.out_dir()
        self.progress_label.setText((message or "import cancelled").capitalize() + ".")
        if dataset_files.is_dataset_folder(folder):
            self._show_new(folder)

    def _show_new(self, folder: Path) -> None:
        self.context.notify_datasets()
        self.refresh()
        self.load_dataset(folder)

    def on_busy_changed(self, busy: bool) -> None:
        self.import_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    # -- showing a dataset -----------------------------------------------------------------------
    def refresh(self) -> None:
        fill_combo(self.saved, [(p.name, p) for p in list_datasets(self.context.workspace.datasets)])

    def load_dataset(self, folder: Path) -> None:
        """Fill the table from the folder's metadata (per-file status) and its pieces."""
        folder = Path(folder)
        try:
            self.texts = dataset_files.load_split(folder, dataset_files.ALL)
            metadata = load_metadata(folder)
        except (OSError, ValueError, JobError) as exc:
            self.on_failed(f"Cannot read the dataset in {folder}: {exc}", "")
            return
        self.folder = folder
        rows = piece_rows(metadata, self.texts)
        self.table.setRowCount(0)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, value in enumerate((row["name"], row["items"], row["duration"], row["status"])):
                item = QTableWidgetItem("" if value is None else str(value))
                item.setData(Qt.ItemDataRole.UserRole, row.get("index"))
                if row.get("error"):
                    item.setForeground(ERROR_COLOR)
                    item.setToolTip(row["error"])
                elif row.get("warning"):
                    item.setToolTip(row["warning"])
                self.table.setItem(r, c, item)
        self.stats.setText(describe_stats(folder, metadata, self.texts))
        self.saved.setCurrentIndex(max(0, self.saved.findText(folder.name)))
        if self.texts:
            self.table.selectRow(next((i for i, r in enumerate(rows) if r.get("index") is not None), 0))

    def _show_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        index = self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole) if rows else None
        if index is None or not 0 <= index < len(self.texts):
            self.preview.clear()
            self.part_list.clear()
            self.roll.clear()
            self.play_button.setEnabled(False)
            return
        self.preview.setPlainText(self.texts[index])
        self.part_list.setText(describe_parts(self.texts[index]))
        self.roll.set_text(self.texts[index])
        self.play_button.setEnabled(True)

    def _open_other(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a dataset folder", str(self.context.workspace.datasets))
        if folder:
            self.load_dataset(Path(folder))

    def _save_as(self) -> None:
        if self.folder is None:
            self.on_failed("Load or import a dataset first.", "")
            return
        target = QFileDialog.getExistingDirectory(self, "Save the dataset into a folder")
        if target:
            self.save_as(Path(target) / self.folder.name)

    def save_as(self, target: Path) -> Optional[Path]:
        folder = self.folder

        def copy() -> Path:
            if target.resolve() == folder.resolve():
                raise JobError(f"{folder.name} is already there.")
            shutil.copytree(folder, target, dirs_exist_ok=True)
            return target

        return self.write_out(f"the dataset {folder.name}", target, copy)

    # -- settings -----------------------------------------------------------------------------
    def _bind_settings(self) -> SettingsBinder:
        binder = SettingsBinder("dataset")
        for key, widget in (
            ("format", self.format),
            ("limit", self.limit),
            ("transpose", self.transpose),
            ("tracks", self.tracks),
            ("parts", self.parts),
            ("include_drums", self.drums),
            ("name", self.name),
        ):
            binder.bind(key, widget)
        binder.add("corpus", self.corpus.currentData, lambda v: _choose_data(self.corpus, v), str)
        binder.add("grid", self.grid.currentData, lambda v: _choose_data(self.grid, v), int)
        binder.add("loaded", lambda: str(self.folder) if self.folder else "", self._remember_loaded, str)
        return binder

    def _remember_loaded(self, folder: str) -> None:
        self._loaded = folder

    def save_settings(self, settings: QSettings) -> None:
        self._binder.save(settings)

    def restore_settings(self, settings: QSettings) -> None:
        """The form as it was; the dataset shown last (else the first in the workspace) is loaded again."""
        self._loaded = ""
        self._binder.restore(settings)
        folder = (
            Path(self._loaded)
            if self._loaded and Path(self._loaded).is_dir()
            else (list_datasets(self.context.workspace.datasets) or [None])[0]
        )
        if folder is not None:
            self.load_dataset(folder)


def piece_rows(metadata: DatasetMetadata, texts: list[str]) -> list[dict[str, Any]]:
    """Table rows: one per imported file (status from metadata), pieces without metadata by number."""
    rows = []
    for entry in metadata.files:
        index, error, duration = entry.index, entry.error or "", entry.duration
        rows.append(
            dict(
                name=entry.source.removeprefix("corpus:"),
                items=entry.items,
                duration=f"{duration:.1f}" if isinstance(duration, (int, float)) else None,
                status=f"error: {error}"
                if error
                else ("ok (cached)" if entry.cached else "ok") + (", read tolerantly" if entry.warning else ""),
                error=error,
                warning=entry.warning or "",
                index=index if isinstance(index, int) and 0 <= index < len(texts) else None,
            )
        )
    if not metadata.files:
        rows = [
            dict(name=f"piece {i + 1}", items=len(notation.split_items(t)), duration=None, status="ok", index=i)
            for i, t in enumerate(texts)
        ]
    return rows


def describe_parts(text: str) -> str:
    """``Parts: MELODY (program 0) 531 notes · Drums (drums) 96 notes``; empty for a piece without parts."""
    counts = notation.parse_text(text).part_counts()
    cells = [f"{p.name} ({'drums' if p.drums else f'program {p.program}'}) {n} notes" for p, n in counts]
    return f"Parts: {' · '.join(cells)}" if cells else ""


def describe_stats(folder: Path, metadata: DatasetMetadata, texts: list[str]) -> str:
    """One line of dataset statistics from metadata.json."""
    parts = [f"<b>{folder.name}</b>: {len(texts)} rows", f"format {metadata.format}"]
    stats = metadata.stats
    if stats is not None:
        labels = (
            ("pieces", "pieces"),
            ("train_rows", "train rows"),
            ("valid_rows", "valid rows"),
            ("items", "items"),
            ("notes", "notes"),
            ("chords", "chords"),
            ("rests", "rests"),
            ("distinct_pitches", "distinct pitches"),
        )
        parts += [f"{label} {getattr(stats, key)}" for key, label in labels]
        parts.append(f"{stats.seconds / 60:.1f} min")
    if metadata.errors:
        parts.append(f"<span style='color:#b00020'>{len(metadata.errors)} file(s) skipped</span>")
    return " · ".join(parts)


def _choose_data(combo, value) -> None:
    """Select the combo's item holding ``value``; an unknown value leaves the choice as it is."""
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)
