"""Choose the MIDI output: API (ALSA, JACK, ...), an existing port, or a virtual port of our own."""
from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

from musicgpt_gui.core.midi import midi_ports
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.ui.context import AppContext
from musicgpt_gui.ui.playback_bridge import describe

FIRST_PORT = "(first available port)"
VIRTUAL = f"(new virtual port '{midi_ports.CLIENT_NAME}')"


class PortPicker(QWidget):
    """Lists ports on demand (Refresh) so start-up never touches the MIDI system."""

    def __init__(self, context: AppContext, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.context = context
        self.bridge = context.playback
        self.api = QComboBox()
        self.api.addItems(list(midi_ports.APIS))
        self.api.setToolTip("MIDI system: ALSA or JACK on Linux, CoreMIDI on macOS, WinMM on Windows")
        self.port = QComboBox()
        self.port.setMinimumContentsLength(18)
        self.refresh_button = QPushButton("Refresh")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("MIDI out:"))
        layout.addWidget(self.api)
        layout.addWidget(self.port, 1)
        layout.addWidget(self.refresh_button)
        self._show_choice(self.bridge.choice)
        self.api.currentTextChanged.connect(lambda _: self.refresh())
        self.port.activated.connect(lambda _: self._apply())
        self.refresh_button.clicked.connect(self.refresh)

    def _show_choice(self, choice: midi_ports.PortChoice) -> None:
        self.api.blockSignals(True)
        self.api.setCurrentText(choice.api)
        self.api.blockSignals(False)
        self.port.clear()
        self.port.addItems([FIRST_PORT, VIRTUAL])
        if choice.port:
            self.port.addItem(choice.port)
        self.port.setCurrentText(VIRTUAL if choice.virtual else (choice.port or FIRST_PORT))

    def refresh(self) -> None:
        """List the API's output ports; a missing MIDI system shows the core's message."""
        current = self.port.currentText()
        self.port.clear()
        self.port.addItems([FIRST_PORT, VIRTUAL])
        try:
            names = midi_ports.list_output_ports(self.api.currentText())
        except JobError as exc:
            names = []
            self.setToolTip(str(exc))
            self.context.say(str(exc))
        else:
            self.setToolTip(f"{len(names)} output port(s) on {self.api.currentText()}")
        self.port.addItems(names)
        if self.port.findText(current) >= 0:
            self.port.setCurrentText(current)
        self._apply()

    def _apply(self) -> None:
        text = self.port.currentText()
        choice = midi_ports.PortChoice(
            api=self.api.currentText(),
            port=None if text in (FIRST_PORT, VIRTUAL) else text,
            virtual=midi_ports.CLIENT_NAME if text == VIRTUAL else None,
        )
        self.bridge.set_choice(choice)
        self.context.set_port(describe(choice))
