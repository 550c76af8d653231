"""Play note text while it is being decoded: the model's answer starts as soon as its first item exists.

:meth:`AnswerStream.feed` takes the text decoded so far (on the decoding thread); every complete item
is parsed with the one note-text parser and its notes are queued on the session's tempo from the
answer's start.  A sender thread sends each message when its time comes (``time.monotonic``, real-time
priority where allowed), so onsets follow the tempo however the decoding keeps pace.  The answer's start
is the first point of the session's grid after its first item is ready: the answer stays on the grid
the musician played to.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import time
from fractions import Fraction
from typing import Callable, Optional

import mido

from musicgpt_gui.core.midi.playback import try_realtime
from musicgpt_gui.core.music.notation import NoteEvent, parse_text

SEND_MARGIN = 0.002  # seconds between an item being ready and the earliest it may sound


class AnswerStream:
    """Schedules the notes of growing note text on ``port`` (channel 0), up to ``limit`` quarters.

    ``clock_origin``/``grid_seconds``: the session's grid (its bar 1 and one grid step), on which the
    answer starts.  ``on_send(when, msg)`` runs on the sender thread after each message goes out.
    """

    def __init__(
        self,
        port,
        tempo: float,
        limit: Fraction,
        *,
        clock_origin: float,
        grid_seconds: float,
        on_send: Optional[Callable[[float, mido.Message], None]] = None,
        clock: Callable[[], float] = time.monotonic,
        start_at: Optional[float] = None,
    ) -> None:
        self._port, self._beat, self._limit = port, 60.0 / tempo, Fraction(limit)
        self._grid_origin, self._grid = clock_origin, grid_seconds
        self._start_at = start_at  # decoded ahead: the answer starts no earlier than this (the phrase's end)
        self._sounding: set[int] = set()  # pitches whose note-on went out
        self._on_send = on_send or (lambda _w, _m: None)
        self._clock = clock
        self._queue: list[tuple[float, int, mido.Message]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._parsed_upto = 0  # characters of the text whose items are scheduled
        self._notes = 0  # notes scheduled so far
        self.start: Optional[float] = None  # clock time of the answer's quarter 0
        self.first_note: Optional[float] = None  # clock time the first note-on was sent
        self.items: list[str] = []  # complete items, in the order decoded
        self.full = False  # the limit was reached: decoding may stop
        self.decoded = Fraction(0)  # quarters of complete items so far
        self._thread = threading.Thread(target=self._run, name="answer-sender", daemon=True)
        self._thread.start()

    def feed(self, text: str) -> bool:
        """Schedule the complete items of ``text`` (all the text decoded so far); False once it is long enough."""
        cut = text.rfind(",")
        if cut < self._parsed_upto or self.full:
            return not self.full
        complete = text[:cut]
        self._parsed_upto = cut + 1
        self._schedule(complete)
        return not self.full

    def finish(self, text: str) -> None:
        """The decoding ended: schedule what remains of ``text`` (its last item is complete too)."""
        if not self.full:
            self.feed(text.rstrip().rstrip(",") + ",")
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Until every scheduled message was sent (after :meth:`finish`)."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self) -> None:
        """Drop what is not sent yet and silence the notes that sound (an answer decoded ahead and
        dropped before its start sends nothing)."""
        with self._cond:
            self._queue.clear()
            self._closed = True
            self._cond.notify_all()
        self._thread.join()
        for pitch in sorted(self._sounding):
            self._port.send(mido.Message("note_off", note=pitch, velocity=0))
        self._sounding.clear()

    @property
    def length(self) -> Fraction:
        return self._limit

    # -- internals -------------------------------------------------------------------------------
    def _schedule(self, complete: str) -> None:
        parsed = parse_text(complete)
        if self.start is None and parsed.items:
            ready = max(self._clock() + SEND_MARGIN, self._start_at or 0.0)
            steps = math.ceil((ready - self._grid_origin) / self._grid) if self._grid > 0 else 0
            self.start = max(ready, self._grid_origin + steps * self._grid)
        self.items, self.decoded = parsed.items, parsed.length
        if parsed.length >= self._limit:
            self.full = True
            while len(self.items) > 1 and parse_text(", ".join(self.items[:-1])).length >= self._limit:
                self.items = self.items[:-1]  # the answer's text ends with the item that reaches the limit
        fresh: list[NoteEvent] = parsed.notes[self._notes :]
        self._notes = len(parsed.notes)
        with self._cond:
            for note in fresh:
                if note.onset >= self._limit:
                    continue
                end = min(note.onset + note.duration, self._limit)
                on = self.start + float(note.onset) * self._beat
                off = self.start + float(end) * self._beat
                velocity = max(1, min(127, note.velocity))
                self._push(on, mido.Message("note_on", note=note.pitch, velocity=velocity))
                self._push(off, mido.Message("note_off", note=note.pitch, velocity=0))
            self._cond.notify_all()

    def _push(self, when: float, msg: mido.Message) -> None:
        # note-offs first at equal times, so a repeated pitch is released before it sounds again
        heapq.heappush(self._queue, (when, 0 if msg.type == "note_off" else 1, next(self._order), msg))

    def _run(self) -> None:
        try_realtime()
        while True:
            with self._cond:
                while True:
                    if self._queue:
                        wait = self._queue[0][0] - self._clock()
                        if wait <= 0:
                            _, _, _, msg = heapq.heappop(self._queue)
                            break
                        self._cond.wait(wait)
                    elif self._closed:
                        return
                    else:
                        self._cond.wait()
            self._port.send(msg)
            now = self._clock()
            if msg.type == "note_on":
                self._sounding.add(msg.note)
                if self.first_note is None:
                    self.first_note = now
            else:
                self._sounding.discard(msg.note)
            self._on_send(now, msg)
