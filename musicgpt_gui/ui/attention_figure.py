"""The attention figure without a window: the roll for one element above the head grid, for the CLI."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from musicgpt_gui.core.viz.attention_patterns import AttentionView, Head


def write_attention_figure(path: Path, view: AttentionView, layer: Optional[int], head: Head = "mean",
                           element: Optional[int] = None, reverse: bool = False) -> Path:
    """Draw the roll (``layer=None``: the rollout) and the head grid into a PNG or SVG, offscreen."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from musicgpt_gui.ui.attention_roll_panel import default_element
    from musicgpt_gui.ui.widgets.attention_roll import AttentionRoll
    from musicgpt_gui.ui.widgets.figure_export import FIGURE_ROLL_HEIGHT, FIGURE_WIDTH, export_figure
    from musicgpt_gui.ui.widgets.head_grid import HeadGrid

    _app = QApplication.instance() or QApplication([])  # fonts and painting need it alive
    roll = AttentionRoll()
    roll.set_layout(view.layout)
    title = "rollout" if layer is None else f"layer {layer} · {head if isinstance(head, str) else f'head {head}'}"
    roll.set_matrix(view.matrix(layer, head), title)
    roll.set_reverse(reverse)
    roll.select(default_element(view) if element is None else element)
    grid = HeadGrid()
    grid.set_summary(view.summary)
    if layer is not None and not isinstance(head, str):
        grid.select((layer, head))
    size = grid.figure_size()
    width = max(FIGURE_WIDTH, size.width())
    parts = [(roll.draw, FIGURE_ROLL_HEIGHT), (grid.draw, size.height())]
    return export_figure(path, parts, width, title)
