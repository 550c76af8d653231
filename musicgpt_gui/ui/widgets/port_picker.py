"""Choose the output: the built-in SoundFont synth (first, the default) or a MIDI API and port."""
from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QWidget

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.midi import midi_ports
from musicgpt_gui.core.midi.synth import load_synth
from musicgpt_gui.ui.context import AppContext
from musicgpt_gui.ui.playback_bridge import BUILTIN_LABEL, describe
from musicgpt_gui.ui.worker import Worker

FIRST_PORT = "(first available port)"
VIRTUAL = f"(new virtual port '{midi_ports.CLIENT_NAME}')"


class PortPicker(QWidget):
    """Lists ports on demand (Refresh) so start-up never touches the MIDI system."""

    def __init__(self, context: AppContext, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.context = context
        self.bridge = context.playback
        self._loading: Optional[Worker] = None
        self.api = QComboBox()
        self.api.addItem(BUILTIN_LABEL, midi_ports.BUILTIN_SYNTH)
        for name in midi_ports.APIS:
            self.api.addItem(name, name)
        self.api.setToolTip("Built-in synth on the sound card, or a MIDI system: ALSA or JACK on Linux, "
                            "CoreMIDI on macOS, WinMM on Windows")
        self.port = QComboBox()
        self.port.setMinimumContentsLength(18)
        self.refresh_button = QPushButton("Refresh")
        self.soundfont_button = QPushButton("Choose SoundFont...")
        self.clock = QCheckBox("MIDI clock")
        self.clock.setToolTip("Send MIDI clock and start/stop on the port while playing, so a DAW follows the tempo")
        self.clock.setChecked(self.bridge.clock)
        self.clock.toggled.connect(self.bridge.set_clock)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Output:"))
        layout.addWidget(self.api)
        layout.addWidget(self.port, 1)
        layout.addWidget(self.refresh_button)
        layout.addWidget(self.clock)
        layout.addWidget(self.soundfont_button)
        self._show_choice(self.bridge.choice)
        self.api.currentIndexChanged.connect(lambda _: self.refresh())
        self.port.activated.connect(lambda _: self._apply())
        self.refresh_button.clicked.connect(self.refresh)
        self.soundfont_button.clicked.connect(self.choose_soundfont)

    @property
    def api_name(self) -> str:
        return self.api.currentData()

    def select_api(self, name: str) -> None:
        self.api.setCurrentIndex(max(0, self.api.findData(name)))

    def _show_choice(self, choice: midi_ports.PortChoice) -> None:
        self.api.blockSignals(True)
        self.select_api(choice.api)
        self.api.blockSignals(False)
        self.port.clear()
        self.port.addItems([FIRST_PORT, VIRTUAL])
        if choice.port:
            self.port.addItem(choice.port)
        self.port.setCurrentText(VIRTUAL if choice.virtual else (choice.port or FIRST_PORT))
        self._show_kind()

    def _show_kind(self) -> None:
        builtin = self.api_name == midi_ports.BUILTIN_SYNTH
        self.port.setVisible(not builtin)
        self.refresh_button.setVisible(not builtin)
        self.clock.setVisible(not builtin)
        self.soundfont_button.setVisible(builtin)
        if builtin and self.bridge.soundfont:
            self.soundfont_button.setToolTip(f"SoundFont: {self.bridge.soundfont}")

    def refresh(self) -> None:
        """List the API's output ports; a missing MIDI system shows the core's message."""
        self._show_kind()
        if self.api_name == midi_ports.BUILTIN_SYNTH:
            self._apply()
            return
        current = self.port.currentText()
        self.port.clear()
        self.port.addItems([FIRST_PORT, VIRTUAL])
        try:
            names = midi_ports.list_output_ports(self.api_name)
        except JobError as exc:
            names = []
            self.setToolTip(str(exc))
            self.context.say(str(exc))
        else:
            self.setToolTip(f"{len(names)} output port(s) on {self.api_name}")
        self.port.addItems(names)
        if self.port.findText(current) >= 0:
            self.port.setCurrentText(current)
        self._apply()

    def choose_soundfont(self, path: Optional[str] = None) -> Optional[Worker]:
        """Ask for a .sf2 (or take ``path``) and load it in a worker: a bad file is refused with a message,
        a good one is remembered and plays next."""
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Choose SoundFont", "", "SoundFont (*.sf2)")
            if not path:
                return None
        self.soundfont_button.setEnabled(False)
        self.context.say(f"Loading SoundFont {path}...")
        worker = Worker(load_synth, path)
        worker.finished.connect(self._use_synth)
        worker.failed.connect(lambda message, _details: self.context.say(message))
        worker.done.connect(lambda: self.soundfont_button.setEnabled(True))
        self._loading = worker
        worker.start()
        return worker

    def _use_synth(self, synth) -> None:
        chosen = self.bridge.use_synth(synth)
        self._show_kind()
        self.context.say(f"SoundFont: {chosen}")

    def _apply(self) -> None:
        text = self.port.currentText()
        if self.api_name == midi_ports.BUILTIN_SYNTH:
            choice = midi_ports.PortChoice(api=midi_ports.BUILTIN_SYNTH)
        else:
            choice = midi_ports.PortChoice(
                api=self.api_name,
                port=None if text in (FIRST_PORT, VIRTUAL) else text,
                virtual=midi_ports.CLIENT_NAME if text == VIRTUAL else None,
            )
        self.bridge.set_choice(choice)
        self.context.set_port(describe(choice))
