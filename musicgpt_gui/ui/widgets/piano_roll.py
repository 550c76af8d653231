"""A piano-roll view of note text: one bar per sounding note, time across, pitch up, with a cursor.

A text with parts colours each part's notes with its own colour and names them in a legend (top right);
a click on a legend entry mutes or unmutes that part, a shift-click solos it (``mute_changed``).
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from musicgpt_gui.core.music.notation import Parsed, midi_to_name, parse_text
from musicgpt_gui.core.music.tempo_map import TempoMap

KEY_WIDTH = 34
NOTE_COLOR = QColor("#3a7bd5")
# One colour per part (up to MIDI's 16), distinct at a glance; part 1 keeps the roll's blue.
PART_COLORS = tuple(QColor(c) for c in (
    "#3a7bd5", "#e4572e", "#29a35a", "#9b5de5", "#f4a259", "#17becf", "#d6336c", "#8c6d31",
    "#5c7cfa", "#2f9e44", "#ae3ec9", "#e8590c", "#1098ad", "#c2255c", "#66a80f", "#495057",
))
CURSOR_COLOR = QColor("#d62728")
MUTED_COLOR = QColor("#b8bec9")
SELECTION_COLOR = QColor(255, 190, 60, 70)
DRAG_THRESHOLD = 4  # pixels: a shorter drag is a click (seek)


def seconds_to_quarters(parsed: Parsed, seconds: float) -> float:
    """Where the player is, in quarter lengths, following the text's tempo changes."""
    return min(TempoMap.from_marks(parsed.tempos).quarters_at(seconds), float(parsed.length))


