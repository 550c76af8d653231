"""The count-in and the metronome: wood-block clicks on the drum channel of any port (the built-in synth).

One thread sends each click when its time comes against ``time.monotonic``, as the Player does;
bar 1's downbeat (after the count-in) is the recording's origin, so what is played lines up with
the clicks that were heard.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional

import mido

from musicgpt_gui.core.midi.playback import try_realtime
from musicgpt_gui.core.music.general_midi import DRUM_CHANNEL

ACCENT, CLICK = 76, 77  # General MIDI hi and low wood block
ACCENT_VELOCITY, CLICK_VELOCITY = 120, 85
CLICK_LENGTH = 0.05  # seconds
START_MARGIN = 0.05  # seconds from start() to the first click: room for the thread to wake


def meter_of(text: str) -> tuple[int, int]:
    """'3/4' -> (3, 4); a clear error for anything else."""
    try:
        top, bottom = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"a meter is like 4/4 or 6/8, not {text!r}") from None
    if not 1 <= top <= 32 or bottom not in (1, 2, 4, 8, 16, 32):
        raise ValueError(f"a meter is like 4/4 or 6/8, not {text!r}")
    return top, bottom


class Metronome:
    """Clicks one per beat (the meter's denominator) on ``port``; the first beat of each bar accented.

    ``on_beat(bar, beat)`` runs on the metronome thread as each click sounds (bar 0 is the count-in,
    negative bars before it); nothing is sent when ``port`` is None (a silent clock).
    """

    def __init__(
        self,
        port,
        tempo: float,
        meter: tuple[int, int] = (4, 4),
        *,
        on_beat: Optional[Callable[[int, int], None]] = None,
    ) -> None:
        self._port = port
        self.tempo, self.meter = float(tempo), meter
        self._on_beat = on_beat or (lambda _bar, _beat: None)
        self._halt = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.origin: Optional[float] = None

    @property
    def beat(self) -> float:
        """Seconds per click (one beat of the meter)."""
        return 60.0 / self.tempo * 4 / self.meter[1]

    @property
    def bar(self) -> float:
        return self.beat * self.meter[0]

    def start(self, count_in_bars: int = 1, at: Optional[float] = None) -> float:
        """Start clicking; returns the clock time of bar 1's downbeat (after ``count_in_bars``)."""
        self.stop()
        first = (time.monotonic() + START_MARGIN) if at is None else at
        self.origin = first + count_in_bars * self.bar
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._halt, first, count_in_bars),
                                        name="metronome", daemon=True)
        self._thread.start()
        return self.origin

    def stop(self) -> None:
        self._halt.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self, halt: threading.Event, first: float, count_in: int) -> None:
        try_realtime()
        beats = 0
        while not halt.is_set():
            due = first + beats * self.beat
            wait = due - time.monotonic()
            if wait > 0:
                halt.wait(wait)
                continue
            bar, beat = divmod(beats, self.meter[0])
            if self._port is not None:
                note = ACCENT if beat == 0 else CLICK
                velocity = ACCENT_VELOCITY if beat == 0 else CLICK_VELOCITY
                self._port.send(mido.Message("note_on", channel=DRUM_CHANNEL, note=note, velocity=velocity))
            self._on_beat(bar - count_in + 1, beat + 1)
            if self._port is not None:
                halt.wait(CLICK_LENGTH)
                self._port.send(mido.Message("note_off", channel=DRUM_CHANNEL, note=note, velocity=0))
            beats += 1
