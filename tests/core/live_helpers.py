"""A test keyboard: a JACK MIDI output (rtmidi) that plays a phrase into a port at given times."""

from __future__ import annotations

import time
import uuid

import rtmidi

from musicgpt_gui.core.midi.midi_ports import JACK_CONNECT_SETTLE

# (onset, length) in quarters, pitch: the phrase the tests play at 100 bpm in 4/4.
PHRASE = [
    (0.0, 1.0, 60),
    (1.0, 0.25, 64),  # staccato: a hold shorter than its step
    (1.5, 0.5, 67),
    (2.0, 1.0, 60),
    (2.0, 1.0, 64),
    (2.0, 1.0, 67),
    (4.0, None, 74),  # still held when the recording stops
]
PHRASE_TEXT = (
    "Piano, tempo=100, meter.TimeSignature 4/4, C4:1.0, E4:0.25, rest:0.25, G4:0.5, C4 E4 G4:1.0, rest:1.0, D5:1.5"
)
STOP_AT = 5.5  # quarters


class Keyboard:
    """Plays note-ons and note-offs into the input port whose name contains ``target``."""

    def __init__(self, target: str) -> None:
        self.out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, f"keys-{uuid.uuid4().hex[:6]}")
        ports = self.out.get_ports()
        matches = [i for i, name in enumerate(ports) if target in name]
        assert len(matches) == 1, (target, ports)
        self.out.open_port(matches[0])
        time.sleep(JACK_CONNECT_SETTLE)

    def play(self, events: list[tuple[float, list[int]]]) -> None:
        """Send each (clock time, message bytes) when its time comes."""
        for when, message in sorted(events, key=lambda e: e[0]):
            delay = when - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.out.send_message(message)

    def close(self) -> None:
        self.out.close_port()
        del self.out


def phrase_events(origin: float, beat: float, jitter, channel: int = 0, velocity: int = 96):
    """The phrase as timed note-on/off bytes from ``origin``; ``jitter()`` seconds move each event.

    As on a real keyboard, a key is released before it is struck again (jitter never swaps the two).
    """
    events = []
    struck: dict[int, float] = {}
    for onset, length, pitch in reversed(PHRASE):
        on = origin + onset * beat + jitter()
        events.append((on, [0x90 | channel, pitch, velocity]))
        if length is not None:
            off = origin + (onset + length) * beat + jitter()
            events.append((min(off, struck.get(pitch, off) - 0.002), [0x80 | channel, pitch, 0]))
        struck[pitch] = on
    return events
