"""The ensemble an unprompted piece is written for: the dataset's, one of its pieces', or edited.

A thin view of core's choice (``workflows.resolve_ensemble``): ``auto`` (the dataset's most common), ``none``
(the model writes its own) or a spec the user edits, ``MELODY=0; Bass=33; Drums=drums``.  The dataset's
ensembles are read in a job (a large dataset's split would stall the window).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from musicgpt_gui.core.model.workflows import ENSEMBLE_AUTO, ENSEMBLE_NONE, dataset_ensembles
from musicgpt_gui.core.music.parts import ensemble_spec
from musicgpt_gui.ui.settings_binder import SettingsBinder
from musicgpt_gui.ui.worker import JobSlot

EDITED = "edited"
SHOWN_ENSEMBLES = 12  # the dataset's most common; the rest are rare (one piece each, in the Bach chorales)


def ensembles_job(dataset: Optional[Path], *, on_progress, cancel) -> list[tuple[str, str]]:
    """(label, spec) of each ensemble the dataset declares, most common first."""
    found = dataset_ensembles(dataset)[:SHOWN_ENSEMBLES]
    return [(f"{', '.join(p.name for p in parts)} ({count} pieces)", ensemble_spec(list(parts)))
            for parts, count in found]


class EnsemblePicker(QWidget):
    """A combo of the dataset's ensembles and an editable line with the chosen one."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("Ensemble"))
        self.choice = QComboBox()
        self.choice.setToolTip("The parts a piece is written for when the prefix declares none")
        self.spec = QLineEdit()
        self.spec.setPlaceholderText("MELODY=0; Bass=33; Drums=drums")
        self.spec.setToolTip("Parts as NAME=General MIDI program, or NAME=drums, separated by ';'")
        lay.addWidget(self.choice)
        lay.addWidget(self.spec, 1)
        self._fill([])
        self._slot = JobSlot(self)
        self._dataset: Optional[Path] = None
        self.choice.currentIndexChanged.connect(self._chosen)
        self.spec.textEdited.connect(self._edited)

    def _fill(self, found: list[tuple[str, str]]) -> None:
        keep = self.value()
        self.choice.blockSignals(True)
        self.choice.clear()
        self.choice.addItem("The dataset's (most common)", ENSEMBLE_AUTO)
        self.choice.addItem("Let the model choose", ENSEMBLE_NONE)
        for label, spec in found:
            self.choice.addItem(label, spec)
        self.choice.addItem("Edited", EDITED)
        self.choice.blockSignals(False)
        self.set_value(keep)

    def show_dataset(self, dataset: Optional[Path]) -> None:
        """List ``dataset``'s ensembles (read in a job); the current choice stays when it is still offered."""
        if dataset == self._dataset:
            return
        self._dataset = dataset
        if not self._slot.busy:
            self._slot.run(ensembles_job, dataset).finished.connect(lambda found: self._listed(dataset, found))

    def _listed(self, dataset: Optional[Path], found: list[tuple[str, str]]) -> None:
        self._fill(found)
        if dataset != self._dataset:  # the run changed while the last one was read
            wanted, self._dataset = self._dataset, dataset
            QTimer.singleShot(0, lambda: self.show_dataset(wanted))

    def value(self) -> str:
        """``auto``, ``none`` or the edited spec, as ``workflows.resolve_ensemble`` takes it."""
        data = self.choice.currentData() if self.choice.count() else ENSEMBLE_AUTO
        return data if data in (ENSEMBLE_AUTO, ENSEMBLE_NONE) else self.spec.text().strip()

    def set_value(self, value: str) -> None:
        index = self.choice.findData(value)
        if index < 0 and value not in (ENSEMBLE_AUTO, ENSEMBLE_NONE, ""):
            index = self.choice.findData(EDITED)
            self.spec.setText(value)
        self.choice.setCurrentIndex(max(0, index))
        self._chosen()

    def _chosen(self) -> None:
        data = self.choice.currentData()
        if data not in (EDITED, None):
            self.spec.setText("" if data in (ENSEMBLE_AUTO, ENSEMBLE_NONE) else data)
        self.spec.setEnabled(data not in (ENSEMBLE_AUTO, ENSEMBLE_NONE))

    def _edited(self) -> None:
        self.choice.blockSignals(True)
        self.choice.setCurrentIndex(self.choice.findData(EDITED))
        self.choice.blockSignals(False)

    def bind(self, binder: SettingsBinder) -> None:
        binder.add("ensemble", self.value, self.set_value, str)
