"""Finetune tab, driven like a user: new tiny model, a few real training steps, stop, resume."""

from __future__ import annotations

import pytest

from musicgpt_gui.core.model.store.run_store import History
from tests.ui.helpers import STALL_LIMIT_MS, Heartbeat, wait_idle


def set_up_training(tab, dataset_name: str, run: str, steps: int) -> None:
    tab.refresh()
    tab.dataset.setCurrentIndex(tab.dataset.findText(dataset_name))
    tab.run_name.setText(run)
    tab.new_radio.setChecked(True)
    tab.size.setCurrentText("tiny")
    tab.vocab.setCurrentText("atomic")
    values = dict(steps=steps, batch_size=2, window=64, validate_every=2, sample_every=0, save_every=2, patience=0)
    for key, value in values.items():
        tab.hyper[key].setValue(value)


@pytest.mark.stall
@pytest.mark.slow
def test_training_fills_the_progress_bar_and_the_loss_chart(
    make_window, ws_with_dataset, tiny_dataset, qtbot, tensorflow_loaded, music_libraries_loaded
) -> None:
    window = make_window(ws_with_dataset)
    tab = window.finetune_tab
    window.tabs.setCurrentWidget(tab)
    set_up_training(tab, tiny_dataset.name, "ui-run", steps=4)
    with Heartbeat() as beat:
        tab.start_button.click()
        assert tab.busy() and tab.stop_button.isEnabled() and not tab.start_button.isEnabled()
        wait_idle(qtbot, tab)
    assert tab.progress.maximum() == 4 and tab.progress.value() == 4
    assert tab.rate_label.text().startswith("Finished at step 4"), tab.rate_label.text()
    history = History.load(ws_with_dataset.checkpoint / "ui-run")
    assert tab.chart.train.count() == len(history.train) == 4
    assert tab.chart.valid.count() == len(history.valid) == 2
    assert window.device_label.text() == "Device: CPU"
    assert tab.start_button.isEnabled() and tab.resume_button.isEnabled() and not tab.stop_button.isEnabled()
    assert beat.longest_ms < STALL_LIMIT_MS, f"the event loop stalled {beat.longest_ms:.0f} ms during training"


@pytest.mark.slow
def test_stop_saves_and_resume_continues_the_step_counter(make_window, ws_with_dataset, tiny_dataset, qtbot) -> None:
    window = make_window(ws_with_dataset)
    tab = window.finetune_tab
    set_up_training(tab, tiny_dataset.name, "ui-stop", steps=10_000)
    tab.start_button.click()
    qtbot.waitUntil(lambda: tab.progress.value() >= 1, timeout=120_000)
    tab.stop_button.click()
    wait_idle(qtbot, tab)
    stopped_at = tab.progress.value()
    assert 1 <= stopped_at < 10_000
    assert tab.rate_label.text().startswith("Stopped at step"), tab.rate_label.text()
    assert tab.resume_button.isEnabled() and tab.start_button.isEnabled()

    tab.hyper["steps"].setValue(2)
    tab.resume_button.click()
    wait_idle(qtbot, tab)
    assert tab.rate_label.text().startswith("Finished"), tab.rate_label.text()
    assert tab.progress.value() == tab.progress.maximum()
    assert History.load(ws_with_dataset.checkpoint / "ui-stop").train[-1]["step"] > stopped_at


def test_starting_without_a_dataset_says_what_to_do(make_window, workspace, qtbot) -> None:
    from PySide6.QtWidgets import QMessageBox

    window = make_window(workspace)
    window.finetune_tab.start_button.click()
    box = window.findChild(QMessageBox, "errorDialog")
    assert box is not None and "Dataset tab" in box.text()
    assert not window.finetune_tab.busy()
    box.accept()


@pytest.mark.slow
def test_starting_an_existing_run_again_asks_first(
    make_window, ws_with_dataset, tiny_dataset, qtbot, monkeypatch
) -> None:
    window = make_window(ws_with_dataset)
    tab = window.finetune_tab
    set_up_training(tab, tiny_dataset.name, "ui-again", steps=1)
    tab.start_button.click()
    wait_idle(qtbot, tab)
    asked = []
    monkeypatch.setattr(tab, "confirm", lambda question: asked.append(question) or False)
    tab.start_button.click()
    assert asked and "already has checkpoints" in asked[0] and not tab.busy()
    monkeypatch.setattr(tab, "confirm", lambda question: True)
    tab.start_button.click()  # a second new model for the same run gets its own name
    wait_idle(qtbot, tab)
    assert tab.rate_label.text().startswith("Finished"), tab.rate_label.text()
    assert (ws_with_dataset.models / f"{tiny_dataset.name}-tiny-atomic-2").is_dir()
