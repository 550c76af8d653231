"""Counts of one piece's note text and its length, and their sum over a dataset.

Lengths in seconds go through the one TempoMap (core/music/tempo_map.py).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Iterable, Optional, Union

from musicgpt_gui.core.dataset.metadata import DatasetStats
from musicgpt_gui.core.music.notation import Parsed, name_to_midi, split_items
from musicgpt_gui.core.music.parts import Part, leading_declarations, parse_declaration
from musicgpt_gui.core.music.piece import Piece
from musicgpt_gui.core.music.tempo_map import TempoMap

_HEADER_CHARS = 2000  # where a piece's declarations end at the latest (16 with 40-character names)


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
        kind, names = _classify(item.partition(":")[0])
        if kind == "rest":
            rests += 1
        elif kind:
            pitches.update(names)
            if kind == "note":
                notes += 1
            else:
                chords += 1
    seconds = round(tempo_map.seconds_at(quarters), 3)
    return PieceStats(len(items), notes, chords, rests, sorted(pitches), float(quarters), seconds)


@lru_cache(maxsize=65536)
def _classify(body: str) -> tuple[Optional[str], tuple[str, ...]]:
    """('rest' | 'note' | 'chord' | None, its pitch names) of an item's text before the ':' (bodies repeat)."""
    tokens = [t for t in body.split() if not t.startswith("@")]  # part markers name no pitch
    if tokens == ["rest"]:
        return "rest", ()
    names = tuple(t.partition("~")[0] for t in tokens)
    if not names or any(name_to_midi(n) is None for n in names):
        return None, ()
    return ("note" if len(names) == 1 else "chord"), names


def piece_stats(text: str, piece: Piece) -> PieceStats:
    """Counts of the untransposed text; length from the piece's notes and tempo marks."""
    quarters = piece.table.end()
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


def ensembles(texts: Iterable[str]) -> list[tuple[tuple[Part, ...], int]]:
    """The ensembles the pieces declare, most common first, with how many pieces declare each
    (one-stream pieces declare none and are not counted)."""
    counts: Counter = Counter()
    for text in texts:
        declared = leading_declarations(split_items(text[:_HEADER_CHARS]))
        parts = tuple(parsed[1] for parsed in map(parse_declaration, declared) if parsed)
        if parts:
            counts[parts] += 1
    return counts.most_common()
