"""Generate and Attention tabs on a tiny trained run: stream, results, export, play, stop, attention page."""
from __future__ import annotations

import threading

import mido
import pytest

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.music import notation
from musicgpt_gui.core.midi.midi_io import provenance_of
from musicgpt_gui.ui import generate_tab
from musicgpt_gui.ui.generate_job import TokenBuffer
from tests.ui.helpers import STALL_LIMIT_MS, Heartbeat, wait_idle


def js(qtbot, tab, script: str):
    """Run JavaScript in the attention page and wait for its value."""
    box = []
    tab.run_js(script, box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=10_000)
    return box[0]


@pytest.fixture()
def window(make_window, tiny_run):
    return make_window(tiny_run.workspace)


@pytest.fixture()
def opening(tiny_dataset) -> str:
    piece = dataset_files.load_split(tiny_dataset, dataset_files.TRAIN)[0]
    return notation.join_items(notation.split_items(piece)[:12])


def generate(qtbot, tab, prefix: str, length: int, seed: int = 7) -> None:
    tab.refresh()
    tab.run.setCurrentText("tiny-run")
    tab.prefix.setPlainText(prefix)
    tab.length.setValue(length)
    tab.random_seed.setChecked(False)
    tab.seed.setValue(seed)
    tab.generate_button.click()
    wait_idle(qtbot, tab)


@pytest.mark.stall
def test_generate_streams_lists_exports_and_plays(window, qtbot, opening, tmp_path, tensorflow_loaded) -> None:
    tab = window.generate_tab
    window.tabs.setCurrentWidget(tab)
    streamed = []
    tab.stream_timer.timeout.connect(lambda: streamed.append(tab.output.toPlainText()))
    with Heartbeat() as beat:
        generate(qtbot, tab, opening, length=300)
    assert tab.results.count() == 1
    assert "% valid" in tab.results.item(0).text()
    assert tab.progress.value() == 100
    full = tab.selected_text()
    shown_prefix = tab.prefix.toPlainText().strip()
    assert any(len(shown_prefix) < len(s) for s in streamed)  # text grew on a timer tick, before the result
    assert full.startswith(notation.parse_text(opening).text)
    assert tab.output.toPlainText() == full
    assert tab.roll.parsed is not None and tab.roll.parsed.notes
    assert beat.longest_ms < STALL_LIMIT_MS, f"the event loop stalled {beat.longest_ms:.0f} ms during generation"
    qtbot.waitUntil(lambda: window.device_label.text() == "Device: CPU", timeout=30_000)  # asked TF after the job

    written = tab.export_to(tmp_path / "out.mid")
    midi = mido.MidiFile(written)
    assert provenance_of(midi)["run"] == "tiny-run" and provenance_of(midi)["seed"] == 7

    tab.play_button.click()  # no audio device here: a clear message, the tab goes on
    assert tab.play_button.last_error.startswith("No audio output device")

    tab.prefix.clear()
    tab.prefix_items.setValue(5)
    tab.prefix_from_midi(written)
    wait_idle(qtbot, tab)
    assert len(notation.split_items(tab.prefix.toPlainText())) == 5


def test_stop_generation_leaves_the_tab_usable(window, qtbot, opening, monkeypatch) -> None:
    tab = window.generate_tab
    tab.refresh()
    tab.run.setCurrentText("tiny-run")
    tab.prefix.setPlainText(opening)
    tab.length.setValue(4000)
    streaming, stopped = threading.Event(), threading.Event()

    class HeldBuffer(TokenBuffer):
        def push(self, event) -> None:  # the job thread waits at its first token until Stop is clicked
            super().push(event)
            if not streaming.is_set():
                streaming.set()
                stopped.wait(30)

    monkeypatch.setattr(generate_tab, "TokenBuffer", HeldBuffer)
    try:
        tab.generate_button.click()
        qtbot.waitUntil(streaming.is_set, timeout=120_000)
        tab.stop_button.click()
        stopped.set()
        wait_idle(qtbot, tab)
    finally:
        stopped.set()
    assert tab.info.text() == "Stopped."
    assert tab.generate_button.isEnabled() and not tab.stop_button.isEnabled()
    generate(qtbot, tab, opening, length=8)
    assert tab.results.count() == 1
    assert tab.generator.loads == 1  # the model stayed warm across both runs


def test_show_attention_draws_one_layer_entry_per_layer(window, qtbot, opening, tmp_path, tiny_run) -> None:
    generate(qtbot, window.generate_tab, opening, length=16)
    window.generate_tab.attention_button.click()
    tab = window.attention_tab
    assert window.tabs.currentWidget() is tab
    assert tab.text.toPlainText() == window.generate_tab.selected_text()
    wait_idle(qtbot, tab)
    assert tab.views.currentWidget() is tab.roll_panel and tab.roll_panel.roll.selected is not None
    tab.views.setCurrentWidget(tab.bertviz)
    qtbot.waitUntil(tab.sync_timer.isActive, timeout=60_000)  # the page finished loading

    n_layers = tab.pages.result.attention.shape[0]
    assert n_layers == 2
    # BertViz draws after RequireJS has loaded d3 and jQuery, which can be after the load signal.
    qtbot.waitUntil(lambda: js(qtbot, tab, "document.querySelectorAll('select#layer option').length") == n_layers,
                    timeout=10_000)
    assert js(qtbot, tab, "document.querySelectorAll('svg').length") >= 1
    assert [tab.layer.itemText(i) for i in range(tab.layer.count())] == ["0", "1"]

    tab.layer.setCurrentIndex(1)
    tab._set_page_layer()
    qtbot.waitUntil(lambda: js(qtbot, tab, "document.querySelector('select#layer').value") == "1", timeout=5_000)
    js(qtbot, tab, "(function(){ jQuery('select#layer').val(0).change(); return 1; })()")
    qtbot.waitUntil(lambda: tab.layer.currentText() == "0", timeout=5_000)  # the page drives Qt too

    tab.mode.setCurrentIndex(tab.mode.findData("model"))
    qtbot.waitUntil(lambda: js(qtbot, tab, "document.getElementById('show-model').classList.contains('active')"),
                    timeout=5_000)
    tab.pool.setChecked(True)
    qtbot.waitUntil(lambda: tab.view.url().fileName() == "notes.html", timeout=5_000)
    assert len(tab.pages.pooled.items) <= len(tab.pages.result.tokens)

    html = tab.export_html_to(tmp_path / "export" / "attention.html")
    assert (tmp_path / "export" / "attention_files" / "head_view.js").is_file()
    assert "attention_files/" in html.read_text()
    npz = tab.export_npz_to(tmp_path / "export" / "attention.npz")
    assert npz.is_file() and npz.stat().st_size > 0
