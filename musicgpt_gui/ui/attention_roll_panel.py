"""The Attention tab's musical view: the attention roll, its layer/head/direction choices, the head grid
and figure/CSV export."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from musicgpt_gui.core.viz.attention_patterns import HEAD_REDUCTIONS, AttentionView, write_matrix_csv
from musicgpt_gui.ui.tab_base import fill_combo
from musicgpt_gui.ui.widgets.attention_roll import AttentionRoll
from musicgpt_gui.ui.widgets.figure_export import FIGURE_ROLL_HEIGHT, FIGURE_WIDTH, export_figure
from musicgpt_gui.ui.widgets.head_grid import HeadGrid

ROLLOUT = "rollout"
ZOOMS = (("fit", 1), ("×2", 2), ("×4", 4), ("×8", 8))
GRID_MAX_WIDTH = 560  # wider grids (many heads) scroll
WriteOut = Callable[[str, Path, Callable[[], Path]], Optional[Path]]


def default_element(view: AttentionView) -> Optional[int]:
    """The last note or chord of the text: what the model attended from when it wrote the next one."""
    return view.layout.notes[-1].element if view.layout.notes else None


class AttentionRollPanel(QWidget):
    def __init__(self, write_out: WriteOut, exports: Callable[[], Path], parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.write_out, self.exports = write_out, exports
        self.view: Optional[AttentionView] = None

        self.layer = QComboBox()
        self.layer.setToolTip("A layer, or the rollout through all layers (Abnar & Zuidema, 2020)")
        self.head = QComboBox()
        self.head.setToolTip("One head, or the mean or maximum over the layer's heads")
        self.reverse = QCheckBox("Reverse (who attends to it)")
        self.zoom = QComboBox()
        for label, factor in ZOOMS:
            self.zoom.addItem(label, factor)
        self.roll_figure = QPushButton("Roll figure…")
        self.grid_figure = QPushButton("Head grid figure…")
        self.csv = QPushButton("CSV…")
        controls = QHBoxLayout()
        for w in (
            QLabel("Layer"),
            self.layer,
            QLabel("Head"),
            self.head,
            self.reverse,
            QLabel("Zoom"),
            self.zoom,
            self.roll_figure,
            self.grid_figure,
            self.csv,
        ):
            controls.addWidget(w)
        controls.addStretch(1)

        self.roll = AttentionRoll()
        self.roll_area = QScrollArea()
        self.roll_area.setWidgetResizable(True)
        self.roll_area.setWidget(self.roll)
        self.grid = HeadGrid()
        self.grid_area = QScrollArea()
        self.grid_area.setWidget(self.grid)
        self.grid_area.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.roll_area)
        splitter.addWidget(self.grid_area)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        self.status = QLabel("Click a note or chord to see what it attends to.")
        self.status.setProperty("role", "hint")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)

        self.layer.activated.connect(lambda _: self.apply())
        self.head.activated.connect(lambda _: self.apply())
        self.reverse.toggled.connect(self._reverse_toggled)
        self.zoom.activated.connect(lambda _: self._apply_zoom())
        self.grid.head_selected.connect(self.choose_head)
        self.roll.element_selected.connect(lambda _: self._describe())
        self.roll.hovered.connect(self._hovered)
        self.roll_figure.clicked.connect(lambda: self._ask_figure("roll", self.export_roll_to))
        self.grid_figure.clicked.connect(lambda: self._ask_figure("heads", self.export_grid_to))
        self.csv.clicked.connect(self._ask_csv)
        self._enable(False)

    def _enable(self, on: bool) -> None:
        for w in (self.layer, self.head, self.reverse, self.zoom, self.roll_figure, self.grid_figure, self.csv):
            w.setEnabled(on)

    def set_view(self, view: AttentionView) -> None:
        """Show a new computation: the last layer, heads averaged, the last note selected."""
        self.view = view
        layers, heads = view.pooled.attention.shape[:2]
        choices = [(str(i), i) for i in range(layers)] + ([(ROLLOUT, None)] if view.pooled_rollout is not None else [])
        fill_combo(self.layer, choices, keep=str(layers - 1))
        fill_combo(self.head, [(r, r) for r in HEAD_REDUCTIONS] + [(str(h), h) for h in range(heads)], keep="mean")
        self.roll.set_layout(view.layout)
        self.grid.set_summary(view.summary)
        scrollbar = self.grid_area.verticalScrollBar().sizeHint().width()
        self.grid_area.setMinimumWidth(min(self.grid.width() + scrollbar + 4, GRID_MAX_WIDTH))
        self._enable(True)
        self.apply()
        self.roll.select(default_element(view))

    def choice(self) -> tuple[Optional[int], object]:
        return self.layer.currentData(), self.head.currentData()

    def choose_head(self, layer: int, head: int) -> None:
        self.layer.setCurrentIndex(self.layer.findText(str(layer)))
        self.head.setCurrentIndex(self.head.findText(str(head)))
        self.apply()

    def apply(self) -> None:
        if self.view is None:
            return
        layer, head = self.choice()
        self.head.setEnabled(layer is not None)
        self.roll.set_matrix(self.view.matrix(layer, head), self.choice_title())
        self.grid.select((layer, head) if layer is not None and isinstance(head, int) else None)
        self._describe()

    def choice_title(self) -> str:
        layer, head = self.choice()
        if layer is None:
            return "rollout"
        return f"layer {layer} · {'head ' + str(head) if isinstance(head, int) else head + ' of heads'}"

    def _reverse_toggled(self, on: bool) -> None:
        self.roll.set_reverse(on)
        self._describe()

    def _apply_zoom(self) -> None:
        factor = self.zoom.currentData() or 1
        self.roll.setMinimumWidth(max(200, (self.roll_area.viewport().width() - 2) * factor) if factor > 1 else 200)

    def _describe(self) -> None:
        weights, selected = self.roll.shading(), self.roll.selected
        if weights is None or self.view is None:
            return
        labels = self.view.layout.labels
        start = f" · the window's start {labels[0]!r}: {weights[0]:.3f}" if selected != 0 else ""
        way = "attended by later elements" if self.roll.reverse else "attends to earlier elements"
        self.status.setText(f"{labels[selected]!r} (element {selected}) {way}{start}")

    def _hovered(self, element: int, weight: float) -> None:
        self.status.setText(f"{self.view.layout.labels[element]!r} (element {element}): weight {weight:.4f}")

    # -- export -------------------------------------------------------------------------------
    def _ask_figure(self, name: str, export: Callable[[Path], Optional[Path]]) -> None:
        default = str(self.exports() / f"attention-{name}.svg")
        path, _ = QFileDialog.getSaveFileName(self, "Export a figure", default, "SVG (*.svg);;PNG (*.png)")
        if path:
            export(Path(path))

    def export_roll_to(self, path: Path) -> Optional[Path]:
        parts = [(self.roll.draw, FIGURE_ROLL_HEIGHT)]
        return self.write_out(
            "the roll figure", path, lambda: export_figure(path, parts, FIGURE_WIDTH, self.choice_title())
        )

    def export_grid_to(self, path: Path) -> Optional[Path]:
        size = self.grid.figure_size()
        parts = [(self.grid.draw, size.height())]
        return self.write_out("the head grid figure", path, lambda: export_figure(path, parts, size.width(), "heads"))

    def _ask_csv(self) -> None:
        default = str(self.exports() / "attention.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Export the pooled matrix", default, "CSV (*.csv)")
        if path:
            self.export_csv_to(Path(path))

    def export_csv_to(self, path: Path) -> Optional[Path]:
        """The matrix shown (this layer and head, or the rollout), one row and column per element."""
        matrix = self.view.matrix(*self.choice())
        return self.write_out(
            "the pooled matrix", path, lambda: write_matrix_csv(path, self.view.layout.labels, matrix)
        )
