"""The Attention tab's neuron view on a real tiny run: offline (0 remote requests), its selected token's scores
read back from the page equal q·k/√d of the model's own queries and keys, a note clicked on the roll selects its
first token, and a 1024-token text does not stall the GUI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWebEngineCore import QWebEngineScript

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.music.notation import join_items, split_items
from musicgpt_gui.ui.attention_tab import first_token
from tests.core.test_attention_page import URL_RECORDER, Recorder
from tests.ui.helpers import STALL_LIMIT_MS, Heartbeat, wait_idle, wide_attention_tab


def js(qtbot, tab, script: str):
    box = []
    tab.run_js(script, box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=10_000)
    return box[0]


def page_scores(qtbot, tab) -> dict | None:
    value = js(qtbot, tab, "window.neuron && window.neuron.ready() ? JSON.stringify(window.neuron.scores()) : ''")
    return json.loads(value) if value else None


def wait_token(qtbot, tab, position: int) -> dict:
    """Wait until the page shows ``position`` selected and BertViz drew its scores; return them."""
    found = {}

    def shown() -> bool:
        scores = page_scores(qtbot, tab)
        if scores and scores["position"] == position and scores["drawn"]:
            found.update(scores)
            return True
        return False

    qtbot.waitUntil(shown, timeout=60_000)
    return found


def expected(result, layer: int, head: int, position: int, start: int) -> tuple[np.ndarray, np.ndarray]:
    q = result.queries[layer, head, position].astype(np.float64)
    k = result.keys[layer, head, start : position + 1].astype(np.float64)
    return k @ q / np.sqrt(q.size), result.attention[layer, head, position, start : position + 1]


@pytest.fixture()
def recorded(qtbot):
    """Every URL the tab's web view asks for: those Qt's interceptor saw, and those the page asked for."""
    recorder = Recorder()
    recorder.profile = None
    yield recorder
    if recorder.profile is not None:
        recorder.profile.setUrlRequestInterceptor(None)


def record(recorder, tab) -> None:
    view = tab._ensure_view()
    recorder.profile = view.page().profile()
    recorder.profile.setUrlRequestInterceptor(recorder)
    script = QWebEngineScript()
    script.setSourceCode(URL_RECORDER)
    script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
    script.setWorldId(QWebEngineScript.ScriptWorldId.MainWorld)
    view.page().scripts().insert(script)


def test_neuron_view_reads_back_the_selected_tokens_scores_offline(
    make_window, tiny_run, tiny_dataset, qtbot, recorded
) -> None:
    piece = join_items(split_items(dataset_files.load_split(tiny_dataset, dataset_files.VALID)[0])[:10])
    window = make_window(tiny_run.workspace)
    tab = window.attention_tab
    window.tabs.setCurrentWidget(tab)
    tab.refresh()
    tab.run.setCurrentText("tiny-run")
    tab.text.setPlainText(piece)
    tab.compute()  # in the head view: no queries or keys fetched
    wait_idle(qtbot, tab)
    assert tab.pages.result.queries is None and tab.pages.neuron_page is None

    # a note on the roll selects its first token
    pooled = tab.pages.pooled
    element = 3
    tab.roll_panel.roll.select(element)
    position = first_token(pooled, element)
    assert position > 0 and pooled.token_items[position] == element and pooled.token_items[position - 1] == element - 1
    assert tab.neuron.token.value() == position

    tab.views.setCurrentWidget(tab.bertviz)
    record(recorded, tab)
    tab.mode.setCurrentIndex(tab.mode.findData("neuron"))
    assert tab.neuron.isVisibleTo(tab) and not tab.pool.isEnabled()
    wait_idle(qtbot, tab)  # the job fetched queries and keys and wrote the page
    result, page = tab.pages.result, tab.pages.neuron_page
    assert result.queries is not None and page.shows(position)
    scores = wait_token(qtbot, tab, position)
    assert (scores["layer"], scores["head"]) == (0, 0)
    want_scores, want_attention = expected(result, 0, 0, position, page.start)
    assert np.abs(np.array(scores["scores"]) - want_scores).max() < 1e-3
    assert np.abs(np.array(scores["attention"]) - want_attention).max() < 1e-4

    # Qt picks layer, head and token; the page follows
    tab.layer.setCurrentIndex(tab.layer.findText("1"))
    tab._set_page_layer()
    tab.neuron.head.setCurrentIndex(1)
    tab._set_page_head()
    tab.neuron.select_token(position + 2)
    qtbot.waitUntil(lambda: (page_scores(qtbot, tab) or {}).get("head") == 1, timeout=10_000)
    scores = wait_token(qtbot, tab, position + 2)
    assert (scores["layer"], scores["head"]) == (1, 1)
    want_scores, want_attention = expected(result, 1, 1, position + 2, page.start)
    assert np.abs(np.array(scores["scores"]) - want_scores).max() < 1e-3
    assert np.abs(np.array(scores["attention"]) - want_attention).max() < 1e-4

    # the page picks a token; Qt follows
    js(qtbot, tab, "window.neuron.select(1), 1")
    qtbot.waitUntil(lambda: tab.neuron.token.value() == page.start + 1, timeout=5_000)

    urls = recorded.urls + json.loads(js(qtbot, tab, "JSON.stringify(window.__urls || [])"))
    assert urls and all(url.startswith("file://") for url in urls), urls
    assert any(url.endswith("neuron_view.js") for url in recorded.urls)

    npz = tab.export_npz_to(tab.page_dir / "out.npz")
    with np.load(npz) as data:
        assert data["queries"].shape == data["keys"].shape == result.queries.shape
    html = tab.export_html_to(tab.page_dir / "export" / "neuron.html")
    assert (html.parent / "neuron_files" / "neuron_view.js").is_file() and "neuron_files/" in html.read_text()


@pytest.mark.stall
def test_a_1024_token_text_in_the_neuron_view_does_not_stall(
    make_window, tiny_run, tiny_dataset, qtbot, tensorflow_loaded
) -> None:
    window, tab = wide_attention_tab(make_window, tiny_run, tiny_dataset)
    tab.mode.setCurrentIndex(tab.mode.findData("neuron"))
    tab.views.setCurrentWidget(tab.bertviz)
    view = tab._ensure_view()  # Chromium's one-off start (~0.5 s, once) comes before the heartbeat
    with qtbot.waitSignal(view.loadFinished, timeout=60_000):
        view.setHtml("<p>start</p>")
    with Heartbeat() as beat:
        tab.compute()
        wait_idle(qtbot, tab)
        result = tab.pages.result
        assert len(result.tokens) == 1024 and result.queries is not None
        first = tab.neuron.token.value()
        assert tab.pages.neuron_page.shows(first) and tab.pages.neuron_page.end - tab.pages.neuron_page.start == 48
        wait_token(qtbot, tab, first)
        for position in (1023, 0, 512, 513):  # outside the window: a new page each, but 513 is inside 512's
            tab.neuron.select_token(position)
            wait_idle(qtbot, tab)
            scores = wait_token(qtbot, tab, position)
            page = tab.pages.neuron_page
            want, _ = expected(result, scores["layer"], scores["head"], position, page.start)
            assert np.abs(np.array(scores["scores"]) - want).max() < 1e-3
        tab.views.setCurrentWidget(tab.roll_panel)
        roll = tab.roll_panel.roll
        qtbot.waitUntil(lambda: roll.picture is not None, timeout=10_000)
        roll.repaint()  # the rects are where the notes were last drawn
        note = len(roll.picture.rects) // 3
        x0, y0, x1, y1 = roll.picture.rects[note]
        qtbot.mouseClick(roll, Qt.MouseButton.LeftButton, pos=QPoint(int((x0 + x1) / 2), int((y0 + y1) / 2)))
        assert roll.selected == roll.picture.element_of_note[note]
        token = first_token(tab.pages.pooled, roll.selected)
        assert not tab.pages.neuron_page.shows(token)
        assert tab.neuron.token.value() == token
        tab.views.setCurrentWidget(tab.bertviz)
        wait_idle(qtbot, tab)
        wait_token(qtbot, tab, token)
    assert beat.longest_ms < STALL_LIMIT_MS, f"the event loop stalled {beat.longest_ms:.0f} ms in the neuron view"
