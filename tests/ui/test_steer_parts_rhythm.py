"""The Steer panel's parts table (plays, own range, voices, beside the prefix's values; remembered; reset),
"keep rhythm" on Regenerate selection, and the table of each control asked beside its measured value."""
from __future__ import annotations

from fractions import Fraction

import pytest
from PySide6.QtCore import QSettings

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.model.steer.constraints import Steering
from musicgpt_gui.core.model.steer.keep_rhythm import rhythm_kept
from musicgpt_gui.core.music import notation
from tests.ui.helpers import wait_idle

BAND = ("@1=Lead program=0, @2=Bass program=33, tempo=100, @1 E5 G5 @2 C3:1.0, @1 D5 @2 G2~2.0:1.0, "
        "@1 C5:2.0")


@pytest.fixture()
def window(make_window, tiny_run):
    return make_window(tiny_run.workspace)


def test_the_parts_of_the_prefix_get_plays_range_and_voices_remembered_and_reset(window, qtbot, tmp_path) -> None:
    tab = window.generate_tab
    steer = tab.steer
    assert steer.parts.isHidden()  # no prefix with parts yet
    tab.prefix.setPlainText(BAND)
    qtbot.waitUntil(lambda: steer.parts.table.rowCount() == 2, timeout=5_000)
    assert not steer.parts.isHidden()
    table = steer.parts.table
    assert table.item(0, 0).text() == "@1 Lead" and table.item(1, 0).text() == "@2 Bass"
    assert table.item(0, 6).text() == "C5:G5, 2 voices, 4 notes"  # the prefix's own values beside the controls
    assert table.item(1, 6).text() == "G2:C3, 1 voice, 2 notes"
    assert steer.steering() == Steering()  # every part plays, no limits: nothing steered
    bass, lead = steer.parts.rows[2], steer.parts.rows[1]
    bass["plays"].setChecked(False)
    lead["limit"].setChecked(True)
    lead["low"].setValue(60)
    lead["high"].setValue(79)
    lead["voices"].setValue(1)
    asked = steer.steering().validate()
    assert (asked.parts, asked.part_ranges, asked.part_voices) == ((1,), ((1, 60, 79),), ((1, 1),))
    assert asked.range_of(0) == (60, 79) and asked.voices_of(0) == 1 and asked.range_of(1) == (0, 127)

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    tab.save_settings(settings)
    steer.reset()
    assert steer.steering() == Steering() and bass["plays"].isChecked() and not lead["limit"].isChecked()
    tab.restore_settings(settings)
    assert steer.steering() == asked
    # A prefix without parts hides the table; its choices come back with the parts.
    tab.prefix.setPlainText("C4 E4:1.0, D4:1.0")
    qtbot.waitUntil(lambda: steer.parts.isHidden(), timeout=5_000)
    assert steer.steering() == Steering()
    tab.prefix.setPlainText(BAND)
    qtbot.waitUntil(lambda: steer.parts.table.rowCount() == 2, timeout=5_000)
    assert steer.steering() == asked


def test_regenerate_with_keep_rhythm_keeps_every_onset_and_length_and_shows_it(window, tiny_run, tiny_dataset,
                                                                               qtbot, tmp_path) -> None:
    tab = window.generate_tab
    window.tabs.setCurrentWidget(tab)
    tab.refresh()
    tab.run.setCurrentText(tiny_run.run)
    piece = dataset_files.load_split(tiny_dataset, dataset_files.TRAIN)[0]
    tab.prefix.setPlainText(notation.join_items(notation.split_items(piece)[:30]))
    tab.length.setValue(10)
    tab.random_seed.setChecked(False)
    tab.seed.setValue(11)
    tab.steer.limit_range.setChecked(True)
    tab.steer.low.setValue(55)
    tab.steer.high.setValue(79)
    tab.generate_button.click()
    wait_idle(qtbot, tab)
    # Steered generation: the table shows the range asked beside the range measured.
    assert not tab.steer_results.isHidden()
    assert tab.steer_results.cell_text(0, "Control") == "range" and tab.steer_results.cell_text(0, "Asked") == "G3:G5"
    assert "bars" in tab.steer_results.cell_text(0, "Kept")

    panel = tab.infill
    original = tab.selected_text()
    panel.selection.set_beats(4.0, 12.0)
    panel.keep_rhythm.setChecked(True)
    tab.temperature.setValue(1.2)
    panel.regenerate_button.click()
    wait_idle(qtbot, tab)
    result = panel.candidates
    assert result is not None and result.settings.steering.keep_rhythm
    for k in range(len(result.variations)):
        found = rhythm_kept(original, result.full_text(k), Fraction(4), Fraction(12))
        assert found.notes > 0 and found.kept_notes == found.notes and found.kept_bars == found.bars
        assert all(55 <= n.pitch <= 79 for n in result.variations[k].parsed.notes)
        assert f"{found.notes}/{found.notes} notes" in panel.list.item(k).text()
    panel.list.setCurrentRow(1)
    controls = [tab.steer_results.cell_text(r, "Control") for r in range(tab.steer_results.rowCount())]
    assert controls == ["range", "keep rhythm"]
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    tab.save_settings(settings)
    panel.keep_rhythm.setChecked(False)
    tab.restore_settings(settings)
    assert panel.keep_rhythm.isChecked()
