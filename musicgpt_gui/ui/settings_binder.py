"""Remembered choices: each widget is bound once to a QSettings key and read back with the widget's own type.

A tab binds its widgets when it builds them and calls :meth:`SettingsBinder.save` / :meth:`restore`;
there is no hand-written pair of save and restore code to keep in step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QAbstractButton, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox, QWidget


@dataclass(frozen=True)
class Binding:
    key: str
    get: Callable[[], Any]
    set: Callable[[Any], None]
    kind: type  # int | float | bool | str: what QSettings' stored value is converted to


class SettingsBinder:
    """The bindings of one settings group (one tab)."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.bindings: list[Binding] = []

    def bind(self, key: str, widget: QWidget) -> None:
        """Remember ``widget``'s value (spin box, check/radio button, line edit or combo box's text) under ``key``."""
        if isinstance(widget, QDoubleSpinBox):
            self.add(key, widget.value, widget.setValue, float)
        elif isinstance(widget, QSpinBox):
            self.add(key, widget.value, widget.setValue, int)
        elif isinstance(widget, QAbstractButton):
            self.add(key, widget.isChecked, widget.setChecked, bool)
        elif isinstance(widget, QLineEdit):
            self.add(key, widget.text, widget.setText, str)
        elif isinstance(widget, QComboBox):
            self.add(key, widget.currentText, lambda text: select_text(widget, text), str)
        else:
            raise TypeError(f"No settings binding for a {type(widget).__name__}.")

    def add(self, key: str, get: Callable[[], Any], set_: Callable[[Any], None], kind: type) -> None:
        """Remember any value that ``get`` reads and ``set_`` applies."""
        self.bindings.append(Binding(key, get, set_, kind))

    def save(self, settings: QSettings) -> None:
        settings.beginGroup(self.group)
        for binding in self.bindings:
            settings.setValue(binding.key, binding.get())
        settings.endGroup()

    def restore(self, settings: QSettings) -> None:
        """Apply every stored value; a missing or unreadable one leaves the widget's default."""
        settings.beginGroup(self.group)
        try:
            for binding in self.bindings:
                stored = settings.value(binding.key)
                if stored is None:
                    continue
                try:
                    value = convert(stored, binding.kind)
                except (TypeError, ValueError):
                    continue
                binding.set(value)
        finally:
            settings.endGroup()


def convert(stored: Any, kind: type) -> Any:
    """A QSettings value as ``kind`` (INI files give back strings, native stores may keep the type)."""
    if kind is bool:
        if isinstance(stored, str):
            if stored.lower() not in ("true", "false"):
                raise ValueError(stored)
            return stored.lower() == "true"
        return bool(stored)
    return kind(stored)


def select_text(combo: QComboBox, text: str) -> None:
    """Select the item labelled ``text``, if the combo still has it."""
    index = combo.findText(text)
    if index >= 0:
        combo.setCurrentIndex(index)
