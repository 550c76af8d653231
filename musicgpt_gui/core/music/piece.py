"""A piece as the readers deliver it and the renderer turns into note text.

Two views of one file: :attr:`Piece.notes` / :attr:`Piece.marks` (every note with its onset and
length, plus instrument/tempo/key/time marks) for the merged and first-track modes, and
:attr:`Piece.flat` (items in music21's ``flatten()`` order) for the seed's flat mode.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Optional

# music21's classSortOrder, which orders elements sharing an offset in flatten().
ORDER_INSTRUMENT, ORDER_TEMPO, ORDER_KEY, ORDER_TIME, ORDER_NOTE = -25, 1, 2, 4, 20
MARK_ORDER = {"instrument": ORDER_INSTRUMENT, "tempo": ORDER_TEMPO, "key": ORDER_KEY, "time": ORDER_TIME}


@dataclass(frozen=True)
class TimedNote:
    """One sounding pitch, in quarter lengths; ``track`` orders chords."""

    onset: Fraction
    duration: Fraction
    pitch: int
    track: int
    velocity: Optional[int] = None  # None where the source has none (scores)
    program: int = 0


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
    notes: list[TimedNote] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    flat: Optional[list[FlatItem]] = None
    tracks_with_notes: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what a tolerant reading had to skip or clip
