"""Qt side of MIDI playback: turns the core Player's hooks into signals, owns the output port.

One bridge per window: every Play button shares the chosen port, and starting a piece from
one tab stops whatever another tab was playing.  The port opens on first Play, so a machine
without a MIDI system only hears about it when the user asks for sound.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QObject, QSettings, Signal

from musicgpt_gui.core.midi import midi_io
from musicgpt_gui.core.midi import midi_ports
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.midi.playback import PLAYING, STOPPED, Player
from musicgpt_gui.ui.signals import emit


def load_choice(settings: QSettings) -> midi_ports.PortChoice:
    api = str(settings.value("midi/api", midi_ports.default_api()))
    port = settings.value("midi/port") or None
    virtual = settings.value("midi/virtual") or None
    return midi_ports.PortChoice(api=api if api in midi_ports.APIS else midi_ports.default_api(), port=port, virtual=virtual)


def save_choice(settings: QSettings, choice: midi_ports.PortChoice) -> None:
    settings.setValue("midi/api", choice.api)
    settings.setValue("midi/port", choice.port or "")
    settings.setValue("midi/virtual", choice.virtual or "")


def describe(choice: midi_ports.PortChoice) -> str:
    if choice.virtual:
        return f"{choice.api}: virtual port '{choice.virtual}'"
    return f"{choice.api}: {choice.port or 'first available port'}"


class PlaybackBridge(QObject):
    position = Signal(object, float)  # owner, seconds
    state = Signal(object, str)  # owner, stopped|playing|paused

    def __init__(self, settings: QSettings, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.choice = load_choice(settings)
        self.owner: Optional[object] = None
        self._port = None
        self._player: Optional[Player] = None

    def set_choice(self, choice: midi_ports.PortChoice) -> None:
        """Remember the port; the next Play opens it."""
        if choice != self.choice:
            self.close()
            self.choice = choice
        save_choice(self.settings, choice)

    def play_text(self, owner: object, text: str) -> None:
        """Render ``text`` and play it; raises JobError (MidiUnavailable included) with a plain message."""
        midi = midi_io.render_midi(text)
        player = self._ensure_player()
        self.stop()
        self.owner = owner
        player.load(midi)
        player.play()

    def stop(self) -> None:
        if self._player is not None and self._player.state != STOPPED:
            self._player.stop()

    def is_playing(self, owner: object) -> bool:
        return self.owner is owner and self._player is not None and self._player.state == PLAYING

    def close(self) -> None:
        """Silence and release the port (window closing, or another port chosen)."""
        if self._player is not None:
            self._player.close()
            self._player = None
        if self._port is not None:
            self._port.close()
            self._port = None

    def _ensure_player(self) -> Player:
        if self._player is None:
            try:
                self._port = midi_ports.open_output(self.choice)
            except OSError as exc:  # rtmidi errors that slipped past the core's checks
                raise JobError(f"Cannot open the MIDI output ({exc}).") from None
            self._player = Player(
                self._port,
                on_position=lambda s: emit(self.position, self.owner, float(s)),
                on_state=lambda s: emit(self.state, self.owner, s),
            )
        return self._player
