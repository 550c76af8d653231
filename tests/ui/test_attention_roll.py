"""The attention roll and head grid on a real tiny model: drawn shades equal the pooled rows, head clicks,
figure export, and a 1024-token window built and clicked in the window without stalling the GUI."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage, QPainter

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.model.inspect.attention import AttentionModel, pool_items
from musicgpt_gui.core.music.notation import join_items, split_items
from musicgpt_gui.core.viz.attention_patterns import build_view
from musicgpt_gui.ui.attention_tab import AttentionTab
from musicgpt_gui.ui.context import AppContext
from musicgpt_gui.ui.widgets.attention_roll import SELECTED, shade_fraction
from tests.ui.helpers import STALL_LIMIT_MS, Heartbeat, wait_idle, wide_attention_tab

WIDTH, HEIGHT = 900, 360


@pytest.fixture(scope="module")
def view(tiny_run, tiny_dataset):
    piece = join_items(split_items(dataset_files.load_split(tiny_dataset, dataset_files.VALID)[0])[:80])
    model = AttentionModel(checkpoints.resolve_checkpoint(tiny_run.run_dir, "latest"))
    try:
        result = model.compute(piece)
    finally:
        model.close()
    return build_view(result, pool_items(result.tokens, result.attention))


@pytest.fixture()
def panel(qtbot, view, workspace, settings):
    tab = AttentionTab(AppContext(workspace, settings))
    qtbot.addWidget(tab)
    tab.resize(1200, 600)
    tab.show()
    tab.roll_panel.set_view(view)
    return tab.roll_panel


def rendered(roll) -> QImage:
    image = QImage(WIDTH, HEIGHT, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    roll.draw(painter, WIDTH, HEIGHT)
    painter.end()
    return image


def drawn_weights(roll, image: QImage) -> dict[int, float]:
    """Each visible element's weight read back from the pixel at the centre of one of its notes."""
    picture, peak = roll.picture, roll.picture.peak(roll.shading(), roll.selected)
    found = {}
    for (x0, y0, x1, y1), element in zip(picture.rects, picture.element_of_note):
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        if element == roll.selected or x1 - x0 < 3 or y1 - y0 < 3 or picture.element_at(cx, cy) != element:
            continue
        found[int(element)] = shade_fraction(image.pixelColor(int(cx), int(cy))) * peak
    return found


