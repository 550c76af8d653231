"""Figures of anything that draws onto a QPainter: PNG through QImage, SVG through QSvgGenerator.

A figure is a vertical stack of parts, each a ``draw(painter, width, height)`` callable and its
height.  The bytes are made in memory and written atomically, so a failed export leaves no half file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect, QSize
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator

from musicgpt_gui.core.atomic_file import atomic_file
from musicgpt_gui.core.jobs import JobError

Draw = Callable[[QPainter, float, float], None]
PNG_SCALE = 2  # PNGs at twice the on-screen size, sharp enough for print
FIGURE_WIDTH = 900  # an exported attention figure, from the GUI or the CLI
FIGURE_ROLL_HEIGHT = 360


def _paint(painter: QPainter, parts: Sequence[tuple[Draw, int]], width: int) -> None:
    top = 0
    for draw, height in parts:
        painter.save()
        painter.translate(0, top)
        painter.setClipRect(QRect(0, 0, width, height))
        draw(painter, width, height)
        painter.restore()
        top += height


def figure_bytes(suffix: str, parts: Sequence[tuple[Draw, int]], width: int, title: str = "") -> bytes:
    height = sum(h for _, h in parts)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if suffix == ".svg":
        generator = QSvgGenerator()
        generator.setOutputDevice(buffer)
        generator.setSize(QSize(width, height))
        generator.setViewBox(QRect(0, 0, width, height))
        generator.setTitle(title)
        painter = QPainter(generator)
        _paint(painter, parts, width)
        painter.end()
    elif suffix == ".png":
        image = QImage(width * PNG_SCALE, height * PNG_SCALE, QImage.Format.Format_ARGB32)
        image.fill(QColor("white"))
        painter = QPainter(image)
        painter.scale(PNG_SCALE, PNG_SCALE)
        _paint(painter, parts, width)
        painter.end()
        image.save(buffer, "PNG")
    else:
        raise JobError(f"A figure is written as .png or .svg, not '{suffix or 'no suffix'}'.")
    data = QByteArray(buffer.data()).data()
    buffer.close()
    return bytes(data)


def export_figure(path: Path, parts: Sequence[tuple[Draw, int]], width: int, title: str = "") -> Path:
    """Write the stacked ``parts`` as a PNG or SVG, chosen by ``path``'s suffix."""
    path = Path(path)
    data = figure_bytes(path.suffix.lower(), parts, width, title)
    with atomic_file(path, "wb") as fh:
        fh.write(data)
    return path
