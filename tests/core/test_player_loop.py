"""Looping a selection with the one Player (a port that records what it receives, with times)."""

from __future__ import annotations

import time

import pytest

from musicgpt_gui.core.midi.midi_io import render_midi
from musicgpt_gui.core.midi.playback import PLAYING, Player


class RecordingPort:
    def __init__(self) -> None:
        self.received: list[tuple[float, object]] = []

    def send(self, msg) -> None:
        self.received.append((time.monotonic(), msg))


def test_a_loop_repeats_its_selection_only() -> None:
    port = RecordingPort()
    player = Player(port)
    player.load(render_midi("tempo=600, C4:1, D4:1, E4:1, F4:1, G4:1"))  # one note every 0.1 s
    player.set_loop(0.1, 0.3)  # D4 and E4
    player.play()
    time.sleep(0.75)
    assert player.state == PLAYING  # a loop never reaches the end
    player.stop()
    pitches = [m.note for _, m in port.received if m.type == "note_on" and m.velocity > 0]
    assert pitches[0] == 60 and set(pitches[1:]) == {62, 64}
    assert pitches[1:5] == [62, 64, 62, 64]
    starts = [t for t, m in port.received if m.type == "note_on" and m.velocity > 0 and m.note == 62]
    assert all(abs((b - a) - 0.2) < 0.03 for a, b in zip(starts, starts[1:]))


def test_clearing_the_loop_lets_the_piece_end_and_short_loops_are_refused() -> None:
    player = Player(RecordingPort())
    player.load(render_midi("tempo=600, C4:1, D4:1"))
    with pytest.raises(ValueError):
        player.set_loop(0.1, 0.11)
    player.set_loop(0.0, 0.1)
    player.play()
    time.sleep(0.25)
    player.set_loop(None)
    assert player.wait(1.0)
