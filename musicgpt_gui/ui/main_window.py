"""The main window: four tabs, File/Help menus, a status bar, and remembered settings."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QTabWidget, QWidget

from musicgpt_gui import __version__
from musicgpt_gui.core.workspace import Workspace, resolve_workspace
from musicgpt_gui.ui import resources
from musicgpt_gui.ui.attention_tab import AttentionTab
from musicgpt_gui.ui.context import AppContext
from musicgpt_gui.ui.dataset_tab import DatasetTab
from musicgpt_gui.ui.error_dialog import show_error
from musicgpt_gui.ui.finetune_tab import FinetuneTab
from musicgpt_gui.ui.generate_tab import GenerateTab
from musicgpt_gui.ui.worker import JobSlot, cancel_all_and_wait

MAX_RECENT = 8
CLOSE_TIMEOUT_S = 15.0


def detect_device(*, on_progress, cancel) -> str:
    """Ask TensorFlow for the device; only run once TF is loaded, so start-up never pays for it."""
    from musicgpt_gui.core.model.store import tf_runtime

    return tf_runtime.device_name()


class MainWindow(QMainWindow):
    """Owns the tabs and the shared :class:`AppContext`; closing cancels every job and waits."""

    def __init__(self, workspace: Workspace, settings: Optional[QSettings] = None) -> None:
        super().__init__()
        self.settings = settings or QSettings()
        self.context = AppContext(workspace, self.settings, self)
        self.setWindowTitle("MusicGPT")
        self.setWindowIcon(resources.icon("app"))
        self.setStyleSheet(resources.stylesheet())

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.dataset_tab = DatasetTab(self.context)
        self.finetune_tab = FinetuneTab(self.context)
        self.generate_tab = GenerateTab(self.context)
        self.attention_tab = AttentionTab(self.context)
        for tab in self.all_tabs():
            self.tabs.addTab(tab, tab.title)
        self.setCentralWidget(self.tabs)

        self._device_slot = JobSlot(self)
        self._build_menus()
        self._build_status_bar()
        self.context.attention_requested.connect(lambda *_: self.tabs.setCurrentWidget(self.attention_tab))
        self.context.device_changed.connect(lambda d: self.device_label.setText(f"Device: {d}"))
        self.context.port_changed.connect(lambda p: self.port_label.setText(f"Output: {p}"))
        self.context.status_message.connect(lambda m: self.statusBar().showMessage(m, 8000))
        for tab in self.all_tabs():
            tab.slot.busy_changed.connect(lambda busy: busy or self.check_device())
        self._restore()
        self._remember_workspace(workspace)

    def all_tabs(self) -> list[QWidget]:
        return [self.dataset_tab, self.finetune_tab, self.generate_tab, self.attention_tab]

    # -- menus and status bar -------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        new_action = QAction("&New workspace…", self, shortcut=QKeySequence.StandardKey.New)
        new_action.triggered.connect(lambda: self._choose_workspace("Choose an empty folder for the new workspace"))
        open_action = QAction("&Open workspace…", self, shortcut=QKeySequence.StandardKey.Open)
        open_action.triggered.connect(lambda: self._choose_workspace("Open a workspace folder"))
        file_menu.addActions([new_action, open_action])
        self.recent_menu = file_menu.addMenu("&Recent workspaces")
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        help_menu = self.menuBar().addMenu("&Help")
        about_action = QAction("&About MusicGPT", self)
        about_action.triggered.connect(self._about)
        help_menu.addAction(about_action)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.workspace_label = QLabel()
        self.workspace_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.device_label = QLabel("Device: not checked (TensorFlow loads with the first model job)")
        self.port_label = QLabel(f"Output: {self.context.port_description}")
        for label in (self.workspace_label, self.device_label, self.port_label):
            bar.addPermanentWidget(label)
        self._show_workspace()

    def _show_workspace(self) -> None:
        root = self.context.workspace.root
        self.workspace_label.setText(f"Workspace: {root.name}")
        self.workspace_label.setToolTip(str(root))

    def check_device(self) -> None:
        """Find the device once TensorFlow is in the process anyway (after any job of a tab)."""
        if self.context.device or "tensorflow" not in sys.modules or self._device_slot.busy:
            return
        worker = self._device_slot.run(detect_device)
        worker.finished.connect(self.context.set_device)

    # -- workspaces -----------------------------------------------------------------------
    def _choose_workspace(self, caption: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, caption, str(self.context.workspace.root.parent))
        if folder:
            self.open_workspace(Path(folder))

    def open_workspace(self, folder: Path) -> None:
        if any(tab.busy() for tab in self.all_tabs()):
            show_error(self, "Workspace", "Stop the running job before switching workspaces.")
            return
        try:
            workspace = resolve_workspace(folder)
        except OSError as exc:
            show_error(self, "Workspace", f"Cannot use {folder} as a workspace: {exc.strerror or exc}.")
            return
        self.context.set_workspace(workspace)
        self._show_workspace()
        self._remember_workspace(workspace)

    def _remember_workspace(self, workspace: Workspace) -> None:
        recent = [str(workspace.root)] + [p for p in self._recent() if p != str(workspace.root)]
        self.settings.setValue("recentWorkspaces", recent[:MAX_RECENT])
        self.recent_menu.clear()
        for path in recent[:MAX_RECENT]:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_workspace(Path(p)))

    def _recent(self) -> list[str]:
        value = self.settings.value("recentWorkspaces", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About MusicGPT",
            f"<b>MusicGPT {__version__}</b><p>MIDI → note text → GPT-2 (gpt-2-simple on TensorFlow) → "
            "generation, MIDI playback (python-rtmidi) and attention (BertViz).</p>",
        )

    # -- settings and shutdown -------------------------------------------------------------
    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1200, 800)
        self.tabs.setCurrentIndex(int(self.settings.value("window/lastTab", 0)))
        for tab in self.all_tabs():
            tab.restore_settings(self.settings)

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/lastTab", self.tabs.currentIndex())
        for tab in self.all_tabs():
            tab.save_settings(self.settings)
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Save settings, silence playback, cancel every job and wait for it, so no thread outlives the window."""
        self.save_settings()
        self.context.playback.close()  # note-offs before the player's thread dies with the process
        for tab in self.all_tabs():
            tab.shutdown()
        stuck = cancel_all_and_wait(CLOSE_TIMEOUT_S)
        if stuck:
            self.context.say(f"Still stopping: {', '.join(stuck)}")
        super().closeEvent(event)
