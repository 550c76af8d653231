"""What every tab shares: the context, one job slot, settings hooks and the standard error dialog."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QComboBox, QWidget

from musicgpt_gui.core.dataset.dataset_files import is_dataset_folder
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.ui.context import AppContext
from musicgpt_gui.ui.error_dialog import show_error
from musicgpt_gui.ui.worker import JobSlot, Worker


class Tab(QWidget):
    """A tab runs at most one job at a time (its :class:`JobSlot`); failures open the error dialog."""

    title = ""

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.slot = JobSlot(self)
        self.slot.busy_changed.connect(self.on_busy_changed)

    def busy(self) -> bool:
        return self.slot.busy

    def start_job(self, fn: Callable[..., Any], *args: Any, on_finished: Callable[[Any], None],
                  on_cancelled: Optional[Callable[[Any], None]] = None, **kwargs: Any) -> Optional[Worker]:
        """Run ``fn`` in this tab's slot; refuse (with a message) while another job of this tab runs."""
        if self.slot.busy:
            self.context.say(f"{self.title}: a job is already running.")
            return None
        worker = self.slot.run(fn, *args, **kwargs)
        worker.progress.connect(self.on_progress)
        worker.finished.connect(on_finished)
        worker.failed.connect(self.on_failed)
        worker.cancelled.connect(on_cancelled or (lambda _: self.context.say(f"{self.title}: cancelled.")))
        return worker

    @staticmethod
    def chosen_checkpoint(run: QComboBox, checkpoint: QComboBox) -> checkpoints.CheckpointRef:
        """The checkpoint picked in a run/checkpoint pair of combos; JobError says what to do otherwise."""
        if run.currentData() is None:
            raise JobError("Train a run on the Finetune tab first.")
        return checkpoints.resolve_checkpoint(run.currentData(), checkpoint.currentText())

    def on_progress(self, progress) -> None:
        """Subclasses show progress; the base ignores it."""

    def on_busy_changed(self, busy: bool) -> None:
        """Subclasses enable/disable their buttons."""

    def on_failed(self, message: str, details: str) -> None:
        show_error(self, self.title, message, details)

    def write_out(self, what: str, path: Path, write: Callable[[], Path]) -> Optional[Path]:
        """Run ``write`` (an export or a save); say where it went, or show why it could not be written."""
        try:
            written = write()
        except (JobError, OSError) as exc:
            self.on_failed(f"Could not write {what} to {path}: {exc}", "")
            return None
        self.context.say(f"Wrote {what} to {written}")
        return written

    def save_settings(self, settings: QSettings) -> None:
        """Remember what the user typed (hyperparameters, choices)."""

    def restore_settings(self, settings: QSettings) -> None:
        """Restore what :meth:`save_settings` stored."""

    def shutdown(self) -> None:
        """The window is closing: ask the running job to stop (the window waits for it)."""
        self.slot.cancel()


def list_datasets(root: Path) -> list[Path]:
    """Dataset folders under ``root``, newest first."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and is_dataset_folder(p)]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def fill_combo(combo: QComboBox, items: list[tuple[str, Any]], keep: Optional[str] = None) -> None:
    """Replace a combo's items (label, data) and keep the current label if it is still there."""
    current = keep if keep is not None else combo.currentText()
    combo.blockSignals(True)
    combo.clear()
    for label, data in items:
        combo.addItem(label, data)
    index = combo.findText(current)
    combo.setCurrentIndex(index if index >= 0 else (0 if items else -1))
    combo.blockSignals(False)
