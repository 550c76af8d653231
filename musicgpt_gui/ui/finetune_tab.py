"""Finetune: pick a dataset and a base model, set hyperparameters, train with a live loss chart.

The form on the left is :mod:`finetune_form`; this module runs the job and shows its progress and samples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from musicgpt_gui.core.jobs import Progress
from musicgpt_gui.core.model.train import fim, training
from musicgpt_gui.core.model.store import models, run_store, vocab
from musicgpt_gui.core.model import workflows
from musicgpt_gui.core.quality import report as quality
from musicgpt_gui.core.model.store.run_store import History, latest_step
from musicgpt_gui.ui.context import AppContext
from musicgpt_gui.ui.finetune_form import DEFAULTS, NEW, FinetuneForm
from musicgpt_gui.ui.finetune_plan import FinetunePlan
from musicgpt_gui.ui.settings_binder import SettingsBinder
from musicgpt_gui.ui.tab_base import Tab, fill_combo, list_datasets
from musicgpt_gui.ui.widgets.loss_chart import BITS, LOSS, LossChart
from musicgpt_gui.ui.widgets.metrics_table import MetricsTable
from musicgpt_gui.ui.widgets.piano_roll import PianoRoll
from musicgpt_gui.ui.widgets.transport import Transport


def format_eta(seconds: Optional[float]) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class FinetuneTab(FinetunePlan, FinetuneForm, Tab):
    title = "Finetune"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.run_dir: Optional[Path] = None
        self._last_val: Optional[float] = None
        self._tokens_per_element: Optional[float] = None
        left = QWidget()
        form = QVBoxLayout(left)
        form.addWidget(self._data_box())
        form.addWidget(self._model_box())
        form.addWidget(self._hyper_box())
        self.model_kind.buttonToggled.connect(self._fim_follows_model)
        form.addStretch(1)

        right = QWidget()
        rlay = QVBoxLayout(right)
        rlay.addWidget(self._plan_box())
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Train a new run (replaces a run of the same name)")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the run from its latest checkpoint")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Save a checkpoint and stop")
        self.stop_button.setEnabled(False)
        for b in (self.start_button, self.resume_button, self.stop_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        rlay.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setFormat("step %v / %m")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.rate_label = QLabel("Not training.")
        self.rate_label.setProperty("role", "hint")
        rlay.addWidget(self.progress)
        rlay.addWidget(self.rate_label)
        self.chart = LossChart()
        rlay.addWidget(self.chart, 3)
        self.metrics = MetricsTable()
        samples = QGroupBox("Samples")
        slay = QGridLayout(samples)
        self.samples = QListWidget()
        self.sample_roll = PianoRoll()
        self.sample_roll.setMinimumHeight(100)
        self.sample_play = Transport(context, self._sample_text, self.sample_roll)
        slay.addWidget(self.samples, 0, 0, 2, 1)
        slay.addWidget(self.sample_roll, 0, 1)
        slay.addWidget(self.sample_play, 1, 1, Qt.AlignmentFlag.AlignLeft)
        slay.addWidget(self.metrics, 2, 0, 1, 2)
        slay.setColumnStretch(1, 2)
        rlay.addWidget(samples, 2)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

        self.start_button.clicked.connect(lambda: self.start(resume=False))
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        self.stop_button.clicked.connect(self.stop)
        self.samples.currentItemChanged.connect(self._show_sample)
        self.run_name.editingFinished.connect(self._load_run)
        context.workspace_changed.connect(lambda _: self.refresh())
        context.datasets_changed.connect(self.refresh)
        self.refresh()
        self.binder = self._bind_settings()

    # -- layout ------------------------------------------------------------------------------
    # -- data ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        ws = self.context.workspace
        fill_combo(self.dataset, [(p.name, p) for p in list_datasets(ws.datasets)])
        fill_combo(self.store_model, [(f"{m.name} — {m.summary}", m.name) for m in models.list_models(ws)])
        self.store_radio.setEnabled(self.store_model.count() > 0)
        self._load_run()

    def _load_run(self) -> None:
        """Show the named run's saved loss history and samples, if it exists."""
        run_dir = self.context.workspace.checkpoint / self.run_name.text().strip()
        self.run_dir = run_dir if run_store.is_run(run_dir) else None
        self.resume_button.setEnabled(self.run_dir is not None and not self.busy())
        if self.run_dir is None:
            self.chart.clear()
            self.samples.clear()
            self.metrics.set_rows([])
            return
        try:
            history = History.load(self.run_dir)
        except Exception as exc:  # a damaged history file: say so, keep the tab usable
            self.rate_label.setText(str(exc))
            return
        self._tokens_per_element = history.settings.get("valid_tokens_per_element")
        ngram = history.ngram or {}
        self.chart.set_history(
            [(e["step"], self._chart_value(e["loss"])) for e in history.train],
            [(e["step"], self._chart_value(e["loss"])) for e in history.valid],
            ngram.get("bits_per_element"),
            ngram.get("order"),
            BITS if self._tokens_per_element else LOSS,
        )
        self._list_samples()

    def _list_samples(self) -> None:
        self.samples.clear()
        if self.run_dir is None:
            return
        for step, path in run_store.sample_texts(self.run_dir):
            item = QListWidgetItem(f"step {step}")
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            self.samples.addItem(item)

    def _sample_text(self) -> str:
        item = self.samples.currentItem()
        return Path(item.data(Qt.ItemDataRole.UserRole)).read_text(encoding="utf-8") if item else ""

    def _show_sample(self, item: Optional[QListWidgetItem], _previous=None) -> None:
        if item is None:
            self.sample_roll.clear()
            return
        parsed = self.sample_roll.set_text(self._sample_text())
        item.setToolTip(f"{parsed.valid}/{parsed.total} valid items")
        self._show_metrics(Path(item.data(Qt.ItemDataRole.UserRole)).stem.split("-")[-1])

    def _show_metrics(self, step: Optional[str]) -> None:
        """The sample's metrics (from the run's quality.json) under the references."""
        if self.run_dir is None:
            self.metrics.set_rows([])
            return
        data = quality.load(self.run_dir)
        rows = quality.references(self.run_dir)
        if step in data["samples"]:
            rows.append((f"sample {step}", quality.from_dict(data["samples"][step])))
        self.metrics.set_rows(rows)

    def _chart_value(self, loss: float) -> float:
        """Bits per element when the run knows its tokens per element, else the loss itself."""
        ratio = self._tokens_per_element
        return vocab.bits_per_element(loss, ratio, 1) if ratio else loss

    # -- jobs ---------------------------------------------------------------------------------
    def config(self, resume: bool) -> training.TrainConfig:
        values = {key: spin.value() for key, spin in self.hyper.items()}
        dataset = self.dataset.currentData()
        return training.TrainConfig(
            workspace=self.context.workspace,
            dataset=Path(dataset) if dataset else Path(),
            base=None if resume else self._base_name(),
            run=self.run_name.text().strip() or DEFAULTS["run"],
            learning_rate=self.learning_rate.value(),
            resume=resume,
            overwrite=not resume,
            minutes=self.minutes.value() if self.use_minutes.isChecked() else None,
            schedule=self.recipe().schedule,
            fim_rate=fim.RATE if self.fim.isChecked() else 0.0,
            devices=self.chosen_devices(),
            mixed_precision=self.mixed_precision.isChecked() and self.mixed_precision.isEnabled(),
            controls=self.learn_controls.isChecked(),
            **values,
        )

    def start(self, resume: bool) -> None:
        if self.dataset.currentData() is None:
            self.on_failed("Choose a dataset first: import one on the Dataset tab.", "")
            return
        cfg = self.config(resume)
        if (
            not resume
            and latest_step(self.context.workspace.checkpoint / cfg.run) is not None
            and not self.confirm(
                f"Run '{cfg.run}' already has checkpoints. Start it again from scratch and replace them?"
            )
        ):
            return
        self._last_val = None
        self.recovery_label.clear()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.rate_label.setText("Starting (TensorFlow loads on the first run)…")
        if not resume:
            self.chart.clear()
            self.samples.clear()
        kind = self.model_kind.checkedButton().property("kind")
        if not resume and kind == NEW:
            self.start_job(
                workflows.train_new_model,
                cfg,
                self.size.currentText(),
                self.vocab.currentText(),
                on_finished=self._done,
                on_cancelled=self._done,
            )
        else:
            self.start_job(training.train, cfg, on_finished=self._done, on_cancelled=self._done)

    def confirm(self, question: str) -> bool:
        answer = QMessageBox.question(self, self.title, question)
        return answer == QMessageBox.StandardButton.Yes

    def stop(self) -> None:
        self.slot.cancel()
        self.rate_label.setText("Stopping: saving a checkpoint…")

    def on_progress(self, progress: Progress) -> None:
        info = progress.info
        if not isinstance(info, training.TrainProgress):
            self.rate_label.setText(progress.message)
            return
        self.progress.setRange(0, max(1, info.total))
        self.progress.setValue(info.step)
        if info.recovered:
            self.show_recovery(info)
        self.context.set_device(info.device)
        if info.step == 0 or self._tokens_per_element != info.tokens_per_element:
            self._tokens_per_element = info.tokens_per_element
            self.chart.set_unit(BITS if self._tokens_per_element else LOSS)
        if info.ngram_bits_per_element is not None and self.chart.ngram_value is None:
            self.chart.set_ngram(info.ngram_bits_per_element, info.ngram_order)
        total = f"~{info.total}" if info.minutes else str(info.total)
        parts = [f"step {info.step}/{total}", f"{info.tokens_per_s:.0f} tokens/s", f"ETA {format_eta(info.eta)}"]
        if info.loss is not None:
            parts.append(f"loss {info.loss:.3f}")
            self.chart.add_train(info.step, self._chart_value(info.loss))
        if info.val_loss is not None:
            bits = info.bits_per_element
            parts.append(
                f"validation {bits:.3f} bits/element" if bits is not None else f"validation {info.val_loss:.3f}"
            )
            if info.val_loss != self._last_val:
                self._last_val = info.val_loss
                self.chart.add_valid(info.step, self._chart_value(info.val_loss))
        self.rate_label.setText(" · ".join(parts))

    def _done(self, result: Optional[training.TrainResult]) -> None:
        if result is None:
            self.rate_label.setText("Stopped before the first checkpoint.")
        else:
            self.progress.setValue(self.progress.maximum() if not result.cancelled else self.progress.value())
            state = "Stopped" if result.cancelled else ("Stopped early" if result.stopped_early else "Finished")
            best = (
                f", best validation {result.best_val_loss:.3f} at step {result.best_step}"
                if result.best_val_loss
                else ""
            )
            self.rate_label.setText(
                f"{state} at step {result.step} on {result.device}{best}. {' '.join(result.notes)}".strip()
            )
            self.context.set_device(result.device)
        self.context.notify_runs()
        self.refresh()

    def on_busy_changed(self, busy: bool) -> None:
        for widget in (self.start_button, self.import_button, self.download_button, self.find_devices_button):
            widget.setEnabled(not busy)
        self.resume_button.setEnabled(not busy and self.run_dir is not None)
        self.stop_button.setEnabled(busy)

    def _import_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a GPT-2 model folder")
        if folder:
            self.start_job(
                lambda *, on_progress, cancel: models.import_model(self.context.workspace, Path(folder)),
                on_finished=self._model_added,
            )

    def _download(self) -> None:
        self.model_note.setText(f"Downloading GPT-2 {self.gpt2_size.currentText()}…")
        self.start_job(
            models.download_model, self.context.workspace, self.gpt2_size.currentText(), on_finished=self._model_added
        )

    def _model_added(self, info: models.ModelInfo) -> None:
        self.model_note.setText(f"Added {info.name}: {info.summary}")
        self.refresh()
        self.store_model.setCurrentIndex(max(0, self.store_model.findData(info.name)))
        self.store_radio.setChecked(True)

    def on_failed(self, message: str, details: str) -> None:
        self.rate_label.setText(message)
        super().on_failed(message, details)

    # -- settings -----------------------------------------------------------------------------
    def _bind_settings(self) -> SettingsBinder:
        binder = SettingsBinder("finetune")
        for key, spin in self.hyper.items():
            binder.bind(key, spin)
        for key, widget in (
            ("learning_rate", self.learning_rate),
            ("run", self.run_name),
            ("size", self.size),
            ("vocab", self.vocab),
            ("dataset", self.dataset),
            ("store_model", self.store_model),
            ("gpt2_size", self.gpt2_size),
            ("use_minutes", self.use_minutes),
            ("minutes", self.minutes),
            ("fim", self.fim),
            ("learn_controls", self.learn_controls),
            ("mixed_precision", self.mixed_precision),
        ):
            binder.bind(key, widget)
        binder.add("base", lambda: self.model_kind.checkedButton().property("kind"), self._choose_base_kind, str)
        binder.add("devices", lambda: ",".join(self.device_choice.currentData() or ()), self.choose_devices, str)
        return binder

    def _choose_base_kind(self, kind: str) -> None:
        for radio in self.model_kind.buttons():
            if radio.property("kind") == kind and radio.isEnabled():
                radio.setChecked(True)

    def save_settings(self, settings: QSettings) -> None:
        self.binder.save(settings)

    def restore_settings(self, settings: QSettings) -> None:
        self.binder.restore(settings)
        self._load_run()
