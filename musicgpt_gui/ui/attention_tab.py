"""Attention: GPT-2's real self-attention over a text, on a piano roll with a head grid, and in BertViz's three views
(head, model, and neuron: the queries and keys behind one token's attention)."""

from __future__ import annotations

import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QSettings, QTimer, QUrl
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from musicgpt_gui.core.model.inspect import attention
from musicgpt_gui.core.viz import attention_page, neuron_page
from musicgpt_gui.core.viz.attention_patterns import AttentionView, build_view
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.model import workflows
from musicgpt_gui.core.model.store.run_store import list_runs
from musicgpt_gui.core.jobs import JobError, Progress
from musicgpt_gui.ui.context import AppContext
from musicgpt_gui.ui.attention_roll_panel import AttentionRollPanel, default_element
from musicgpt_gui.ui.attention_neuron import NeuronViewMixin
from musicgpt_gui.ui.neuron_controls import NeuronControls, first_token, write_page
from musicgpt_gui.ui.settings_binder import SettingsBinder
from musicgpt_gui.ui.tab_base import Tab, fill_combo
from musicgpt_gui.ui.widgets.missing import missing_label

LAYER_SELECT = "document.querySelector('select#layer')"
SYNC_INTERVAL_MS = 400
VIEW_MODES = (("Head view", "head"), ("Model view (all layers and heads)", "model"), ("Neuron view (q, k)", "neuron"))


@dataclass
class AttentionPages:
    """What one computation produced: the raw result, the per-note pooling, a page for each, the roll's view."""

    result: attention.AttentionResult
    pooled: attention.PooledAttention
    token_page: attention_page.AttentionPage
    note_page: attention_page.AttentionPage
    view: AttentionView
    ref: Optional[checkpoints.CheckpointRef] = None
    neuron_page: Optional[neuron_page.NeuronPage] = None


def attention_job(
    model: attention.AttentionModel, ref: checkpoints.CheckpointRef, text: str, folder: Path, *,
    queries_keys: bool = False, on_progress, cancel,
) -> AttentionPages:
    """Compute the weights, the roll's view (rollout, head summary) and both pages, off the GUI thread.

    With ``queries_keys`` (the neuron view is chosen) it also fetches the queries and keys and writes the
    neuron page around the roll's default note.
    """
    model.load(ref)
    result = model.compute(text, queries_keys=queries_keys, on_progress=on_progress, cancel=cancel)
    cancel.check()
    folder.mkdir(parents=True, exist_ok=True)
    views = [workflows.attention_view(result, pool) for pool in workflows.ATTENTION_POOLS]
    pages = [
        attention_page.write_attention_page(
            folder / f"{view.pool}.html", view.labels, view.weights, title=view.title, notes=result.warnings
        )
        for view in views
    ]
    cancel.check()
    pooled = next(view.pooled for view in views if view.pooled is not None)
    roll_view = build_view(result, pooled)
    neuron = None
    if queries_keys:
        element = default_element(roll_view)
        position = len(result.tokens) - 1 if element is None else first_token(pooled, element)
        neuron = write_page(result, result.queries, result.keys, position, folder)
    return AttentionPages(result, pooled, *pages, roll_view, ref=ref, neuron_page=neuron)


def make_web_view() -> tuple[Optional[QWidget], str]:
    """A QWebEngineView, or None and the reason when QtWebEngine is not installed or cannot start."""
    try:
        from PySide6.QtWebEngineWidgets import QWebEngineView
    except ImportError as exc:
        return None, f"QtWebEngine is not available ({exc}); install PySide6-WebEngine to see the attention views."
    return QWebEngineView(), ""


