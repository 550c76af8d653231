"""The output picker: built-in synth first and remembered, MIDI APIs still there, Choose SoundFont... remembered."""

from __future__ import annotations

import pytest

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.midi import midi_ports, soundfont
from musicgpt_gui.ui.playback_bridge import BUILTIN_LABEL, PlaybackBridge
from musicgpt_gui.ui.widgets.port_picker import PortPicker

try:
    SOUNDFONT = soundfont.find_soundfont()
except JobError:
    pytest.fail("no General MIDI SoundFont installed (scripts/install.sh installs timgm6mb-soundfont)", pytrace=False)


def test_built_in_synth_first_then_midi_and_the_choice_is_remembered(make_window, workspace, settings) -> None:
    window = make_window(workspace)
    picker = window.generate_tab.findChild(PortPicker)
    items = [picker.api.itemText(i) for i in range(picker.api.count())]
    assert items[0] == BUILTIN_LABEL and set(midi_ports.APIS) <= set(items[1:])
    assert picker.soundfont_button.isVisibleTo(picker) and not picker.port.isVisibleTo(picker)
    picker.api.setCurrentText("jack")
    assert picker.port.isVisibleTo(picker) and not picker.soundfont_button.isVisibleTo(picker)
    assert PlaybackBridge(settings).choice.api == "jack"
    picker.api.setCurrentIndex(0)
    assert PlaybackBridge(settings).choice == midi_ports.PortChoice(midi_ports.BUILTIN_SYNTH)


def test_choose_soundfont_is_loaded_in_a_worker_checked_and_remembered(make_window, workspace, settings, tmp_path,
                                                                       qtbot) -> None:
    window = make_window(workspace)
    picker = window.generate_tab.findChild(PortPicker)
    copy = tmp_path / "Mine.sf2"
    copy.write_bytes(SOUNDFONT.read_bytes())
    worker = picker.choose_soundfont(str(copy))
    assert not picker.soundfont_button.isEnabled()  # the GUI goes on while the font loads
    with qtbot.waitSignal(worker.done, timeout=20_000):
        pass
    assert picker.soundfont_button.isEnabled() and PlaybackBridge(settings).soundfont == copy
    assert window.statusBar().currentMessage() == f"SoundFont: {copy}"
    loaded = picker.bridge._loaded
    assert loaded is not None and loaded.soundfont == copy
    assert picker.bridge._synth() is loaded  # Play uses the font already loaded, not a second load
    broken = tmp_path / "broken.sf2"
    broken.write_bytes(b"RIFF nothing")
    with qtbot.waitSignal(picker.choose_soundfont(str(broken)).done, timeout=20_000):
        pass
    assert window.statusBar().currentMessage().startswith("Cannot load SoundFont")
    assert PlaybackBridge(settings).soundfont == copy  # the bad file was not remembered


def test_a_remembered_soundfont_is_loaded_in_a_worker_at_start(make_window, workspace, settings, tmp_path,
                                                               qtbot) -> None:
    copy = tmp_path / "Remembered.sf2"
    copy.write_bytes(SOUNDFONT.read_bytes())
    settings.setValue("audio/soundfont", str(copy))
    window = make_window(workspace)
    bridge = window.generate_tab.findChild(PortPicker).bridge
    qtbot.waitUntil(lambda: bridge._loaded is not None, timeout=20_000)
    loaded = bridge._loaded
    assert loaded.soundfont == copy and bridge._synth() is loaded  # the first Play does not load it again
    copy.write_bytes(b"RIFF broken since")
    window.close()
    again = make_window(workspace)
    qtbot.waitUntil(lambda: again.statusBar().currentMessage().startswith("Cannot load SoundFont"), timeout=20_000)
