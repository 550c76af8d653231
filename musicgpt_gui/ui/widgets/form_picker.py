"""The form a take is written in: section letters (``AABA``) and the bars of each, or nothing (one take).

A thin view of core's :class:`~musicgpt_gui.core.model.steer.form.Form`: the letters are read by ``Form.parse``,
which says what is wrong with them, and ``workflows.generate_for_run`` writes the sections.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QSpinBox, QWidget

from musicgpt_gui.core.model.steer.form import DEFAULT_SECTION_BARS, MAX_SECTION_BARS, MAX_SECTIONS, Form
from musicgpt_gui.ui.settings_binder import SettingsBinder


class FormPicker(QWidget):
    """A line of section letters and a spin box of bars per section."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("Form"))
        self.letters = QLineEdit()
        self.letters.setMaxLength(MAX_SECTIONS + 8)  # spaces are allowed between the letters
        self.letters.setPlaceholderText("e.g. AABA (empty: one take)")
        self.letters.setToolTip("Write the take as sections: each new letter is generated after the sections "
                                "before it, and a letter that comes back repeats its first section")
        self.bars = QSpinBox()
        self.bars.setRange(1, MAX_SECTION_BARS)
        self.bars.setValue(DEFAULT_SECTION_BARS)
        self.bars.setSuffix(" bars each")
        self.bars.setToolTip("Bars in each section")
        lay.addWidget(self.letters, 1)
        lay.addWidget(self.bars)

    def value(self) -> Optional[Form]:
        """The form asked for, or None; raises JobError with what is wrong with the letters."""
        return Form.parse(self.letters.text(), self.bars.value())

    def bind(self, binder: SettingsBinder) -> None:
        binder.bind("form", self.letters)
        binder.bind("section_bars", self.bars)
