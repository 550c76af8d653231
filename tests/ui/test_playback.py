"""The transport through a real JACK MIDI port: play/pause/stop, seek and loop on the piano roll, space, export."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from musicgpt_gui.core.midi import midi_ports
from musicgpt_gui.core.midi.playback import PAUSED, PLAYING
from musicgpt_gui.core.midi.synth import read_wav
from musicgpt_gui.core.music.notation import parse_text
from musicgpt_gui.ui.widgets.piano_roll import PianoRoll, seconds_to_quarters
from tests.ui.helpers import roll_and_transport

TEXT = "tempo=120, " + ", ".join(f"{n}4:0.5" for n in "CDEFGABC" * 4)  # 16 quarters, 8 s


@pytest.fixture()
def rig(make_window, workspace, qtbot):
    window, roll, transport = roll_and_transport(make_window, workspace, qtbot, TEXT)
    return window, roll, transport


def x_of(roll: PianoRoll, quarters: float) -> int:
    return round(roll.quarters_to_x(quarters))


@pytest.mark.jack
def test_play_pause_resume_stop_and_closing(rig, qtbot, jack_server) -> None:
    window, roll, transport = rig
    bridge = window.context.playback
    bridge.set_choice(midi_ports.PortChoice(api="jack", virtual="musicgpt-test"))
    transport.click()
    assert transport.last_error == ""
    qtbot.waitUntil(lambda: transport.text() == "Pause", timeout=5_000)
    qtbot.waitUntil(lambda: (roll.cursor_quarters or 0) > 1.0, timeout=5_000)
    transport.click()  # pause: the cursor stays where it was
    qtbot.waitUntil(lambda: bridge.state_of(transport) == PAUSED, timeout=5_000)
    held = roll.cursor_quarters
    qtbot.wait(300)
    assert roll.cursor_quarters == pytest.approx(held, abs=0.3) and transport.text() == "Play"
    roll.window().activateWindow()
    roll.setFocus()
    qtbot.waitUntil(roll.hasFocus, timeout=2_000)
    qtbot.keyClick(roll, Qt.Key.Key_Space)  # space resumes from there
    qtbot.waitUntil(lambda: bridge.state_of(transport) == PLAYING, timeout=5_000)
    qtbot.waitUntil(lambda: (roll.cursor_quarters or 0) > held + 0.5, timeout=5_000)
    transport.stop_button.click()
    qtbot.waitUntil(lambda: transport.text() == "Play" and roll.cursor_quarters is None, timeout=5_000)
    transport.click()
    qtbot.waitUntil(lambda: bridge.is_playing(transport), timeout=5_000)
    window.close()  # closing the window mid-piece silences the player and releases the port
    assert bridge._player is None and bridge._port is None


@pytest.mark.jack
def test_click_seeks_and_a_dragged_selection_loops(rig, qtbot, jack_server) -> None:
    window, roll, transport = rig
    bridge = window.context.playback
    bridge.set_choice(midi_ports.PortChoice(api="jack", virtual="musicgpt-test"))
    transport.click()
    qtbot.waitUntil(lambda: bridge.is_playing(transport), timeout=5_000)
    qtbot.mouseClick(roll, Qt.MouseButton.LeftButton, pos=QPoint(x_of(roll, 12.0), 50))  # seek to 6 s
    qtbot.waitUntil(lambda: (roll.cursor_quarters or 0) >= 12.0, timeout=2_000)
    assert bridge._player.position == pytest.approx(6.0, abs=0.4)
    qtbot.mousePress(roll, Qt.MouseButton.LeftButton, pos=QPoint(x_of(roll, 2.0), 50))
    qtbot.mouseMove(roll, QPoint(x_of(roll, 4.0), 60))
    qtbot.mouseRelease(roll, Qt.MouseButton.LeftButton, pos=QPoint(x_of(roll, 4.0), 60))
    assert roll.selection == pytest.approx((2.0, 4.0), abs=0.1)
    transport.loop_box.setChecked(True)  # from 6 s on, the loop sends it back to 1..2 s
    assert bridge._player.loop == pytest.approx((1.0, 2.0), abs=0.05)
    qtbot.waitUntil(lambda: (roll.cursor_quarters or 99) < 4.0, timeout=2_000)
    seen = []
    for _ in range(25):  # 2.5 s: more than two turns of the loop
        qtbot.wait(100)
        seen.append(bridge._player.position)
    assert all(0.95 <= s <= 2.05 for s in seen) and max(seen) - min(seen) > 0.6
    assert bridge.is_playing(transport)
    transport.loop_box.setChecked(False)
    assert bridge._player.loop is None
    transport.stop()


def test_without_an_audio_device_the_built_in_synth_says_so_in_one_line(rig) -> None:
    window, _roll, transport = rig
    assert window.context.playback.choice.api == midi_ports.BUILTIN_SYNTH  # the default output
    transport.click()
    assert transport.last_error.startswith("No audio output device") and "\n" not in transport.last_error
    assert transport.text() == "Play"


def test_export_audio_writes_a_wav(rig, qtbot, tmp_path) -> None:
    _window, _roll, transport = rig
    worker = transport.export_audio(tmp_path / "out.wav")
    with qtbot.waitSignal(worker.done, timeout=30_000):
        pass
    pcm, rate = read_wav(tmp_path / "out.wav")
    assert len(pcm) / rate == pytest.approx(8.0, abs=2.5) and np.abs(pcm).max() > 0.05


def test_volume_reaches_the_bridge(rig) -> None:
    window, _roll, transport = rig
    transport.volume.setValue(25)
    assert window.context.playback.volume == pytest.approx(0.25)


def test_cursor_follows_tempo_changes() -> None:
    parsed = parse_text("tempo=60, C4:1.0, tempo=120, D4:1.0, E4:1.0")
    assert seconds_to_quarters(parsed, 0.5) == pytest.approx(0.5)  # 60 bpm: one quarter per second
    assert seconds_to_quarters(parsed, 1.5) == pytest.approx(2.0)  # then 120 bpm


def test_cursor_follows_the_last_tempo_mark_at_an_onset() -> None:
    """tempo=140 then tempo=60 at 0: the file plays at 60 bpm, so 4.0 s is 4.0 quarters, not 9.33."""
    parsed = parse_text("tempo=140, tempo=60, C4:4.0, D4:4.0")
    assert seconds_to_quarters(parsed, 4.0) == pytest.approx(4.0)
    assert seconds_to_quarters(parsed, 20.0) == pytest.approx(8.0)
