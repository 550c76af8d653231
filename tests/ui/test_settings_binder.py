"""The settings binder: every bound widget kind survives a save and a restore through an INI file."""
from __future__ import annotations

import shutil

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from musicgpt_gui.ui.settings_binder import SettingsBinder


def widgets():
    spin, real, check, line, combo = QSpinBox(), QDoubleSpinBox(), QCheckBox(), QLineEdit(), QComboBox()
    spin.setRange(0, 100)
    real.setRange(0.0, 5.0)
    combo.addItems(["a", "b", "c"])
    binder = SettingsBinder("test")
    for key, widget in (("spin", spin), ("real", real), ("check", check), ("line", line), ("combo", combo)):
        binder.bind(key, widget)
    return binder, (spin, real, check, line, combo)


def test_values_round_trip_with_their_types(qapp, settings) -> None:
    binder, (spin, real, check, line, combo) = widgets()
    spin.setValue(42)
    real.setValue(0.25)
    check.setChecked(True)
    line.setText("run7")
    combo.setCurrentText("c")
    binder.save(settings)
    settings.sync()
    assert settings.value("test/spin") is not None

    restored, (spin2, real2, check2, line2, combo2) = widgets()
    restored.restore(settings)
    assert (spin2.value(), real2.value(), check2.isChecked(), line2.text(), combo2.currentText()) == (
        42, 0.25, True, "run7", "c")


def test_missing_or_unreadable_values_keep_the_defaults(qapp, settings) -> None:
    settings.setValue("test/spin", "not a number")
    settings.setValue("test/check", "maybe")
    settings.setValue("test/combo", "gone")  # an item the combo no longer has
    binder, (spin, real, check, line, combo) = widgets()
    spin.setValue(5)
    binder.restore(settings)
    assert (spin.value(), check.isChecked(), combo.currentText(), line.text()) == (5, False, "a", "")


def test_the_finetune_dataset_base_and_attention_run_are_remembered(make_window, ws_with_dataset, tiny_dataset,
                                                                    settings) -> None:
    shutil.copytree(tiny_dataset, ws_with_dataset.datasets / "second")
    for run in ("run-a", "run-b"):  # listed as runs (they have hparams); nothing here loads them
        (ws_with_dataset.checkpoint / run).mkdir(parents=True)
        (ws_with_dataset.checkpoint / run / "hparams.json").write_text("{}")
    window = make_window(ws_with_dataset)
    finetune, attention = window.finetune_tab, window.attention_tab
    chosen = "second" if finetune.dataset.currentText() == tiny_dataset.name else tiny_dataset.name
    finetune.dataset.setCurrentText(chosen)
    finetune.gpt2_radio.setChecked(True)
    finetune.gpt2_size.setCurrentText("355M")
    attention.refresh()
    other = "run-a" if attention.run.currentText() == "run-b" else "run-b"
    attention.run.setCurrentText(other)
    window.close()

    again = make_window(ws_with_dataset)
    assert again.finetune_tab.dataset.currentText() == chosen
    assert again.finetune_tab.gpt2_radio.isChecked() and again.finetune_tab.gpt2_size.currentText() == "355M"
    assert again.attention_tab.run.currentText() == other
