"""The one tempo map: quarter lengths to seconds and back.

The rule is the MIDI file's: 120 bpm until the first mark, and of several marks at one onset
the last one written wins. The MIDI writer, dataset statistics, the player's cursor and the
piano roll all go through :class:`TempoMap`, so they cannot disagree.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property
from fractions import Fraction
from typing import Callable, Iterable, Union

DEFAULT_TEMPO = 120.0

Number = Union[Fraction, float, int]


@dataclass(frozen=True)
class TempoMap:
    """Tempo marks as ``(onset in quarters, bpm)``: sorted, one per onset, starting at 0."""

    marks: tuple[tuple[Fraction, float], ...]

    @classmethod
    def from_marks(cls, marks: Iterable[tuple[Number, float]]) -> "TempoMap":
        """Marks in the order they were written; a later mark at the same onset replaces an earlier one."""
        by_onset: dict[Fraction, float] = {}
        for onset, bpm in marks:
            if bpm <= 0:
                raise ValueError(f"tempo must be positive, got {bpm}")
            by_onset[Fraction(onset)] = float(bpm)
        if Fraction(0) not in by_onset:
            by_onset[Fraction(0)] = DEFAULT_TEMPO
        return cls(tuple(sorted(by_onset.items())))

    @cached_property
    def _onsets(self) -> list[float]:
        return [float(onset) for onset, _ in self.marks]

    @cached_property
    def _starts(self) -> list[float]:
        """Seconds at which each mark starts (worked out once: lookups are then logarithmic)."""
        starts, seconds = [0.0], 0.0
        for (onset, bpm), (next_onset, _) in zip(self.marks, self.marks[1:]):
            seconds += float(next_onset - onset) * 60.0 / bpm
            starts.append(seconds)
        return starts

    def seconds_at(self, quarters: Number) -> float:
        """Seconds from the start to ``quarters``."""
        i = max(bisect_right(self._onsets, float(quarters)) - 1, 0)
        return self._starts[i] + (float(quarters) - self._onsets[i]) * 60.0 / self.marks[i][1]

    def quarters_at(self, seconds: float) -> float:
        """Quarter lengths from the start to ``seconds`` (the inverse of :meth:`seconds_at`)."""
        starts = self._starts
        i = max(bisect_right(starts, seconds) - 1, 0)
        onset, bpm = self.marks[i]
        return float(onset) + (seconds - starts[i]) * bpm / 60.0

    def on_grid(self, snap: Callable[[Fraction], Fraction], decimals: int = 2) -> "TempoMap":
        """The same timing with every mark moved to its grid point (``snap``), without drift.

        Moving a mark alone would shift every later note by the moved span times the tempo
        difference, and such shifts add up over a piece with many changes.  Instead each segment's
        tempo is re-derived so the moved marks keep their times in seconds; tempi are rounded to
        ``decimals`` (as the note text writes them) and the rounding error is carried into the next
        segment, so it never accumulates either.
        """
        points: dict[Fraction, None] = {}
        for onset, _ in self.marks:
            points[snap(onset)] = None
        grid = sorted(points)
        marks: list[tuple[Fraction, float]] = []
        seconds = self.seconds_at(grid[0])
        for start, end in zip(grid, grid[1:]):
            bpm = round(60.0 * float(end - start) / (self.seconds_at(end) - seconds), decimals)
            marks.append((start, bpm))
            seconds += float(end - start) * 60.0 / bpm
        marks.append((grid[-1], self.marks[-1][1]))
        return TempoMap.from_marks(marks)
