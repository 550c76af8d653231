"""Parts on screen and in the ear: the roll colours each part and names it in a legend; a click there mutes
the part and the transport's audio (rendered by the built-in synth, checked by FFT) no longer has it."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from musicgpt_gui.core.midi.synth import read_wav, render_pcm
from musicgpt_gui.ui.widgets.piano_roll import MUTED_COLOR, PART_COLORS, PianoRoll
from musicgpt_gui.ui.widgets.transport import Transport
from tests.ui.helpers import roll_and_transport

# Flute on F#5 (740 Hz, between the bass harmonics 660 and 770) over a bass on A2 (110 Hz), loud
# (velocity 127: the roll draws them opaque).

TEXT = "@1=Flute program=73, @2=Bass program=33, tempo=60, velocity=127, @1 F#5 @2 A2:4.0"
RATE = 44100


@pytest.fixture()
def rig(make_window, workspace, qtbot):
    window, roll, transport = roll_and_transport(make_window, workspace, qtbot, TEXT)
    return roll, transport


def pixel(roll: PianoRoll, x: float, y: float):
    return roll.grab().toImage().pixelColor(round(x), round(y))


def note_centre(roll: PianoRoll, pitch: int) -> tuple[float, float]:
    """Where the roll draws a note of ``pitch`` starting at 0 (mid-length, mid-row)."""
    notes = roll.parsed.notes
    low, high = min(n.pitch for n in notes) - 1, max(n.pitch for n in notes) + 1
    row = roll.height() / (high - low + 1)
    return roll.quarters_to_x(1.0), (high - pitch) * row + row / 2


def band_energy(pcm: np.ndarray, low: float, high: float) -> float:
    mono = pcm[: 2 * RATE].mean(axis=1)
    magnitude = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    freqs = np.fft.rfftfreq(len(mono), 1 / RATE)
    return float(magnitude[(freqs >= low) & (freqs <= high)].max())


def test_each_part_has_its_colour_and_a_legend_entry(rig) -> None:
    roll, _ = rig
    assert [label for label, _ in roll.legend()] == ["Flute (1)", "Bass (1)"]
    assert [c.name() for _, c in roll.legend()] == [PART_COLORS[0].name(), PART_COLORS[1].name()]
    for part, pitch in ((0, 78), (1, 45)):
        assert pixel(roll, *note_centre(roll, pitch)).name() == PART_COLORS[part].name()
    # the legend's swatches are painted where legend() says, in the parts' colours
    rect = roll._legend_rects[1]
    assert pixel(roll, rect.left() + 10, rect.center().y()).name() == PART_COLORS[1].name()
    roll.set_text("tempo=60, velocity=127, F#5 A2:4.0")  # no parts: one colour, no legend
    assert roll.legend() == [] and pixel(roll, *note_centre(roll, 78)).name() == PART_COLORS[0].name()


def test_a_muted_part_is_silent_and_a_soloed_part_alone_sounds(rig, qtbot, tmp_path) -> None:
    roll, transport = rig
    full = render_pcm(transport.playable_midi())
    flute, bass = band_energy(full, 730, 750), band_energy(full, 105, 115)
    assert flute > 1 and bass > 1
    rect = roll._legend_rects[1]
    with qtbot.waitSignal(roll.mute_changed):
        qtbot.mouseClick(roll, Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
    assert roll.muted == {1} and roll.legend()[1] == ("Bass (1) muted", MUTED_COLOR)
    no_bass = render_pcm(transport.playable_midi())
    assert band_energy(no_bass, 105, 115) < bass / 50 and band_energy(no_bass, 730, 750) > flute / 2
    worker = transport.export_audio(tmp_path / "mix.wav")  # the exported audio is the mix that plays
    with qtbot.waitSignal(worker.done, timeout=30_000):
        pass
    exported, _ = read_wav(tmp_path / "mix.wav")
    assert band_energy(exported, 105, 115) < bass / 50 and band_energy(exported, 730, 750) > flute / 4
    qtbot.mouseClick(roll, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                     pos=roll._legend_rects[1].center().toPoint())
    assert roll.muted == {0}  # solo the bass
    only_bass = render_pcm(transport.playable_midi())
    assert band_energy(only_bass, 730, 750) < flute / 50 and band_energy(only_bass, 105, 115) > bass / 2
    assert pixel(roll, *note_centre(roll, 78)) != PART_COLORS[0]  # the muted flute is drawn faded
    roll.solo(1)  # soloing it again: everything sounds
    assert roll.muted == set()


@pytest.mark.jack
def test_muting_while_playing_goes_on_from_the_same_place(make_window, workspace, qtbot, jack_server) -> None:
    from musicgpt_gui.core.midi import midi_ports
    from musicgpt_gui.core.midi.playback import PLAYING

    window = make_window(workspace)
    roll = PianoRoll()
    transport = Transport(window.context, lambda: TEXT, roll)
    roll.set_text(TEXT)
    bridge = window.context.playback
    bridge.set_choice(midi_ports.PortChoice(api="jack", virtual="musicgpt-parts-test"))
    transport.click()
    qtbot.waitUntil(lambda: (roll.cursor_quarters or 0) > 1.0, timeout=5_000)
    roll.toggle_mute(1)
    assert bridge.state_of(transport) == PLAYING
    qtbot.wait(200)
    assert (roll.cursor_quarters or 0) > 1.0  # not back at the start
    transport.stop_button.click()
    window.close()
