"""Measure, bar by bar, whether written music keeps each constraint -- from the parsed notes, not
from the masker's bookkeeping, so the benchmark and the tests check the masks independently.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Optional

from musicgpt_gui.core.model.steer.constraints import Steering
from musicgpt_gui.core.music.notation import DEFAULT_BAR, bar_length, parse_text, split_items


@dataclass
class Adherence:
    """Per constraint: bars checked and bars that broke it (only bars that start after the prefix)."""

    bars: int = 0
    broken: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def share(self, name: str) -> Optional[float]:
        return 1.0 - self.broken[name] / self.bars if self.bars else None

    def add(self, other: "Adherence") -> None:
        self.bars += other.bars
        for k, v in other.broken.items():
            self.broken[k] += v


def _meter(text: str) -> Fraction:
    bars = [b for item in split_items(text) if (b := bar_length(item))]
    return bars[-1] if bars else DEFAULT_BAR


def measure(text: str, prefix_length: Fraction, steering: Steering,
            scale: Optional[frozenset[int]] = None) -> Adherence:
    """Bars of ``text`` from ``prefix_length`` quarters on, judged against ``steering``."""
    parsed = parse_text(text)
    bar = _meter(text)
    first_bar = int(-(-prefix_length // bar))
    by_bar: dict[int, list] = defaultdict(list)
    for note in parsed.notes:
        by_bar[int(note.onset // bar)].append(note)
    last_bar = int(parsed.length // bar)
    result = Adherence()
    repeats = _repeated_bars(text, steering.no_repeat, bar, prefix_length) if steering.no_repeat else set()
    for index in range(first_bar, last_bar):
        notes = by_bar.get(index, [])
        result.bars += 1
        pitches = [n.pitch for n in notes]
        if steering.low is not None and any(p < steering.low for p in pitches) or \
                steering.high is not None and any(p > steering.high for p in pitches):
            result.broken["range"] += 1
        if scale is not None and sum(p % 12 not in scale for p in pitches) > steering.chromatic_per_bar:
            result.broken["key"] += 1
        if steering.max_voices and notes and _most_sounding(parsed.notes, notes) > steering.max_voices:
            result.broken["voices"] += 1
        if (steering.min_length or steering.no_triplets) and not all(
                steering.length_allowed(n.duration) for n in notes):
            result.broken["rhythm"] += 1
        if index in repeats:
            result.broken["no_repeat"] += 1
    return result


def _most_sounding(all_notes: list, notes: list) -> int:
    return max(sum(1 for m in all_notes if m.onset <= n.onset < m.onset + m.duration) for n in notes)


def _repeated_bars(text: str, n: int, bar: Fraction, prefix_length: Fraction) -> set[int]:
    """Bars where a run of ``n`` notes/rests ends that repeats an earlier run of the piece."""
    events: list[tuple[str, Fraction]] = []
    onset = Fraction(0)
    for item in split_items(text):
        parsed = parse_text(item)
        if parsed.items and (parsed.notes or parsed.items[0].startswith("rest")):
            events.append((parsed.items[0], onset))
            onset += parsed.length
    seen, bars = set(), set()
    for i in range(len(events) - n + 1):
        run = tuple(item for item, _ in events[i : i + n])
        end_onset = events[i + n - 1][1]
        if run in seen and end_onset >= prefix_length:
            bars.add(int(end_onset // bar))
        seen.add(run)
    return bars
