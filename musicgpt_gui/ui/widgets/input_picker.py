"""Choose the MIDI input: a keyboard or another program's output, or the app's own virtual input.

Ports are listed on demand (Refresh), so start-up never touches the MIDI system.  With no input
device the picker shows one line saying what to do instead of an error; the choice is remembered.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.midi import midi_ports

FIRST_INPUT = "(first available input)"


def load_input_choice(settings: QSettings) -> midi_ports.PortChoice:
    api = str(settings.value("midi_in/api", "") or midi_ports.default_api())
    api = api if api in midi_ports.APIS else midi_ports.default_api()
    port = settings.value("midi_in/port") or None
    virtual = settings.value("midi_in/virtual") or (None if port else midi_ports.VIRTUAL_INPUT)
    return midi_ports.PortChoice(api, port=port, virtual=virtual)


def save_input_choice(settings: QSettings, choice: midi_ports.PortChoice) -> None:
    settings.setValue("midi_in/api", choice.api)
    settings.setValue("midi_in/port", choice.port or "")
    settings.setValue("midi_in/virtual", choice.virtual or "")


def virtual_label(name: str) -> str:
    return f"(the app's own input '{midi_ports.CLIENT_NAME}:{name}')"


class InputPicker(QWidget):
    """API and port of the MIDI input; :meth:`choice` is what the Record and Jam buttons open."""

    def __init__(self, settings: QSettings, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.settings = settings
        remembered = load_input_choice(settings)
        self._virtual = remembered.virtual or midi_ports.VIRTUAL_INPUT
        self.api = QComboBox()
        for name in midi_ports.APIS:
            self.api.addItem(name, name)
        self.api.setCurrentIndex(max(0, self.api.findData(remembered.api)))
        self.api.setToolTip("MIDI system: ALSA or JACK on Linux, CoreMIDI on macOS, WinMM on Windows")
        self.port = QComboBox()
        self.port.setMinimumContentsLength(18)
        self.port.addItems([virtual_label(self._virtual), FIRST_INPUT])
        if remembered.port:
            self.port.addItem(remembered.port)
            self.port.setCurrentText(remembered.port)
        self.refresh_button = QPushButton("Refresh")
        self.notice = QLabel()
        self.notice.setProperty("role", "hint")
        self.notice.setWordWrap(True)
        self.notice.hide()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Input:"))
        row.addWidget(self.api)
        row.addWidget(self.port, 1)
        row.addWidget(self.refresh_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addWidget(self.notice)
        self.api.currentIndexChanged.connect(lambda _: self.refresh())
        self.port.activated.connect(lambda _: self.remember())
        self.refresh_button.clicked.connect(self.refresh)

    def choice(self) -> midi_ports.PortChoice:
        text = self.port.currentText()
        if text == virtual_label(self._virtual):
            return midi_ports.PortChoice(self.api.currentData(), virtual=self._virtual)
        return midi_ports.PortChoice(self.api.currentData(), port=None if text == FIRST_INPUT else text)

    def remember(self) -> None:
        save_input_choice(self.settings, self.choice())

    def refresh(self) -> list[str]:
        """List the API's input ports; none, or no MIDI system, is one line under the picker."""
        current = self.port.currentText()
        self.port.clear()
        self.port.addItems([virtual_label(self._virtual), FIRST_INPUT])
        try:
            names = midi_ports.list_input_ports(self.api.currentData())
        except JobError as exc:
            names = []
            self.show_notice(str(exc))
        else:
            if names:
                self.notice.hide()
            else:
                self.show_notice(
                    f"No MIDI input device on {self.api.currentData()}: plug in a keyboard, or connect one "
                    f"(or a DAW) to the app's own input {midi_ports.CLIENT_NAME}:{self._virtual}."
                )
        self.port.addItems(names)
        if self.port.findText(current) >= 0:
            self.port.setCurrentText(current)
        self.remember()
        return names

    def show_notice(self, message: str) -> None:
        self.notice.setText(message)
        self.notice.show()
