"""Measure, bar by bar, whether written music keeps each constraint -- from the parsed notes, not
from the masker's bookkeeping, so the benchmark and the tests check the masks independently.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Optional

from musicgpt_gui.core.model.steer.constraints import Steering
from musicgpt_gui.core.music.notation import DEFAULT_BAR, bar_length, format_duration, parse_text, split_items


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
    drums = {i for i, part in enumerate(parsed.parts) if part.drums}
    by_bar: dict[int, list] = defaultdict(list)
    for note in parsed.notes:
        by_bar[int(note.onset // bar)].append(note)
    last_bar = int(parsed.length // bar)
    result = Adherence()
    repeats = _repeated_bars(text, steering.no_repeat, bar, prefix_length) if steering.no_repeat else set()
    for index in range(first_bar, last_bar):
        notes = by_bar.get(index, [])
        result.bars += 1
        pitches = [n.pitch for n in notes if n.part not in drums]  # a drum kit has no key or register
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
        if steering.parts and len(parsed.parts) > 1 and any(n.part + 1 not in steering.parts for n in notes):
            result.broken["parts"] += 1
    return result


def _most_sounding(all_notes: list, notes: list) -> int:
    """The most notes of one part sounding at once, at the onsets of ``notes``."""
    return max(sum(1 for m in all_notes if m.part == n.part and m.onset <= n.onset < m.onset + m.duration)
               for n in notes)


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


def shortest(values) -> Optional[Fraction]:
    values = [v for v in values if v > 0]
    return min(values) if values else None


def describe_text(text: str) -> dict[str, str]:
    """What a text does of each steerable attribute (the Steer panel's "in the prefix" column)."""
    from musicgpt_gui.core.music.notation import midi_to_name
    from musicgpt_gui.core.quality.metrics import best_key

    notes = parse_text(text).notes
    if not notes:
        return {}
    tonic, mode, _ = best_key(notes)
    short = shortest(n.duration for n in notes)
    return {
        "key": f"{tonic.replace('-', 'b')} {mode}",
        "range": f"{midi_to_name(min(n.pitch for n in notes))}:{midi_to_name(max(n.pitch for n in notes))}",
        "voices": str(_most_sounding(notes, notes)),
        "length": format_duration(short) if short else "",
        "triplets": "yes" if any(n.duration.denominator % 3 == 0 for n in notes) else "no",
    }


def report(text: str, prefix_length: Fraction, steering: Steering, scale: Optional[frozenset[int]]) -> str:
    """Each active constraint beside what the generated bars did, in one line."""
    from musicgpt_gui.core.music.notation import midi_to_name

    if not steering.active:
        return ""
    kept = measure(text, prefix_length, steering, scale)
    notes = [n for n in parse_text(text).notes if n.onset >= prefix_length]
    parts = []
    if steering.key:
        parts.append(f"key {steering.key}: {_bars(kept, 'key')}")
    if (steering.low is not None or steering.high is not None) and notes:
        parts.append(f"range {midi_to_name(steering.low or 0)}:{midi_to_name(steering.high or 127)}: "
                     f"{midi_to_name(min(n.pitch for n in notes))}-{midi_to_name(max(n.pitch for n in notes))}, "
                     f"{_bars(kept, 'range')}")
    if steering.max_voices and notes:
        most = _most_sounding(notes, notes)
        parts.append(f"voices <= {steering.max_voices}: at most {most}, {_bars(kept, 'voices')}")
    if steering.min_length or steering.no_triplets:
        short = shortest(n.duration for n in notes)
        parts.append(f"rhythm: shortest {format_duration(short) if short else '-'}, {_bars(kept, 'rhythm')}")
    if steering.no_repeat:
        parts.append(f"no repeated {steering.no_repeat}-item runs: {_bars(kept, 'no_repeat')}")
    return "; ".join(parts)


def _bars(kept: Adherence, name: str) -> str:
    return f"{kept.bars - kept.broken[name]}/{kept.bars} bars"
