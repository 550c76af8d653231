"""Regenerate a selection: beats dragged on the Generate tab's piano roll, N candidates, play each in context,
accept one, undo and redo.

The piece shown is a (result, variation) pair: the tab's generation until a candidate is accepted, then that
infill result (whose full text is the whole piece), so playing and exporting follow what was accepted.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional, Protocol

from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QCheckBox, QGroupBox, QHBoxLayout, QLabel, QListWidget, QPushButton, QSpinBox, QVBoxLayout,
)

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.sample import generation, infill
from musicgpt_gui.core.model import workflows
from musicgpt_gui.ui.widgets.transport import Transport
from musicgpt_gui.ui.widgets.span_select import SpanSelection


class InfillHost(Protocol):
    """What the panel uses of the tab it sits in (the Generate tab), named here so that the panel
    does not import the tab that imports it."""

    context: Any
    roll: Any
    results: Any
    result: Optional[generation.GenerationResult]
    generator: Any
    run: Any  # combo boxes
    checkpoint: Any
    info: Any
    progress: Any
    steer_results: Any  # the table of each control asked beside its measured value

    def display(self, text: str) -> None: ...
    def on_failed(self, message: str, details: str) -> None: ...
    def chosen_checkpoint(self, run: Any, which: Any) -> Any: ...
    def settings(self) -> generation.GenerationSettings: ...
    def start_job(self, job: Any, *args: Any, **kwargs: Any) -> Any: ...
    def busy(self) -> bool: ...

Piece = tuple[generation.GenerationResult, int]
DEFAULT_CANDIDATES = 3
CONTEXT_BARS = 1


def infill_job(generator, ref, text: str, span: infill.Span, settings: generation.GenerationSettings, *,
               on_progress, cancel) -> infill.InfillResult:
    """Regenerate ``span`` of ``text`` for the run (see :func:`workflows.infill_for_run`)."""
    return workflows.infill_for_run(generator, ref, text, span, settings, on_progress=on_progress, cancel=cancel)


class _Accept(QUndoCommand):
    def __init__(self, panel: "InfillPanel", before: Optional[Piece], after: Piece) -> None:
        super().__init__(f"accept candidate {after[1] + 1}")
        self.panel, self.before, self.after = panel, before, after

    def redo(self) -> None:
        self.panel.show_piece(self.after)

    def undo(self) -> None:
        self.panel.show_piece(self.before)


class InfillPanel(QGroupBox):
    """Lives in the Generate tab (``tab``): uses its run, sampling settings, warm generator and job slot."""

    def __init__(self, tab: InfillHost) -> None:
        super().__init__("Regenerate a selection")
        self.tab = tab
        self.accepted: Optional[Piece] = None  # None: the tab's own variation
        self.candidates: Optional[infill.InfillResult] = None
        self.selection = SpanSelection(tab.roll)
        self.stack = QUndoStack(self)

        self.hint = QLabel()
        self.hint.setProperty("role", "hint")
        self.count = QSpinBox(minimum=1, maximum=generation.MAX_VARIATIONS, value=DEFAULT_CANDIDATES)
        self.count.setToolTip("How many candidates to sample for the selection")
        self.regenerate_button = QPushButton("Regenerate selection")
        self.keep_rhythm = QCheckBox("keep rhythm")
        self.keep_rhythm.setToolTip("New pitches on the same onsets and lengths (each note's part and the number "
                                    "of notes per onset too); the Steer panel's key and ranges still apply")
        self.list = QListWidget()
        self.list.setMaximumHeight(70)
        self.play_button = Transport(tab.context, self.candidate_in_context)
        self.play_button.play_button.setToolTip(f"Play the candidate with {CONTEXT_BARS} bar before and after it")
        self.accept_button = QPushButton("Accept")
        self.undo_button = QPushButton("Undo")
        self.redo_button = QPushButton("Redo")

        top = QHBoxLayout()
        top.addWidget(self.hint, 1)
        top.addWidget(QLabel("candidates"))
        top.addWidget(self.count)
        top.addWidget(self.keep_rhythm)
        top.addWidget(self.regenerate_button)
        actions = QHBoxLayout()
        for b in (self.play_button, self.accept_button, self.undo_button, self.redo_button):
            actions.addWidget(b)
        actions.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.list)
        lay.addLayout(actions)

        self.selection.changed.connect(self._show_hint)
        self.regenerate_button.clicked.connect(self.regenerate)
        self.list.currentRowChanged.connect(self._preview)
        self.accept_button.clicked.connect(self.accept)
        self.undo_button.clicked.connect(self.stack.undo)
        self.redo_button.clicked.connect(self.stack.redo)
        self.stack.canUndoChanged.connect(self.undo_button.setEnabled)
        self.stack.canRedoChanged.connect(self.redo_button.setEnabled)
        self.reset()

    # -- the piece shown ----------------------------------------------------------------------
    def piece(self) -> Optional[Piece]:
        if self.accepted is not None:
            return self.accepted
        row = self.tab.results.currentRow()
        return (self.tab.result, row) if self.tab.result is not None and row >= 0 else None

    def piece_text(self) -> str:
        piece = self.piece()
        return piece[0].full_text(piece[1]) if piece else ""

    def show_piece(self, piece: Optional[Piece]) -> None:
        """Make ``piece`` (None: the tab's variation) the one shown, played and exported."""
        self.accepted = piece
        self.tab.display(self.piece_text())
        self._show_hint()

    def reset(self) -> None:
        """A new piece on the tab: no selection, candidates or edit history."""
        self.accepted, self.candidates = None, None
        self.stack.clear()
        self.selection.clear()
        self.list.clear()
        self._show_hint()

    # -- candidates ---------------------------------------------------------------------------
    def regenerate(self) -> None:
        text, beats = self.piece_text(), self.selection.beats
        if not text or beats is None:
            self.tab.on_failed("Generate a piece, then drag on the piano roll to select the beats to regenerate.", "")
            return
        try:
            span = infill.locate_beats(text, *beats)
            ref = self.tab.chosen_checkpoint(self.tab.run, self.tab.checkpoint)
            settings = self.tab.settings()
            steering = replace(settings.steering, keep_rhythm=self.keep_rhythm.isChecked())
            settings = replace(settings, variations=self.count.value(), steering=steering).validate()
        except JobError as exc:
            self.tab.on_failed(str(exc), "")
            return
        self.list.clear()
        self.tab.info.setText(f"Regenerating beats {beats[0]:g}-{beats[1]:g}…")
        self.tab.start_job(infill_job, self.tab.generator, ref, text, span, settings, on_finished=self._finished,
                           on_cancelled=lambda _: self.tab.info.setText("Stopped."))

    def _finished(self, result: infill.InfillResult) -> None:
        self.candidates = result
        self.tab.progress.setValue(100)
        for v in result.variations:
            ending = {"end": "ended by the model", "beats": "filled the selection"}.get(v.stop_reason, "length limit")
            kept = f" · {result.steering_kept[v.index]}" if result.steering_kept else ""
            self.list.addItem(f"Candidate {v.index + 1} · {v.parsed.valid} items · {ending}{kept}")
        self.list.setCurrentRow(0)
        chosen = f" (the best joins of {result.sampled} sampled)" if result.sampled > len(result.variations) else ""
        self.tab.info.setText(f"Seed {result.seed} · {len(result.variations)} candidates{chosen} for items "
                              f"{result.span.start}:{result.span.end} " + " ".join(result.warnings))
        self._enable()

    def _preview(self, row: int) -> None:
        if self.candidates is not None and 0 <= row < len(self.candidates.variations):
            self.tab.display(self.candidates.full_text(row))
            steered = self.candidates.steering_rows
            self.tab.steer_results.set_rows(steered[row] if row < len(steered) else [])
        self._enable()

    def candidate_in_context(self) -> str:
        row = self.list.currentRow()
        if self.candidates is None or row < 0:
            return ""
        return infill.in_context(self.candidates, row, CONTEXT_BARS)

    def accept(self) -> None:
        row = self.list.currentRow()
        if self.candidates is None or row < 0:
            return
        self.stack.push(_Accept(self, self.accepted, (self.candidates, row)))
        self.candidates = None
        self.list.clear()
        self._enable()

    # -- state --------------------------------------------------------------------------------
    def _show_hint(self) -> None:
        beats = self.selection.beats
        self.hint.setText(f"Beats {beats[0]:g}-{beats[1]:g} selected" if beats else
                          "Drag on the piano roll to select beats")
        self._enable()

    def _enable(self) -> None:
        busy = self.tab.busy()
        has_candidate = self.candidates is not None and self.list.currentRow() >= 0
        self.regenerate_button.setEnabled(not busy and self.selection.beats is not None and bool(self.piece_text()))
        self.play_button.setEnabled(has_candidate)
        self.accept_button.setEnabled(has_candidate and not busy)
        self.undo_button.setEnabled(self.stack.canUndo())
        self.redo_button.setEnabled(self.stack.canRedo())

    def bind(self, binder) -> None:
        binder.bind("infill_keep_rhythm", self.keep_rhythm)

    def set_busy(self, _busy: bool) -> None:
        self._enable()
