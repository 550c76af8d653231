"""The BertViz page in a real QWebEngineView (offscreen): local files only, working views, safe tokens."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from PySide6.QtCore import QUrl
from PySide6.QtWebEngineCore import (
    QWebEnginePage,
    QWebEngineProfile,
    QWebEngineScript,
    QWebEngineUrlRequestInterceptor,
)
from PySide6.QtWebEngineWidgets import QWebEngineView  # before the QApplication exists

from musicgpt_gui.core.viz.attention_page import choose_view, library_files, write_attention_page
from musicgpt_gui.core.jobs import JobError

EVIL = ["<b>x</b>", "</script>", "C#4:0.5", " D4", "&amp;", "'\"", ", ", "rest:1.0"]


def causal_attention(layers: int, heads: int, n: int, seed: int = 0) -> np.ndarray:
    """Random but valid attention: causal rows that sum to 1."""
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(layers, heads, n, n)) + np.triu(np.full((n, n), -np.inf), 1)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    return weights / weights.sum(-1, keepdims=True)


class Recorder(QWebEngineUrlRequestInterceptor):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def interceptRequest(self, info) -> None:  # noqa: N802 (Qt's name)
        url = info.requestUrl().toString()
        self.urls.append(url)
        info.block(not url.startswith("file://"))


# QtWebEngine drops a local page's remote loads before any interceptor sees them, so the
# page also records every URL it asks for (script/link/img sources, fetch, XHR).
URL_RECORDER = """
window.__urls = [];
(function () {
  const note = (u) => { try { window.__urls.push(new URL(String(u), document.baseURI).href); } catch (e) {} };
  const sources = [[HTMLScriptElement, "src"], [HTMLImageElement, "src"], [HTMLLinkElement, "href"],
                   [HTMLIFrameElement, "src"]];
  for (const [cls, prop] of sources) {
    const d = Object.getOwnPropertyDescriptor(cls.prototype, prop);
    Object.defineProperty(cls.prototype, prop,
                          { get: d.get, set(v) { note(v); d.set.call(this, v); }, configurable: true });
  }
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (/^(src|href)$/i.test(name)) note(value);
    return setAttribute.call(this, name, value);
  };
  const fetch0 = window.fetch;
  window.fetch = function (u, ...rest) { note(u && u.url ? u.url : u); return fetch0.call(this, u, ...rest); };
  const open0 = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (m, u, ...rest) { note(u); return open0.call(this, m, u, ...rest); };
})();
"""


class Browser:
    """A view on its own profile whose every request is recorded, by Qt and by the page."""

    def __init__(self, qtbot) -> None:
        self.qtbot = qtbot
        self.profile = QWebEngineProfile()
        self.recorder = Recorder()
        self.profile.setUrlRequestInterceptor(self.recorder)
        script = QWebEngineScript()
        script.setSourceCode(URL_RECORDER)
        script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
        script.setWorldId(QWebEngineScript.ScriptWorldId.MainWorld)
        self.profile.scripts().insert(script)
        self.page = QWebEnginePage(self.profile)
        self.view = QWebEngineView()
        self.view.setPage(self.page)
        qtbot.addWidget(self.view)

    def load(self, path: Path) -> None:
        with self.qtbot.waitSignal(self.view.loadFinished, timeout=60_000) as signal:
            self.view.load(QUrl.fromLocalFile(str(path)))
        assert signal.args[0], "the page failed to load"

    def js(self, code: str):
        """Evaluate ``code`` in the page; the value comes back through JSON."""
        out: list = []
        self.page.runJavaScript(f"JSON.stringify({code})", 0, out.append)
        self.qtbot.waitUntil(lambda: bool(out), timeout=10_000)
        return json.loads(out[0]) if out[0] else None

    def wait_js(self, code: str) -> None:
        self.qtbot.waitUntil(lambda: bool(self.js(code)), timeout=30_000)

    def requests(self) -> list[str]:
        """Every URL requested: those Qt saw, and those the page asked for."""
        return self.recorder.urls + (self.js("window.__urls") or [])

    def close(self) -> None:
        self.view.setPage(None)
        del self.page


@pytest.fixture()
def browser(qtbot):
    b = Browser(qtbot)
    yield b
    b.close()


def test_page_loads_only_local_files_and_shows_every_layer(tmp_path: Path, browser) -> None:
    tokens = ["<|endoftext|>", "C4:1.0", ",", " D4", ":0.5", ",", " rest", ":1.0,"] * 3
    page = write_attention_page(tmp_path / "page.html", tokens, causal_attention(3, 4, len(tokens)), title="tiny")
    assert page.layers == [0, 1, 2] and (page.start, page.end) == (0, len(tokens))

    browser.load(page.path)
    head = browser.js("document.getElementById('show-head').dataset.view")
    browser.wait_js(f"document.querySelectorAll('#{head} #vis svg line').length > 0")

    options = browser.js(f"Array.from(document.querySelectorAll('#{head} #layer option')).map(o => o.textContent)")
    assert options == ["0", "1", "2"]
    assert browser.js(f"document.querySelectorAll('#{head} #vis svg').length") == 1
    assert browser.js(f"document.querySelectorAll('#{head} #vis svg text').length") >= 2 * len(tokens)

    browser.js("document.getElementById('show-model').click()")
    model = browser.js("document.getElementById('show-model').dataset.view")
    browser.wait_js(f"document.querySelectorAll('#{model} #vis svg').length > 0")
    assert browser.js(f"document.getElementById('{model}').hidden") is False
    assert browser.js(f"document.getElementById('{head}').hidden") is True

    requests = browser.requests()
    assert all(url.startswith("file://") for url in requests), requests
    requested = {Path(QUrl(url).toLocalFile()).name for url in browser.recorder.urls}
    assert {
        "page.html",
        "require.min.js",
        "jquery.min.js",
        "d3.v5.min.js",
        "head_view.js",
        "model_view.js",
    } <= requested


def test_a_page_reaching_for_the_cdn_is_caught(tmp_path: Path, browser) -> None:
    """Control: without our AMD names for jQuery/d3, BertViz's require.config asks cdnjs."""
    page = write_attention_page(tmp_path / "cdn.html", ["a", "b"], causal_attention(1, 1, 2))
    text = page.path.read_text()
    page.path.write_text(re.sub(r'\n\s*define\("(jquery|d3)".*', "", text))
    browser.load(page.path)
    browser.qtbot.waitUntil(lambda: any("cdnjs" in url for url in browser.requests()), timeout=30_000)


