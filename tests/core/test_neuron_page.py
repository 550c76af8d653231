"""The neuron view page in a real QWebEngineView (offscreen): BertViz's neuron_view.js on our data, local files
only, the selected token's scores read back from what BertViz drew, a window on long inputs, safe tokens."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QUrl

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.viz.neuron_page import neuron_window, window_width, write_neuron_page
from tests.core.test_attention_page import EVIL, browser  # noqa: F401  (the fixture)

SELECTED = (
    "window.neuron && window.neuron.ready() && window.neuron.scores().drawn && window.neuron.scores().scores.length"
)


def vectors(layers: int, heads: int, n: int, size: int = 8, seed: int = 0):
    """Random queries and keys and the causal attention they give (softmax(q·kᵀ/√d), masked)."""
    rng = np.random.default_rng(seed)
    q, k = rng.normal(size=(2, layers, heads, n, size)).astype(np.float32) * 2
    scores = q.astype(np.float64) @ np.swapaxes(k, -1, -2) / np.sqrt(size)
    scores = np.where(np.tril(np.ones((n, n), dtype=bool)), scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    return (weights / weights.sum(-1, keepdims=True)).astype(np.float32), q, k, scores


def test_the_page_shows_the_selected_tokens_q_k_and_scores_offline(tmp_path: Path, browser) -> None:  # noqa: F811
    tokens = ["<|endoftext|>", "C4:1.0", ",", " D4", ":0.5", ",", " rest", ":1.0,", " E4", ":2.0"]
    attention, q, k, scores = vectors(2, 3, len(tokens))
    page = write_neuron_page(tmp_path / "neuron.html", tokens, attention, q, k, selected=6, layer=1, head=2)
    assert (page.start, page.end, page.selected) == (0, len(tokens), 6)

    browser.load(page.path)
    browser.wait_js(f"({SELECTED}) === 7")
    shown = browser.js("window.neuron.scores()")
    assert (shown["position"], shown["layer"], shown["head"]) == (6, 1, 2)
    assert np.abs(np.array(shown["scores"]) - scores[1, 2, 6, :7]).max() < 1e-3  # q·k/√d, computed by BertViz
    assert np.abs(np.array(shown["attention"]) - attention[1, 2, 6, :7]).max() < 1e-4
    assert browser.js("document.querySelectorAll('#expanded #queries .vector').length") == len(tokens)
    assert browser.js("document.querySelector('#expanded').getAttribute('visibility')") == "visible"

    browser.js("window.neuron.select(3)")
    browser.js("jQuery('#layer').val(0).change(), jQuery('#att_head').val(1).change()")
    browser.wait_js(f"window.neuron.scores().head === 1 && ({SELECTED}) === 4")
    browser.qtbot.wait(100)  # BertViz redrew; our selection came back after it
    shown = browser.js("window.neuron.scores()")
    assert np.abs(np.array(shown["scores"]) - scores[0, 1, 3, :4]).max() < 1e-3
    assert np.abs(np.array(shown["attention"]) - attention[0, 1, 3, :4]).max() < 1e-4
    assert browser.js("document.querySelector('#token').value") == "3"

    requests = browser.requests()
    assert requests and all(url.startswith("file://") for url in requests), requests
    requested = {Path(QUrl(url).toLocalFile()).name for url in browser.recorder.urls}
    assert {"neuron.html", "require.min.js", "jquery.min.js", "d3.v5.min.js", "neuron_view.js"} <= requested


def test_long_inputs_get_a_window_around_the_selected_token(tmp_path: Path, browser) -> None:  # noqa: F811
    n = 300
    attention, q, k, scores = vectors(2, 2, n, seed=1)
    page = write_neuron_page(tmp_path / "long.html", [f"t{i}" for i in range(n)], attention, q, k,
                             selected=100, max_tokens=40)
    assert (page.start, page.end) == (70, 110)
    assert "Showing positions 70-109 of 300 around token 100" in page.path.read_text()
    data = (tmp_path / "long_files" / "neuron_params.js").read_text()
    assert '"t70"' in data and '"t109"' in data and '"t69"' not in data and '"t110"' not in data

    browser.load(page.path)
    browser.wait_js(f"({SELECTED}) === 31")
    shown = browser.js("window.neuron.scores()")
    assert shown["position"] == 100 and browser.js("window.neuron.selected()") == 100
    assert np.abs(np.array(shown["scores"]) - scores[0, 0, 100, 70:101]).max() < 1e-3
    assert np.abs(np.array(shown["attention"]) - attention[0, 0, 100, 70:101]).max() < 1e-4


def test_tokens_stay_text(tmp_path: Path, browser) -> None:  # noqa: F811
    attention, q, k, _ = vectors(1, 1, len(EVIL))
    page = write_neuron_page(tmp_path / "evil.html", EVIL, attention, q, k, title="<i>t</i>")
    browser.load(page.path)
    browser.wait_js(SELECTED)
    shown = browser.js("Array.from(document.querySelectorAll('#vis svg text')).map(t => t.textContent)")
    menu = browser.js("Array.from(document.querySelectorAll('#token option')).map(o => o.textContent)")
    for i, token in enumerate(EVIL):
        assert token in shown and menu[i] == f"{i}: {token}"
    assert browser.js("document.querySelectorAll('b, i').length") == 0
    assert all(url.startswith("file://") for url in browser.requests())


def test_windows_and_bad_choices() -> None:
    assert neuron_window(10, 9, 48) == (0, 10)
    assert neuron_window(1024, 0, 48) == (0, 48)
    assert neuron_window(1024, 1023, 48) == (976, 1024)
    assert neuron_window(1024, 500, 48) == (464, 512)
    assert window_width(12, 12, 64, 48, 3_000_000) == 48
    assert 8 <= window_width(48, 25, 64, 48, 3_000_000) < 48
    with pytest.raises(JobError, match="no token 10"):
        neuron_window(10, 10, 4)
    attention, q, k, _ = vectors(1, 1, 3)
    with pytest.raises(JobError, match="do not match"):
        write_neuron_page(Path("/nonexistent/x.html"), ["a", "b", "c"], attention, q, k[..., :4])
    with pytest.raises(JobError, match="heads 0..0"):
        write_neuron_page(Path("/nonexistent/x.html"), ["a", "b", "c"], attention, q, k, head=1)
