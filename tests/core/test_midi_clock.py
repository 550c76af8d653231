"""MIDI clock out over a real JACK server: 24 clocks per quarter following the tempo map, start at the
beginning, stop at the end, and the song position with continue after a pause, so a DAW follows."""

from __future__ import annotations

import time
import uuid

import mido
import pytest
import rtmidi

from musicgpt_gui.core.midi.midi_io import render_midi
from musicgpt_gui.core.midi.midi_ports import PortChoice, open_output
from musicgpt_gui.core.midi.playback import Player

pytestmark = [pytest.mark.jack, pytest.mark.usefixtures("jack_server")]

JACK_PERIOD = 256 / 48000


class Heard:
    def __init__(self) -> None:
        self.client = f"daw-{uuid.uuid4().hex[:6]}"
        self.messages: list[tuple[float, mido.Message]] = []
        self._in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, self.client)
        self._in.ignore_types(sysex=True, timing=False, active_sense=True)  # rtmidi drops clock by default
        self._in.open_virtual_port("in")
        self._in.set_callback(self._receive)

    def _receive(self, event, _data) -> None:
        self.messages.append((time.monotonic(), mido.Message.from_bytes(event[0])))

    def kinds(self) -> list[str]:
        return [m.type for _, m in self.messages if m.type in ("clock", "start", "stop", "continue", "songpos")]

    def close(self) -> None:
        self._in.close_port()


def test_clock_follows_the_tempo_map_with_start_stop_and_song_position():
    heard = Heard()
    port = open_output(PortChoice("jack", port=f"{heard.client}:in"))
    try:
        player = Player(port, clock=True)
        player.load(render_midi("tempo=240, C4:1.0, D4:1.0, tempo=120, E4:1.0, F4:1.0"))  # 0.25 s, then 0.5 s a beat
        player.play()
        assert player.wait(10)
        time.sleep(0.2)
        kinds = heard.kinds()
        assert kinds[:2] == ["songpos", "start"] and kinds[-1] == "stop"
        clocks = [t for t, m in heard.messages if m.type == "clock"]
        assert len(clocks) == 4 * 24 + 1  # every 1/24 quarter from 0 to the end, both included
        # The tempo map, not the exact times (bench/bench_playback.py measures timing): the two halves span
        # 0.5 s and 1.0 s, to within a JACK period and a few ms of a loaded machine at either end.
        assert abs((clocks[48] - clocks[0]) - 0.5) < 2 * JACK_PERIOD + 0.01
        assert abs((clocks[96] - clocks[48]) - 1.0) < 2 * JACK_PERIOD + 0.01

        heard.messages.clear()
        player.play()
        time.sleep(0.6)  # past the first two beats (0.5 s): song position 8 sixteenths or more
        player.pause()
        player.resume()
        player.stop()
        time.sleep(0.2)
        kinds = heard.kinds()
        assert kinds[:2] == ["songpos", "start"] and "stop" in kinds and "continue" in kinds
        resumed = [m for _, m in heard.messages if m.type == "songpos"][1]
        assert resumed.pos >= 8
    finally:
        port.close()
        heard.close()


def test_no_clock_unless_asked():
    heard = Heard()
    port = open_output(PortChoice("jack", port=f"{heard.client}:in"))
    try:
        player = Player(port)
        player.load(render_midi("tempo=480, C4:1.0"))
        player.play()
        assert player.wait(10)
        time.sleep(0.2)
        assert heard.kinds() == [] and any(m.type == "note_on" for _, m in heard.messages)
    finally:
        port.close()
        heard.close()
