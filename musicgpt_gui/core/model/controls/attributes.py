"""What each bar of a piece does, measured from its timed text: the learned controls' raw values.

Bars follow the meter items (``meter.TimeSignature N/D``; 4/4 before any), numbered from the piece's start;
a new meter starts at the item where it is written (as the steering's piece state has it).  Per bar:

* density: note onsets in the bar (a chord is one onset);
* poly: the mean number of notes sounding over the bar (time-weighted, held notes included);
* pitch: the mean MIDI pitch of the notes starting in it (None when none starts);
* key: per window of :data:`KEY_WINDOW` bars from a bar whose number is a multiple of it, the key whose
  Krumhansl-Schmuckler profile (music21's weights) correlates best with the window's pitch-class durations.

Drum parts count for density only (a kit has no pitch, key or voices).  The bar's values are the whole piece's
(all parts' notes together); in a piece of two or more parts, each part that starts a note in the bar also has
its own density, poly and pitch (:attr:`BarValues.parts`, by 1-based part number).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Optional

import numpy as np

from musicgpt_gui.core.model.store.vocab import KEY_NAMES
from musicgpt_gui.core.music.notation import (
    DEFAULT_BAR,
    bar_length,
    is_bar_control,
    parse_duration,
    parse_text,
    split_items,
)

KEY_WINDOW = 4  # bars a key is estimated over (and written every)


def item_step(item: str) -> Fraction:
    """How far an item moves time: its step after ``:`` (a note, chord or rest), else nothing."""
    body, colon, step = item.rpartition(":")
    if not colon or "=" in body:
        return Fraction(0)
    return parse_duration(step) or Fraction(0)


def is_event(item: str) -> bool:
    return item_step(item) > 0


class BarClock:
    """Where the items of a piece fall: the onset of the next item and the bar it is in."""

    def __init__(self) -> None:
        self.onset = Fraction(0)
        self.bar = DEFAULT_BAR
        self.origin = Fraction(0)  # where the current meter began
        self.first = 0  # the number of the bar starting at ``origin``
        self.segments: list[tuple[Fraction, Fraction, int]] = [(self.origin, self.bar, 0)]

    def index(self, onset: Optional[Fraction] = None) -> int:
        at = self.onset if onset is None else onset
        return self.first + int((at - self.origin) // self.bar)

    def feed(self, item: str) -> None:
        meter = bar_length(item)
        if meter:
            passed = self.onset - self.origin
            self.first += int(-(-passed // self.bar))  # a bar cut short by the new meter still counts
            self.origin, self.bar = self.onset, meter
            self.segments.append((self.origin, self.bar, self.first))
        else:
            self.onset += item_step(item)

    def span(self, index: int) -> tuple[Fraction, Fraction]:
        """(start, end) in quarters of bar ``index`` (within the meter it falls in)."""
        origin, bar, first = next(s for s in reversed(self.segments) if s[2] <= index)
        start = origin + (index - first) * bar
        later = [s[0] for s in self.segments if s[2] > index]
        return start, min([start + bar, *later])


@dataclass
class PartValues:
    """One part's raw values in one bar (a drum part: density only)."""

    density: int
    poly: Optional[float]
    pitch: Optional[float]

    def value(self, name: str):
        return getattr(self, name)


@dataclass
class BarValues:
    """One bar's raw values (``key`` only on a bar that starts a key window; ``parts`` only with 2+ parts)."""

    index: int
    density: int
    poly: float
    pitch: Optional[float]
    key: Optional[str] = None
    parts: dict[int, PartValues] = field(default_factory=dict)

    def value(self, name: str):
        return getattr(self, name)


