"""State the tabs share: the workspace, the MIDI port (its choice kept in settings) and cross-tab requests."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QObject, QSettings, Signal

from musicgpt_gui.core.workspace import Workspace
from musicgpt_gui.ui.playback_bridge import PlaybackBridge, describe
from musicgpt_gui.ui.signals import emit


class AppContext(QObject):
    """One per main window; tabs listen to its signals instead of reaching into each other."""

    workspace_changed = Signal(object)  # Workspace
    datasets_changed = Signal()  # a dataset was saved or imported
    runs_changed = Signal()  # a training run wrote checkpoints
    device_changed = Signal(str)
    port_changed = Signal(str)  # human-readable port description
    attention_requested = Signal(str, str)  # run name, text
    status_message = Signal(str)

    def __init__(self, workspace: Workspace, settings: QSettings, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.device = ""
        self.playback = PlaybackBridge(settings, self)
        self.playback.preload(self.say)

    @property
    def port_description(self) -> str:
        return describe(self.playback.choice)

    def set_workspace(self, workspace: Workspace) -> None:
        self.workspace = workspace
        emit(self.workspace_changed, workspace)

    def notify_datasets(self) -> None:
        emit(self.datasets_changed)

    def notify_runs(self) -> None:
        emit(self.runs_changed)

    def set_device(self, device: str) -> None:
        if device and device != self.device:
            self.device = device
            emit(self.device_changed, device)

    def set_port(self, description: str) -> None:
        emit(self.port_changed, description)

    def request_attention(self, run: str, text: str) -> None:
        emit(self.attention_requested, run, text)

    def say(self, message: str) -> None:
        emit(self.status_message, message)
