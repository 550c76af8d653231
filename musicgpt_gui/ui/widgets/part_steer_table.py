"""The Steer panel's parts: for a prefix that declares parts, one row per part with "plays", its own pitch
range and its most voices, beside what the part does in the prefix.  Choices are kept per part number (so
they survive the prefix being edited) and remembered as one JSON string; core's Steering does the rest."""
from __future__ import annotations

import json
from typing import Any, Optional

from PySide6.QtWidgets import (
    QCheckBox,
    QHeaderView,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

COLUMNS = ("Part", "Plays", "Own range", "Low", "High", "Voices at most", "In the prefix")
DEFAULT = {"plays": True, "limit": False, "low": 48, "high": 84, "voices": 0}


class PartSteerTable(QWidget):
    """Rows of the declared parts; hidden for a prefix without parts."""

    def __init__(self, pitch_spin: type, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._pitch_spin = pitch_spin  # the panel's PitchSpin (a MIDI pitch shown by its name)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        self.reset_button = QPushButton("Reset parts")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.table)
        lay.addWidget(self.reset_button)
        self.choices: dict[int, dict[str, Any]] = {}  # per part number (1-based), also of parts not shown now
        self.rows: dict[int, dict[str, QWidget]] = {}
        self.reset_button.clicked.connect(self.reset)
        self.setVisible(False)

    # -- rows ---------------------------------------------------------------------------------
    def set_parts(self, parts: dict[int, dict[str, str]]) -> None:
        """Show a row per declared part (core's ``describe_parts`` of the prefix) with the choices made for it."""
        self._remember()
        self.table.setRowCount(len(parts))
        self.rows = {}
        for row, (number, found) in enumerate(sorted(parts.items())):
            kind = " (drums)" if found.get("drums") else ""
            self.table.setItem(row, 0, QTableWidgetItem(f"@{number} {found.get('name', '')}{kind}"))
            widgets = {"plays": QCheckBox(), "limit": QCheckBox(), "low": self._pitch_spin(48),
                       "high": self._pitch_spin(84), "voices": QSpinBox(minimum=0, maximum=16)}
            widgets["voices"].setSpecialValueText("any")
            widgets["limit"].toggled.connect(widgets["low"].setEnabled)
            widgets["limit"].toggled.connect(widgets["high"].setEnabled)
            for column, name in enumerate(("plays", "limit", "low", "high", "voices"), start=1):
                self.table.setCellWidget(row, column, widgets[name])
            voices = found.get("voices", "")
            measured = ", ".join(filter(None, [found.get("range", ""), voices and
                                               f"{voices} voice{'' if voices == '1' else 's'}",
                                               f"{found.get('notes', 0)} notes"]))
            self.table.setItem(row, 6, QTableWidgetItem(measured))
            self.rows[number] = widgets
            self._apply(number, self.choices.get(number, DEFAULT))
        self.table.setFixedHeight(self.table.horizontalHeader().height() + 4 +
                                  sum(self.table.rowHeight(r) for r in range(self.table.rowCount())))
        self.setVisible(bool(parts))

    def _apply(self, number: int, choice: dict[str, Any]) -> None:
        w = self.rows[number]
        w["plays"].setChecked(bool(choice.get("plays", True)))
        w["low"].setValue(int(choice.get("low", DEFAULT["low"])))
        w["high"].setValue(int(choice.get("high", DEFAULT["high"])))
        w["voices"].setValue(int(choice.get("voices", 0)))
        w["limit"].setChecked(bool(choice.get("limit", False)))
        w["low"].setEnabled(w["limit"].isChecked())
        w["high"].setEnabled(w["limit"].isChecked())

    def _remember(self) -> None:
        for number, w in self.rows.items():
            self.choices[number] = {"plays": w["plays"].isChecked(), "limit": w["limit"].isChecked(),
                                    "low": w["low"].value(), "high": w["high"].value(), "voices": w["voices"].value()}

    def reset(self) -> None:
        self.choices = {}
        for number in self.rows:
            self._apply(number, DEFAULT)

    # -- what core gets -----------------------------------------------------------------------
    def steering_fields(self) -> dict[str, tuple]:
        """Steering's ``parts``, ``part_ranges`` and ``part_voices`` for the parts shown (all playing: no limit)."""
        self._remember()
        shown = {n: self.choices[n] for n in self.rows}
        plays = tuple(n for n, c in shown.items() if c["plays"])
        return {
            "parts": plays if len(plays) < len(shown) else (),
            "part_ranges": tuple((n, c["low"], c["high"]) for n, c in shown.items() if c["limit"]),
            "part_voices": tuple((n, c["voices"]) for n, c in shown.items() if c["voices"]),
        }

    # -- remembered ---------------------------------------------------------------------------
    def state(self) -> str:
        self._remember()
        return json.dumps({str(n): c for n, c in sorted(self.choices.items())})

    def set_state(self, text: str) -> None:
        try:
            stored = json.loads(text or "{}")
            self.choices = {int(n): dict(c) for n, c in stored.items()}
        except (ValueError, TypeError, AttributeError):
            return
        for number in self.rows:
            self._apply(number, self.choices.get(number, DEFAULT))
