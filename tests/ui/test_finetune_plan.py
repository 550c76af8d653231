"""The Finetune tab's memory plan before Start, its one-click fix, and an out-of-memory recovery during a real run."""

from __future__ import annotations

import pytest

from musicgpt_gui.core.model.plan import memory
from musicgpt_gui.core.model.store.run_store import History
from musicgpt_gui.core.model.train import recovery
from tests.ui.helpers import wait_idle
from tests.ui.test_finetune_tab import set_up_training

GPU_8GB = memory.Device("GPU:0", "GPU", "GPU:0 (an 8 GB card)", 8 * 10**9)


def test_355m_on_an_8_gb_gpu_says_before_start_whether_it_fits_and_fixes_it_in_one_click(
    make_window, workspace, qtbot
) -> None:
    tab = make_window(workspace).finetune_tab
    assert "CPU RAM" in tab.plan_label.text() and "fits" in tab.plan_label.text()  # the default: a new small model
    tab.devices_found = True
    tab.set_devices([GPU_8GB])  # no GPU here: the card is described, the plan is the same arithmetic
    tab.gpt2_radio.setChecked(True)
    tab.gpt2_size.setCurrentText("355M")
    tab.hyper["batch_size"].setValue(1)
    tab.hyper["accumulate"].setValue(1)
    tab.hyper["window"].setValue(1024)
    line = tab.plan_label.text()
    assert line.startswith("355M, 1 × 1024 tokens: about ") and "of 8.0 GB free on GPU:0" in line
    assert "does not fit" in line and tab.fit_button.isVisibleTo(tab)
    tab.fit_button.click()
    assert tab.hyper["window"].value() < 1024 and tab.hyper["batch_size"].value() == 1
    assert tab.plan_label.text().endswith("fits.") and not tab.fit_button.isVisibleTo(tab)

    tab.gpt2_size.setCurrentText("124M")
    tab.hyper["window"].setValue(512)
    tab.hyper["batch_size"].setValue(16)
    tab.hyper["accumulate"].setValue(1)
    assert "does not fit; micro-batch" in tab.plan_label.text()
    tab.fit_button.click()
    batch, steps = tab.hyper["batch_size"].value(), tab.hyper["accumulate"].value()
    assert batch < 16 and batch * steps == 16 and tab.plan_label.text().endswith("fits.")
    assert tab.config(resume=False).devices == ()  # one device: TensorFlow's own placement
    tab.mixed_precision.setChecked(True)
    assert "with mixed precision (saves about" in tab.plan_label.text()
    assert tab.config(resume=False).mixed_precision
    tab.set_devices([memory.Device("CPU", "CPU", "CPU RAM", 16 * 10**9)])
    assert not tab.mixed_precision.isEnabled() and not tab.config(resume=False).mixed_precision
    assert "mixed" not in tab.plan_label.text()


@pytest.mark.slow
def test_an_out_of_memory_error_mid_run_recovers_and_says_so(
    make_window, ws_with_dataset, tiny_dataset, qtbot, monkeypatch
) -> None:
    monkeypatch.setenv(recovery.INJECT_ENV, "step=3,above=1")  # TensorFlow's own error, raised in the real loop
    window = make_window(ws_with_dataset)
    tab = window.finetune_tab
    set_up_training(tab, tiny_dataset.name, "ui-oom", steps=4)
    tab.hyper["batch_size"].setValue(4)
    tab.start_button.click()
    wait_idle(qtbot, tab)
    assert tab.rate_label.text().startswith("Finished at step 4"), tab.rate_label.text()
    said = tab.recovery_label.text()
    assert said.startswith("Out of memory at step 3 with micro-batch 2") and "micro-batch 1 × 4 accumulated" in said
    assert "out of memory at step 3 with micro-batch 4" in tab.rate_label.text()  # the run's notes
    assert (tab.hyper["batch_size"].value(), tab.hyper["accumulate"].value()) == (1, 4)
    history = History.load(ws_with_dataset.checkpoint / "ui-oom")
    assert [e["step"] for e in history.train] == [1, 2, 3, 4]
    assert [(r["batch_size"], r["accumulate"]) for r in history.recoveries] == [(2, 2), (1, 4)]
