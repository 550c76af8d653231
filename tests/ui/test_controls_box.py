"""Learned controls in the Generate tab: a run trained with them offers its bins beside the prefix's own, and
the values chosen are the ones the take names at each bar line (and Regenerate selection reads the same)."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from musicgpt_gui.core.model.controls.annotate import read_item
from musicgpt_gui.core.model.controls.bins import ControlBins
from musicgpt_gui.core.model.controls.request import ControlRequest
from musicgpt_gui.core.music.notation import is_bar_control, split_items
from tests.ui.helpers import wait_idle

PREFIX = "tempo=96, meter.TimeSignature 4/4, D4 F4 A4:1.0, E4 G4 C#5:1.0, F4 A4 D5:2.0"


@pytest.fixture(scope="module")
def controls_workspace(tmp_path_factory, tiny_dataset):
    from musicgpt_gui.core.model.store import models, vocab
    from musicgpt_gui.core.model.train import training
    from musicgpt_gui.core.workspace import resolve_workspace

    workspace = resolve_workspace(tmp_path_factory.mktemp("controls-gui"))
    model = models.create_music_model(workspace, tiny_dataset, size="tiny", extra_words=vocab.control_words())
    training.train(training.TrainConfig(workspace=workspace, dataset=tiny_dataset, base=model.name, run="ctl",
                                        steps=2, batch_size=2, window=64, validate_every=0, sample_every=0,
                                        save_every=2, controls=True))
    training.train(training.TrainConfig(workspace=workspace, dataset=tiny_dataset, base=model.name, run="plain",
                                        steps=2, batch_size=2, window=64, validate_every=0, sample_every=0,
                                        save_every=2))
    return workspace


def _take(tab, qtbot, voices: int, length: int, seed: int) -> str:
    """The text of a take generated in the tab (``voices``: whole items only, from a model trained 2-4 steps)."""
    tab.steer.max_voices.setValue(voices)
    tab.length.setValue(length)
    tab.random_seed.setChecked(False)
    tab.seed.setValue(seed)
    tab.generate_button.click()
    wait_idle(qtbot, tab)
    return tab.selected_text()


def test_the_chosen_bins_are_named_at_each_bar_line(make_window, controls_workspace, qtbot, tmp_path) -> None:
    window = make_window(controls_workspace)
    tab = window.generate_tab
    tab.refresh()
    box = tab.controls
    tab.run.setCurrentText("plain")
    assert not box.combos["density"].isEnabled() and box.request() == ControlRequest()
    tab.run.setCurrentText("ctl")
    bins = ControlBins.load(controls_workspace.checkpoint / "ctl")
    assert box.combos["density"].isEnabled() and box.combos["density"].count() == bins.count("density") + 1
    tab.prefix.setPlainText(PREFIX)
    qtbot.waitUntil(lambda: box.now["density"].text().startswith("bin"), timeout=5_000)
    assert box.now["key"].text() == "D minor"  # the prefix's own, as the run's controls measure it
    box.combos["density"].setCurrentIndex(2)  # bin 1
    box.combos["key"].setCurrentText("D minor")
    assert box.request() == ControlRequest(density=(1,), key=("d",))
    text = _take(tab, qtbot, voices=4, length=120, seed=4)
    named = [read_item(i) for i in split_items(text) if is_bar_control(i)][1:]  # the first: the prefix's bar
    assert named and all(words["density"] == "1" for words in named), text
    assert all(words.get("key", "d") == "d" for words in named)
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    tab.save_settings(settings)
    box.reset()
    assert box.request() == ControlRequest()
    tab.restore_settings(settings)
    assert box.request() == ControlRequest(density=(1,), key=("d",))


@pytest.mark.filterwarnings("error::RuntimeWarning")  # a row the steering left empty was once sampled as NaN
def test_redrawn_bars_are_asked_for_in_the_box_and_remembered(make_window, controls_workspace, qtbot,
                                                              tmp_path) -> None:
    tab = make_window(controls_workspace).generate_tab
    tab.refresh()
    box = tab.controls
    tab.run.setCurrentText("plain")
    assert not box.redraws.isEnabled()  # a run without controls: nothing to redraw for
    tab.run.setCurrentText("ctl")
    assert box.redraws.isEnabled() and box.redraws.value() == 0
    box.combos["density"].setCurrentIndex(2)  # bin 1
    box.redraws.setValue(3)
    tab.prefix.setPlainText(PREFIX)
    tab.steer.max_voices.setValue(4)
    tab.length.setValue(60)
    tab.random_seed.setChecked(False)
    tab.seed.setValue(4)
    tab.generate_button.click()
    wait_idle(qtbot, tab)
    assert "bars drawn again to meet the controls" in tab.info.text()
    settings = QSettings(str(tmp_path / "r.ini"), QSettings.Format.IniFormat)
    tab.save_settings(settings)
    box.redraws.setValue(0)
    tab.restore_settings(settings)
    assert box.redraws.value() == 3


def test_a_parts_values_are_chosen_apart_and_named_after_its_marker(make_window, pop_songs, pop_controls_run,
                                                                    qtbot, tmp_path) -> None:
    from musicgpt_gui.core.dataset import dataset_files
    from musicgpt_gui.core.model.controls.annotate import read_parts
    from musicgpt_gui.core.music.notation import join_items

    workspace = pop_songs.workspace
    tab = make_window(workspace).generate_tab
    tab.refresh()
    box = tab.controls
    assert tab.run.currentText() == pop_controls_run.name  # the first run: the box has its bins from the start
    assert [box.part.itemText(i) for i in range(box.part.count())] == ["Whole piece", "Part 1", "Part 2", "Part 3"]
    box.part.setCurrentIndex(2)  # part 2
    assert not box.combos["key"].isEnabled()  # the key is the whole piece's
    box.combos["density"].setCurrentIndex(2)  # its bin 1
    box.part.setCurrentIndex(0)
    assert box.combos["density"].currentIndex() == 0  # the whole piece's is still the model's choice
    box.combos["pitch"].setCurrentIndex(1)  # the whole piece's bin 0
    asked = ControlRequest(pitch=(0,), parts=((2, "density", (1,)),))
    assert box.request() == asked
    song = dataset_files.load_split(pop_songs.dataset, dataset_files.TRAIN)[0]
    prefix = join_items(split_items(song)[:24])
    tab.prefix.setPlainText(prefix)
    box.part.setCurrentIndex(2)
    qtbot.waitUntil(lambda: box.now["density"].text().startswith("bin"), timeout=5_000)  # part 2's in the prefix
    text = _take(tab, qtbot, voices=6, length=150, seed=2)
    named = [read_parts(i) for i in split_items(tab.result.variations[0].text) if is_bar_control(i)]
    assert named and all(s[2]["density"] == "1" and s[0]["pitch"] == "0" for s in named), text
    settings = QSettings(str(tmp_path / "p.ini"), QSettings.Format.IniFormat)
    tab.save_settings(settings)
    box.reset()
    assert box.request() == ControlRequest()
    tab.restore_settings(settings)
    assert box.request() == asked
