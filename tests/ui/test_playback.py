"""Play/Stop through a real JACK MIDI port, with the piano roll's cursor following the player."""
from __future__ import annotations

import pytest

from musicgpt_gui.core.midi import midi_ports
from musicgpt_gui.core.music.notation import parse_text
from musicgpt_gui.ui.widgets.piano_roll import PianoRoll, seconds_to_quarters
from musicgpt_gui.ui.widgets.play_button import PlayButton

TEXT = "tempo=120, " + ", ".join(f"{n}4:0.5" for n in "CDEFGABC" * 4)


@pytest.mark.jack
def test_play_moves_the_cursor_and_stop_or_closing_silences(make_window, workspace, qtbot, jack_server) -> None:
    window = make_window(workspace)
    roll = PianoRoll()
    button = PlayButton(window.context, lambda: TEXT, roll)
    qtbot.addWidget(roll)
    qtbot.addWidget(button)
    roll.set_text(TEXT)
    window.context.playback.set_choice(midi_ports.PortChoice(api="jack", virtual="musicgpt-test"))
    button.click()
    assert button.last_error == ""
    qtbot.waitUntil(lambda: button.text() == "Stop", timeout=5_000)
    qtbot.waitUntil(lambda: (roll.cursor_quarters or 0) > 1.0, timeout=5_000)
    button.click()
    qtbot.waitUntil(lambda: button.text() == "Play", timeout=5_000)
    assert roll.cursor_quarters is None
    assert not window.context.playback.is_playing(button)
    button.click()
    qtbot.waitUntil(lambda: window.context.playback.is_playing(button), timeout=5_000)
    window.close()  # closing the window mid-piece silences the player and releases the port
    assert window.context.playback._player is None and window.context.playback._port is None


def test_cursor_follows_tempo_changes() -> None:
    parsed = parse_text("tempo=60, C4:1.0, tempo=120, D4:1.0, E4:1.0")
    assert seconds_to_quarters(parsed, 0.5) == pytest.approx(0.5)  # 60 bpm: one quarter per second
    assert seconds_to_quarters(parsed, 1.5) == pytest.approx(2.0)  # then 120 bpm


def test_cursor_follows_the_last_tempo_mark_at_an_onset() -> None:
    """tempo=140 then tempo=60 at 0: the file plays at 60 bpm, so 4.0 s is 4.0 quarters, not 9.33."""
    parsed = parse_text("tempo=140, tempo=60, C4:4.0, D4:4.0")
    assert seconds_to_quarters(parsed, 4.0) == pytest.approx(4.0)
    assert seconds_to_quarters(parsed, 20.0) == pytest.approx(8.0)
