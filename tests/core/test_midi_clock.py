"""MIDI clock out over a real JACK server: 24 clocks per quarter following the tempo map, start at the
beginning, stop at the end, and the song position with continue after a pause, so a DAW follows."""

from __future__ import annotations

import statistics
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

    def wait_for(self, kind: str, count: int = 1, timeout: float = 20.0) -> None:
        """Until ``count`` messages of ``kind`` arrived (JACK delivers late when the shared machine stalls)."""
        deadline = time.monotonic() + timeout
        while self.kinds().count(kind) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.05)

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
        heard.wait_for("stop")
        kinds = heard.kinds()
        assert kinds[:2] == ["songpos", "start"] and kinds[-1] == "stop"
        clocks = [t for t, m in heard.messages if m.type == "clock"]
        assert len(clocks) == 4 * 24 + 1  # every 1/24 quarter from 0 to the end, both included
        # The tempo map, not the exact times (bench/bench_playback.py measures timing): the median spacing
        # of each half is 1/24 of its beat (0.25 s, then 0.5 s), give or take a JACK period; a median
        # stays put when a loaded machine stalls the graph once.
        halves = (clocks[:49], clocks[48:])
        first, second = (statistics.median([b - a for a, b in zip(part, part[1:])]) for part in halves)
        assert abs(first - 0.25 / 24) < JACK_PERIOD and abs(second - 0.5 / 24) < JACK_PERIOD, (first, second)

        heard.messages.clear()
        player.play()
        time.sleep(0.6)  # past the first two beats (0.5 s): song position 8 sixteenths or more
        player.pause()
        player.resume()
        player.stop()
        heard.wait_for("stop", 2)
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


def test_the_metronome_sends_clock_from_the_count_in_and_starts_the_daw_at_bar_one():
    from musicgpt_gui.core.live.metronome import Metronome

    heard = Heard()
    port = open_output(PortChoice("jack", port=f"{heard.client}:in"))
    try:
        metronome = Metronome(None, 240, (4, 4), clock_port=port)  # silent clicks, clock only; a bar is 1 s
        origin = metronome.start(count_in_bars=1)
        time.sleep(max(0.0, origin + 1.0 - time.monotonic()))  # the count-in bar and bar 1
        stopped = time.monotonic()
        metronome.stop()
        heard.wait_for("stop")
        kinds = heard.kinds()
        start = kinds.index("start")
        assert kinds[start - 1] == "songpos" and kinds[-1] == "stop"
        assert kinds[:start - 1].count("clock") == 4 * 24  # the count-in bar: clocks for the DAW's tempo
        after = kinds[start:].count("clock")  # bar 1, cut where stop() came (late, on a loaded machine)
        assert 4 * 24 - 3 <= after <= (stopped - origin) / (0.25 / 24) + 3
    finally:
        port.close()
        heard.close()
