"""Generate: continue a prefix with a trained run, watch the text grow, play, export, inspect attention."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.jobs import JobError, Progress
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.model.sample import generation, prefixes
from musicgpt_gui.core.model import workflows
from musicgpt_gui.core.model.store.run_store import list_runs
from musicgpt_gui.core.quality import report as quality
from musicgpt_gui.core.quality.metrics import Metrics
from musicgpt_gui.ui.context import AppContext
from musicgpt_gui.ui.settings_binder import SettingsBinder
from musicgpt_gui.ui.infill_panel import InfillPanel
from musicgpt_gui.ui.play_in_panel import PlayInPanel
from musicgpt_gui.ui.tab_base import Tab, fill_combo, list_datasets
from musicgpt_gui.ui.widgets.metrics_table import MetricsTable
from musicgpt_gui.ui.widgets.drag_drop import DragOutList, PrefixEdit
from musicgpt_gui.ui.widgets.ensemble_picker import EnsemblePicker
from musicgpt_gui.ui.widgets.form_picker import FormPicker
from musicgpt_gui.ui.widgets.piano_roll import PianoRoll
from musicgpt_gui.ui.widgets.transport import Transport
from musicgpt_gui.ui.widgets.port_picker import PortPicker
from musicgpt_gui.ui.widgets.steer_panel import SteerPanel
from musicgpt_gui.ui.widgets.part_figures_view import PartFiguresView
from musicgpt_gui.ui.generate_job import TokenBuffer, generate_job
from musicgpt_gui.ui.widgets.steer_result_table import SteerResultTable
from musicgpt_gui.ui.widgets.controls_box import ControlsBox
from musicgpt_gui.ui.widgets.sampling_box import FIELDS as SAMPLING_FIELDS, SamplingBox

STREAM_INTERVAL_MS = 50


class GenerateTab(Tab):
    title = "Generate"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.generator = generation.Generator()
        self.result: Optional[generation.GenerationResult] = None
        self.buffer = TokenBuffer()
        self.stream_timer = QTimer(self)
        self.stream_timer.setInterval(STREAM_INTERVAL_MS)
        self.stream_timer.timeout.connect(self._drain)

        left = QWidget()
        llay = QVBoxLayout(left)
        llay.addWidget(self._model_box())
        llay.addWidget(self._prefix_box())
        self.play_in = PlayInPanel(self, context.playback.settings)
        llay.addWidget(self.play_in)
        self.sampling = SamplingBox()
        for name in SAMPLING_FIELDS:  # the tab's own names for them, as tests and settings read them
            setattr(self, name, getattr(self.sampling, name))
        llay.addWidget(self.sampling)
        self.steer = SteerPanel()
        self.steer.watch(self.prefix)
        llay.addWidget(self.steer)
        self.controls = ControlsBox()  # learned controls (a run trained with --controls)
        self.controls.watch(self.prefix)
        llay.addWidget(self.controls)
        llay.addStretch(1)

        right = QWidget()
        rlay = QVBoxLayout(right)
        buttons = QHBoxLayout()
        self.generate_button = QPushButton("Generate")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        buttons.addWidget(self.generate_button)
        buttons.addWidget(self.stop_button)
        self.progress = QProgressBar()
        self.progress.setFormat("%p%")
        buttons.addWidget(self.progress, 1)
        rlay.addLayout(buttons)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setPlaceholderText("Generated note text appears here as it is sampled.")
        rlay.addWidget(self.output, 2)
        self.results = DragOutList(self.drag_file)
        self.results.setMaximumHeight(80)
        self.results.setToolTip("Drag a variation (or the selection on the piano roll) into a DAW or a folder "
                                "as a MIDI file")
        rlay.addWidget(QLabel("Results"))
        rlay.addWidget(self.results)
        self.roll = PianoRoll()
        rlay.addWidget(self.roll, 3)
        self.metrics_table = MetricsTable()
        self.references: list[tuple[str, Metrics]] = []
        rlay.addWidget(self.metrics_table)
        self.parts_view = PartFiguresView()
        rlay.addWidget(self.parts_view)
        self.steer_results = SteerResultTable()  # each control asked beside its measured value
        rlay.addWidget(self.steer_results)
        self.infill = InfillPanel(self)
        rlay.addWidget(self.infill)
        actions = QHBoxLayout()
        self.play_button = Transport(context, self.selected_text, self.roll)
        self.export_button = QPushButton("Export MIDI…")
        self.attention_button = QPushButton("Show attention")
        for b in (self.play_button, self.export_button, self.attention_button):
            actions.addWidget(b)
        actions.addStretch(1)
        rlay.addLayout(actions)
        rlay.addWidget(PortPicker(context))
        self.info = QLabel()
        self.info.setProperty("role", "hint")
        self.info.setWordWrap(True)
        rlay.addWidget(self.info)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        QVBoxLayout(self).addWidget(splitter)

        self.generate_button.clicked.connect(self.generate)
        self.stop_button.clicked.connect(self.slot.cancel)
        self.results.currentRowChanged.connect(self._show_result)
        self.export_button.clicked.connect(self.export)
        self.attention_button.clicked.connect(self.show_attention)
        self.run.currentIndexChanged.connect(self._run_changed)
        context.workspace_changed.connect(lambda _: self.refresh())
        context.runs_changed.connect(self.refresh)
        context.datasets_changed.connect(self.refresh)
        self._enable_result_actions(False)
        self.refresh()
        self.binder = self._bind_settings()

    # -- layout ------------------------------------------------------------------------------
    def _model_box(self) -> QGroupBox:
        box = QGroupBox("Model")
        lay = QFormLayout(box)
        self.run = QComboBox()
        self.checkpoint = QComboBox()
        self.checkpoint.addItems(list(checkpoints.CHECKPOINT_CHOICES))
        lay.addRow("Run", self.run)
        lay.addRow("Checkpoint", self.checkpoint)
        return box

    def _prefix_box(self) -> QGroupBox:
        box = QGroupBox("Prefix")
        lay = QVBoxLayout(box)
        self.prefix = PrefixEdit()
        self.prefix.setPlaceholderText("Type note text (e.g. tempo=96, C4 E4 G4:1.0, D4:0.5), drop a MIDI file "
                                       "here, record from a keyboard, or leave empty")
        self.prefix.midi_dropped.connect(self.prefix_from_midi)
        self.prefix.setMaximumHeight(90)
        lay.addWidget(self.prefix)
        self.ensemble = EnsemblePicker()
        lay.addWidget(self.ensemble)
        self.form = FormPicker()
        lay.addWidget(self.form)
        row = QHBoxLayout()
        self.prefix_dataset = QComboBox()
        self.prefix_piece = QSpinBox()
        self.prefix_piece.setRange(0, 1_000_000)
        self.prefix_piece.setToolTip("Piece number in the dataset")
        self.prefix_items = QSpinBox()
        self.prefix_items.setRange(1, 10_000)
        self.prefix_items.setValue(generation.DEFAULT_PREFIX_ITEMS)
        self.prefix_items.setToolTip("How many opening items to take")
        self.from_dataset = QPushButton("Use opening")
        row.addWidget(self.prefix_dataset, 1)
        row.addWidget(QLabel("piece"))
        row.addWidget(self.prefix_piece)
        row.addWidget(QLabel("items"))
        row.addWidget(self.prefix_items)
        row.addWidget(self.from_dataset)
        lay.addLayout(row)
        self.from_midi = QPushButton("From MIDI file…")
        lay.addWidget(self.from_midi, 0, Qt.AlignmentFlag.AlignLeft)
        self.from_dataset.clicked.connect(self._prefix_from_dataset)
        self.from_midi.clicked.connect(self._prefix_from_midi)
        return box

    # -- data ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        ws = self.context.workspace
        fill_combo(self.run, [(p.name, p) for p in list_runs(ws)])
        fill_combo(self.prefix_dataset, [(p.name, p) for p in list_datasets(ws.datasets)])
        self.generate_button.setEnabled(self.run.count() > 0 and not self.busy())
        if self.run.count() == 0:
            self.info.setText("No trained run yet: train one on the Finetune tab.")
        self._run_changed()

    def settings(self) -> generation.GenerationSettings:
        return self.sampling.settings(steering=self.steer.steering(), controls=self.controls.request())

    def _prefix_from_dataset(self) -> None:
        folder = self.prefix_dataset.currentData()
        if folder is None:
            self.on_failed("There is no dataset yet: import one on the Dataset tab.", "")
            return
        try:
            text = prefixes.dataset_prefix(folder, self.prefix_piece.value(), self.prefix_items.value())
        except JobError as exc:
            self.on_failed(str(exc), "")
            return
        self.prefix.setPlainText(text)

    def _prefix_from_midi(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Prefix from a MIDI file", "", "MIDI files (*.mid *.midi)")
        if path:
            self.prefix_from_midi(Path(path))

    def prefix_from_midi(self, path: Path) -> None:
        """Read the file's opening items off the GUI thread (the import's MIDI reader), in the note-text
        format the chosen run was trained on."""
        items, run_dir = self.prefix_items.value(), self.run.currentData()

        def read(*, on_progress, cancel) -> str:
            trained_on = checkpoints.training_dataset(run_dir) if run_dir is not None else None
            return prefixes.midi_prefix(path, items, dataset_files.conversion_options(trained_on))

        self.start_job(read, on_finished=self.prefix.setPlainText)

    def _run_changed(self) -> None:
        """The ensemble picker offers what the chosen run's dataset declares, the controls box the run's bins (also
        after a refresh, which fills the run list with its signals blocked)."""
        run_dir = self.run.currentData()
        self.controls.set_run(run_dir)
        self.ensemble.show_dataset(checkpoints.training_dataset(run_dir) if run_dir is not None else None)

    def chosen_run(self) -> checkpoints.CheckpointRef:
        return self.chosen_checkpoint(self.run, self.checkpoint)

    # -- generation ---------------------------------------------------------------------------
    def generate(self) -> None:
        try:
            ref = self.chosen_checkpoint(self.run, self.checkpoint)
            settings = self.settings().validate()
            form = self.form.value()
        except JobError as exc:
            self.on_failed(str(exc), "")
            return
        self.output.setPlainText(self.prefix.toPlainText().strip())
        self.results.clear()
        self.roll.clear()
        self.infill.reset()
        self.progress.setValue(0)
        self.info.setText("Generating (TensorFlow loads on the first run)…")
        self.buffer = TokenBuffer()
        self.references = quality.references(ref.run_dir)
        worker = self.start_job(
            generate_job,
            self.generator,
            ref,
            self.prefix.toPlainText(),
            settings,
            self.buffer,
            self.ensemble.value(),
            form,
            self.controls.redraws.value(),
            on_finished=self._finished,
            on_cancelled=self._cancelled,
        )
        if worker is not None:
            self.stream_timer.start()

    def _drain(self) -> None:
        for variation, piece in self.buffer.drain():
            if variation == 0:
                cursor = self.output.textCursor()
                cursor.movePosition(cursor.MoveOperation.End)
                cursor.insertText(piece)

    def on_progress(self, progress: Progress) -> None:
        self.progress.setValue(int(progress.fraction * 100))

    def _finished(self, result: generation.GenerationResult) -> None:
        self._drain()
        self.stream_timer.stop()
        self.result = result
        self.progress.setValue(100)
        self.results.clear()
        for v in result.variations:
            if not v.playable:  # listed with the reason, never shown or played
                item = QListWidgetItem(v.nothing_to_play())
                item.setFlags(Qt.ItemFlag.NoItemFlags)
                self.results.addItem(item)
                continue
            flag = f" · memorized ({sum(r.length for r in v.memorized)} items copied)" if v.memorized else ""
            ending = ("ended by the model" if v.stop_reason == "end" else "reached the length limit") if \
                result.form is None else f"form {result.form.letters}, {result.form.bars} bars a section"
            item = QListWidgetItem(f"Variation {v.index + 1} · {v.valid_share:.0%} valid items · {ending}{flag}")
            if v.memorized:
                item.setForeground(Qt.GlobalColor.darkRed)
            self.results.addItem(item)
        playable = [row for row, v in enumerate(result.variations) if v.playable]
        self.results.setCurrentRow(playable[0] if playable else -1)
        ident = result.checkpoint
        kept = f" · steering kept: {result.steering_kept[0]}" if result.steering_kept else ""
        self.info.setText(
            f"Seed {result.seed} · {ident.get('run')} {ident.get('checkpoint')}{kept} " + " ".join(result.warnings)
        )

    def _cancelled(self, _result: object) -> None:
        self._drain()
        self.stream_timer.stop()
        self.info.setText("Stopped.")

    def _show_result(self, row: int) -> None:
        has = self._playable(row)
        self._enable_result_actions(has)
        if has:
            self.infill.reset()
            self.display(self.result.full_text(row))
        found = self.result.metrics if has else []
        mine = [(f"variation {row + 1}", found[row])] if 0 <= row < len(found) else []
        self.metrics_table.set_rows(self.references + mine)
        parts = self.result.part_figures if has else []
        self.parts_view.show_figures(f"variation {row + 1}", parts[row] if parts else None,
                                     self.result.part_reference if has else None)
        steered = self.result.steering_rows if has else []
        self.steer_results.set_rows(steered[row] if 0 <= row < len(steered) else [])

    def _playable(self, row: int) -> bool:
        found = self.result.variations if self.result is not None else []
        return 0 <= row < len(found) and found[row].playable

    def display(self, text: str) -> None:
        self.output.setPlainText(text)
        self.roll.set_text(text)

    def selected_text(self) -> str:
        """The piece shown: the chosen variation, or what was accepted for a selection of it."""
        return self.infill.piece_text()

    def _enable_result_actions(self, on: bool) -> None:
        for b in (self.play_button, self.export_button, self.attention_button):
            b.setEnabled(on)

    def export(self) -> None:
        default = str(
            self.context.workspace.exports / f"generated-{self.result.seed}-{self.results.currentRow() + 1}.mid"
        )
        path, _ = QFileDialog.getSaveFileName(self, "Export MIDI", default, "MIDI files (*.mid)")
        if path:
            self.export_to(Path(path))

    def export_to(self, path: Path) -> Optional[Path]:
        """Write the selected result with its provenance (see :func:`workflows.provenance`)."""
        result, row = self.infill.piece()
        return self.write_out("the MIDI file", path, lambda: workflows.export_variation(result, row, path))

    def drag_file(self, row: int) -> Optional[Path]:
        """Write variation ``row`` (or the roll's selection of it) for a drag, with the provenance Export MIDI
        writes; None (and a message) when there is nothing to drag."""
        if not self._playable(row):
            return None
        shown = row == self.results.currentRow()
        result, variation = (self.infill.piece() or (self.result, row)) if shown else (self.result, row)
        beats = self.roll.selection if shown else None
        suffix = f"-beats{beats[0]:g}-{beats[1]:g}" if beats else ""
        path = self.context.workspace.exports / "dragged" / f"generated-{self.result.seed}-{row + 1}{suffix}.mid"
        try:
            return workflows.export_variation(result, variation, path, beats)
        except (JobError, OSError) as exc:
            self.context.say(f"Cannot drag that variation out: {exc}")
            return None

    def show_attention(self) -> None:
        self.context.request_attention(self.result.checkpoint.get("run", ""), self.selected_text())

    def on_busy_changed(self, busy: bool) -> None:
        self.generate_button.setEnabled(not busy and self.run.count() > 0)
        self.stop_button.setEnabled(busy)
        for b in (self.from_dataset, self.from_midi):
            b.setEnabled(not busy)
        self.infill.set_busy(busy)

    def shutdown(self) -> None:
        super().shutdown()
        self.stream_timer.stop()
        self.play_in.shutdown()

    # -- settings -----------------------------------------------------------------------------
    def _bind_settings(self) -> SettingsBinder:
        binder = SettingsBinder("generate")
        keys = (*SAMPLING_FIELDS, "checkpoint", "run")
        for key in keys:
            binder.bind(key, getattr(self, key))
        self.steer.bind(binder)
        self.ensemble.bind(binder)
        self.form.bind(binder)
        self.infill.bind(binder)
        self.controls.bind(binder)
        return binder

    def save_settings(self, settings: QSettings) -> None:
        self.binder.save(settings)
        self.play_in.binder.save(settings)

    def restore_settings(self, settings: QSettings) -> None:
        self.binder.restore(settings)
        self.play_in.binder.restore(settings)