class AttentionTab(NeuronViewMixin, Tab):
    title = "Attention"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.model = attention.AttentionModel()
        self.pages: Optional[AttentionPages] = None
        self.page_dir = Path(tempfile.mkdtemp(prefix="musicgpt-attention-"))
        weakref.finalize(self, shutil.rmtree, self.page_dir, True)  # pages live as long as the tab
        self.view: Optional[QWidget] = None
        self._layers: list[int] = []
        self._neuron_wanted = False  # a neuron page was asked for while a job ran
        self._page_ready = False  # the shown page finished loading (until then the view holds the previous one)
        self._qt_choices = 0  # counts choices made in Qt: a page state read before the latest one is stale

        top = QHBoxLayout()
        self.run = QComboBox()
        self.checkpoint = QComboBox()
        self.checkpoint.addItems(list(checkpoints.CHECKPOINT_CHOICES))
        self.show_button = QPushButton("Show attention")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        for w in (QLabel("Run"), self.run, QLabel("Checkpoint"), self.checkpoint, self.show_button, self.progress):
            top.addWidget(w)
        top.addStretch(1)
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText("Note text to inspect (Generate → Show attention fills this in)")
        self.text.setMaximumHeight(70)

        controls = QHBoxLayout()
        self.layer = QComboBox()
        self.layer.setToolTip("The head or neuron view's layer (kept in step with the page's own selector)")
        self.mode = QComboBox()
        for label, key in VIEW_MODES:
            self.mode.addItem(label, key)
        self.mode.setToolTip("BertViz's three views; the neuron view shows one head's queries and keys for a token")
        self.neuron = NeuronControls()
        policy = self.neuron.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # showing it must not resize the web view below (a Chromium resize)
        self.neuron.setSizePolicy(policy)
        self.neuron.setVisible(False)
        self.pool = QCheckBox("One node per note (pooled)")
        self.pool.setToolTip("Sum attention paid to each note's tokens, average over the attending note's tokens")
        self.export_html = QPushButton("Export HTML…")
        self.export_npz = QPushButton("Export NPZ…")
        for w in (self.mode, QLabel("Layer"), self.layer, self.neuron, self.pool, self.export_html, self.export_npz):
            controls.addWidget(w)
        controls.addStretch(1)
        self.info = QLabel()
        self.info.setProperty("role", "hint")
        self.info.setWordWrap(True)

        self.roll_panel = AttentionRollPanel(self.write_out, lambda: self.context.workspace.exports)
        self.bertviz = QWidget()
        self.body = QVBoxLayout(self.bertviz)
        self.body.setContentsMargins(0, 0, 0, 0)
        self.body.addLayout(controls)
        self.views = QTabWidget()
        self.views.addTab(self.roll_panel, "Piano roll")
        self.views.addTab(self.bertviz, "BertViz (tokens)")
        self._shown_page: Optional[attention_page.AttentionPage] = None
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.text)
        layout.addWidget(self.info)
        layout.addWidget(self.views, 1)
        self.placeholder = QLabel("Choose a run and a text, then Show attention.")
        self.placeholder.setProperty("role", "hint")
        self.body.addWidget(self.placeholder, 1)

        self.sync_timer = QTimer(self)
        self.sync_timer.setInterval(SYNC_INTERVAL_MS)
        self.sync_timer.timeout.connect(self._read_page_layer)
        self.show_button.clicked.connect(self.compute)
        self.layer.activated.connect(lambda _: self._set_page_layer())
        self.mode.currentIndexChanged.connect(lambda _: self._mode_changed())
        self.neuron.head_chosen.connect(lambda _: self._set_page_head())
        self.neuron.token_chosen.connect(self._token_chosen)
        self.roll_panel.roll.element_selected.connect(self._note_selected)
        self.pool.toggled.connect(lambda _: self._load_page())
        self.views.currentChanged.connect(lambda _: self._pane_changed())
        self.export_html.clicked.connect(self._export_html)
        self.export_npz.clicked.connect(self._export_npz)
        context.attention_requested.connect(self.inspect)
        context.workspace_changed.connect(lambda _: self.refresh())
        context.runs_changed.connect(self.refresh)
        self._enable_page_actions(False)
        self.refresh()
        self.binder = SettingsBinder("attention")
        for key, widget in (
            ("pool", self.pool),
            ("view", self.mode),
            ("run", self.run),
            ("checkpoint", self.checkpoint),
        ):
            self.binder.bind(key, widget)

    def refresh(self) -> None:
        fill_combo(self.run, [(p.name, p) for p in list_runs(self.context.workspace)])
        self.show_button.setEnabled(self.run.count() > 0 and not self.busy())

    def showEvent(self, event) -> None:
        """Start Chromium when the BertViz pane is first shown (it blocks the GUI thread ~0.5 s, once)."""
        if self.views.currentWidget() is self.bertviz:
            self._ensure_view()
        super().showEvent(event)

    def _pane_changed(self) -> None:
        if self.views.currentWidget() is self.bertviz:
            self._ensure_view()
            self._load_page()

    def _ensure_view(self) -> Optional[QWidget]:
        """Create the web view on first use, so start-up never loads Chromium."""
        if self.view is None:
            view, reason = make_web_view()
            self.body.removeWidget(self.placeholder)
            self.placeholder.deleteLater()
            self.view = view or missing_label(reason)
            self.body.addWidget(self.view, 1)
            if view is not None:
                view.loadFinished.connect(self._page_loaded)
        return self.view if hasattr(self.view, "page") else None

    # -- computing ----------------------------------------------------------------------------
    def inspect(self, run: str, text: str) -> None:
        """Generate's 'Show attention': take its run and text and compute at once."""
        self.refresh()
        if self.run.findText(run) >= 0:
            self.run.setCurrentText(run)
        self.text.setPlainText(text)
        self.compute()

    def compute(self) -> None:
        try:
            ref = self.chosen_checkpoint(self.run, self.checkpoint)
        except JobError as exc:
            self.on_failed(str(exc), "")
            return
        self.info.setText("Computing attention (TensorFlow loads on the first run)…")
        folder = Path(tempfile.mkdtemp(dir=self.page_dir))
        self.start_job(attention_job, self.model, ref, self.text.toPlainText(), folder,
                       queries_keys=self.neuron_mode(), on_finished=self._computed)

    def on_progress(self, progress: Progress) -> None:
        self.progress.setValue(int(progress.fraction * 100))

    def _computed(self, pages: AttentionPages) -> None:
        self.pages = pages
        self.progress.setValue(100)
        result = pages.result
        self.info.setText(
            f"{len(result.tokens)} tokens, {len(pages.pooled.items)} notes/items · "
            f"{result.attention.shape[0]} layers × {result.attention.shape[1]} heads. " + " ".join(result.warnings)
        )
        self.neuron.set_shape(result.attention.shape[1], result.tokens)
        self._enable_page_actions(True)
        self.roll_panel.set_view(pages.view)  # selects the last note, and so its first token
        self._load_page()

    def neuron_mode(self) -> bool:
        return self.mode.currentData() == "neuron"

    def current_page(self) -> Optional[attention_page.AttentionPage | neuron_page.NeuronPage]:
        if self.pages is None:
            return None
        if self.neuron_mode():
            return self.pages.neuron_page
        return self.pages.note_page if self.pool.isChecked() else self.pages.token_page

    def _load_page(self) -> None:
        """Load the BertViz page when its pane is shown (Chromium parsing it would stall the roll).

        The neuron view's page covers a window of tokens: a token outside it gets a new page, written by a job.
        """
        page = self.current_page()
        if self.pages is None or self.views.currentWidget() is not self.bertviz:
            return
        if self.neuron_mode() and (page is None or not page.shows(self.neuron.token.value())):
            self._request_neuron_page()
            return
        if page is None or page is self._shown_page:
            return
        view = self._ensure_view()
        if view is None:
            return
        self._shown_page, self._page_ready = page, False
        self._layers = list(page.layers)
        fill_combo(self.layer, [(str(layer), layer) for layer in self._layers])
        view.load(QUrl.fromLocalFile(str(page.path)))

    def _page_loaded(self, ok: bool) -> None:
        if not ok:
            self.info.setText("The attention page did not load.")
            return
        self._page_ready = True
        if isinstance(self._shown_page, neuron_page.NeuronPage):
            self._neuron_page_loaded()
        else:
            self._show_head_or_model()
        self.sync_timer.start()

    # -- keeping Qt and the page in step --------------------------------------------------------
    def run_js(self, script: str, callback: Optional[Callable[[object], None]] = None) -> None:
        view = self._ensure_view()
        if view is None:
            return
        if callback is None:
            view.page().runJavaScript(script)
        else:
            view.page().runJavaScript(script, 0, callback)

    def _set_page_layer(self) -> None:
        self._qt_choices += 1
        layer = self.layer.currentData()
        if layer is not None:
            self.run_js(f"(function(s){{ if (s) {{ jQuery(s).val({int(layer)}).change(); }} }})({LAYER_SELECT});")

    def _read_page_layer(self) -> None:
        if not self.isVisible() or not self._page_ready or self.views.currentWidget() is not self.bertviz:
            return
        if isinstance(self._shown_page, neuron_page.NeuronPage):
            self._read_neuron_state()
        else:
            self.run_js(f"(function(s){{ return s ? s.value : null; }})({LAYER_SELECT});", self._page_layer_is)

    def _page_layer_is(self, value: object) -> None:
        if value in (None, ""):
            return
        index = self.layer.findText(str(value))
        if index >= 0 and index != self.layer.currentIndex():
            self.layer.setCurrentIndex(index)

    def _mode_changed(self) -> None:
        mode = self.mode.currentData()
        self.neuron.setVisible(mode == "neuron")
        self.pool.setEnabled(mode != "neuron")
        self.layer.setEnabled(mode != "model" and self.pages is not None)
        self._load_page()
        self._show_head_or_model()

    def _show_head_or_model(self) -> None:
        if isinstance(self._shown_page, attention_page.AttentionPage) and not self.neuron_mode():
            shown = "show-model" if self.mode.currentData() == "model" else "show-head"
            self.run_js(f"document.getElementById('{shown}').click();")

    def _enable_page_actions(self, on: bool) -> None:
        for w in (self.layer, self.neuron, self.export_html, self.export_npz):
            w.setEnabled(on)

    # -- export -------------------------------------------------------------------------------
    def _export_html(self) -> None:
        default = str(self.context.workspace.exports / "attention.html")
        path, _ = QFileDialog.getSaveFileName(self, "Export the attention page", default, "HTML (*.html)")
        if path:
            self.export_html_to(Path(path))

    def export_html_to(self, path: Path) -> Optional[Path]:
        """Copy the shown page and its scripts folder; the copy opens offline in any browser."""
        page, path = self.current_page(), path.with_suffix(".html")

        def write() -> Path:
            assets = page.path.with_name(f"{page.path.stem}_files")
            target_assets = path.with_name(f"{path.stem}_files")
            shutil.copytree(assets, target_assets, dirs_exist_ok=True)
            html = page.path.read_text(encoding="utf-8").replace(f'"{assets.name}/', f'"{target_assets.name}/')
            path.write_text(html, encoding="utf-8")
            return path

        return self.write_out("the attention page", path, write)

    def _export_npz(self) -> None:
        default = str(self.context.workspace.exports / "attention.npz")
        path, _ = QFileDialog.getSaveFileName(self, "Export the attention weights", default, "NumPy (*.npz)")
        if path:
            self.export_npz_to(Path(path))

    def export_npz_to(self, path: Path) -> Optional[Path]:
        """Tokens, weights, per-note pooling, and the queries and keys once the neuron view fetched them."""
        return self.write_out(
            "the attention weights", path, lambda: attention.save_npz(path, self.pages.result, self.pages.pooled)
        )

    def on_busy_changed(self, busy: bool) -> None:
        self.show_button.setEnabled(not busy and self.run.count() > 0)
        if not busy and self._neuron_wanted:
            QTimer.singleShot(0, self._load_page)

    def shutdown(self) -> None:
        super().shutdown()
        self.sync_timer.stop()

    def save_settings(self, settings: QSettings) -> None:
        self.binder.save(settings)

    def restore_settings(self, settings: QSettings) -> None:
        self.binder.restore(settings)
