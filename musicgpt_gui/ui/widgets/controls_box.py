"""Learned controls for Generate and Regenerate selection: for a run trained with ``--controls``, a bin (or the
model's own choice) per attribute and a key, each beside the prefix's own value, with a reset; for a run trained
on pieces with parts, the same per part (the Part list picks whose values the lists show).  It only builds a
:class:`ControlRequest`; forcing the values at bar lines lives in core (core/model/controls)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox, QGridLayout, QGroupBox, QLabel, QPlainTextEdit, QPushButton, QSpinBox, QWidget

from musicgpt_gui.core.model.controls.annotate import prefix_values
from musicgpt_gui.core.model.controls.bins import BINNED, POOLED, ControlBins
from musicgpt_gui.core.model.controls.request import ControlRequest, key_name, key_words
from musicgpt_gui.core.model.piecewise import MAX_REDRAWS
from musicgpt_gui.core.model.store.vocab import KEY_NAMES
from musicgpt_gui.ui.settings_binder import SettingsBinder
from musicgpt_gui.ui.worker import JobSlot

MODEL = "the model's choice"
LABELS = {"density": "Density (onsets/bar)", "poly": "Polyphony (notes sounding)", "pitch": "Mean pitch (MIDI)"}
NO_CONTROLS = "This run was trained without controls (Finetune: 'Learn controls')."
WHOLE = "Whole piece"


def measure_job(text: str, bins: ControlBins, part: int = 0, *, on_progress, cancel) -> dict[str, str]:
    """The prefix's bins and key, or one part's bins (core's :func:`prefix_values`), off the GUI thread."""
    return prefix_values(text, bins, part or None) if text.strip() else {}


class ControlsBox(QGroupBox):
    """Learned controls: density, polyphony, mean pitch (bins of the run) and key, for every generated bar."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__("Learned controls (a run trained with them)", parent)
        grid = QGridLayout(self)
        self.bins: Optional[ControlBins] = None
        self.part = QComboBox()  # whose values the lists show: the whole piece's or a part's
        self.part.setToolTip("A run trained on pieces with parts learned each part's controls too")
        self.chosen: dict[int, dict[str, int]] = {}  # part (0: the whole piece) -> attribute -> bin
        self.combos: dict[str, QComboBox] = {name: QComboBox() for name in (*BINNED, "key")}
        self.now: dict[str, QLabel] = {name: QLabel("–") for name in self.combos}
        self.combos["key"].addItems([MODEL, *(key_words(k) for k in KEY_NAMES)])
        grid.addWidget(QLabel("Values of"), 0, 0)
        grid.addWidget(self.part, 0, 1)
        for r, name in enumerate(self.combos, start=1):
            grid.addWidget(QLabel(LABELS.get(name, "Key (every 4 bars)")), r, 0)
            grid.addWidget(self.combos[name], r, 1)
            self.now[name].setProperty("role", "hint")
            grid.addWidget(self.now[name], r, 2)
        self.hint = QLabel(NO_CONTROLS)
        self.hint.setProperty("role", "hint")
        self.hint.setWordWrap(True)
        self.reset_button = QPushButton("Reset")
        rows = len(self.combos) + 1
        grid.addWidget(self.reset_button, rows, 0)
        grid.addWidget(QLabel("in the prefix:"), rows, 2)
        self.redraws = QSpinBox()
        self.redraws.setRange(0, MAX_REDRAWS)
        self.redraws.setSpecialValueText("never")
        self.redraws.setSuffix(" times at most")
        self.redraws.setToolTip("Write the take bar by bar and draw a bar again when it misses the bins asked for, "
                                "or when the key asked for stops leading the take's key (slower; the bar that met "
                                "the most is kept)")
        grid.addWidget(QLabel("Redraw a bar that misses them"), rows + 1, 0)
        grid.addWidget(self.redraws, rows + 1, 1)
        grid.addWidget(self.hint, rows + 2, 0, 1, 3)
        self.reset_button.clicked.connect(self.reset)
        self.part.currentIndexChanged.connect(lambda _: self._show_part())
        for name in BINNED:
            self.combos[name].currentIndexChanged.connect(lambda index, name=name: self._choose(name, index))
        self._slot = JobSlot(self)
        self._timer = QTimer(self, singleShot=True, interval=400)
        self._text = ""
        self.set_run(None)

    def set_run(self, run_dir: Optional[Path]) -> None:
        """Offer the run's bins (each with the values it holds), per part when it has them, or nothing for a run
        without controls."""
        try:
            self.bins = ControlBins.load(run_dir) if run_dir is not None else None
        except Exception:  # a damaged controls.json: the run is treated as one without controls
            self.bins = None
        shown = self.part.currentData() or 0
        self.part.blockSignals(True)
        self.part.clear()
        self.part.addItem(WHOLE, 0)
        numbers = [int(p) for p in (self.bins.parts if self.bins else {}) if p != POOLED]
        for number in range(1, max(numbers, default=0) + 1):
            self.part.addItem(f"Part {number}", number)
        self.part.setCurrentIndex(max(0, self.part.findData(shown)))
        self.part.blockSignals(False)
        self.part.setVisible(self.part.count() > 1)
        for widget in (*self.combos.values(), self.reset_button, self.redraws):
            widget.setEnabled(self.bins is not None)
        self.hint.setVisible(self.bins is None)
        self._show_part()

    def _show_part(self) -> None:
        """Fill the lists with the shown part's bins and its chosen values (the key is the whole piece's)."""
        part = self.part.currentData() or 0
        for name in BINNED:
            combo = self.combos[name]
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(MODEL)
            for k in range(self.bins.count(name, part or None) if self.bins else 0):
                combo.addItem(f"bin {k}: {self.bins.describe_bin(name, k, part or None)}")
            combo.setCurrentIndex(min(self.chosen.get(part, {}).get(name, -1) + 1, combo.count() - 1))
            combo.blockSignals(False)
        self.combos["key"].setEnabled(self.bins is not None and not part)
        self.show_prefix(self._text)

    def _choose(self, name: str, index: int) -> None:
        values = self.chosen.setdefault(self.part.currentData() or 0, {})
        if index > 0:
            values[name] = index - 1
        else:
            values.pop(name, None)

    def request(self) -> ControlRequest:
        """The values chosen; nothing for a run without controls."""
        if self.bins is None:
            return ControlRequest()
        whole = self.chosen.get(0, {})
        values = {name: (whole[name],) for name in BINNED if name in whole}
        parts = tuple((part, name, (self.chosen[part][name],)) for part in sorted(self.chosen) if part
                      for name in BINNED if name in self.chosen[part] and self.part.findData(part) >= 0)
        key = self.combos["key"].currentText()
        return ControlRequest(**values, key=(key_name(key),) if key != MODEL else (), parts=parts)

    def reset(self) -> None:
        self.chosen.clear()
        self.combos["key"].setCurrentIndex(0)
        self._show_part()

    def show_prefix(self, text: str) -> None:
        self._text = text
        if self.bins is None:
            self._show_values({})
            return
        if self._slot.busy:
            self._timer.start()
            return
        worker = self._slot.run(measure_job, text, self.bins, self.part.currentData() or 0)
        worker.finished.connect(self._show_values)

    def _show_values(self, found: dict) -> None:
        for name, label in self.now.items():
            value = found.get(name)
            label.setText(key_words(value) if name == "key" and value else f"bin {value}" if value else "–")

    def watch(self, prefix: QPlainTextEdit, delay_ms: int = 400) -> None:
        """Show the prefix's values a moment after it stops changing."""
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(lambda: self.show_prefix(prefix.toPlainText()))
        prefix.textChanged.connect(self._timer.start)
        self._text = prefix.toPlainText()

    def bind(self, binder: SettingsBinder) -> None:
        binder.add("controls_bins", lambda: json.dumps(self.chosen), self._restore_bins, str)
        binder.bind("controls_key", self.combos["key"])
        binder.bind("controls_redraws", self.redraws)

    def _restore_bins(self, stored: str) -> None:
        try:
            found = {int(p): {str(n): int(k) for n, k in v.items() if n in BINNED}
                     for p, v in json.loads(stored).items()}
        except (ValueError, TypeError, AttributeError):
            return  # unreadable: the defaults stay
        self.chosen = found
        self._show_part()
