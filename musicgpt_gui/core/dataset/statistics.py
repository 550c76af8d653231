"""Counts of one piece's note text and its length, and their sum over a dataset.

Lengths in seconds go through the one TempoMap (core/music/tempo_map.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterable, Union

from musicgpt_gui.core.dataset.metadata import DatasetStats
from musicgpt_gui.core.music.notation import Parsed, name_to_midi, split_items
from musicgpt_gui.core.music.piece import Piece
from musicgpt_gui.core.music.tempo_map import TempoMap


@dataclass
class PieceStats:
    items: int = 0
    notes: int = 0
    chords: int = 0
    rests: int = 0
    pitches: list[str] = field(default_factory=list)
    quarters: float = 0.0
    seconds: float = 0.0


def _counts(text: str, quarters: Union[Fraction, float], tempo_map: TempoMap) -> PieceStats:
    notes = chords = rests = 0
    pitches: set[str] = set()
    items = split_items(text)
    for item in items:
        tokens = item.partition(":")[0].split()
        if tokens == ["rest"]:
            rests += 1
        elif tokens and all(name_to_midi(t.partition("~")[0]) is not None for t in tokens):
            pitches.update(t.partition("~")[0] for t in tokens)
            if len(tokens) == 1:
                notes += 1
            else:
                chords += 1
    seconds = round(tempo_map.seconds_at(quarters), 3)
    return PieceStats(len(items), notes, chords, rests, sorted(pitches), float(quarters), seconds)


def piece_stats(text: str, piece: Piece) -> PieceStats:
    """Counts of the untransposed text; length from the piece's notes and tempo marks."""
    quarters = max((n.onset + n.duration for n in piece.notes), default=0)
    tempos = TempoMap.from_marks((m.offset, float(m.value)) for m in piece.marks if m.kind == "tempo")
    return _counts(text, quarters, tempos)


def text_stats(text: str, parsed: Parsed) -> PieceStats:
    """Counts of a row of note text; length from its own durations and ``tempo=`` controls."""
    return _counts(text, parsed.length, TempoMap.from_marks(parsed.tempos))


def sort_pitches(names: Iterable[str]) -> list[str]:
    return sorted(set(names), key=lambda n: (name_to_midi(n) or 0, n))


def dataset_stats(stats: list[PieceStats], rows: int, train_rows: int, valid_rows: int) -> DatasetStats:
    return DatasetStats(
        pieces=len(stats),
        rows=rows,
        train_rows=train_rows,
        valid_rows=valid_rows,
        items=sum(s.items for s in stats),
        notes=sum(s.notes for s in stats),
        chords=sum(s.chords for s in stats),
        rests=sum(s.rests for s in stats),
        distinct_pitches=len({p for s in stats for p in s.pitches}),
        quarters=round(sum(s.quarters for s in stats), 3),
        seconds=round(sum(s.seconds for s in stats), 3),
    )
