"""Learned controls for Generate and Regenerate selection: for a run trained with ``--controls``, a bin (or the
model's own choice) per attribute and a key, each beside the prefix's own value, with a reset.  It only builds a
:class:`ControlRequest`; forcing the values at bar lines lives in core (core/model/controls)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox, QGridLayout, QGroupBox, QLabel, QPlainTextEdit, QPushButton, QSpinBox, QWidget

from musicgpt_gui.core.model.controls.annotate import prefix_values
from musicgpt_gui.core.model.controls.bins import BINNED, ControlBins
from musicgpt_gui.core.model.controls.request import ControlRequest, key_name, key_words
from musicgpt_gui.core.model.piecewise import MAX_REDRAWS
from musicgpt_gui.core.model.store.vocab import KEY_NAMES
from musicgpt_gui.ui.settings_binder import SettingsBinder
from musicgpt_gui.ui.worker import JobSlot

MODEL = "the model's choice"
LABELS = {"density": "Density (onsets/bar)", "poly": "Polyphony (notes sounding)", "pitch": "Mean pitch (MIDI)"}
NO_CONTROLS = "This run was trained without controls (Finetune: 'Learn controls')."


def measure_job(text: str, bins: ControlBins, *, on_progress, cancel) -> dict[str, str]:
    """The prefix's bins and key (core's :func:`prefix_values`), off the GUI thread."""
    return prefix_values(text, bins) if text.strip() else {}


class ControlsBox(QGroupBox):
    """Learned controls: density, polyphony, mean pitch (bins of the run) and key, for every generated bar."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__("Learned controls (a run trained with them)", parent)
        grid = QGridLayout(self)
        self.bins: Optional[ControlBins] = None
        self.combos: dict[str, QComboBox] = {name: QComboBox() for name in (*BINNED, "key")}
        self.now: dict[str, QLabel] = {name: QLabel("–") for name in self.combos}
        self.combos["key"].addItems([MODEL, *(key_words(k) for k in KEY_NAMES)])
        for r, name in enumerate(self.combos):
            grid.addWidget(QLabel(LABELS.get(name, "Key (every 4 bars)")), r, 0)
            grid.addWidget(self.combos[name], r, 1)
            self.now[name].setProperty("role", "hint")
            grid.addWidget(self.now[name], r, 2)
        self.hint = QLabel(NO_CONTROLS)
        self.hint.setProperty("role", "hint")
        self.hint.setWordWrap(True)
        self.reset_button = QPushButton("Reset")
        grid.addWidget(self.reset_button, len(self.combos), 0)
        grid.addWidget(QLabel("in the prefix:"), len(self.combos), 2)
        self.redraws = QSpinBox()
        self.redraws.setRange(0, MAX_REDRAWS)
        self.redraws.setSpecialValueText("never")
        self.redraws.setSuffix(" times at most")
        self.redraws.setToolTip("Write the take bar by bar and draw a bar again when it misses the bins asked for, "
                                "or when the key asked for stops leading the take's key (slower; the bar that met "
                                "the most is kept)")
        grid.addWidget(QLabel("Redraw a bar that misses them"), len(self.combos) + 1, 0)
        grid.addWidget(self.redraws, len(self.combos) + 1, 1)
        grid.addWidget(self.hint, len(self.combos) + 2, 0, 1, 3)
        self.reset_button.clicked.connect(self.reset)
        self._slot = JobSlot(self)
        self._timer = QTimer(self, singleShot=True, interval=400)
        self._text = ""
        self.set_run(None)

    def set_run(self, run_dir: Optional[Path]) -> None:
        """Offer the run's bins (each with the values it holds), or nothing for a run without controls."""
        try:
            self.bins = ControlBins.load(run_dir) if run_dir is not None else None
        except Exception:  # a damaged controls.json: the run is treated as one without controls
            self.bins = None
        for name in BINNED:
            combo, chosen = self.combos[name], self.combos[name].currentText()
            combo.clear()
            combo.addItem(MODEL)
            for k in range(self.bins.count(name) if self.bins else 0):
                combo.addItem(f"bin {k}: {self.bins.describe_bin(name, k)}")
            if combo.findText(chosen) >= 0:
                combo.setCurrentText(chosen)
        for widget in (*self.combos.values(), self.reset_button, self.redraws):
            widget.setEnabled(self.bins is not None)
        self.hint.setVisible(self.bins is None)
        self.show_prefix(self._text)

    def request(self) -> ControlRequest:
        """The values chosen; nothing for a run without controls."""
        if self.bins is None:
            return ControlRequest()
        values = {name: (self.combos[name].currentIndex() - 1,) for name in BINNED
                  if self.combos[name].currentIndex() > 0}
        key = self.combos["key"].currentText()
        return ControlRequest(**values, key=(key_name(key),) if key != MODEL else ())

    def reset(self) -> None:
        for combo in self.combos.values():
            combo.setCurrentIndex(0)

    def show_prefix(self, text: str) -> None:
        self._text = text
        if self.bins is None:
            self._show_values({})
            return
        if self._slot.busy:
            self._timer.start()
            return
        worker = self._slot.run(measure_job, text, self.bins)
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
        for name, combo in self.combos.items():
            binder.bind(f"controls_{name}", combo)
        binder.bind("controls_redraws", self.redraws)
