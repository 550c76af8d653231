"""Play it, in the GUI over a real JACK server: the input picker (remembered; no MIDI system is one line),
Record with a count-in on the current output, the notes on the piano roll while they are played, and
the recording as the Generate tab's prefix, on the run's dataset's grid."""

from __future__ import annotations

import threading
import time
import uuid

import mido
import pytest
import rtmidi

from musicgpt_gui.core.live.metronome import ACCENT, CLICK
from musicgpt_gui.core.midi import midi_ports
from musicgpt_gui.core.music.general_midi import DRUM_CHANNEL
from musicgpt_gui.ui.widgets.input_picker import load_input_choice
from tests.core.live_helpers import PHRASE_TEXT, STOP_AT, Keyboard, phrase_events
from tests.ui.helpers import wait_idle

BEAT = 60 / 100


class Probe:
    """A JACK MIDI input in place of a synth: keeps what the app's output sends."""

    def __init__(self) -> None:
        self.client = f"out-{uuid.uuid4().hex[:6]}"
        self.messages: list[mido.Message] = []
        self._in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, self.client)
        self._in.open_virtual_port("in")
        self._in.set_callback(lambda event, _d: self.messages.append(mido.Message.from_bytes(event[0])))

    def close(self) -> None:
        self._in.close_port()


def test_no_midi_system_is_one_line_under_the_picker(make_window, workspace) -> None:
    if midi_ports.ALSA_SEQ.exists():
        pytest.skip("this machine has an ALSA sequencer")
    panel = make_window(workspace).generate_tab.play_in
    panel.picker.api.setCurrentText("alsa")
    panel.picker.refresh_button.click()
    notice = panel.picker.notice.text()
    assert panel.picker.notice.isVisibleTo(panel) and "\n" not in notice
    assert notice.startswith("MIDI input through alsa is not available")


@pytest.mark.jack
@pytest.mark.usefixtures("jack_server")
def test_record_counts_in_shows_notes_as_played_and_becomes_the_prefix(make_window, tiny_run, settings,
                                                                       qtbot) -> None:
    probe = Probe()
    virtual = f"in-{uuid.uuid4().hex[:6]}"
    settings.setValue("midi/api", "jack")
    settings.setValue("midi/port", f"{probe.client}:in")
    settings.setValue("midi_in/api", "jack")
    settings.setValue("midi_in/virtual", virtual)
    window = make_window(tiny_run.workspace)
    tab = window.generate_tab
    panel = tab.play_in
    assert panel.picker.choice() == midi_ports.PortChoice("jack", virtual=virtual)
    panel.tempo.setValue(100)
    panel.count_in.setValue(1)
    panel.record_button.click()
    assert panel.recording is not None and panel.record_button.text() == "Stop recording"
    keys = Keyboard(virtual)
    origin = panel.recording.recorder.origin
    player = threading.Thread(target=keys.play, args=(phrase_events(origin, BEAT, lambda: 0.004),))
    try:
        player.start()
        qtbot.waitUntil(lambda: "Count-in" in panel.status.text(), timeout=5_000)
        # Drawn while played: three notes are on the roll before the phrase is over.
        qtbot.waitUntil(lambda: tab.roll.parsed is not None and len(tab.roll.parsed.notes) >= 3, timeout=10_000)
        assert time.monotonic() < origin + STOP_AT * BEAT
        qtbot.waitUntil(lambda: time.monotonic() >= origin + STOP_AT * BEAT, timeout=20_000)
        player.join()
        panel.record_button.click()  # stop: the held D5 is closed here
        wait_idle(qtbot, tab, 60_000)
    finally:
        keys.close()
        probe.close()
    assert tab.prefix.toPlainText() == PHRASE_TEXT
    assert [n.pitch for n in tab.roll.parsed.notes] == [60, 64, 67, 60, 64, 67, 74]
    clicks = [m for m in probe.messages if m.type == "note_on" and m.channel == DRUM_CHANNEL]
    assert len(clicks) >= 4 and clicks[0].note == ACCENT and clicks[1].note == CLICK  # the count-in bar
    assert load_input_choice(settings) == midi_ports.PortChoice("jack", virtual=virtual)  # remembered


@pytest.mark.jack
@pytest.mark.usefixtures("jack_server")
def test_jam_starts_and_stops_from_the_generate_tab_and_exports(make_window, melody_run, settings, qtbot,
                                                                tmp_path) -> None:
    from musicgpt_gui.core.midi.midi_io import provenance_of

    probe = Probe()
    virtual = f"jam-{uuid.uuid4().hex[:6]}"
    settings.setValue("midi/api", "jack")
    settings.setValue("midi/port", f"{probe.client}:in")
    settings.setValue("midi_in/api", "jack")
    settings.setValue("midi_in/virtual", virtual)
    window = make_window(melody_run[0])
    tab = window.generate_tab
    panel = tab.play_in
    panel.tempo.setValue(100)
    panel.answer_bars.setValue(1)
    tab.steer.limit_range.setChecked(True)  # the Generate tab's steering applies to the answers
    tab.steer.low.setValue(72)  # C5..E5, where the melodies run C4..C5
    tab.steer.high.setValue(76)
    panel.jam_button.click()
    assert panel.jam_button.text() == "Stop jam" and tab.busy()
    qtbot.waitUntil(lambda: panel.recording.recorder.recording, timeout=60_000)  # the model loaded, counting in
    keys = Keyboard(virtual)
    origin = panel.recording.recorder.origin
    events = [e for e in phrase_events(origin, BEAT, lambda: 0.0) if e[1][1] != 74]
    player = threading.Thread(target=keys.play, args=(events,))
    try:
        player.start()
        answered = origin + (4 + 4) * BEAT  # the phrase's bar, then the bar of silence
        qtbot.waitUntil(lambda: time.monotonic() > answered + 4 * BEAT + 1.0, timeout=30_000)
        player.join()
        panel.jam_button.click()  # Stop
        wait_idle(qtbot, tab, 30_000)
    finally:
        keys.close()
        probe.close()
    assert panel.jam_button.text() == "Jam" and panel.jam_result is not None
    assert len(panel.jam_result.exchanges) == 1 and panel.export_jam_button.isEnabled()
    answer_notes = [m for m in probe.messages if m.type == "note_on" and m.channel != DRUM_CHANNEL and m.velocity]
    assert answer_notes and all(72 <= m.note <= 76 for m in answer_notes), probe.messages
    path = panel.export_jam_to(tmp_path / "jam.mid")
    provenance = provenance_of(mido.MidiFile(path))
    assert provenance["calls"] == [panel.jam_result.exchanges[0].call]
    assert (provenance["settings"]["steering"]["low"], provenance["settings"]["steering"]["high"]) == (72, 76)
    assert tab.output.toPlainText() == panel.jam_result.text()


def test_the_midi_clock_choice_shows_for_ports_and_is_remembered(make_window, workspace, settings) -> None:
    from musicgpt_gui.ui.playback_bridge import PlaybackBridge
    from musicgpt_gui.ui.widgets.port_picker import PortPicker

    picker = make_window(workspace).generate_tab.findChild(PortPicker)
    assert not picker.clock.isVisibleTo(picker)  # the built-in synth has no use for clock
    picker.api.setCurrentText("jack")
    assert picker.clock.isVisibleTo(picker)
    picker.clock.setChecked(True)
    assert PlaybackBridge(settings).clock
