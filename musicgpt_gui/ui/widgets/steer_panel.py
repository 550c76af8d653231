"""The Steer panel: hard constraints for Generate and Regenerate selection, each beside what the
prefix does, with a reset.  It only builds a :class:`Steering`; the masks live in core."""
from __future__ import annotations

from fractions import Fraction
from typing import Optional

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QPlainTextEdit,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from musicgpt_gui.core.model.steer.constraints import KEEP_PREFIX_KEY, Steering
from musicgpt_gui.core.model.steer.measure import describe_parts, describe_text
from musicgpt_gui.core.music.notation import midi_to_name
from musicgpt_gui.ui.settings_binder import SettingsBinder
from musicgpt_gui.ui.widgets.part_steer_table import PartSteerTable
from musicgpt_gui.ui.worker import JobSlot

ANY, PREFIX_KEY = "any", "the prefix's key"
TONICS = ("C", "G", "D", "A", "E", "B", "F#", "Db", "Ab", "Eb", "Bb", "F")
KEYS = [f"{tonic} {mode}" for mode in ("major", "minor") for tonic in TONICS]
LENGTHS = {ANY: None, "1/16 (0.25)": Fraction(1, 4), "1/8 (0.5)": Fraction(1, 2), "1/4 (1.0)": Fraction(1)}


def describe_job(text: str, *, on_progress, cancel) -> dict:
    """The prefix's key, range, voices and shortest length (core's :func:`describe_text`) and its parts'
    (:func:`describe_parts`), off the GUI thread."""
    return {**describe_text(text), "parts": describe_parts(text)} if text.strip() else {"parts": {}}


class PitchSpin(QSpinBox):
    """A MIDI pitch shown by its name (C4 = 60)."""

    def __init__(self, value: int) -> None:
        super().__init__(minimum=0, maximum=127, value=value)

    def textFromValue(self, value: int) -> str:  # noqa: N802 (Qt API)
        return midi_to_name(value)

    def valueFromText(self, text: str) -> int:  # noqa: N802 (Qt API)
        from musicgpt_gui.core.music.notation import name_to_midi

        found = name_to_midi(text.strip().replace("b", "-") if len(text.strip()) > 2 else text.strip())
        return found if found is not None else self.value()


class SteerPanel(QGroupBox):
    """Steer: key, chromatic notes per bar, range, voices, rhythm, no repeats."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__("Steer (also for Regenerate selection)", parent)
        grid = QGridLayout(self)
        self.key = QComboBox()
        self.key.addItems([ANY, PREFIX_KEY, *KEYS])
        self.chromatic = QSpinBox(minimum=0, maximum=16, value=0)
        self.chromatic.setToolTip("Notes outside the key allowed in each bar")
        self.limit_range = QCheckBox("from")
        self.low, self.high = PitchSpin(48), PitchSpin(84)
        self.max_voices = QSpinBox(minimum=0, maximum=16, value=0)
        self.max_voices.setSpecialValueText(ANY)
        self.min_length = QComboBox()
        self.min_length.addItems(list(LENGTHS))
        self.no_triplets = QCheckBox("no triplets")
        self.no_repeat = QSpinBox(minimum=0, maximum=64, value=0)
        self.no_repeat.setSpecialValueText("off")
        self.no_repeat.setToolTip("No run of this many notes/rests repeats one of the piece or the training data")
        self.reset_button = QPushButton("Reset")
        self.now: dict[str, QLabel] = {name: QLabel() for name in ("key", "range", "voices", "length")}
        rows = [
            ("Key", [self.key, QLabel("chromatic/bar"), self.chromatic], "key"),
            ("Range", [self.limit_range, self.low, QLabel("to"), self.high], "range"),
            ("Voices at most", [self.max_voices], "voices"),
            ("Shortest", [self.min_length, self.no_triplets], "length"),
            ("No repeats of", [self.no_repeat, QLabel("items")], None),
        ]
        for r, (label, widgets, now) in enumerate(rows):
            grid.addWidget(QLabel(label), r, 0)
            for c, w in enumerate(widgets, start=1):
                grid.addWidget(w, r, c)
            if now:
                self.now[now].setProperty("role", "hint")
                grid.addWidget(self.now[now], r, 5)
        grid.addWidget(QLabel("in the prefix:"), len(rows), 5)
        grid.addWidget(self.reset_button, len(rows), 0)
        self.parts = PartSteerTable(PitchSpin)  # the prefix's declared parts: plays, own range, voices
        grid.addWidget(self.parts, len(rows) + 1, 0, 1, 6)
        self._slot = JobSlot(self)
        self._timer = QTimer(self, singleShot=True, interval=400)
        self.reset_button.clicked.connect(self.reset)
        self.limit_range.toggled.connect(self._enable_range)
        self._enable_range(False)

    def _enable_range(self, on: bool) -> None:
        self.low.setEnabled(on)
        self.high.setEnabled(on)

    def steering(self) -> Steering:
        """The constraints as chosen (checked by the caller with ``validate``)."""
        key = self.key.currentText()
        return Steering(
            key=None if key == ANY else KEEP_PREFIX_KEY if key == PREFIX_KEY else key,
            chromatic_per_bar=self.chromatic.value(),
            low=self.low.value() if self.limit_range.isChecked() else None,
            high=self.high.value() if self.limit_range.isChecked() else None,
            max_voices=self.max_voices.value(),
            min_length=LENGTHS[self.min_length.currentText()],
            no_triplets=self.no_triplets.isChecked(),
            no_repeat=self.no_repeat.value(),
            **self.parts.steering_fields(),
        )

    def reset(self) -> None:
        self.key.setCurrentText(ANY)
        self.chromatic.setValue(0)
        self.limit_range.setChecked(False)
        self.max_voices.setValue(0)
        self.min_length.setCurrentText(ANY)
        self.no_triplets.setChecked(False)
        self.no_repeat.setValue(0)
        self.parts.reset()

    def show_prefix(self, text: str) -> None:
        """Each attribute's value in the prefix, so a user sees what they are steering away from; measured
        in a job (music21's key finder would stall the window on a long prefix, or on its first use)."""
        if self._slot.busy:
            self._timer.start()  # measured again once the job in progress is done
            return
        worker = self._slot.run(describe_job, text)
        worker.finished.connect(self._show_values)

    def _show_values(self, found: dict) -> None:
        self.parts.set_parts(found.get("parts", {}))
        for name, label in self.now.items():
            value = found.get(name, "")
            if name == "length" and value:
                value = f"{value} (triplets: {found.get('triplets')})"
            label.setText(value or "–")

    def watch(self, prefix: QPlainTextEdit, delay_ms: int = 400) -> None:
        """Show the prefix's values a moment after it stops changing."""
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(lambda: self.show_prefix(prefix.toPlainText()))
        prefix.textChanged.connect(self._timer.start)
        self.show_prefix(prefix.toPlainText())

    def bind(self, binder: SettingsBinder) -> None:
        for key in ("key", "chromatic", "limit_range", "low", "high", "max_voices", "min_length", "no_triplets",
                    "no_repeat"):
            binder.bind(f"steer_{key}", getattr(self, key))
        binder.add("steer_parts", self.parts.state, self.parts.set_state, str)
