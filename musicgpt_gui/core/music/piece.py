"""A piece as the readers deliver it and the renderer turns into note text.

Two views of one file: :attr:`Piece.table` / :attr:`Piece.marks` (every note with its onset and
length as integer columns, plus instrument/tempo/key/time marks) for the merged and first-track modes, and
:attr:`Piece.flat` (items in music21's ``flatten()`` order) for the seed's flat mode.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Optional

from musicgpt_gui.core.music.note_table import NoteTable, TimedNote
from musicgpt_gui.core.music.parts import Part

__all__ = ["FlatItem", "Mark", "NoteTable", "Piece", "TimedNote"]

# music21's classSortOrder, which orders elements sharing an offset in flatten().
ORDER_INSTRUMENT, ORDER_TEMPO, ORDER_KEY, ORDER_TIME, ORDER_NOTE = -25, 1, 2, 4, 20
MARK_ORDER = {"instrument": ORDER_INSTRUMENT, "tempo": ORDER_TEMPO, "key": ORDER_KEY, "time": ORDER_TIME}


@dataclass(frozen=True)
class Mark:
    """A non-note element: ``kind`` is instrument|tempo|key|time.

    ``value``: instrument name, tempo in bpm, ``(tonic, mode)`` or ``'3/4'``.
    """

    offset: Fraction
    kind: str
    value: object
    track: int


# Flat items: ("notes", (midi, ...)), ("rest",), ("key", tonic, mode), ("tempo", bpm), ("text", s)
FlatItem = tuple


@dataclass
class Piece:
    title: str
    table: NoteTable = field(default_factory=NoteTable.empty)
    marks: list[Mark] = field(default_factory=list)
    flat: Optional[list[FlatItem]] = None
    tracks_with_notes: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what a tolerant reading had to skip or clip
    track_parts: dict[int, Part] = field(default_factory=dict)  # each track with notes as a part (its name, program)

    @property
    def notes(self) -> list[TimedNote]:
        """The notes one by one (readers and the renderer work on :attr:`table`)."""
        return self.table.notes()
