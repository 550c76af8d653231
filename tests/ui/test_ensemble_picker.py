"""The Generate tab's ensemble: the run's dataset's ensembles are offered, an edited one is what the take is
written for, each part's figures show beside the validation songs', and the choice is remembered."""
from __future__ import annotations

from PySide6.QtCore import QSettings

from musicgpt_gui.core.music import notation
from tests.ui.helpers import wait_idle

BAND = "Lead=80; Bass=33; Drums=drums"


def test_an_edited_ensemble_is_written_for_shown_per_part_and_remembered(make_window, pop_songs, qtbot,
                                                                          tmp_path) -> None:
    tab = make_window(pop_songs.workspace).generate_tab
    tab.refresh()
    tab.run.setCurrentText(pop_songs.run)
    picker = tab.ensemble
    qtbot.waitUntil(lambda: picker.choice.findData("MELODY=0; BRIDGE=0; PIANO=0") >= 0, timeout=10_000)
    picker.choice.setCurrentIndex(picker.choice.findData("MELODY=0; BRIDGE=0; PIANO=0"))
    assert picker.value() == "MELODY=0; BRIDGE=0; PIANO=0" and picker.spec.isEnabled()
    picker.spec.setText(BAND)
    picker.spec.textEdited.emit(BAND)
    assert picker.choice.currentData() == "edited" and picker.value() == BAND

    tab.prefix.setPlainText("")
    tab.steer.max_voices.setValue(6)  # implies whole, valid items: a 2-step model writes noise otherwise
    tab.length.setValue(60)
    tab.variations.setValue(2)
    tab.random_seed.setChecked(False)
    tab.seed.setValue(5)
    tab.generate_button.click()
    wait_idle(qtbot, tab)
    shown = [v for v in tab.result.variations if v.playable]
    assert shown, tab.info.text()
    tab.results.setCurrentRow(shown[0].index)
    parsed = notation.parse_text(tab.selected_text())
    assert [(p.name, p.program, p.drums) for p in parsed.parts] == [("Lead", 80, False), ("Bass", 33, False),
                                                                    ("Drums", 0, True)]
    assert not tab.parts_view.isHidden()  # shown for a take with parts
    table = tab.parts_view.text()
    assert "validation data" in table and "MELODY" in table and "Lead" in table  # the songs' parts, beside the take's
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    tab.save_settings(settings)
    picker.set_value("auto")
    tab.restore_settings(settings)
    assert picker.value() == BAND


def test_an_ensemble_that_cannot_be_read_is_one_clear_line(make_window, pop_songs, qtbot) -> None:
    tab = make_window(pop_songs.workspace).generate_tab
    tab.refresh()
    tab.run.setCurrentText(pop_songs.run)
    tab.ensemble.set_value("Lead=300")
    failures = []
    tab.on_failed = lambda message, details="": failures.append(message)
    tab.generate_button.click()
    qtbot.waitUntil(lambda: bool(failures), timeout=60_000)
    assert failures[0] == "The ensemble: part 1 ('Lead=300'): a program is 0 to 127, not 300."
