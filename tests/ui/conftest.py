"""GUI test set-up: Qt attributes before the QApplication, the shared tiny model fixtures, helpers."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QSettings
from PySide6.QtWidgets import QApplication

from musicgpt_gui.ui.app import prepare_qt_environment

prepare_qt_environment()  # QtWebEngine needs AA_ShareOpenGLContexts before pytest-qt makes the app

# Tests marked ``stall`` measure the longest event-loop stall of a job.  They run first, in this
# order, because what earlier tests leave in the process changes what a job costs the GUI thread:
# a process that has loaded TensorFlow (attention, the CLI) forks its import workers slowly, and
# each test leaves more objects, pages and audio state behind.  The import test comes before
# anything loads TensorFlow, as on a user's first start.
STALL_ORDER = (
    "test_dataset_tab.py",
    "test_finetune_tab.py",
    "test_generate_attention.py",
    "test_attention_roll.py",
    "test_attention_neuron.py",
)


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "stall: measures event-loop stalls; runs first in the GUI process")


def pytest_collection_modifyitems(items) -> None:
    def rank(item) -> tuple[int, int]:
        if item.get_closest_marker("stall") is None:
            return (1, 0)
        name = item.path.name
        return (0, STALL_ORDER.index(name) if name in STALL_ORDER else len(STALL_ORDER))

    items.sort(key=rank)


@pytest.fixture(scope="session")
def tiny_run(tiny_model, tiny_dataset: Path):
    """The GUI suite's tiny run learns 4 steps at a high rate, so its takes hold notes: at 1e-4 every take is
    noise, and the Generate tab rightly lists such a take as having nothing to play instead of showing it."""
    from tests.conftest import train_tiny_run

    return train_tiny_run(tiny_model, tiny_dataset, 3e-2)


@pytest.fixture()
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture()
def make_window(qtbot, settings):
    """``make_window(workspace)``: a shown MainWindow with isolated settings, closed after the test."""
    from musicgpt_gui.ui.main_window import MainWindow

    windows = []

    def make(workspace, window_settings: QSettings = settings) -> MainWindow:
        window = MainWindow(workspace, window_settings)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        window.deleteLater()  # as the app's last window is: a closed one left alive keeps its timers and jobs
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture()
def ws_with_dataset(workspace, tiny_dataset):
    """A fresh workspace holding a copy of the tiny Bach dataset."""
    shutil.copytree(tiny_dataset, workspace.datasets / tiny_dataset.name)
    return workspace


@pytest.fixture(scope="session")
def tensorflow_loaded() -> None:
    """TensorFlow imported before a stall is measured.

    Its first import holds the GIL for up to ~1.5 s at a time (huge generated modules), which no
    worker thread can hide; bench/bench_ui_stall.py reports that one-off cost separately.
    """
    from musicgpt_gui.core.model.store import tf_runtime

    tf_runtime.tf()


@pytest.fixture(scope="session")
def music_libraries_loaded() -> None:
    """music21 (its corpus index read, its instrument module) and symusic loaded before a stall is measured.

    Like TensorFlow's, their first load holds the GIL for long stretches (imports, the corpus index's
    unpickling), once per process; the first import or training job of a session pays it.
    """
    import music21.instrument  # noqa: F401
    import symusic  # noqa: F401

    from musicgpt_gui.core.dataset.sources import corpus_tasks

    corpus_tasks("bach")
