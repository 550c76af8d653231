"""Qt side of playback: turns the core Player's hooks into signals, owns the output.

One bridge per window: every transport shares the chosen output, and starting a piece from
one tab stops whatever another tab was playing.  The output is the built-in SoundFont synth
(on the sound card through :mod:`audio_output`) unless a MIDI port was chosen.  It opens on
first Play, so a machine without audio or MIDI only hears about it when the user asks for sound.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import mido
from PySide6.QtCore import QObject, QSettings, Signal

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.midi import midi_io, midi_ports, soundfont
from musicgpt_gui.core.midi.playback import PLAYING, STOPPED, Player
from musicgpt_gui.core.midi.synth import SoundFontSynth, load_synth
from musicgpt_gui.ui.signals import emit
from musicgpt_gui.ui.worker import Worker

BUILTIN_LABEL = "Built-in synth (SoundFont)"
MIDI_VOLUME = 7


def load_choice(settings: QSettings) -> midi_ports.PortChoice:
    api = str(settings.value("midi/api", midi_ports.BUILTIN_SYNTH))
    if api != midi_ports.BUILTIN_SYNTH and api not in midi_ports.APIS:
        api = midi_ports.BUILTIN_SYNTH
    port = settings.value("midi/port") or None
    virtual = settings.value("midi/virtual") or None
    return midi_ports.PortChoice(api=api, port=port, virtual=virtual)


def save_choice(settings: QSettings, choice: midi_ports.PortChoice) -> None:
    settings.setValue("midi/api", choice.api)
    settings.setValue("midi/port", choice.port or "")
    settings.setValue("midi/virtual", choice.virtual or "")


def describe(choice: midi_ports.PortChoice) -> str:
    if choice.api == midi_ports.BUILTIN_SYNTH:
        return BUILTIN_LABEL
    if choice.virtual:
        return f"{choice.api}: virtual port '{choice.virtual}'"
    return f"{choice.api}: {choice.port or 'first available port'}"


class PlaybackBridge(QObject):
    position = Signal(object, float)  # owner, seconds (as heard: the output's latency is taken off)
    state = Signal(object, str)  # owner, stopped|playing|paused

    def __init__(self, settings: QSettings, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.choice = load_choice(settings)
        self.soundfont: Optional[Path] = soundfont.load_choice_value(settings.value("audio/soundfont") or None)
        self.volume = 1.0
        self.owner: Optional[object] = None
        self._port = None
        self._audio = None
        self._player: Optional[Player] = None
        self._loaded: Optional[SoundFontSynth] = None  # a synth chosen and loaded, not yet playing
        self._preloading = None  # the worker loading a remembered SoundFont

    def preload(self, say: Callable[[str], None]) -> None:
        """Load a remembered SoundFont in a worker, so the first Play does not stop the GUI for it
        (a full General MIDI font takes most of a second); a font that went missing is said, not raised."""
        if self.soundfont is None or self.choice.api != midi_ports.BUILTIN_SYNTH or self._loaded is not None:
            return
        wanted = self.soundfont
        worker = Worker(load_synth, wanted)
        worker.finished.connect(lambda synth: self._keep_preloaded(synth, wanted))
        worker.failed.connect(lambda message, _details: say(message))
        self._preloading = worker
        worker.start()

    def _keep_preloaded(self, synth: SoundFontSynth, wanted: Path) -> None:
        if self.soundfont == wanted and self._loaded is None and self._player is None:
            self._loaded = synth

    # -- choices ------------------------------------------------------------------------------
    def set_choice(self, choice: midi_ports.PortChoice) -> None:
        """Remember the output; the next Play opens it."""
        if choice != self.choice:
            self.close()
            self.choice = choice
        save_choice(self.settings, choice)

    def use_synth(self, synth: SoundFontSynth) -> Path:
        """Use and remember the SoundFont ``synth`` has loaded (core ``load_synth``, run by a worker);
        the next Play on the built-in synth plays through it instead of loading the file again."""
        self.close()
        self.soundfont = synth.soundfont
        self._loaded = synth
        self.settings.setValue("audio/soundfont", str(synth.soundfont))
        return synth.soundfont

    # -- transport ----------------------------------------------------------------------------
    def play_text(self, owner: object, text: str) -> None:
        """Play ``text`` from its start; raises JobError (no device, no notes, ...) with a plain message."""
        midi = midi_io.render_midi(text)
        self.play_midi(owner, midi)

    @property
    def clock(self) -> bool:
        """Send MIDI clock and start/stop on a MIDI port while playing (remembered; never to the built-in synth)."""
        return str(self.settings.value("midi/clock", "false")).lower() == "true"

    def set_clock(self, on: bool) -> None:
        self.settings.setValue("midi/clock", "true" if on else "false")

    def play_midi(self, owner: object, midi: mido.MidiFile) -> None:
        player = self._ensure_player()
        self.stop()
        player.clock = self.clock and self.choice.api != midi_ports.BUILTIN_SYNTH
        player.set_loop(None)
        self.owner = owner
        player.load(midi)
        player.play()

    def pause(self) -> None:
        if self._player is not None:
            self._player.pause()

    def resume(self) -> None:
        if self._player is not None:
            self._player.resume()

    def stop(self) -> None:
        if self._player is not None and self._player.state != STOPPED:
            self._player.stop()

    def seek(self, owner: object, seconds: float) -> None:
        if self.owns(owner):
            self._player.seek(seconds)

    def set_loop(self, owner: object, start: Optional[float], end: Optional[float] = None) -> None:
        """Loop ``start``..``end`` seconds of the owner's piece (None: no loop); JobError if too short."""
        if not self.owns(owner):
            return
        try:
            self._player.set_loop(start, end)
        except ValueError as exc:
            raise JobError(f"Cannot loop that selection: {exc}.") from None

    def set_volume(self, volume: float) -> None:
        """0..1: the synth's gain, or channel volume (CC 7) on a MIDI port."""
        self.volume = min(max(float(volume), 0.0), 1.0)
        if isinstance(self._port, SoundFontSynth):
            self._port.volume = self.volume
        elif self._port is not None:
            for channel in range(16):
                self._port.send(
                    mido.Message("control_change", channel=channel, control=MIDI_VOLUME, value=round(127 * self.volume))
                )

    def live_output(self, owner: object):
        """The current output, opened if needed and silent, for the metronome and the jam's answers
        (``owner`` takes it from any player); raises JobError (no device) with a plain message."""
        player = self._ensure_player()
        self.stop()
        player.load(mido.MidiFile())
        self.owner = owner
        return self._port

    def owns(self, owner: object) -> bool:
        return self.owner is owner and self._player is not None

    def state_of(self, owner: object) -> str:
        return self._player.state if self.owns(owner) else STOPPED

    def is_playing(self, owner: object) -> bool:
        return self.state_of(owner) == PLAYING

    @property
    def length(self) -> float:
        return self._player.length if self._player is not None else 0.0

    def close(self) -> None:
        """Silence and release the output (window closing, or another output chosen)."""
        if self._player is not None:
            self._player.close()
            self._player = None
        if self._audio is not None:
            self._audio.close()
            self._audio = None
        if self._port is not None:
            self._port.close()
            self._port = None

    # -- internals ----------------------------------------------------------------------------
    def _open_output(self):
        if self.choice.api == midi_ports.BUILTIN_SYNTH:
            from musicgpt_gui.ui.audio_output import AudioOutput  # QtMultimedia loads on first Play only

            synth = self._synth()
            synth.volume = self.volume
            self._audio = AudioOutput(synth)
            return synth
        try:
            return midi_ports.open_output(self.choice)
        except OSError as exc:  # rtmidi errors that slipped past the core's checks
            raise JobError(f"Cannot open the MIDI output ({exc}).") from None

    def _synth(self) -> SoundFontSynth:
        """The synth chosen and loaded already, if it holds the current font; else one loaded now."""
        loaded, self._loaded = self._loaded, None
        return loaded if loaded is not None and loaded.soundfont == self.soundfont else SoundFontSynth(self.soundfont)

    def _ensure_player(self) -> Player:
        if self._player is None:
            self._port = self._open_output()
            latency = self._audio.latency if self._audio is not None else 0.0
            self._player = Player(
                self._port,
                on_position=lambda s: emit(self.position, self.owner, max(0.0, float(s) - latency)),
                on_state=lambda s: emit(self.state, self.owner, s),
            )
        return self._player
