"""Helpers for GUI tests: an event-loop heartbeat and waits on a tab's job."""
from __future__ import annotations

import gc

from PySide6.QtCore import QElapsedTimer, QObject, QTimer

STALL_LIMIT_MS = 250  # a behaviour threshold (the GUI keeps breathing), not a speed benchmark


class Heartbeat(QObject):
    """Ticks every ``interval_ms`` on the GUI thread and records the longest gap between ticks."""

    def __init__(self, interval_ms: int = 10) -> None:
        super().__init__()
        self.longest_ms = 0.0
        self._clock = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def __enter__(self) -> "Heartbeat":
        # What earlier tests left behind is collected and frozen first, as the app freezes its start-up
        # objects: a full collection of another test's garbage is not a stall of the job measured here.
        gc.collect()
        gc.freeze()
        self._clock.start()
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        self.longest_ms = max(self.longest_ms, self._clock.restart())


def wait_idle(qtbot, tab, timeout_ms: int = 180_000) -> None:
    """Wait until the tab's job slot is free (its job ended and the outcome was handled)."""
    qtbot.waitUntil(lambda: not tab.busy(), timeout=timeout_ms)



def wide_attention_tab(make_window, tiny_run, tiny_dataset):
    """(window, Attention tab) on a copy of the tiny run that reads 1024 tokens (as if trained on 1024-token
    windows), with all of the tiny dataset's training text typed in: the long-input case of the stall tests."""
    import json
    import shutil

    from musicgpt_gui.core.dataset import dataset_files
    from musicgpt_gui.core.music.notation import join_items, split_items

    wide = tiny_run.workspace.checkpoint / "wide-run"
    if not wide.is_dir():
        shutil.copytree(tiny_run.run_dir, wide)
        history = json.loads((wide / "history.json").read_text())
        history["settings"]["context"] = 1024
        (wide / "history.json").write_text(json.dumps(history))
    window = make_window(tiny_run.workspace)
    tab = window.attention_tab
    window.tabs.setCurrentWidget(tab)
    tab.refresh()
    tab.run.setCurrentText("wide-run")
    texts = dataset_files.load_split(tiny_dataset, dataset_files.TRAIN)
    tab.text.setPlainText(join_items(item for t in texts for item in split_items(t)))
    return window, tab


def roll_and_transport(make_window, workspace, qtbot, text: str):
    """(window, roll, transport): a piano roll showing ``text`` and its transport in a panel of their own,
    on a shown main window's context (its playback bridge and settings)."""
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from musicgpt_gui.ui.widgets.piano_roll import PianoRoll
    from musicgpt_gui.ui.widgets.transport import Transport

    window = make_window(workspace)
    panel = QWidget()
    roll = PianoRoll()
    transport = Transport(window.context, lambda: text, roll)
    layout = QVBoxLayout(panel)
    layout.addWidget(roll)
    layout.addWidget(transport)
    qtbot.addWidget(panel)
    panel.resize(700, 300)
    panel.show()
    qtbot.waitExposed(panel)
    roll.set_text(text)
    window.test_panel = panel  # a parentless widget lives as long as a Python reference does
    return window, roll, transport