class PianoRoll(QWidget):
    """Shows the notes of a :class:`Parsed` text; ``set_cursor`` moves the playing position.

    A click asks to seek there (``seek_requested``); a drag selects a span (``selection_changed``,
    None when cleared by a click) that a transport can loop.  Both are in quarter lengths.
    """

    seek_requested = Signal(float)
    selection_changed = Signal(object)  # (start, end) quarters, or None
    mute_changed = Signal(object)  # the set of muted part indices

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.parsed: Optional[Parsed] = None
        self.cursor_quarters: Optional[float] = None
        self.selection: Optional[tuple[float, float]] = None
        self.muted: set[int] = set()
        self._legend_rects: list[QRectF] = []
        self._press_x: Optional[float] = None
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setMinimumHeight(140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Piano roll: time runs left to right, pitch bottom to top. "
                        "Click to seek, drag to select a loop.")

    def sizeHint(self) -> QSize:
        return QSize(600, 220)

    def set_text(self, text: str) -> Parsed:
        return self.set_parsed(parse_text(text))

    def set_parsed(self, parsed: Optional[Parsed]) -> Optional[Parsed]:
        self.parsed = parsed
        self.cursor_quarters = None
        self.set_muted(set())
        self.set_selection(None)
        return parsed

    def set_selection(self, selection: Optional[tuple[float, float]]) -> None:
        if selection != self.selection:
            self.selection = selection
            self.selection_changed.emit(selection)
        self.update()

    def x_to_quarters(self, x: float) -> float:
        length = float(self.parsed.length) if self.parsed else 0.0
        width = max(1.0, self.width() - KEY_WIDTH - 4)
        return min(max((x - KEY_WIDTH) / width * length, 0.0), length)

    def quarters_to_x(self, quarters: float) -> float:
        length = float(self.parsed.length) if self.parsed else 0.0
        return KEY_WIDTH + quarters / (length or 1.0) * max(1.0, self.width() - KEY_WIDTH - 4)

    def set_muted(self, muted: set[int]) -> None:
        if muted != self.muted:
            self.muted = set(muted)
            self.mute_changed.emit(set(self.muted))
        self.update()

    def toggle_mute(self, part: int) -> None:
        self.set_muted(self.muted ^ {part})

    def solo(self, part: int) -> None:
        """Only ``part`` sounds; soloing the only sounding part again unmutes everything."""
        others = set(range(len(self.parsed.parts))) - {part} if self.parsed else set()
        self.set_muted(set() if self.muted == others else others)

    def mousePressEvent(self, event) -> None:
        hit = next((k for k, r in enumerate(self._legend_rects) if r.contains(event.position())), None)
        if hit is not None and event.button() == Qt.MouseButton.LeftButton:
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.solo(hit)
            else:
                self.toggle_mute(hit)
            return
        if event.button() == Qt.MouseButton.LeftButton and self.parsed and self.parsed.notes:
            self._press_x = event.position().x()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._press_x is not None and abs(event.position().x() - self._press_x) >= DRAG_THRESHOLD:
            a, b = sorted((self.x_to_quarters(self._press_x), self.x_to_quarters(event.position().x())))
            self.set_selection((a, b))

    def mouseReleaseEvent(self, event) -> None:
        if self._press_x is not None and abs(event.position().x() - self._press_x) < DRAG_THRESHOLD:
            self.set_selection(None)
            self.seek_requested.emit(self.x_to_quarters(event.position().x()))
        else:
            self.mouseMoveEvent(event)  # the span ends where the button comes up
        self._press_x = None

    def clear(self) -> None:
        self.set_parsed(None)

    def note_color(self, part: int) -> QColor:
        """The colour of a note of ``part`` (the one blue when the text declares no parts)."""
        return QColor(PART_COLORS[part % len(PART_COLORS)]) if self.parsed and self.parsed.parts else QColor(NOTE_COLOR)

    def legend(self) -> list[tuple[str, QColor]]:
        """(label, colour) of each part, as the legend shows them; empty without parts."""
        if not self.parsed or not self.parsed.parts:
            return []
        entries = []
        for k, (part, count) in enumerate(self.parsed.part_counts()):
            muted = k in self.muted
            label = f"{part.name} ({count}){' muted' if muted else ''}"
            entries.append((label, QColor(MUTED_COLOR) if muted else self.note_color(k)))
        return entries

    def set_cursor_seconds(self, seconds: Optional[float]) -> None:
        if self.parsed is None or seconds is None:
            self.cursor_quarters = None
        else:
            self.cursor_quarters = seconds_to_quarters(self.parsed, seconds)
        self.update()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#fbfcfe"))
        if not self.parsed or not self.parsed.notes:
            painter.setPen(QColor("#8a94a6"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No notes to show")
            return
        notes = self.parsed.notes
        low = min(n.pitch for n in notes) - 1
        high = max(n.pitch for n in notes) + 1
        length = float(self.parsed.length) or 1.0
        width = max(1.0, self.width() - KEY_WIDTH - 4)
        row = self.height() / (high - low + 1)
        x_scale = width / length

        def y_of(pitch: int) -> float:
            return (high - pitch) * row

        painter.setFont(QFont(self.font().family(), 7))
        for pitch in range(low, high + 1):
            if pitch % 12 in (1, 3, 6, 8, 10):
                painter.fillRect(QRectF(KEY_WIDTH, y_of(pitch), width + 4, row), QColor("#eef1f6"))
            if pitch % 12 == 0:
                painter.setPen(QPen(QColor("#c3cad6")))
                painter.drawLine(KEY_WIDTH, int(y_of(pitch) + row), self.width(), int(y_of(pitch) + row))
                painter.setPen(QColor("#5b6676"))
                painter.drawText(QRectF(0, y_of(pitch) + row - 12, KEY_WIDTH - 3, 12),
                                 Qt.AlignmentFlag.AlignRight, midi_to_name(pitch))
        painter.setPen(Qt.PenStyle.NoPen)
        for note in notes:
            alpha = 110 + int(145 * note.velocity / 127)
            color = self.note_color(note.part)
            color.setAlpha(alpha if note.part not in self.muted else 40)
            painter.setBrush(color)
            rect = QRectF(KEY_WIDTH + float(note.onset) * x_scale, y_of(note.pitch),
                          max(1.5, float(note.duration) * x_scale - 1), max(1.5, row - 1))
            painter.drawRect(rect)
        self._paint_legend(painter)
        if self.selection is not None:
            left, right = (self.quarters_to_x(q) for q in self.selection)
            painter.fillRect(QRectF(left, 0, right - left, self.height()), SELECTION_COLOR)
        if self.cursor_quarters is not None:
            painter.setPen(QPen(CURSOR_COLOR, 2))
            x = int(KEY_WIDTH + self.cursor_quarters * x_scale)
            painter.drawLine(x, 0, x, self.height())

    def _paint_legend(self, painter: QPainter) -> None:
        """A swatch and a name per part, in a column at the top right."""
        entries = self.legend()
        self._legend_rects = []
        if not entries:
            return
        metrics = painter.fontMetrics()
        line = metrics.height() + 2
        width = max(metrics.horizontalAdvance(label) for label, _ in entries) + 22
        left = self.width() - width - 6
        painter.fillRect(QRectF(left - 4, 2, width + 8, line * len(entries) + 4), QColor(255, 255, 255, 215))
        for k, (label, color) in enumerate(entries):
            top = 4 + k * line
            self._legend_rects.append(QRectF(left - 4, top, width + 8, line))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawRect(QRectF(left, top + 2, 12, line - 5))
            painter.setPen(QColor("#303846"))
            painter.drawText(QRectF(left + 18, top, width - 18, line), Qt.AlignmentFlag.AlignVCenter, label)
