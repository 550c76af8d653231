"""Regenerate a selection on the Generate tab: drag on the roll, three candidates, play in context, accept, undo;
the CLI gives the same pieces for the same seed."""
from __future__ import annotations

import mido
import pytest
from PySide6.QtCore import QPoint, Qt

from musicgpt_gui.cli import main
from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.midi import midi_ports
from musicgpt_gui.core.midi.midi_io import provenance_of
from musicgpt_gui.core.music import notation
from tests.ui.helpers import wait_idle


def drag(qtbot, roll, selection, first: float, last: float) -> None:
    y = roll.height() // 2
    start, end = (QPoint(int(selection.x_of(q)), y) for q in (first, last))
    qtbot.mousePress(roll, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(roll, pos=QPoint((start.x() + end.x()) // 2, y))
    qtbot.mouseRelease(roll, Qt.MouseButton.LeftButton, pos=end)


@pytest.fixture()
def generated(make_window, tiny_run, tiny_dataset, qtbot):
    piece = dataset_files.load_split(tiny_dataset, dataset_files.TRAIN)[0]
    window = make_window(tiny_run.workspace)
    tab = window.generate_tab
    window.tabs.setCurrentWidget(tab)
    tab.refresh()
    tab.run.setCurrentText(tiny_run.run)
    tab.prefix.setPlainText(notation.join_items(notation.split_items(piece)[:30]))
    tab.length.setValue(10)
    tab.temperature.setValue(1.0)
    tab.random_seed.setChecked(False)
    tab.seed.setValue(11)
    tab.generate_button.click()
    wait_idle(qtbot, tab)
    return window, tab


@pytest.mark.jack
def test_select_regenerate_play_accept_undo_and_the_cli_agrees(generated, tiny_run, qtbot, tmp_path, capsys,
                                                               jack_server) -> None:
    window, tab = generated
    panel = tab.infill
    original = tab.selected_text()
    assert not panel.regenerate_button.isEnabled()
    drag(qtbot, tab.roll, panel.selection, 2.3, 5.6)
    assert panel.selection.beats == (2.0, 6.0) and panel.hint.text() == "Beats 2-6 selected"
    assert tab.roll.selection == (2.0, 6.0)  # one span: the roll draws it and a looping transport plays it
    assert panel.regenerate_button.isEnabled() and panel.count.value() == 3
    panel.regenerate_button.click()
    wait_idle(qtbot, tab)
    result = panel.candidates
    assert panel.list.count() == 3 and result.span.bounded and result.sampled == 9
    assert "3 candidates (the best joins of 9 sampled)" in tab.info.text()
    assert all(result.full_text(k).startswith(result.prefix) for k in range(3))

    assert main(["--workspace", str(tiny_run.workspace.root), "infill", "--run", tiny_run.run, "--text", original,
                 "--beats", "2:6", "--variations", "3", "--length", "10", "--temperature", "1.0", "--seed", "11"]) == 0
    assert capsys.readouterr().out.strip().splitlines() == [result.full_text(k) for k in range(3)]

    panel.list.setCurrentRow(1)
    assert tab.roll.parsed.text == notation.parse_text(result.full_text(1)).text  # previewed on the roll
    context = notation.split_items(panel.candidate_in_context())
    assert set(result.variations[1].parsed.items) <= set(context) and len(context) < len(notation.split_items(original))
    window.context.playback.set_choice(midi_ports.PortChoice(api="jack", virtual="musicgpt-infill-test"))
    panel.play_button.click()
    assert panel.play_button.last_error == ""
    qtbot.waitUntil(lambda: window.context.playback.is_playing(panel.play_button), timeout=5_000)
    panel.play_button.click()

    panel.accept_button.click()
    assert tab.selected_text() == result.full_text(1) and panel.list.count() == 0
    exported = provenance_of(mido.MidiFile(tab.export_to(tmp_path / "accepted.mid")))
    assert exported["span"] == result.span.record() and exported["variation"] == 1
    panel.undo_button.click()
    assert tab.selected_text() == original and tab.roll.parsed.text == notation.parse_text(original).text
    panel.redo_button.click()
    assert tab.selected_text() == result.full_text(1)


def test_regenerate_needs_a_selection(generated, qtbot) -> None:
    _, tab = generated
    panel = tab.infill
    panel.regenerate()  # no selection: a message, no job
    assert not tab.busy() and panel.list.count() == 0
    tab.results.setCurrentRow(0)
    drag(qtbot, tab.roll, panel.selection, 1, 2)
    tab.generate_button.click()  # a new piece drops the selection
    assert panel.selection.beats is None
    wait_idle(qtbot, tab)


def test_the_finetune_checkbox_sets_the_fim_rate_and_follows_the_base(make_window, workspace) -> None:
    from musicgpt_gui.core.model.train import fim

    tab = make_window(workspace).finetune_tab
    assert tab.new_radio.isChecked() and tab.fim.isChecked() and tab.config(resume=False).fim_rate == fim.RATE
    tab.gpt2_radio.setChecked(True)  # GPT-2 has no FIM tokens until extended
    assert not tab.fim.isChecked() and tab.config(resume=False).fim_rate == 0.0
    tab.fim.setChecked(True)
    assert tab.config(resume=False).fim_rate == fim.RATE
    tab.new_radio.setChecked(True)
    tab.fim.setChecked(False)
    assert tab.config(resume=False).fim_rate == 0.0