class _BarTable:
    """Per-bar sums over a piece's notes at once (a bar by bar loop over every note made a 3-part song's bars
    cost 0.1 s): bars are ``starts``/``stops`` (ascending, not overlapping), groups a bar times ``groups``."""

    def __init__(self, starts: np.ndarray, stops: np.ndarray, onset: np.ndarray, end: np.ndarray) -> None:
        self.starts, self.stops = starts, stops
        self.width = np.maximum(stops - starts, 1e-9)
        inside = np.searchsorted(starts, onset, side="right") - 1  # the bar a note begins in (-1: before any)
        self.begin_bar = np.where((inside >= 0) & (onset < stops[np.maximum(inside, 0)]), inside, -1)
        first = np.searchsorted(stops, onset, side="right")  # every bar a note sounds in
        last = np.searchsorted(starts, end, side="left") - 1
        counts = np.maximum(last - first + 1, 0)
        self.note = np.repeat(np.arange(len(onset)), counts)
        self.bar = np.repeat(first, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
        self.overlap = np.clip(np.minimum(end[self.note], stops[self.bar]) - np.maximum(onset[self.note],
                                                                                       starts[self.bar]), 0, None)

    def values(self, group: np.ndarray, groups: int, onset: np.ndarray, pitch: np.ndarray, sounds: np.ndarray):
        """(onsets, mean notes sounding, mean starting pitch or nan) per (bar, group), as [bars, groups] arrays."""
        size = len(self.starts) * groups
        starting = self.begin_bar >= 0
        key = self.begin_bar[starting] * groups + group[starting]
        pairs = np.unique(np.stack([key, onset[starting]]), axis=1) if starting.any() else np.zeros((2, 0))
        density = np.bincount(pairs[0].astype(int), minlength=size)
        on = self.bar * groups + group[self.note]
        poly = np.bincount(on, weights=self.overlap * sounds[self.note], minlength=size)
        tonal = starting & sounds
        tkey = self.begin_bar[tonal] * groups + group[tonal]
        total = np.bincount(tkey, weights=pitch[tonal], minlength=size)
        count = np.bincount(tkey, minlength=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, total / count, np.nan)
        shape = (len(self.starts), groups)
        return (density.reshape(shape), poly.reshape(shape) / self.width[:, None], mean.reshape(shape))


def clock_after(items: list[str]) -> BarClock:
    clock = BarClock()
    for item in items:
        clock.feed(item)
    return clock


def next_bar(items: list[str]) -> int:
    """The next bar to begin after ``items``: the bar they end in when they end on its bar line, else the one
    after (where a take's first control item stands)."""
    clock = clock_after(items)
    return clock.index() + (clock.span(clock.index())[0] < clock.onset)


def bar_values(text: str, complete_only: bool = False) -> list[BarValues]:
    """Each bar of ``text`` in which an item starts, in order; ``complete_only``: only bars the text fills to
    their end (what the benchmark measures, so a take's last, unfinished bar is not judged).  The values are
    shared between calls on the same text (a run's set-up fits the bins and then annotates the same pieces)."""
    return list(_bar_values(text, complete_only))


@lru_cache(maxsize=4096)
def _bar_values(text: str, complete_only: bool) -> tuple[BarValues, ...]:
    items = [i for i in split_items(text) if not is_bar_control(i)]
    parsed = parse_text(text)
    clock, starts = BarClock(), []
    for item in items:
        if is_event(item) and (not starts or starts[-1] != clock.index()):
            starts.append(clock.index())
        clock.feed(item)
    drums = {k for k, p in enumerate(parsed.parts) if p.drums}
    onset = np.array([float(n.onset) for n in parsed.notes])
    end = np.array([float(n.onset + n.duration) for n in parsed.notes])
    pitch = np.array([n.pitch for n in parsed.notes], dtype=float)
    tonal = np.array([n.part not in drums for n in parsed.notes], dtype=bool)
    part = np.array([n.part for n in parsed.notes], dtype=int)
    spans = np.array([[float(x) for x in clock.span(index)] for index in starts]).reshape(-1, 2)
    table = _BarTable(spans[:, 0], spans[:, 1], onset, end)
    whole = table.values(np.zeros(len(onset), int), 1, onset, pitch, tonal)
    count = len(parsed.parts) if len(parsed.parts) > 1 else 0
    each = table.values(part, count, onset, pitch, tonal) if count else None
    out = []
    for row, index in enumerate(starts):
        start, stop = spans[row]
        if complete_only and stop > float(clock.onset):
            continue
        out.append(BarValues(index, int(whole[0][row, 0]), float(whole[1][row, 0]), _mean(whole[2][row, 0])))
        for k in np.flatnonzero(each[0][row]) if each is not None else ():
            out[-1].parts[int(k) + 1] = PartValues(int(each[0][row, k]), None if k in drums else float(each[1][row, k]),
                                                   _mean(each[2][row, k]))
        if index % KEY_WINDOW == 0:
            w_start, _ = clock.span(index)
            w_stop = clock.span(index + KEY_WINDOW - 1)[1]
            w = np.clip(np.minimum(end, float(w_stop)) - np.maximum(onset, float(w_start)), 0, None) * tonal
            out[-1].key = estimate_key(pitch, w)
    return tuple(out)


def _mean(value: float) -> Optional[float]:
    return None if np.isnan(value) else float(value)


@lru_cache(maxsize=1)
def _profiles() -> np.ndarray:
    """24 rows: music21's Krumhansl-Schmuckler weights rotated to each key of :data:`KEY_NAMES`."""
    from music21 import analysis

    ks = analysis.discrete.KrumhanslSchmuckler()
    rows = []
    for k in range(24):
        weights = np.array(ks.getWeights("major" if k < 12 else "minor"))
        rows.append(np.roll(weights, k % 12))
    rows = np.array(rows)
    return (rows - rows.mean(axis=1, keepdims=True)) / rows.std(axis=1, keepdims=True)


def _key_scores(pitches: np.ndarray, weights: np.ndarray) -> Optional[np.ndarray]:
    """Each key's profile correlation (times 12) with the pitch classes' total weights; None without notes."""
    histogram = np.bincount(pitches.astype(int) % 12, weights=weights, minlength=12) if len(pitches) else None
    if histogram is None or histogram.sum() <= 0 or histogram.std() == 0:
        return None
    centred = (histogram - histogram.mean()) / histogram.std()
    return _profiles() @ centred


def estimate_key(pitches: np.ndarray, weights: np.ndarray) -> Optional[str]:
    """The key name (:data:`KEY_NAMES`) whose profile best correlates with the pitch classes' total weights."""
    scores = _key_scores(pitches, weights)
    return None if scores is None else KEY_NAMES[int(np.argmax(scores))]


def key_margin_since(text: str, begin: Fraction, key: str) -> Optional[float]:
    """:func:`key_margin` of the pitched notes of ``text`` from onset ``begin`` on (drums left out), each weighted
    by its length: how far the asked key leads a take's own estimate."""
    parsed = parse_text(text)
    drums = {k for k, p in enumerate(parsed.parts) if p.drums}
    notes = [n for n in parsed.notes if n.onset >= begin and n.part not in drums]
    return key_margin(np.array([n.pitch for n in notes], float),
                      np.array([float(n.duration) or 0.25 for n in notes]), key)


def key_margin(pitches: np.ndarray, weights: np.ndarray, key: str) -> Optional[float]:
    """How far ``key`` leads the other 23 keys' correlations (negative: another key wins); None without notes.

    It lets a judge prefer the draw that makes the asked-for key win by the most, not only whether it wins."""
    scores = _key_scores(pitches, weights)
    if scores is None:
        return None
    mine = KEY_NAMES.index(key)
    return float(scores[mine] - np.delete(scores, mine).max()) / 12
