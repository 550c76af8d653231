"""The loss chart's n-gram line, 'Train for N minutes', and the metrics tables beside samples and variations."""
from __future__ import annotations

import pytest

from musicgpt_gui.core.model.store.run_store import History
from musicgpt_gui.core.quality import report
from musicgpt_gui.ui.widgets.loss_chart import BITS, LossChart
from tests.ui.helpers import wait_idle
from tests.ui.test_finetune_tab import set_up_training


def test_ngram_line_spans_the_steps_and_follows_the_axis(qtbot) -> None:
    chart = LossChart()
    qtbot.addWidget(chart)
    chart.set_history([(1, 5.0), (2, 4.0)], [(2, 4.5)], ngram=3.2, order=5)
    points = [(p.x(), p.y()) for p in chart.ngram.points()]
    assert points == [(0, 3.2), (10, 3.2)] and chart.ngram.name() == "n-gram (n=5)"
    assert chart.y_axis.titleText() == BITS
    chart.add_train(40, 3.9)
    assert chart.ngram.points()[-1].x() == 40
    chart.clear()
    assert chart.ngram.count() == 0 and chart.ngram_value is None


@pytest.mark.slow
def test_train_for_minutes_shows_the_ngram_line_and_sample_metrics(make_window, ws_with_dataset, tiny_dataset,
                                                                   qtbot) -> None:
    window = make_window(ws_with_dataset)
    tab = window.finetune_tab
    set_up_training(tab, tiny_dataset.name, "ui-minutes", steps=1)
    tab.hyper["sample_every"].setValue(2)
    tab.use_minutes.setChecked(True)
    assert not tab.hyper["steps"].isEnabled()
    tab.minutes.setValue(0.1)
    tab.start_button.click()
    wait_idle(qtbot, tab)
    history = History.load(ws_with_dataset.checkpoint / "ui-minutes")
    assert history.settings["minutes"] == pytest.approx(0.1) and len(history.train) > 1  # steps=1 was not the limit
    assert tab.chart.ngram_value == pytest.approx(history.ngram["bits_per_element"])
    assert tab.chart.ngram.count() == 2
    assert tab.samples.count() >= 1
    tab.samples.setCurrentRow(0)
    labels = [tab.metrics.verticalHeaderItem(r).text() for r in range(tab.metrics.rowCount())]
    assert labels[:2] == [report.VALIDATION, report.NGRAM] and labels[2].startswith("sample ")
    assert tab.metrics.cell_text(0, "in_scale").endswith("%")


def test_variations_get_a_metrics_row_and_are_recorded(make_window, tiny_run, qtbot) -> None:
    from tests.ui.test_generate_attention import generate

    window = make_window(tiny_run.workspace)
    tab = window.generate_tab
    generate(qtbot, tab, "C4 E4 G4:1.0, D4 F4 A4:1.0", length=40, seed=3)
    labels = [tab.metrics_table.verticalHeaderItem(r).text() for r in range(tab.metrics_table.rowCount())]
    assert labels[-1] == "variation 1"
    assert "seed 3 variation 1" in report.load(tiny_run.run_dir)["generated"]
