"""A pure-Python MIDI player: one scheduling thread against ``time.monotonic``.

The GUI turns the hooks into Qt signals; the CLI just waits.  Stop, pause and seek silence
the output (explicit note-offs for sounding notes, then all-notes-off) so nothing hangs.
With ``clock=True`` it also sends MIDI clock (24 per quarter note, following the tempo map) and
start / stop / continue with the song position, so a DAW or a drum machine follows.
"""
from __future__ import annotations

import bisect
import os
import threading
import time
from collections import Counter
from typing import Callable, Optional

import mido

STOPPED, PLAYING, PAUSED = "stopped", "playing", "paused"
REALTIME_PRIORITY = 1  # the lowest real-time priority: above ordinary processes, below JACK's threads
POSITION_INTERVAL = 1 / 30  # seconds between position reports: enough for a cursor
ALL_NOTES_OFF, SUSTAIN = 123, 64
MIN_LOOP = 0.05  # seconds: shorter loops would only stutter
CLOCKS_PER_QUARTER = 24  # MIDI beat clock
CLOCKS_PER_SONG_STEP = 6  # the song position pointer counts sixteenth notes
TIME_EPSILON = 1e-6  # mido's summed float times land a hair before the beat they mean


class Player:
    """Plays a :class:`mido.MidiFile` on an open output port (anything with ``send(msg)``).

    Hooks run on the player thread (position, finish) or the caller's thread (control calls):
    ``on_position(seconds)`` at most every ``position_interval``; ``on_state(state)`` on changes.
    """

    def __init__(
        self,
        port,
        *,
        on_position: Optional[Callable[[float], None]] = None,
        on_state: Optional[Callable[[str], None]] = None,
        position_interval: float = POSITION_INTERVAL,
        clock: bool = False,
    ) -> None:
        self._port = port
        self.clock = clock  # send MIDI clock and start/stop (read by load(), so set it before)
        self._on_position = on_position or (lambda _s: None)
        self._on_state = on_state or (lambda _s: None)
        self._interval = position_interval
        self._lock = threading.RLock()
        self._times: list[float] = []
        self._messages: list[mido.Message] = []
        self._channels: set[int] = set()
        self._length = 0.0
        self._state = STOPPED
        self._position = 0.0
        self._origin = 0.0
        self._thread: Optional[threading.Thread] = None
        self._halt = threading.Event()
        self._done = threading.Event()
        self._done.set()
        self._sounding: Counter[tuple[int, int]] = Counter()
        self._loop: Optional[tuple[float, float]] = None
        self._clock_times: list[float] = []  # seconds of each clock message of the loaded piece

    # -- loading and state ------------------------------------------------------------------
    def load(self, midi: mido.MidiFile) -> None:
        """Stop whatever plays and take ``midi``'s channel messages on an absolute timeline."""
        with self._lock:
            self.stop()
            now = 0.0
            times, messages = [], []
            for msg in with_clock(midi) if self.clock else midi:  # mido merges tracks, ticks -> seconds
                now += msg.time
                if not msg.is_meta:
                    times.append(now)
                    messages.append(msg.copy(time=0))
            self._times, self._messages = times, messages
            self._channels = {m.channel for m in messages if hasattr(m, "channel")}
            self._clock_times = [t for t, m in zip(times, messages) if m.type == "clock"]
            self._length = max(now, times[-1] if times else 0.0)
            self._position = 0.0

    @property
    def length(self) -> float:
        return self._length

    @property
    def state(self) -> str:
        return self._state

    @property
    def position(self) -> float:
        """Seconds from the start of the piece."""
        if self._state == PLAYING:
            return min(max(time.monotonic() - self._origin, 0.0), self._length)
        return self._position

    # -- control ------------------------------------------------------------------------------
    def play(self) -> None:
        """Start from the current position (0 after stop), or resume when paused."""
        with self._lock:
            if self._state != PLAYING:
                self._start(self._position)

    def resume(self) -> None:
        with self._lock:
            if self._state == PAUSED:
                self._start(self._position)

    def pause(self) -> None:
        with self._lock:
            if self._state == PLAYING:
                position = self.position
                self._stop_thread()
                self._position = position
                self._set_state(PAUSED)
                self._on_position(position)

    def stop(self) -> None:
        """Silence, go back to the start and report it."""
        with self._lock:
            self._position = 0.0
            if self._state != STOPPED:
                self._stop_thread()
                self._set_state(STOPPED)
                self._on_position(0.0)
            self._done.set()

    def seek(self, seconds: float) -> None:
        """Move to ``seconds``; playback, if running, goes on from there."""
        with self._lock:
            target = min(max(float(seconds), 0.0), self._length)
            if self._state == PLAYING:
                self._stop_thread()
                self._start(target)
            else:
                self._position = target
            self._on_position(target)

    def set_loop(self, start: Optional[float], end: Optional[float] = None) -> None:
        """Repeat ``start``..``end`` seconds while playing (``None`` ends the loop); a short loop is refused."""
        with self._lock:
            if start is None or end is None:
                self._loop = None
                return
            start, end = max(0.0, float(start)), min(float(end), self._length)
            if end - start < MIN_LOOP:
                raise ValueError(f"a loop needs at least {MIN_LOOP} s (got {start:.3f}..{end:.3f})")
            self._loop = (start, end)

    @property
    def loop(self) -> Optional[tuple[float, float]]:
        return self._loop

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until the piece ends or is stopped; False on timeout (also while paused)."""
        return self._done.wait(timeout)

    def close(self) -> None:
        """Stop and silence; the port stays open (its owner closes it)."""
        self.stop()

    # -- internals ----------------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        self._state = state
        self._on_state(state)

    def _start(self, position: float) -> None:
        self._halt = threading.Event()
        self._done.clear()
        index = bisect.bisect_left(self._times, position)
        self._chase(index)
        self._clock_from(position)
        self._origin = time.monotonic() - position
        self._state = PLAYING
        self._thread = threading.Thread(target=self._run, args=(self._halt, index), name="midi-player", daemon=True)
        self._thread.start()
        self._on_state(PLAYING)

    def _chase(self, index: int) -> None:
        """Before starting mid-piece, resend the latest program/controller/bend of each channel."""
        latest: dict[tuple, mido.Message] = {}
        for msg in self._messages[:index]:
            if msg.type == "program_change":
                latest[(msg.channel, "program")] = msg
            elif msg.type == "control_change":
                latest[(msg.channel, "cc", msg.control)] = msg
            elif msg.type == "pitchwheel":
                latest[(msg.channel, "bend")] = msg
        for msg in latest.values():
            self._port.send(msg)

    def _clock_from(self, position: float) -> None:
        """With the clock on: the song position (in sixteenths) of ``position`` seconds, then start or continue."""
        if not self._clock_times:
            return
        clocks = bisect.bisect_left(self._clock_times, position - TIME_EPSILON)
        self._port.send(mido.Message("songpos", pos=min(clocks // CLOCKS_PER_SONG_STEP, 16383)))
        self._port.send(mido.Message("start" if clocks == 0 else "continue"))

    def _stop_thread(self) -> None:
        """End the scheduling thread (if any), then silence what it left sounding."""
        thread = self._thread
        self._halt.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._thread = None
        self._silence()

    def _silence(self) -> None:
        if self._clock_times:
            self._port.send(mido.Message("stop"))
        for (channel, note), count in sorted(self._sounding.items()):
            for _ in range(count):
                self._port.send(mido.Message("note_off", channel=channel, note=note, velocity=0))
        self._sounding.clear()
        for channel in sorted(self._channels):
            self._port.send(mido.Message("control_change", channel=channel, control=SUSTAIN, value=0))
            self._port.send(mido.Message("control_change", channel=channel, control=ALL_NOTES_OFF, value=0))

    def _run(self, halt: threading.Event, index: int) -> None:
        try_realtime()
        times, messages, origin = self._times, self._messages, self._origin
        next_report = 0.0
        while not halt.is_set():
            now = time.monotonic()
            loop = self._loop
            if loop is not None and now - origin >= loop[1]:
                self._silence()  # jump back: what sounded at the loop's end stops there
                origin = self._origin = now - loop[0]
                index = bisect.bisect_left(times, loop[0] - TIME_EPSILON)
                self._chase(index)
                self._clock_from(loop[0])
                continue
            end = origin + (loop[1] if loop is not None else self._length)
            if now >= next_report:
                self._on_position(min(now - origin, self._length))
                next_report = now + self._interval
            due = min(origin + times[index], end) if index < len(messages) else end
            if now < due:
                # A timed wait, not a spin: a sleeper woken by its timer is scheduled promptly,
                # a thread that yields in a loop queues behind every busy process.
                halt.wait(min(due, next_report) - now)
                continue
            if index >= len(messages) and loop is None:
                self._finish()
                return
            while index < len(messages) and _due(origin + times[index], now, end, loop) and not halt.is_set():
                self._send(messages[index])
                index += 1

    def _send(self, msg: mido.Message) -> None:
        self._port.send(msg)
        if msg.type == "note_on" and msg.velocity > 0:
            self._sounding[(msg.channel, msg.note)] += 1
        elif msg.type in ("note_on", "note_off"):
            key = (msg.channel, msg.note)
            if self._sounding[key] > 1:
                self._sounding[key] -= 1
            else:
                self._sounding.pop(key, None)

    def _finish(self) -> None:
        """Natural end: report the end, then rewind so play() starts over (even from a hook)."""
        if self._clock_times:
            self._port.send(mido.Message("stop"))
        self._on_position(self._length)
        self._thread = None
        self._position = 0.0
        self._done.set()
        self._set_state(STOPPED)


def with_clock(midi: mido.MidiFile) -> mido.MidiFile:
    """``midi`` plus a track of clock messages, 24 per quarter note from 0 to its end (mido follows the tempo map)."""
    tpb = midi.ticks_per_beat
    end = max((sum(m.time for m in track) for track in midi.tracks), default=0)
    track, previous = mido.MidiTrack(), 0
    for k in range(end * CLOCKS_PER_QUARTER // tpb + 1):
        tick = k * tpb // CLOCKS_PER_QUARTER  # exact when tpb is a multiple of 24, else within a tick
        track.append(mido.Message("clock", time=tick - previous))
        previous = tick
    return mido.MidiFile(type=1, ticks_per_beat=tpb, tracks=[*midi.tracks, track])


def _due(when: float, now: float, end: float, loop: Optional[tuple[float, float]]) -> bool:
    """A message is due once its time has come; in a loop, only if it lies before the loop's end."""
    return when <= now and (loop is None or when < end - TIME_EPSILON)


def try_realtime() -> None:
    """Best effort: real-time round-robin scheduling for the calling (player) thread.

    On a busy machine an ordinary thread wakes up to a few milliseconds late; a real-time one
    does not.  Linux allows it with CAP_SYS_NICE or an rtprio limit (the ``audio`` group that
    JACK installs); elsewhere, or without permission, the thread just stays ordinary.
    """
    try:
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(REALTIME_PRIORITY))  # 0: this thread
    except (AttributeError, OSError):
        pass
