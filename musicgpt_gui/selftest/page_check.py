"""The self-test's Qt step: load a built attention page in an offscreen QWebEngineView.

The only module of the self-test that imports Qt.  It proves what only a real browser
engine can: the bundled QtWebEngine process starts, the page's local d3/jQuery/RequireJS files
load, and BertViz's view draws SVG without a JavaScript error.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, Qt, QUrl
from PySide6.QtWebEngineCore import QWebEnginePage
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QApplication

_ERROR = QWebEnginePage.JavaScriptConsoleMessageLevel.ErrorMessageLevel


class _RecordingPage(QWebEnginePage):
    """Keeps the page's JavaScript errors, which would otherwise only reach the console."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.errors: list[str] = []

    def javaScriptConsoleMessage(self, level, message, line, source) -> None:  # noqa: N802 (Qt API)
        if level == _ERROR:
            self.errors.append(f"{message} ({Path(source).name}:{line})")


def offscreen_defaults() -> None:
    """Environment for a headless run; set before the QApplication exists, never overriding the user."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu --log-level=3")
    os.environ.setdefault("QT_LOGGING_RULES", "qt.rhi.*=false;qt.webenginecontext.*=false")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")  # Chromium refuses root otherwise


def _wait(loop_until, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if loop_until():
            return True
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)
    return loop_until()


def _run_js(page: QWebEnginePage, script: str, timeout_s: float):
    box: list = []
    page.runJavaScript(script, 0, box.append)
    if not _wait(lambda: bool(box), timeout_s):
        raise RuntimeError("the page did not answer a JavaScript call")
    return box[0]


def check_attention_page(path: Path, timeout_s: float = 60.0) -> str:
    """Load ``path`` and wait until BertViz has drawn SVG; raise RuntimeError with the reason if not."""
    offscreen_defaults()
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    QApplication.instance() or QApplication([sys.argv[0]])
    view = QWebEngineView()
    page = _RecordingPage(view)
    view.setPage(page)
    view.resize(1000, 800)
    finished: list[bool] = []
    page.loadFinished.connect(finished.append)
    try:
        page.load(QUrl.fromLocalFile(str(Path(path).resolve())))
        if not _wait(lambda: bool(finished), timeout_s):
            raise RuntimeError(f"{Path(path).name} did not finish loading in {timeout_s:.0f}s")
        if not finished[0]:
            raise RuntimeError(f"QtWebEngine could not load {Path(path).name}")
        svg_count = "document.querySelectorAll('svg').length"
        drawn = _wait(lambda: bool(_run_js(page, svg_count, timeout_s)) or bool(page.errors), timeout_s)
        if page.errors:
            raise RuntimeError(f"JavaScript error in the page: {page.errors[0]}")
        if not drawn:
            raise RuntimeError("BertViz drew nothing (no SVG element) in the page")
        return f"{Path(path).name}: {int(_run_js(page, svg_count, timeout_s))} SVG element(s) drawn"
    finally:
        view.deleteLater()  # with its page, before the profile goes at exit
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
