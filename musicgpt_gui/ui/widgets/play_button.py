"""A Play/Stop button bound to a text source and, optionally, a piano roll that shows the cursor."""
from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtWidgets import QPushButton, QWidget

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.midi.playback import PLAYING
from musicgpt_gui.ui import resources
from musicgpt_gui.ui.context import AppContext
from musicgpt_gui.ui.widgets.piano_roll import PianoRoll


class PlayButton(QPushButton):
    """Click plays ``text_source()`` through the window's MIDI port; click again stops.

    Playback problems (no MIDI system, no notes) are reported through ``context.say`` and
    ``last_error``; the app carries on.
    """

    def __init__(self, context: AppContext, text_source: Callable[[], str], roll: Optional[PianoRoll] = None,
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.context = context
        self.text_source = text_source
        self.roll = roll
        self.last_error = ""
        self._show(playing=False)
        self.clicked.connect(self.toggle)
        context.playback.state.connect(self._on_state)
        context.playback.position.connect(self._on_position)

    def toggle(self) -> None:
        if self.context.playback.is_playing(self):
            self.context.playback.stop()
            return
        try:
            self.context.playback.play_text(self, self.text_source())
        except JobError as exc:
            self.last_error = str(exc)
            self.setToolTip(self.last_error)
            self.context.say(self.last_error)
        else:
            self.last_error = ""

    def _show(self, playing: bool) -> None:
        self.setText("Stop" if playing else "Play")
        self.setIcon(resources.icon("stop" if playing else "play"))

    def _on_state(self, owner: object, state: str) -> None:
        if owner is self:
            self._show(state == PLAYING)
            if state != PLAYING and self.roll is not None:
                self.roll.set_cursor_seconds(None)

    def _on_position(self, owner: object, seconds: float) -> None:
        if owner is self and self.roll is not None and self.context.playback.is_playing(self):
            self.roll.set_cursor_seconds(seconds)