@pytest.mark.parametrize("reverse", [False, True])
def test_drawn_shades_are_the_selected_row_of_the_pooled_matrix(panel, view, reverse) -> None:
    roll = panel.roll
    notes = sorted({n.element for n in view.layout.notes})
    panel.reverse.setChecked(reverse)
    for layer, head in [(1, "mean"), (0, 1), (1, "max")]:
        panel.layer.setCurrentText(str(layer))
        panel.head.setCurrentText(str(head))
        panel.apply()
        matrix = (
            view.pooled.attention[layer, head]
            if isinstance(head, int)
            else getattr(view.pooled.attention[layer], head)(axis=0)
        )
        selected = notes[len(notes) // 3] if reverse else notes[-1]
        roll.select(selected)
        expected = matrix[:, selected] if reverse else matrix[selected]
        shading = roll.shading()
        if reverse:
            assert np.array_equal(shading[selected:], expected[selected:]) and not shading[:selected].any()
        else:
            assert (
                np.array_equal(shading[: selected + 1], expected[: selected + 1]) and not shading[selected + 1 :].any()
            )

        peak = roll.picture.peak(shading, selected)
        drawn = drawn_weights(roll, rendered(roll))
        assert len(drawn) > len(notes) // 2
        for element, weight in drawn.items():
            assert abs(weight - shading[element]) <= peak * 0.6 / 154 + 1e-7, (element, weight, shading[element])


def test_clicks_select_notes_and_heads(panel, view, qtbot) -> None:
    roll = panel.roll
    panel.layer.setCurrentText("0")
    panel.apply()
    x0, y0, x1, y1 = roll.picture.rects[len(roll.picture.rects) // 2]
    qtbot.mouseClick(roll, Qt.MouseButton.LeftButton, pos=QPoint(int((x0 + x1) / 2), int((y0 + y1) / 2)))
    assert roll.selected == roll.picture.element_at((x0 + x1) / 2, (y0 + y1) / 2)
    assert repr(view.layout.labels[roll.selected]) in panel.status.text()

    hovered = []
    roll.hovered.connect(lambda element, weight: hovered.append((element, weight)))
    x0, y0, x1, y1 = roll.picture.rects[len(roll.picture.rects) // 4]
    qtbot.mouseMove(roll, QPoint(int((x0 + x1) / 2), int((y0 + y1) / 2)))
    qtbot.waitUntil(lambda: bool(hovered), timeout=2_000)
    element, weight = hovered[-1]
    assert weight == pytest.approx(float(roll.matrix[roll.selected, element]))
    assert f"weight {weight:.4f}" in panel.status.text()

    cell = panel.grid.cell_rect(1, 0).center()
    qtbot.mouseClick(panel.grid, Qt.MouseButton.LeftButton, pos=cell.toPoint())
    assert (panel.layer.currentText(), panel.head.currentText()) == ("1", "0")
    assert np.array_equal(roll.matrix, view.pooled.attention[1, 0])
    assert panel.grid.selected == (1, 0)

    panel.layer.setCurrentText("rollout")
    panel.apply()
    assert np.array_equal(roll.matrix, view.pooled_rollout) and not panel.head.isEnabled()


def test_figures_export_as_svg_and_png_and_the_matrix_as_csv(panel, view, tmp_path) -> None:
    svg = panel.export_roll_to(tmp_path / "roll.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and len(list(root.iter())) > len(view.layout.notes)
    grid_svg = ET.parse(panel.export_grid_to(tmp_path / "grid.svg")).getroot()
    assert any(el.tag.endswith("image") for el in grid_svg.iter())  # the thumbnails

    png = QImage(str(panel.export_roll_to(tmp_path / "roll.png")))
    assert not png.isNull() and (png.width(), png.height()) == (2 * 900, 2 * 360)
    x0, y0, x1, y1 = panel.roll.picture.rects[panel.roll.picture.element_of_note == panel.roll.selected][0]
    assert png.pixelColor(int(x0 + x1), int(y0 + y1)) == QColor(SELECTED)  # 2× scale: centre × 2
    grid_png = QImage(str(panel.export_grid_to(tmp_path / "grid.png")))
    assert not grid_png.isNull() and grid_png.width() == 2 * panel.grid.figure_size().width()

    rows = panel.export_csv_to(tmp_path / "m.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == len(view.layout.labels) + 1
    assert panel.export_roll_to(tmp_path / "roll.gif") is None  # refused with a message, nothing written
    assert not (tmp_path / "roll.gif").exists()


@pytest.mark.stall
def test_a_1024_token_window_is_built_and_clicked_without_stalling(
    make_window, tiny_run, tiny_dataset, qtbot, tensorflow_loaded
) -> None:
    window, tab = wide_attention_tab(make_window, tiny_run, tiny_dataset)
    with Heartbeat() as beat:
        tab.compute()
        wait_idle(qtbot, tab)
        assert len(tab.pages.result.tokens) == 1024
        roll = tab.roll_panel.roll
        qtbot.waitUntil(lambda: roll.picture is not None and roll.selected is not None, timeout=10_000)
        roll.repaint()
        for k in np.linspace(0, len(roll.picture.rects) - 1, 6).astype(int):
            x0, y0, x1, y1 = roll.picture.rects[k]
            qtbot.mouseClick(roll, Qt.MouseButton.LeftButton, pos=QPoint(int((x0 + x1) / 2), int((y0 + y1) / 2)))
            roll.repaint()
            qtbot.wait(20)
    assert tab.views.currentWidget() is tab.roll_panel
    assert roll.shading() is not None and len(roll.shading()) == len(tab.pages.pooled.items)
    assert beat.longest_ms < STALL_LIMIT_MS, f"the event loop stalled {beat.longest_ms:.0f} ms for the 1024-token roll"
