"""Figures of an arrangement: what each part does, and whether the piece comes back to itself.

The whole-piece metrics (metrics.py) cannot tell a band from a piano: a take where the bass never plays, or
where the melody sits two octaves too low, scores the same.  Per part: its share of the notes, its range and
the share of the piece's time it sounds.  For the form: bar-to-bar self-similarity, each bar's best match
among the bars before it (Jaccard over its onsets-in-bar and pitches), so verse-chorus returns score high
and a texture that never repeats scores low.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Optional, Sequence

import numpy as np

from musicgpt_gui.core.music.notation import DEFAULT_BAR, Parsed, bar_length, midi_to_name, parse_text
from musicgpt_gui.core.quality.metrics import covered_time


_TICKS = 48  # per quarter note: finer than any grid the import writes (12, 24 or 48)


@dataclass(frozen=True)
class PartFigures:
    name: str
    notes: int
    share: float  # of the piece's notes
    low: Optional[int]  # MIDI pitch
    high: Optional[int]
    sounding: float  # share of the piece's time in which the part sounds


def part_figures(parsed: Parsed) -> list[PartFigures]:
    """Each declared part's figures (one 'all' row for a one-stream piece); parts without notes are listed."""
    notes = parsed.notes
    end = max((float(n.onset + n.duration) for n in notes), default=0.0)
    names = [p.name for p in parsed.parts] or ["all"]
    out = []
    for index, name in enumerate(names):
        mine = [n for n in notes if (n.part if parsed.parts else 0) == index]
        pitches = [n.pitch for n in mine]
        out.append(PartFigures(
            name, len(mine), len(mine) / len(notes) if notes else 0.0,
            min(pitches, default=None), max(pitches, default=None),
            covered_time(mine) / end if end else 0.0,
        ))
    return out


def bar_self_similarity(parsed: Parsed) -> Optional[float]:
    """Mean over bars (from the second) of the best Jaccard match with an earlier bar; None under two bars.

    Bars follow the first time signature (4/4 without one); a bar is its set of (onset in the bar, pitch)."""
    bar = next((b for b in map(bar_length, parsed.items) if b), DEFAULT_BAR)
    bars: dict[int, set] = {}
    for n in parsed.notes:
        index, within = divmod(Fraction(n.onset), bar)
        bars.setdefault(int(index), set()).add(int(within * _TICKS) * 128 + n.pitch)  # ints: fast to compare
    ordered = [bars.get(i, set()) for i in range(max(bars, default=-1) + 1)]
    if len(ordered) < 2:
        return None
    best = []
    for i in range(1, len(ordered)):
        here = ordered[i]
        best.append(max((len(here & b) / len(here | b) if here | b else 1.0) for b in ordered[:i]))
    return float(np.mean(best))


@dataclass(frozen=True)
class EnsembleFigures:
    """Per part name, the mean over pieces of its note share, its lowest and highest pitch and its sounding
    share (a mean range, so that one stray note in one piece does not set it)."""

    pieces: int
    share: dict[str, float]
    low: dict[str, int]
    high: dict[str, int]
    sounding: dict[str, float]
    self_similarity: Optional[float]


def ensemble_figures(texts: Iterable[str]) -> EnsembleFigures:
    """:func:`part_figures` pooled by part name over ``texts`` (pieces without notes left out)."""
    shares: dict[str, list[float]] = {}
    sounding: dict[str, list[float]] = {}
    low: dict[str, list[int]] = {}
    high: dict[str, list[int]] = {}
    similar, pieces = [], 0
    for text in texts:
        parsed = parse_text(text)
        if not parsed.notes:
            continue
        pieces += 1
        for f in part_figures(parsed):
            shares.setdefault(f.name, []).append(f.share)
            sounding.setdefault(f.name, []).append(f.sounding)
            if f.low is not None:
                low.setdefault(f.name, []).append(f.low)
                high.setdefault(f.name, []).append(f.high)
        found = bar_self_similarity(parsed)
        if found is not None:
            similar.append(found)
    def mean(values: dict[str, list]) -> dict:
        return {name: float(np.mean(v)) for name, v in values.items()}

    return EnsembleFigures(pieces, mean(shares), {n: round(v) for n, v in mean(low).items()},
                           {n: round(v) for n, v in mean(high).items()}, mean(sounding),
                           float(np.mean(similar)) if similar else None)


def part_table(rows: Sequence[tuple[str, EnsembleFigures]]) -> str:
    """A plain-text table: one line per row and part (share, range, sounding), then the self-similarity."""
    lines = [f"{'':<22}{'part':<14}{'notes':>7}{'range':>12}{'sounds':>8}"]
    for label, figures in rows:
        for name, share in figures.share.items():
            span = (f"{midi_to_name(figures.low[name])}-{midi_to_name(figures.high[name])}"
                    if name in figures.low else "–")
            lines.append(f"{label:<22}{name[:13]:<14}{share:>7.0%}{span:>12}{figures.sounding[name]:>8.0%}")
        similar = "–" if figures.self_similarity is None else f"{figures.self_similarity:.2f}"
        lines.append(f"{label:<22}{'bar self-similarity':<33}{similar:>8}")
    return "\n".join(lines)
