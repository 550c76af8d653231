"""Without QtWebEngine the Attention tab shows a plain label instead of the page."""
from __future__ import annotations

import sys

from PySide6.QtWidgets import QLabel

from musicgpt_gui.ui.attention_tab import AttentionTab
from musicgpt_gui.ui.context import AppContext


def test_missing_qtwebengine_gives_a_plain_label(qtbot, workspace, settings, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "PySide6.QtWebEngineWidgets", None)  # as if PySide6-WebEngine were not installed
    tab = AttentionTab(AppContext(workspace, settings))
    qtbot.addWidget(tab)
    tab.show()
    tab.views.setCurrentWidget(tab.bertviz)
    assert isinstance(tab.view, QLabel)
    assert "PySide6-WebEngine" in tab.view.text()
    assert tab.run_js("1") is None  # page actions quietly do nothing
