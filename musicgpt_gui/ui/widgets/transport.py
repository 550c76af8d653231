"""Transport for a piece of note text: play/pause, stop, seek and loop on the piano roll, volume, audio export.

Wherever something plays (Dataset preview, Finetune samples, Generate) one of these sits beside
the piano roll.  All transports share the window's :class:`PlaybackBridge`: starting one stops
the others.  Space toggles play/pause while the transport or its roll has the focus.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import mido

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QCheckBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QSlider, QStyle, QWidget

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.midi.midi_io import render_midi
from musicgpt_gui.core.midi.playback import PAUSED, PLAYING, STOPPED
from musicgpt_gui.core.midi.synth import render_audio
from musicgpt_gui.core.music.notation import parse_text
from musicgpt_gui.core.music.tempo_map import TempoMap
from musicgpt_gui.ui import resources
from musicgpt_gui.ui.context import AppContext
from musicgpt_gui.ui.widgets.piano_roll import PianoRoll
from musicgpt_gui.ui.worker import Worker


class Transport(QWidget):
    """Plays ``text_source()``; problems (no audio device, no notes) go to ``context.say`` and ``last_error``."""

    def __init__(
        self,
        context: AppContext,
        text_source: Callable[[], str],
        roll: Optional[PianoRoll] = None,
        parent: Optional[QWidget] = None,
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.bridge = context.playback
        self.text_source = text_source
        self.roll = roll
        self._heard_at = 0.0  # seconds: where the player was last heard (a remix goes on from there)
        self.last_error = ""
        self._start_at = 0.0  # seconds: where Play starts after a seek while stopped
        self._tempo_map: Optional[TempoMap] = None
        self._export: Optional[Worker] = None
        self.play_button = QPushButton()
        self.stop_button = QPushButton("Stop")
        self.stop_button.setIcon(resources.icon("stop"))
        self.loop_box = QCheckBox("Loop selection")
        self.loop_box.setToolTip("Drag on the piano roll to select the part to loop")
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(round(100 * self.bridge.volume))
        self.volume.setMaximumWidth(90)
        self.volume.setToolTip("Volume")
        self.export_button = QPushButton("Export audio...")
        self.export_button.setToolTip("Render the piece with the SoundFont to a WAV file")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (
            self.play_button,
            self.stop_button,
            self.loop_box,
            QLabel("Vol"),
            self.volume,
            self.export_button,
        ):
            layout.addWidget(widget)
        self._show(STOPPED)
        self.play_button.clicked.connect(self.toggle)
        self.stop_button.clicked.connect(self.stop)
        self.loop_box.toggled.connect(lambda _: self._apply_loop())
        self.volume.valueChanged.connect(lambda v: self.bridge.set_volume(v / 100))
        self.export_button.clicked.connect(lambda: self.export_audio())
        self.bridge.state.connect(self._on_state)
        self.bridge.position.connect(self._on_position)
        for widget in (self, roll):
            if widget is not None:
                shortcut = QShortcut(QKeySequence(Qt.Key.Key_Space), widget)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(self.toggle)
        if roll is not None:
            roll.seek_requested.connect(self.seek_quarters)
            roll.selection_changed.connect(lambda _: self._apply_loop())
            roll.mute_changed.connect(lambda _: self._remix())

    # -- what a user does -----------------------------------------------------------------------
    def click(self) -> None:
        """Press Play/Pause."""
        self.play_button.click()

    def text(self) -> str:
        """The Play/Pause button's label: "Play" or "Pause"."""
        return self.play_button.text()

    def toggle(self) -> None:
        state = self.bridge.state_of(self)
        if state == PLAYING:
            self.bridge.pause()
        elif state == PAUSED:
            self.bridge.resume()
        else:
            self.play()

    def play(self) -> None:
        try:
            text = self.text_source()
            self._tempo_map = TempoMap.from_marks(parse_text(text).tempos)
            self.bridge.play_midi(self, self.playable_midi(text))
            if self._start_at:
                self.bridge.seek(self, self._start_at)
            self._apply_loop()
        except JobError as exc:
            self._fail(str(exc))
        else:
            self.last_error = ""
            self.setToolTip("")

    def playable_midi(self, text: Optional[str] = None) -> mido.MidiFile:
        """What Play plays: the text as MIDI, without the parts muted on the roll's legend."""
        text = self.text_source() if text is None else text
        muted = self.roll.muted if self.roll is not None else set()
        return render_midi(parse_text(text).without_parts(muted) if muted else text)

    def stop(self) -> None:
        self._start_at = 0.0
        if self.bridge.owns(self):
            self.bridge.stop()

    def seek_quarters(self, quarters: float) -> None:
        seconds = self._seconds(quarters)
        if self.bridge.state_of(self) == STOPPED:
            self._start_at = seconds
            if self.roll is not None:
                self.roll.set_cursor_seconds(seconds)
        else:
            self.bridge.seek(self, seconds)

    def export_audio(self, path: Optional[str | Path] = None) -> Optional[Worker]:
        """Render the text to a WAV in the background (asks where, unless ``path`` is given)."""
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Export audio", str(self.context.workspace.root / "piece.wav"), "WAV audio (*.wav)"
            )
            if not chosen:
                return None
            path = chosen if chosen.lower().endswith(".wav") else chosen + ".wav"
        if self._export is not None and self._export.is_running():
            self.context.say("An audio export is already running.")
            return None
        try:
            source = self.playable_midi()  # the mix Play plays: muted parts stay out of the file too
        except JobError as exc:
            self._fail(str(exc))
            return None
        self.export_button.setEnabled(False)
        worker = Worker(render_audio, source, Path(path), soundfont=self.bridge.soundfont)
        worker.finished.connect(lambda written: self.context.say(f"Wrote audio to {written}"))
        worker.failed.connect(lambda message, _details: self._fail(message))
        worker.done.connect(lambda: self.export_button.setEnabled(True))
        self._export = worker
        worker.start()
        return worker

    # -- internals ----------------------------------------------------------------------------
    def _seconds(self, quarters: float) -> float:
        if self.roll is not None and self.roll.parsed is not None:
            return TempoMap.from_marks(self.roll.parsed.tempos).seconds_at(quarters)
        return (self._tempo_map or TempoMap.from_marks([])).seconds_at(quarters)

    def _apply_loop(self) -> None:
        selection = self.roll.selection if self.roll is not None else None
        if not self.bridge.owns(self):
            return
        try:
            if self.loop_box.isChecked() and selection is not None:
                self.bridge.set_loop(self, self._seconds(selection[0]), self._seconds(selection[1]))
            else:
                self.bridge.set_loop(self, None)
        except JobError as exc:
            self._fail(str(exc))

    def _fail(self, message: str) -> None:
        self.last_error = message
        self.setToolTip(message)
        self.context.say(message)

    def _show(self, state: str) -> None:
        playing = state == PLAYING
        self.play_button.setText("Pause" if playing else "Play")
        pause = self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause)
        self.play_button.setIcon(pause if playing else resources.icon("play"))
        self.stop_button.setEnabled(state != STOPPED)

    def _on_state(self, owner: object, state: str) -> None:
        if owner is not self:
            return
        self._show(state)
        if state == STOPPED:
            self._start_at = 0.0
            if self.roll is not None:
                self.roll.set_cursor_seconds(None)

    def _on_position(self, owner: object, seconds: float) -> None:
        if owner is self:
            self._heard_at = seconds
        if owner is self and self.roll is not None and self.bridge.state_of(self) != STOPPED:
            self.roll.set_cursor_seconds(seconds)

    def _remix(self) -> None:
        """A part muted or soloed while playing: go on from the same place without it (or with it again)."""
        state = self.bridge.state_of(self)
        if state == STOPPED:
            return
        at = self._heard_at
        self.play()
        self.bridge.seek(self, at)
        if state == PAUSED:
            self.bridge.pause()
