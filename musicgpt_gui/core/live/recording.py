"""One MIDI input, its :class:`Recorder` and a :class:`Metronome`: what the Record button and the jam listen with."""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional

from musicgpt_gui.core.live.metronome import Metronome
from musicgpt_gui.core.live.recorder import NoteListener, Recorder, Take
from musicgpt_gui.core.midi.midi_ports import PortChoice, open_input

DEFAULT_TEMPO = 100.0
DEFAULT_COUNT_IN = 1  # bars


class SharedPort:
    """One output for several sending threads (the metronome and the answer): sends one at a time."""

    def __init__(self, port) -> None:
        self._port = port
        self._lock = threading.Lock()
        self.name = getattr(port, "name", "")

    def send(self, msg) -> None:
        with self._lock:
            self._port.send(msg)


class Recording:
    """Opens ``choice`` at once (a missing device raises ``MidiUnavailable`` with one line); :meth:`start`
    counts in on ``click_port`` (the built-in synth; None: no clicks) and records from bar 1's downbeat;
    ``clock_port`` gets MIDI clock and start/stop (a DAW follows the session)."""

    def __init__(
        self,
        choice: PortChoice,
        tempo: float = DEFAULT_TEMPO,
        meter: tuple[int, int] = (4, 4),
        *,
        click_port=None,
        on_note: Optional[NoteListener] = None,
        on_beat: Optional[Callable[[int, int], None]] = None,
        clock_port=None,
    ) -> None:
        self.recorder = Recorder(tempo, meter, on_note=on_note)
        self.metronome = Metronome(click_port, tempo, meter, on_beat=on_beat, clock_port=clock_port)
        self._port = open_input(choice, self.recorder.feed)
        self.port_name: str = self._port.name
        self.clicks = click_port is not None or clock_port is not None  # the bar lines are heard (or followed)

    def start(self, count_in_bars: int = DEFAULT_COUNT_IN, at: Optional[float] = None) -> float:
        """Count in, then record; returns the clock time of bar 1's downbeat."""
        origin = self.metronome.start(count_in_bars, at)
        self.recorder.start(origin)
        return origin

    def elapsed(self) -> float:
        """Seconds since bar 1's downbeat (negative during the count-in; 0 before the start)."""
        origin = self.recorder.origin
        return 0.0 if origin is None else time.monotonic() - origin

    def stop(self) -> Take:
        """Stop clicking and recording; notes still held end here."""
        self.metronome.stop()
        return self.recorder.stop()

    def close(self) -> None:
        self.metronome.stop()
        self._port.close()
