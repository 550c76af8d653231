"""Where a piece being written stands, item by item: time, bar, notes still sounding, the items so
far.  The masker asks it what the next item may be; the prefix sets it up the same way tokens do.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterable, Optional

from musicgpt_gui.core.music.notation import DEFAULT_BAR, bar_length, parse_duration, parse_text, split_items


def item_step(item: str, default: Fraction) -> Fraction:
    """How far a note or rest item moves time: its step after ``:`` (a held note may sound longer), else
    ``default`` (a seed-format item carries no step)."""
    _, colon, tail = item.rpartition(":")
    step = parse_duration(tail) if colon else None
    return step if step is not None else default


@dataclass
class PieceState:
    """The finished items' effect on time; the item being written is the masker's business."""

    onset: Fraction = Fraction(0)  # where the next item starts, in quarters
    bar: Fraction = DEFAULT_BAR  # quarters in a bar
    bar_origin: Fraction = Fraction(0)  # onset where the current meter began (a bar line)
    note_ends: list[tuple[Fraction, int]] = field(default_factory=list)  # (when it stops sounding, part) per note
    events: list[str] = field(default_factory=list)  # finished notes/rests items, as written
    chromatic: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # per bar index
    playable: int = 0  # finished items with at least one note (the take is not empty)
    parts: list = field(default_factory=list)  # the parts the text declared (music/parts.py), which markers name

    def bar_index(self, onset: Optional[Fraction] = None) -> int:
        at = self.onset if onset is None else onset
        return int((at - self.bar_origin) // self.bar) if self.bar > 0 else 0

    def sounding(self, part: int) -> int:
        """Notes of ``part`` from earlier items still sounding where the next item starts."""
        return sum(1 for end, p in self.note_ends if end > self.onset and p == part)

    def finish_event(self, text: str, pitches: list[int], holds: list[Optional[Fraction]], step: Fraction,
                     parts: Optional[list[int]] = None) -> None:
        """An item of ``pitches`` (with their own lengths, None: the step, and 0-based ``parts``) ends."""
        self.note_ends = [(end, p) for end, p in self.note_ends if end > self.onset]
        parts = parts or [0] * len(pitches)
        self.note_ends += [(self.onset + (h if h is not None else step), p) for h, p in zip(holds, parts)]
        self.events.append(text)
        self.playable += bool(pitches)
        self.onset += step

    def is_drums(self, part: int) -> bool:
        return 0 <= part < len(self.parts) and self.parts[part].drums

    def add_other(self, item: str) -> None:
        """A non-event item: a time signature starts a new meter at the next bar line."""
        bar = bar_length(item)
        if bar:
            self.bar_origin, self.bar = self.onset, bar

    @classmethod
    def from_text(cls, text: str, in_scale: Optional[frozenset[int]] = None) -> "PieceState":
        """The state after ``text`` (a prefix), counting its out-of-scale notes per bar as well."""
        state = cls(parts=list(parse_text(text).parts))
        state.extend(split_items(text), in_scale)
        return state

    def extend(self, items: Iterable[str], in_scale: Optional[frozenset[int]] = None) -> None:
        for item in items:
            parsed = parse_text(item, parts=self.parts)
            if not parsed.items:
                continue
            if parsed.notes or parsed.items[0].startswith("rest"):
                pitches = [n.pitch for n in parsed.notes]
                if in_scale is not None:
                    self.chromatic[self.bar_index()] += sum(
                        1 for n in parsed.notes if n.pitch % 12 not in in_scale and not self.is_drums(n.part))
                step = item_step(parsed.items[0], parsed.length)
                holds = [n.duration if n.duration != step else None for n in parsed.notes]
                self.finish_event(parsed.items[0], pitches, holds, step, [n.part for n in parsed.notes])
            else:
                self.add_other(parsed.items[0])
