"""Measure, bar by bar, whether written music keeps each constraint -- from the parsed notes, not
from the masker's bookkeeping, so the benchmark and the tests check the masks independently.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Optional

from musicgpt_gui.core.model.controls.report import ControlRow
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
            scale: Optional[frozenset[int]] = None, end: Optional[Fraction] = None) -> Adherence:
    """Whole bars of ``text`` from ``prefix_length`` quarters on (to ``end``: a regenerated selection's),
    judged against ``steering``; a part's own range and voices count as the range and the voices."""
    parsed = parse_text(text)
    bar = _meter(text)
    first_bar = int(-(-prefix_length // bar))
    drums = {i for i, part in enumerate(parsed.parts) if part.drums}
    by_bar: dict[int, list] = defaultdict(list)
    for note in parsed.notes:
        by_bar[int(note.onset // bar)].append(note)
    last_bar = int((parsed.length if end is None else end) // bar)
    result = Adherence()
    repeats = _repeated_bars(text, steering.no_repeat, bar, prefix_length) if steering.no_repeat else set()
    for index in range(first_bar, last_bar):
        notes = by_bar.get(index, [])
        result.bars += 1
        tuned = [n for n in notes if n.part not in drums]  # a drum kit has no key or register
        pitches = [n.pitch for n in tuned]
        if any(not low <= n.pitch <= high for n in tuned for low, high in [steering.range_of(n.part)]):
            result.broken["range"] += 1
        if scale is not None and sum(p % 12 not in scale for p in pitches) > steering.chromatic_per_bar:
            result.broken["key"] += 1
        if any(steering.voices_of(n.part) and _most_sounding(parsed.notes, [n]) > steering.voices_of(n.part)
               for n in notes):
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


def report_rows(text: str, prefix_length: Fraction, steering: Steering, scale: Optional[frozenset[int]],
                end: Optional[Fraction] = None, original: Optional[str] = None) -> list[ControlRow]:
    """Each active control beside its measured value in the generated bars (from ``prefix_length`` to ``end``;
    ``original``: the text before a selection was regenerated, for keep rhythm)."""
    from musicgpt_gui.core.model.steer.keep_rhythm import rhythm_kept
    from musicgpt_gui.core.music.notation import midi_to_name
    from musicgpt_gui.core.quality.metrics import best_key

    if not steering.active:
        return []
    judged = steering.without_rhythm() if steering.keep_rhythm else steering
    kept = measure(text, prefix_length, judged, scale, end)
    parsed = parse_text(text)
    notes = [n for n in parsed.notes if n.onset >= prefix_length and (end is None or n.onset < end)]
    drums = {i for i, part in enumerate(parsed.parts) if part.drums}
    tuned = [n for n in notes if n.part not in drums]
    rows = []

    def span(found: list) -> str:
        return f"{midi_to_name(min(n.pitch for n in found))}-{midi_to_name(max(n.pitch for n in found))}" if found \
            else "no notes"

    if steering.key:
        tonic, mode, _ = best_key(tuned) if tuned else ("", "no notes", 0)
        asked = steering.key + (f" (+{steering.chromatic_per_bar} chromatic/bar)" if steering.chromatic_per_bar else "")
        rows.append(ControlRow("key", asked, f"{tonic.replace('-', 'b')} {mode}".strip(), _bars(kept, "key")))
    if steering.low is not None or steering.high is not None:
        asked = f"{midi_to_name(steering.low or 0)}:{midi_to_name(steering.high or 127)}"
        rows.append(ControlRow("range", asked, span(tuned), _bars(kept, "range")))
    for part, low, high in steering.part_ranges:
        mine = [n for n in tuned if n.part == part - 1]
        rows.append(ControlRow(f"range @{part}", f"{midi_to_name(low)}:{midi_to_name(high)}", span(mine),
                               _bars(kept, "range")))
    if steering.max_voices and not steering.keep_rhythm:
        most = _most_sounding(notes, notes) if notes else 0
        rows.append(ControlRow("voices", f"<= {steering.max_voices}", f"at most {most}", _bars(kept, "voices")))
    for part, limit in () if steering.keep_rhythm else steering.part_voices:
        mine = [n for n in notes if n.part == part - 1]
        most = _most_sounding(mine, mine) if mine else 0
        rows.append(ControlRow(f"voices @{part}", f"<= {limit}", f"at most {most}", _bars(kept, "voices")))
    if (steering.min_length or steering.no_triplets) and not steering.keep_rhythm:
        short = shortest(n.duration for n in notes)
        asked = " ".join(filter(None, [f">= {format_duration(steering.min_length)}" if steering.min_length else "",
                                       "no triplets" if steering.no_triplets else ""]))
        triplets = " with triplets" if any(n.duration.denominator % 3 == 0 for n in notes) else ""
        rows.append(ControlRow("rhythm", asked, f"shortest {format_duration(short) if short else '-'}{triplets}",
                               _bars(kept, "rhythm")))
    if steering.no_repeat and not steering.keep_rhythm:
        rows.append(ControlRow("no repeats", f"of {steering.no_repeat} items", f"{kept.broken['no_repeat']} repeated",
                               _bars(kept, "no_repeat")))
    if steering.parts and not steering.keep_rhythm:
        played = ",".join(str(p + 1) for p in sorted({n.part for n in notes})) or "none"
        rows.append(ControlRow("parts", ",".join(map(str, steering.parts)), f"played {played}", _bars(kept, "parts")))
    if steering.keep_rhythm and original is not None:
        stop = end if end is not None else parse_text(original).length
        found = rhythm_kept(original, text, prefix_length, stop)
        rows.append(ControlRow("keep rhythm", "", f"{found.repitched} of {found.notes} notes re-pitched",
                               f"{found.kept_notes}/{found.notes} notes and {found.kept_bars}/{found.bars} bars kept"))
    return rows


def report(text: str, prefix_length: Fraction, steering: Steering, scale: Optional[frozenset[int]],
           end: Optional[Fraction] = None, original: Optional[str] = None) -> str:
    """Each active control beside what the generated bars did, in one line."""
    return "; ".join(row.line() for row in report_rows(text, prefix_length, steering, scale, end, original))


def describe_parts(text: str) -> dict[int, dict[str, str]]:
    """Per declared part (1-based): its name, range, most voices and notes in ``text`` (the part table's
    "in the prefix" column); empty for a text without parts."""
    from musicgpt_gui.core.music.notation import midi_to_name

    parsed = parse_text(text)
    out = {}
    for index, part in enumerate(parsed.parts):
        mine = [n for n in parsed.notes if n.part == index]
        out[index + 1] = {
            "name": part.name,
            "drums": "yes" if part.drums else "",
            "range": f"{midi_to_name(min(n.pitch for n in mine))}:{midi_to_name(max(n.pitch for n in mine))}"
            if mine else "",
            "voices": str(_most_sounding(mine, mine)) if mine else "",
            "notes": str(len(mine)),
        }
    return out


def _bars(kept: Adherence, name: str) -> str:
    return f"{kept.bars - kept.broken[name]}/{kept.bars} bars"
