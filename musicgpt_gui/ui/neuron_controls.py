"""The Attention tab's neuron view: its head and token pickers, the job writing a page around a token, and
the page's own choices (layer, head, token) read back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.inspect import attention
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.viz import neuron_page
from musicgpt_gui.ui.tab_base import fill_combo

TITLE = "Neuron view (tokens)"
# What the neuron page shows now, as JSON (null until BertViz has drawn): see resources/neuron_page.html.
PAGE_STATE = (
    "(function(){ var n = window.neuron, r = document;"
    " if (!n || !n.ready()) { return null; }"
    " return JSON.stringify({layer: +r.querySelector('#layer').value, head: +r.querySelector('#att_head').value,"
    " token: n.selected()}); })()"
)


def first_token(pooled: attention.PooledAttention, element: int) -> int:
    """The position of the first token of a musical element."""
    return pooled.token_items.index(element)


def neuron_job(
    model: attention.AttentionModel,
    ref: checkpoints.CheckpointRef,
    result: attention.AttentionResult,
    position: int,
    folder: Path,
    *,
    on_progress,
    cancel,
) -> tuple[np.ndarray, np.ndarray, neuron_page.NeuronPage]:
    """The queries and keys (fetched for the result's own tokens if the attention job did not) and a page
    around ``position``."""
    queries, keys = result.queries, result.keys
    if queries is None or keys is None:
        model.load(ref)
        again = model.compute_ids(result.token_ids, queries_keys=True, on_progress=on_progress, cancel=cancel)
        if again.checkpoint != result.checkpoint:
            raise JobError("The checkpoint changed since the attention was computed; press Show attention again.")
        queries, keys = again.queries, again.keys
    cancel.check()
    return queries, keys, write_page(result, queries, keys, position, folder)


def write_page(
    result: attention.AttentionResult, queries: np.ndarray, keys: np.ndarray, position: int, folder: Path
) -> neuron_page.NeuronPage:
    """The neuron page of every layer and head over a window of tokens around ``position``."""
    folder.mkdir(parents=True, exist_ok=True)
    return neuron_page.write_neuron_page(
        folder / f"neuron-{position}.html",
        result.tokens,
        result.attention,
        queries,
        keys,
        selected=position,
        title=TITLE,
        notes=result.warnings,
    )


class NeuronControls(QWidget):
    """Head and token pickers; the layer is the tab's own Layer menu, shared with the head view."""

    head_chosen = Signal(int)
    token_chosen = Signal(int)

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.tokens: list[str] = []
        self.head = QComboBox()
        self.head.setToolTip("The head whose queries and keys are shown")
        self.token = QSpinBox()
        self.token.setToolTip("The attending token (position in the text); a note clicked on the roll picks its first")
        self.token_text = QLabel()
        self.token_text.setMinimumWidth(80)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (QLabel("Head"), self.head, QLabel("Token"), self.token, self.token_text):
            layout.addWidget(w)
        self.head.activated.connect(lambda _: self.head_chosen.emit(self.head.currentData()))
        self.token.valueChanged.connect(self._token_changed)

    def set_shape(self, heads: int, tokens: list[str]) -> None:
        """A new result: its heads, its tokens, the last token selected."""
        self.tokens = list(tokens)
        fill_combo(self.head, [(str(h), h) for h in range(heads)], keep="0")
        self.token.blockSignals(True)
        self.token.setRange(0, max(0, len(tokens) - 1))
        self.token.setValue(len(tokens) - 1)
        self.token.blockSignals(False)
        self._show_text()

    def select_token(self, position: int, *, quiet: bool = False) -> None:
        """Select a token; ``quiet`` when the page itself chose it (no request goes back)."""
        self.token.blockSignals(quiet)
        self.token.setValue(position)
        self.token.blockSignals(False)
        self._show_text()

    def page_state(self, state_json: object) -> Optional[dict]:
        """The page's layer, head and token (from :data:`PAGE_STATE`); the head and token are applied here."""
        if not isinstance(state_json, str):
            return None
        state = json.loads(state_json)
        if self.head.currentData() != state["head"] and 0 <= state["head"] < self.head.count():
            self.head.setCurrentIndex(state["head"])
        if self.token.value() != state["token"]:
            self.select_token(int(state["token"]), quiet=True)
        return state

    def _token_changed(self, position: int) -> None:
        self._show_text()
        self.token_chosen.emit(position)

    def _show_text(self) -> None:
        position = self.token.value()
        self.token_text.setText(repr(self.tokens[position]) if 0 <= position < len(self.tokens) else "")
