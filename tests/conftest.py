"""Test set-up shared by every suite: offscreen Qt, a throwaway workspace, tiny corpora."""
from __future__ import annotations

import os

# Before anything imports Qt (Picard/napari style).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu --no-sandbox")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path

import pytest


@pytest.fixture()
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh workspace, also exported as $MUSICGPT_WORKSPACE for CLI and GUI code."""
    from musicgpt_gui.core.workspace import resolve_workspace

    monkeypatch.setenv("MUSICGPT_WORKSPACE", str(tmp_path / "ws"))
    return resolve_workspace(tmp_path / "ws")
