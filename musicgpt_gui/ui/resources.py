"""Our own icons and stylesheet, loaded through importlib.resources (source, wheel and frozen alike)."""
from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

from PySide6.QtGui import QIcon, QPixmap


def resource_dir() -> Traversable:
    """``musicgpt_gui.resources`` (pyproject maps the top-level resources/ folder to it)."""
    return files("musicgpt_gui.resources")


def read_text(name: str) -> str:
    return (resource_dir() / name).read_text(encoding="utf-8")


def icon(name: str) -> QIcon:
    """An SVG icon by file stem (``play`` -> play.svg)."""
    pixmap = QPixmap()
    pixmap.loadFromData((resource_dir() / f"{name}.svg").read_bytes(), "SVG")
    return QIcon(pixmap)


def stylesheet() -> str:
    return read_text("style.css")
