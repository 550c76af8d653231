"""A test keyboard: a JACK MIDI output (rtmidi) that plays a phrase into a port at given times."""

from __future__ import annotations

import threading
import time
import uuid

import rtmidi

from musicgpt_gui.core.midi.midi_ports import JACK_CONNECT_SETTLE
from musicgpt_gui.core.midi.playback import try_realtime

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
        """Send each (clock time, message bytes) when its time comes, from a thread of real-time priority where
        allowed (a keyboard's clock is not late however busy the machine is); returns when all are sent."""
        thread = threading.Thread(target=self._send_all, args=(events,), name="test-keyboard")
        thread.start()
        thread.join()

    def _send_all(self, events: list[tuple[float, list[int]]]) -> None:
        try_realtime()
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

    As on a real keyboard, the notes of a chord leave together, in the phrase's order (one jitter per
    onset), and a key is released before it is struck again (jitter never swaps the two).
    """
    strikes = {onset: origin + onset * beat + jitter() for onset, _, _ in PHRASE}
    events = []
    for i, (onset, length, pitch) in enumerate(PHRASE):
        events.append((strikes[onset], [0x90 | channel, pitch, velocity]))
        if length is not None:
            off = origin + (onset + length) * beat + jitter()
            later = [strikes[o] for o, _, p in PHRASE[i + 1:] if p == pitch]
            events.append((min([off, *(t - 0.002 for t in later)]), [0x80 | channel, pitch, 0]))
    return events


MELODY_NAMES = ["C4", "D4", "E4", "F4", "G4", "A4", "B4", "C5"]


def melody_rows(count: int = 40, seed: int = 0) -> list[str]:
    """Random one-voice melodies in the timed format: a dataset a tiny model learns the grammar of in seconds."""
    import random

    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        notes = [f"{rng.choice(MELODY_NAMES)}:{rng.choice(['0.5', '1.0'])}" for _ in range(24)]
        rows.append(", ".join(["Piano", "tempo=100", "meter.TimeSignature 4/4", *notes]))
    return rows


def train_melody_run(root, make_dataset, steps: int = 60, size: str = "tiny"):
    """(workspace, run folder): a ``size`` atomic model trained ``steps`` steps on :func:`melody_rows`
    (tiny: about 6 s).

    The session's tiny run is trained 4 steps and answers with noise; a jam test needs notes.
    """
    from musicgpt_gui.core.model.store import models
    from musicgpt_gui.core.model.train import training
    from musicgpt_gui.core.workspace import resolve_workspace

    rows = melody_rows()
    dataset = make_dataset(root / "melodies", rows[:36], rows[36:])
    workspace = resolve_workspace(root / "ws")
    model = models.create_music_model(workspace, dataset, size=size, vocab_kind="atomic")
    cfg = training.TrainConfig(workspace=workspace, dataset=dataset, base=model.name, run="melody", steps=steps,
                               batch_size=4, window=64, learning_rate=3e-3, validate_every=0, sample_every=0,
                               save_every=0)
    training.train(cfg)
    return workspace, workspace.checkpoint / "melody"
