"""The Steer panel: "D minor, three voices, nothing above C6" asked in the GUI is what the take
does, what the tab says it did, and what the built-in synth sounds."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from musicgpt_gui.core.midi.synth import render_pcm
from musicgpt_gui.core.music import notation
from musicgpt_gui.core.quality.metrics import scale_pitch_classes
from tests.ui.helpers import wait_idle

PREFIX = "tempo=96, meter.TimeSignature 4/4, D4 F4 A4:1.0, E4 G4 C#5:1.0, F4 A4 D5:2.0"
C6 = 84


@pytest.fixture()
def window(make_window, tiny_run):
    return make_window(tiny_run.workspace)


def test_d_minor_three_voices_nothing_above_c6(window, qtbot, tmp_path) -> None:
    tab = window.generate_tab
    tab.refresh()
    tab.run.setCurrentText("tiny-run")
    tab.prefix.setPlainText(PREFIX)
    qtbot.waitUntil(lambda: tab.steer.now["key"].text() not in ("", "–"), timeout=5_000)
    assert tab.steer.now["range"].text() == "D4:D5"  # the prefix's own values, beside the controls
    steer = tab.steer
    steer.key.setCurrentText("D minor")
    steer.max_voices.setValue(3)
    steer.limit_range.setChecked(True)
    steer.low.setValue(36)
    steer.high.setValue(C6)
    tab.length.setValue(160)
    tab.temperature.setValue(1.2)
    tab.random_seed.setChecked(False)
    tab.seed.setValue(11)
    tab.generate_button.click()
    wait_idle(qtbot, tab)

    start = notation.parse_text(PREFIX).length
    text = tab.selected_text()
    new = [n for n in notation.parse_text(text).notes if n.onset >= start]
    assert new, "the steered take is empty"
    d_minor = scale_pitch_classes("D", "minor")
    assert all(n.pitch <= C6 and n.pitch % 12 in d_minor for n in new)
    info = tab.info.text()
    assert "steering kept: key D minor" in info and "voices <= 3" in info and "range C2:C6" in info

    # What a user hears: the synth's spectrum of the take has its strongest partial below C6's.
    rate = 22050
    pcm = render_pcm(text, sample_rate=rate).mean(axis=1)
    spectrum = np.abs(np.fft.rfft(pcm))
    peak = np.fft.rfftfreq(pcm.size, 1 / rate)[int(spectrum.argmax())]
    assert 0 < peak <= 440.0 * 2 ** ((C6 - 69) / 12) * 1.03

    # Remembered, and Reset clears it.
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    tab.save_settings(settings)
    steer.reset()
    assert steer.steering().active is False
    tab.restore_settings(settings)
    assert steer.steering().key == "D minor" and steer.steering().high == C6
