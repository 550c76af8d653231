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

from musicgpt_gui.core.midi.playback import CLOCKS_PER_QUARTER, try_realtime
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
    negative bars before it); nothing is sent when ``port`` is None (a silent clock).  ``clock_port``
    also gets MIDI clock from the count-in on, with the song position and start at bar 1 and stop at the end.
    """

    def __init__(
        self,
        port,
        tempo: float,
        meter: tuple[int, int] = (4, 4),
        *,
        on_beat: Optional[Callable[[int, int], None]] = None,
        clock_port=None,
    ) -> None:
        self._port = port
        self._clock_port = clock_port  # MIDI clock (24 per quarter) and start at bar 1 / stop, for a DAW
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
        """One tick per MIDI clock (1/24 quarter): a click on each beat, clock messages when asked."""
        try_realtime()
        per_click = CLOCKS_PER_QUARTER * 4 // self.meter[1]
        step = self.beat / per_click
        downbeat = count_in * self.meter[0] * per_click  # the tick of bar 1, where the clock's start goes
        tick, release, started = 0, None, False
        while not halt.is_set():
            due = first + tick * step
            now = time.monotonic()
            if release is not None and release[0] <= min(due, now):
                self._port.send(release[1])
                release = None
                continue
            if now < due:
                halt.wait(min(due, release[0]) - now if release is not None else due - now)
                continue
            if self._clock_port is not None:
                if tick == downbeat:
                    self._clock_port.send(mido.Message("songpos", pos=0))
                    self._clock_port.send(mido.Message("start"))
                    started = True
                self._clock_port.send(mido.Message("clock"))
            if tick % per_click == 0:
                bar, beat = divmod(tick // per_click, self.meter[0])
                if self._port is not None:
                    note = ACCENT if beat == 0 else CLICK
                    velocity = ACCENT_VELOCITY if beat == 0 else CLICK_VELOCITY
                    self._port.send(mido.Message("note_on", channel=DRUM_CHANNEL, note=note, velocity=velocity))
                    off = mido.Message("note_off", channel=DRUM_CHANNEL, note=note, velocity=0)
                    release = (due + CLICK_LENGTH, off)
                self._on_beat(bar - count_in + 1, beat + 1)
            tick += 1
        if release is not None:
            self._port.send(release[1])
        if started:
            self._clock_port.send(mido.Message("stop"))
