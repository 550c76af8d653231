"""What a musician plays, as notes in seconds: the :class:`Recorder` takes MIDI messages off the GUI thread.

The input's pump thread calls :meth:`Recorder.feed` with each message and its time, taken from rtmidi's
own stamps (``midi_ports.InputPort``), so a busy GIL or GUI does not move the notes.
``feed`` only pairs note-ons with note-offs under a lock and calls the listener: no note is lost
between its note-on and its note-off, a key struck again while it sounds ends the held note (the
import's rule), the sustain pedal holds released keys until it lifts, and :meth:`Recorder.stop`
closes every note still held at the stop.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Optional

import mido

SUSTAIN = 64
PEDAL_DOWN = 64  # MIDI: a sustain value of 64 or more holds


@dataclass(frozen=True)
class RecordedNote:
    """One played note; times in seconds from the recording's origin (bar 1's downbeat, after the count-in)."""

    onset: float
    end: Optional[float]  # None while the key is held
    pitch: int
    velocity: int
    channel: int = 0
    program: int = 0


@dataclass
class Take:
    """A finished recording at its tempo and meter; ``length`` runs from the origin to the stop."""

    notes: list[RecordedNote]
    tempo: float
    meter: tuple[int, int] = (4, 4)
    length: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def beat(self) -> float:
        """Seconds per quarter note."""
        return 60.0 / self.tempo

    @property
    def bar(self) -> float:
        """Seconds per bar."""
        return self.meter[0] * 4 / self.meter[1] * self.beat


NoteListener = Callable[[RecordedNote], None]


class Recorder:
    """Pairs incoming note messages into :class:`RecordedNote` s, thread-safely.

    ``on_note(note)`` runs on the input thread at each note-on (``note.end`` is None) and each
    note-off (the finished note): a GUI turns it into a signal, nothing more.
    """

    def __init__(
        self,
        tempo: float,
        meter: tuple[int, int] = (4, 4),
        *,
        on_note: Optional[NoteListener] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 20 <= tempo <= 400:
            raise ValueError(f"tempo must be between 20 and 400 bpm, not {tempo}")
        self.tempo, self.meter = float(tempo), tuple(meter)
        self._clock = clock
        self._on_note = on_note or (lambda _n: None)
        self._lock = threading.Lock()
        self._origin: Optional[float] = None
        self._held: dict[tuple[int, int], RecordedNote] = {}
        self._pedalled: dict[tuple[int, int], RecordedNote] = {}  # released while the pedal was down
        self._pedal: set[int] = set()
        self._program: dict[int, int] = {}
        self._done: list[RecordedNote] = []
        self._last_event = 0.0  # clock time of the latest note-on or note-off
        self._revision = 0  # counts every message that changed what a take would hold
        self.end_key: Optional[int] = None  # a key that ends the phrase (not recorded)
        self.end_pedal: Optional[int] = None  # a controller (pedal) that ends the phrase when pressed
        self._ended: Optional[float] = None  # clock time the key or pedal ended the phrase

    # -- the input thread ---------------------------------------------------------------------------
    def feed(self, msg: mido.Message, when: Optional[float] = None) -> None:
        """Take one message (time stamped now unless ``when``, a clock time, is given)."""
        when = self._clock() if when is None else when
        kind = msg.type
        if kind not in ("note_on", "note_off", "control_change", "program_change"):
            return
        with self._lock:
            if self._origin is None:
                return
            at = when - self._origin
            if self._is_end(msg):  # swallowed: the end key or pedal is not music
                pressed = msg.value >= PEDAL_DOWN if kind == "control_change" else kind == "note_on" and msg.velocity
                if pressed:
                    self._ended = when
                return
            if kind != "control_change" or msg.control == SUSTAIN:  # other controllers are not in a take
                self._revision += 1
            if kind == "program_change":
                self._program[msg.channel] = msg.program
            elif kind == "control_change":
                if msg.control == SUSTAIN:
                    self._sustain(msg.channel, msg.value >= PEDAL_DOWN, at)
            elif kind == "note_on" and msg.velocity > 0:
                self._last_event = when
                key = (msg.channel, msg.note)
                for holder in (self._held, self._pedalled):
                    if key in holder:  # the key struck again: the sounding note ends here
                        self._finish(holder.pop(key), at)
                note = RecordedNote(at, None, msg.note, msg.velocity, msg.channel, self._program.get(msg.channel, 0))
                self._held[key] = note
                self._on_note(note)
            else:
                self._last_event = when
                note = self._held.pop((msg.channel, msg.note), None)
                if note is None:
                    return  # a release without its press (pressed before the recording began)
                if msg.channel in self._pedal:
                    self._pedalled[(msg.channel, msg.note)] = note
                else:
                    self._finish(note, at)

    # -- the controlling thread ---------------------------------------------------------------------
    def start(self, origin: Optional[float] = None) -> None:
        """Begin recording; times count from ``origin`` (a clock time, by default now)."""
        with self._lock:
            self._origin = self._clock() if origin is None else origin
            self._held.clear()
            self._pedalled.clear()
            self._pedal.clear()
            self._done = []
            self._last_event = self._origin

    @property
    def origin(self) -> Optional[float]:
        return self._origin

    @property
    def recording(self) -> bool:
        return self._origin is not None

    def sounding(self) -> int:
        """How many notes sound now (held keys and keys the pedal holds)."""
        with self._lock:
            return len(self._held) + len(self._pedalled)

    def silent_since(self) -> Optional[float]:
        """The clock time since which nothing sounds; None while something does."""
        with self._lock:
            return None if self._held or self._pedalled else self._last_event

    def last_event(self) -> float:
        """The clock time of the latest note-on or note-off (the start, before any)."""
        with self._lock:
            return self._last_event

    def revision(self) -> int:
        """Grows with every note, pedal or program message taken: an unchanged revision means an unchanged take
        (what an answer decoded ahead checks before it may play)."""
        with self._lock:
            return self._revision

    def count(self) -> int:
        """Notes begun so far."""
        with self._lock:
            return len(self._done) + len(self._held) + len(self._pedalled)

    def cut(self, at: Optional[float] = None, forget_held: bool = False) -> Take:
        """The notes so far (times from the origin) as a take up to ``at`` (a clock time), and go on
        recording: the call of a call and response.  Held notes are closed in the take; they go on
        sounding unless ``forget_held`` (a note-off lost on the way must not hold a note for ever)."""
        take = self._take(at, clear=True)
        if forget_held:
            with self._lock:
                self._held.clear()
                self._pedalled.clear()
        return take

    def peek(self, at: Optional[float] = None) -> Take:
        """What :meth:`cut` would return, keeping the notes (an answer decoded ahead may yet be dropped)."""
        return self._take(at, clear=False)

    def _take(self, at: Optional[float], clear: bool) -> Take:
        with self._lock:
            if self._origin is None:
                raise RuntimeError("the recorder was not started")
            end = (self._clock() if at is None else at) - self._origin
            sounding = [*self._held.values(), *self._pedalled.values()]
            notes = sorted([*self._done, *(replace(n, end=max(end, n.onset)) for n in sounding)],
                           key=lambda n: (n.onset, n.pitch))
            if clear:
                self._done = []
        return Take(notes, self.tempo, self.meter, end)

    def stop(self, at: Optional[float] = None) -> Take:
        """Stop recording; notes still held (or pedalled) end at the stop, so none is left open."""
        take = self.cut(at)
        with self._lock:
            self._origin = None
            self._held.clear()
            self._pedalled.clear()
        return take

    def take_end(self) -> Optional[float]:
        """The clock time the end key or pedal was pressed since the last call, else None."""
        with self._lock:
            ended, self._ended = self._ended, None
        return ended

    # -- internals (lock held) ----------------------------------------------------------------------
    def _is_end(self, msg: mido.Message) -> bool:
        if msg.type in ("note_on", "note_off"):
            return msg.note == self.end_key
        if msg.type == "control_change":
            return msg.control == self.end_pedal
        return False

    def _sustain(self, channel: int, down: bool, at: float) -> None:
        if down:
            self._pedal.add(channel)
            return
        self._pedal.discard(channel)
        for key in [k for k in self._pedalled if k[0] == channel]:
            self._finish(self._pedalled.pop(key), at)

    def _finish(self, note: RecordedNote, at: float) -> None:
        done = replace(note, end=max(at, note.onset))
        self._done.append(done)
        self._on_note(done)
