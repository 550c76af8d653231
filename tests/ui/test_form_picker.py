"""The Generate tab's form: a take written as sections (ABA) comes back with its first section repeated, the
list says the form, bad letters are one clear line, and the choice is remembered."""
from __future__ import annotations

from PySide6.QtCore import QSettings

from musicgpt_gui.core.music import notation
from tests.ui.helpers import wait_idle


def test_a_form_take_repeats_its_sections_and_the_form_is_remembered(make_window, pop_songs, qtbot,
                                                                     tmp_path) -> None:
    tab = make_window(pop_songs.workspace).generate_tab
    tab.refresh()
    tab.run.setCurrentText(pop_songs.run)
    tab.prefix.setPlainText("")
    tab.steer.max_voices.setValue(6)  # implies whole, valid items: a 2-step model writes noise otherwise
    tab.length.setValue(48)
    tab.random_seed.setChecked(False)
    tab.seed.setValue(5)
    tab.form.letters.setText("aba")
    tab.form.bars.setValue(1)
    tab.generate_button.click()
    wait_idle(qtbot, tab)
    assert tab.result.form is not None and tab.result.form.letters == "ABA", tab.info.text()
    assert "form ABA, 1 bars a section" in tab.results.item(0).text()
    sections = tab.result.sections[0]
    items = notation.split_items(tab.result.variations[0].text)
    assert items[sections[0].start:sections[0].end] == items[sections[2].start:sections[2].end]
    assert sections[0].end > sections[0].start
    assert tab.selected_text() == tab.result.full_text(0)

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    tab.save_settings(settings)
    tab.form.letters.setText("")
    tab.form.bars.setValue(4)
    tab.restore_settings(settings)
    assert tab.form.letters.text() == "aba" and tab.form.bars.value() == 1

    tab.form.letters.setText("A-B")
    failures = []
    tab.on_failed = lambda message, details="": failures.append(message)
    tab.generate_button.click()
    assert failures == ["A form is a string of section letters such as AABA, not 'A-B'."]
