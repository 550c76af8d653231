"""The Player on a real JACK MIDI graph: order, pitches, stop/pause/resume/seek, virtual ports.

A JACK MIDI input port opened with rtmidi listens to what the player sends.  No timing
assertions here (bench/bench_playback.py measures timing).
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import mido
import pytest
import rtmidi

from musicgpt_gui.core.midi.midi_io import render_midi
from musicgpt_gui.core.midi.midi_ports import (
    ALSA_SEQ,
    JACK_CONNECT_SETTLE,
    MidiUnavailable,
    PortChoice,
    list_output_ports,
    load_choice,
    open_output,
    save_choice,
)
from musicgpt_gui.core.midi.playback import ALL_NOTES_OFF, PAUSED, PLAYING, STOPPED, Player

pytestmark = [pytest.mark.jack, pytest.mark.usefixtures("jack_server")]

SCALE = [60, 62, 64, 65, 67, 69, 71, 72]


def scale_text(tempo: int = 240) -> str:
    """Eight quarter notes; at 240 bpm each lasts 0.25 s."""
    from musicgpt_gui.core.music.notation import midi_to_name

    return ", ".join([f"tempo={tempo}"] + [f"{midi_to_name(p)}:1.0" for p in SCALE])


class Listener:
    """A JACK MIDI input port (rtmidi) that records every message it receives."""

    def __init__(self) -> None:
        self.client = f"probe-{uuid.uuid4().hex[:8]}"
        self.messages: list[mido.Message] = []
        self._changed = threading.Condition()
        self._in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, self.client)
        self._in.open_virtual_port("in")
        self._in.set_callback(self._receive)

    @property
    def port_name(self) -> str:
        return f"{self.client}:in"

    def _receive(self, event, _data) -> None:
        with self._changed:
            self.messages.append(mido.Message.from_bytes(event[0]))
            self._changed.notify_all()

    def wait_for(self, predicate, timeout: float = 20.0) -> None:
        """Block until ``predicate(self.notes())`` holds (JACK may deliver late on a busy machine)."""
        with self._changed:
            assert self._changed.wait_for(lambda: predicate(self.notes()), timeout), self.notes()

    def wait_for_silence(self, count: int = 1) -> None:
        """Until the ``count``-th all-notes-off arrived: the last message the player sends on stop/pause."""
        with self._changed:
            assert self._changed.wait_for(lambda: self.all_notes_off() >= count, 20.0), self.messages

    def all_notes_off(self) -> int:
        return sum(1 for m in self.messages if m.type == "control_change" and m.control == ALL_NOTES_OFF)

    def settle(self, quiet: float = 0.3) -> None:
        """Wait until nothing new arrived for ``quiet`` seconds (JACK delivers one period later)."""
        while True:
            count = len(self.messages)
            time.sleep(quiet)
            if len(self.messages) == count:
                return

    def notes(self) -> list[tuple[str, int]]:
        """('on'|'off', pitch) in arrival order; note_on with velocity 0 counts as off."""
        out = []
        for m in self.messages:
            if m.type == "note_on" and m.velocity > 0:
                out.append(("on", m.note))
            elif m.type in ("note_on", "note_off"):
                out.append(("off", m.note))
        return out

    def close(self) -> None:
        self._in.cancel_callback()
        self._in.close_port()
        self._in.delete()


@pytest.fixture()
def listener():
    lis = Listener()
    yield lis
    lis.close()


@pytest.fixture()
def output(listener: Listener):
    port = open_output(PortChoice("jack", port=listener.port_name))
    yield port
    port.close()


def expected_notes(midi: mido.MidiFile) -> list[tuple[str, int]]:
    return [
        ("on" if m.type == "note_on" and m.velocity else "off", m.note)
        for m in midi
        if m.type in ("note_on", "note_off")
    ]


def unmatched_ons(notes: list[tuple[str, int]]) -> list[int]:
    """Pitches switched on and never switched off afterwards."""
    sounding: list[int] = []
    for kind, pitch in notes:
        if kind == "on":
            sounding.append(pitch)
        elif pitch in sounding:
            sounding.remove(pitch)
    return sounding


def test_every_note_arrives_in_order_with_its_pitch(listener: Listener, output) -> None:
    midi = render_midi("tempo=300, C4 E4 G4:0.5, D4~1.0:0.25, F#4:0.25, rest:0.25, program=40, B3 D5:0.5, C4:0.25")
    states: list[str] = []
    positions: list[float] = []
    player = Player(output, on_state=states.append, on_position=positions.append)
    player.load(midi)
    player.play()
    assert player.wait(10)
    expected = expected_notes(midi)
    listener.wait_for(lambda notes: len(notes) >= len(expected))
    listener.settle()
    assert listener.notes() == expected
    assert [m.program for m in listener.messages if m.type == "program_change"] == [0, 40]
    assert states == [PLAYING, STOPPED]
    assert positions[-1] == pytest.approx(player.length)
    assert all(0 <= p <= player.length for p in positions)
    assert player.state == STOPPED and player.position == 0


def test_stop_mid_piece_switches_off_every_sounding_note(listener: Listener, output) -> None:
    midi = render_midi("tempo=60, C4 E4 G4~4.0:1.0, D4:1.0, F4:1.0")  # G4 sounds past the stop
    player = Player(output)
    player.load(midi)
    player.play()
    listener.wait_for(lambda notes: ("on", 62) in notes)
    player.stop()
    assert player.state == STOPPED and player.wait(0)
    listener.wait_for_silence()
    notes = listener.notes()
    assert ("on", 60) in notes and ("on", 67) in notes and ("on", 65) not in notes
    assert unmatched_ons(notes) == []
    before = len(listener.messages)
    time.sleep(0.5)
    assert len(listener.messages) == before  # the scheduling thread is really gone


def test_pause_resume_and_seek(listener: Listener, output) -> None:
    midi = render_midi(scale_text())
    player = Player(output)
    player.load(midi)
    player.play()
    listener.wait_for(lambda notes: ("on", SCALE[2]) in notes)
    player.pause()
    assert player.state == PAUSED
    paused_at = player.position
    assert 0 < paused_at < player.length
    listener.wait_for_silence()
    assert unmatched_ons(listener.notes()) == []
    heard = len(listener.notes())
    time.sleep(0.4)
    assert len(listener.notes()) == heard and player.position == paused_at
    assert not player.wait(0)

    player.resume()
    assert player.wait(10)
    listener.wait_for(lambda notes: ("off", SCALE[-1]) in notes)  # the piece's last message
    listener.settle()
    assert [p for kind, p in listener.notes() if kind == "on"] == SCALE  # nothing repeated or lost

    listener.messages.clear()
    player.seek(5.5 * 0.25)  # between the 6th and 7th note, while stopped
    player.play()
    assert player.wait(10)
    listener.wait_for(lambda notes: ("off", SCALE[-1]) in notes)
    listener.settle()
    assert [p for kind, p in listener.notes() if kind == "on"] == SCALE[6:]

    listener.messages.clear()
    player.play()
    listener.wait_for(lambda notes: ("on", SCALE[1]) in notes)
    player.seek(4.5 * 0.25)  # while playing: jump ahead, silencing what sounded
    assert player.state == PLAYING
    assert player.wait(10)
    listener.wait_for(lambda notes: ("off", SCALE[-1]) in notes)
    listener.settle()
    ons = [p for kind, p in listener.notes() if kind == "on"]
    before_seek = len(ons) - len(SCALE[5:])
    assert before_seek >= 2 and ons == SCALE[:before_seek] + SCALE[5:], ons
    assert unmatched_ons(listener.notes()) == []


def test_virtual_output_port_can_be_connected_from_outside() -> None:
    name = f"out-{uuid.uuid4().hex[:8]}"
    port = open_output(PortChoice("jack", virtual=name))
    received: list[mido.Message] = []
    inp = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, f"synth-{name}")
    try:
        ports = inp.get_ports()
        ours = [i for i, p in enumerate(ports) if p.endswith(f":{name}")]
        assert len(ours) == 1, ports
        inp.open_port(ours[0])
        time.sleep(JACK_CONNECT_SETTLE)  # the connection reaches the JACK graph a few cycles later
        inp.set_callback(lambda event, _d: received.append(mido.Message.from_bytes(event[0])))
        player = Player(port)
        player.load(render_midi("tempo=600, A4:1.0, B4:1.0"))
        player.play()
        assert player.wait(10)
        deadline = time.monotonic() + 10
        while len([m for m in received if m.type.startswith("note")]) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert [(m.type, m.note) for m in received if m.type.startswith("note")] == [
            ("note_on", 69),
            ("note_off", 69),
            ("note_on", 71),
            ("note_off", 71),
        ]
    finally:
        inp.close_port()
        inp.delete()
        port.close()


def test_ports_are_listed_and_picked_by_part_of_their_name(listener: Listener) -> None:
    assert listener.port_name in list_output_ports("jack")
    port = open_output(PortChoice("jack", port=listener.client.upper()))
    try:
        assert port.name == listener.port_name
    finally:
        port.close()
    with pytest.raises(MidiUnavailable, match="No single MIDI output port matches"):
        open_output(PortChoice("jack", port="no-such-synth-anywhere"))


def test_alsa_without_sequencer_says_what_to_do() -> None:
    if ALSA_SEQ.exists():  # a machine with ALSA: the port list is real and opening works
        assert isinstance(list_output_ports("alsa"), list)
        return
    with pytest.raises(MidiUnavailable) as err:
        open_output(PortChoice("alsa"))
    message = str(err.value)
    assert "snd-seq" in message and "--api jack" in message and "\n" not in message


def test_the_port_choice_is_remembered(tmp_path: Path) -> None:
    path = tmp_path / "midi-output.json"
    assert load_choice(path) is None
    save_choice(path, PortChoice("jack", virtual="musicgpt"))
    assert load_choice(path) == PortChoice("jack", virtual="musicgpt")
    path.write_text("{not json")
    assert load_choice(path) is None