def test_tokens_are_shown_as_text_never_as_html(tmp_path: Path, browser) -> None:
    page = write_attention_page(tmp_path / "evil.html", EVIL, causal_attention(2, 2, len(EVIL)), title="<i>title</i>")
    browser.load(page.path)
    head = browser.js("document.getElementById('show-head').dataset.view")
    browser.wait_js(f"document.querySelectorAll('#{head} #vis svg text').length > 0")

    shown = browser.js(f"Array.from(document.querySelectorAll('#{head} #vis svg text')).map(t => t.textContent)")
    for token in EVIL:
        assert token in shown
    assert browser.js("document.querySelectorAll('b, i').length") == 0
    assert browser.js("document.title") == "<i>title</i>"
    assert all(url.startswith("file://") for url in browser.requests())


def test_long_sequences_get_a_window_and_fewer_layers_stated_on_the_page(tmp_path: Path) -> None:
    attention = causal_attention(6, 4, 300)
    page = write_attention_page(
        tmp_path / "long.html", [f"t{i}" for i in range(300)], attention, max_tokens=100, max_cells=100_000
    )
    assert (page.start, page.end) == (200, 300)
    assert page.layers == [0, 5]  # 100_000 // (4 * 100**2) = 2 layers, spread over the model
    text = page.path.read_text()
    assert "Showing positions 200-299 of 300" in text and "Showing layers 0, 5 of 6" in text
    script = (tmp_path / "long_files" / "head_view.js").read_text()
    assert '"include_layers":[0,5]' in script and "t299" in script and "t199" not in script


def test_explicit_window_and_layers_are_checked() -> None:
    assert choose_view(4, 2, 50, start=10, layers=[1], max_tokens=20) == (10, 30, [1])
    with pytest.raises(JobError, match="layers 0..3"):
        choose_view(4, 2, 50, layers=[4])
    with pytest.raises(JobError, match="window must start"):
        choose_view(4, 2, 50, start=50)


def test_pages_use_the_installed_scripts_and_commit_none() -> None:
    files = library_files()
    assert set(files) == {
        "head_view.js", "model_view.js", "neuron_view.js", "require.min.js", "jquery.min.js", "d3.v5.min.js"
    }
    repo = Path(__file__).resolve().parents[2]
    assert not [p for p in repo.joinpath("resources").rglob("*.js")]
    assert all("site-packages" in str(p) or "dist-packages" in str(p) for p in files.values())


def test_mismatched_shapes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(JobError, match="does not match 3 tokens"):
        write_attention_page(tmp_path / "x.html", ["a", "b", "c"], causal_attention(1, 1, 4))
