"""Every note of a piece as integer columns on a grid, so reading and rendering run in numpy.

A pop file has tens of thousands of notes; one Python object and two Fractions per note cost
more than reading the file.  Times are whole steps of ``1/unit`` quarter (the timed format's
grid, or the lcm of a score's denominators), so all arithmetic is exact.  Rows are in reading
order: by onset, then track, then the order each track delivered them -- chords keep that order.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import lcm
from typing import Iterable, Optional, Sequence

import numpy as np

NO_VELOCITY = -1  # the source (a score) has none


@dataclass(frozen=True)
class TimedNote:
    """One sounding pitch, in quarter lengths; ``track`` orders chords."""

    onset: Fraction
    duration: Fraction
    pitch: int
    track: int
    velocity: Optional[int] = None  # None where the source has none (scores)
    program: int = 0


def _ints(values: Iterable[int]) -> np.ndarray:
    return np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=np.int64)


@dataclass(frozen=True)
class NoteTable:
    unit: int  # steps per quarter
    onset: np.ndarray
    length: np.ndarray
    pitch: np.ndarray
    track: np.ndarray
    velocity: np.ndarray
    program: np.ndarray

    @classmethod
    def build(
        cls,
        unit: int,
        onset: Iterable[int],
        length: Iterable[int],
        pitch: Iterable[int],
        track: Iterable[int],
        velocity: Iterable[int],
        program: Iterable[int],
    ) -> "NoteTable":
        """Columns in any order; rows are put in reading order (stable by onset, then track)."""
        cols = [_ints(c) for c in (onset, length, pitch, track, velocity, program)]
        order = np.lexsort((cols[3], cols[0]))
        return cls(unit, *(c[order] for c in cols))

    @classmethod
    def empty(cls) -> "NoteTable":
        return cls.build(1, [], [], [], [], [], [])

    @classmethod
    def from_notes(cls, notes: Sequence[TimedNote]) -> "NoteTable":
        """Notes with Fraction times (a score's): the unit is the lcm of their denominators."""
        unit = lcm(1, *{n.onset.denominator for n in notes}, *{n.duration.denominator for n in notes})
        return cls.build(
            unit,
            (int(n.onset * unit) for n in notes),
            (int(n.duration * unit) for n in notes),
            (n.pitch for n in notes),
            (n.track for n in notes),
            (NO_VELOCITY if n.velocity is None else n.velocity for n in notes),
            (n.program for n in notes),
        )

    def __len__(self) -> int:
        return len(self.onset)

    def end(self) -> Fraction:
        """Where the last note stops, in quarters."""
        return Fraction(int((self.onset + self.length).max()), self.unit) if len(self) else Fraction(0)

    def select(self, tracks: Iterable[int]) -> "NoteTable":
        keep = np.isin(self.track, list(tracks))
        return self._rows(keep)

    def keep(self, rows: np.ndarray) -> "NoteTable":
        """The rows where the boolean mask ``rows`` is true."""
        return self._rows(rows)

    def rescaled(self, unit: int) -> "NoteTable":
        """The same notes on a finer grid (``unit`` a multiple of this one)."""
        if unit == self.unit:
            return self
        k = unit // self.unit
        return NoteTable(unit, self.onset * k, self.length * k, self.pitch, self.track, self.velocity, self.program)

    def notes(self) -> list[TimedNote]:
        """The rows as :class:`TimedNote` objects (for callers that want one note at a time)."""
        u = self.unit
        return [
            TimedNote(Fraction(on, u), Fraction(ln, u), p, t, None if v == NO_VELOCITY else v, pr)
            for on, ln, p, t, v, pr in zip(*(c.tolist() for c in self._columns()))
        ]

    def _columns(self) -> tuple[np.ndarray, ...]:
        return self.onset, self.length, self.pitch, self.track, self.velocity, self.program

    def _rows(self, index: np.ndarray) -> "NoteTable":
        return NoteTable(self.unit, *(c[index] for c in self._columns()))

