"""The user's hard constraints on what may be sampled: one frozen value the GUI, the CLI, the
provenance and the benchmark share.  Every field off (None / 0 / empty) means the model is free.

They hold by construction: :mod:`masker` turns them into a mask over the next token's logits that
knows the note grammar, so a constrained take is never an invalid item.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from typing import Any, Optional

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.music.notation import format_duration, midi_to_name, name_to_midi, parse_duration

KEEP_PREFIX_KEY = "prefix"  # --key prefix: the key music21 finds in the prefix
_KEY_RE = re.compile(r"^\s*([A-Ga-g])([#b-]?)\s+(major|minor)\s*$", re.I)
MAX_MIN_LENGTH = 4  # quarters: a longer 'shortest length' would leave a bar with nothing to write


@dataclass(frozen=True)
class Steering:
    """Hard constraints; see the README's "Steering" section for each one's exact rule."""

    key: Optional[str] = None  # "D minor", "Eb major", or "prefix"; None: any pitch class
    chromatic_per_bar: int = 0  # notes outside the key's scale allowed in each bar
    low: Optional[int] = None  # lowest MIDI pitch allowed
    high: Optional[int] = None  # highest MIDI pitch allowed
    max_voices: int = 0  # most notes sounding together (held notes count); 0: any
    min_length: Optional[Fraction] = None  # no step or held length shorter than this (quarters)
    no_triplets: bool = False  # lengths on the straight grid only (so onsets stay on it too)
    no_repeat: int = 0  # no run of this many notes/rests repeats one earlier in the piece or the training set
    grammar: bool = False  # whole, valid items only (implied by every other constraint)
    parts: tuple[int, ...] = ()  # the declared parts (1-based) that may play; empty: all of them
    part_ranges: tuple[tuple[int, int, int], ...] = ()  # (part, low, high): that part's pitches (and the range)
    part_voices: tuple[tuple[int, int], ...] = ()  # (part, most of its notes sounding together)
    keep_rhythm: bool = False  # infill: the selection's items with new pitches (keep_rhythm.py)

    @property
    def active(self) -> bool:
        return any(
            (self.grammar, self.key, self.low is not None, self.high is not None, self.max_voices,
             self.min_length, self.no_triplets, self.no_repeat, self.parts, self.part_ranges, self.part_voices,
             self.keep_rhythm)
        )

    def validate(self) -> "Steering":
        if self.key is not None and self.key != KEEP_PREFIX_KEY:
            parse_key(self.key)
        if self.chromatic_per_bar < 0:
            raise JobError(f"Chromatic notes per bar must be 0 or more, not {self.chromatic_per_bar}.")
        for name, value in (("lowest", self.low), ("highest", self.high)):
            if value is not None and not 0 <= value <= 127:
                raise JobError(f"The {name} pitch must be a MIDI note 0-127, not {value}.")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise JobError(f"The range {midi_to_name(self.low)}:{midi_to_name(self.high)} is empty.")
        if self.max_voices < 0:
            raise JobError(f"Voices must be 0 (any) or more, not {self.max_voices}.")
        if self.min_length is not None and not 0 < self.min_length <= MAX_MIN_LENGTH:
            raise JobError(f"The shortest length must be more than 0 and at most {MAX_MIN_LENGTH} quarters, "
                           f"not {self.min_length}.")
        if any(not 1 <= p <= 16 for p in self.parts):
            raise JobError(f"Parts are numbered 1 to 16 (as declared, @1 ... @16), not {list(self.parts)}.")
        named = [p for p, *_ in self.part_ranges] + [p for p, _ in self.part_voices]
        if any(not 1 <= p <= 16 for p in named):
            raise JobError(f"Parts are numbered 1 to 16 (as declared, @1 ... @16), not {named}.")
        for part, low, high in self.part_ranges:
            if not 0 <= low <= high <= 127:
                raise JobError(f"The range of part {part} must be MIDI notes LOW <= HIGH in 0-127, not {low}:{high}.")
        if any(v < 1 for _, v in self.part_voices):
            raise JobError(f"A part's voices must be 1 or more, not {dict(self.part_voices)}.")
        if self.no_repeat and self.no_repeat < 2:
            raise JobError(f"No-repeat needs runs of at least 2 items, not {self.no_repeat}.")
        return self

    def range_of(self, part: int) -> tuple[int, int]:
        """The pitches a note of ``part`` (0-based) may have: the range and the part's own, both."""
        low, high = self.low if self.low is not None else 0, self.high if self.high is not None else 127
        for number, p_low, p_high in self.part_ranges:
            if number == part + 1:
                low, high = max(low, p_low), min(high, p_high)
        return low, high

    def voices_of(self, part: int) -> int:
        """Most notes of ``part`` (0-based) sounding together (0: any): the lower of the two limits."""
        limits = [v for v in (self.max_voices, dict(self.part_voices).get(part + 1, 0)) if v]
        return min(limits) if limits else 0

    def without_rhythm(self) -> "Steering":
        """Keep rhythm's steering: the selection fixes lengths, voices and parts, so those controls are off."""
        return replace(self, max_voices=0, part_voices=(), min_length=None, no_triplets=False, no_repeat=0, parts=())

    def length_allowed(self, value: Fraction) -> bool:
        if self.min_length is not None and value < self.min_length:
            return False
        return not self.no_triplets or value.denominator % 3 != 0

    def describe(self) -> dict[str, Any]:
        """The active constraints as plain values, for provenance and the sample tables."""
        out = {k: v for k, v in asdict(self).items() if v not in (None, 0, False, ())}
        if self.min_length is not None:
            out["min_length"] = format_duration(self.min_length)
        for k in ("low", "high"):
            if k in out:
                out[k] = midi_to_name(out[k])
        if self.parts:
            out["parts"] = list(self.parts)
        if self.part_ranges:
            out["part_ranges"] = {str(p): f"{midi_to_name(lo)}:{midi_to_name(hi)}" for p, lo, hi in self.part_ranges}
        if self.part_voices:
            out["part_voices"] = {str(p): v for p, v in self.part_voices}
        return out


def parse_key(text: str) -> tuple[str, str]:
    """("D", "minor") from "D minor", "d minor", "Eb major", "E- major"."""
    found = _KEY_RE.match(text or "")
    if not found:
        raise JobError(f"'{text}' is not a key: write a tonic and a mode, e.g. 'D minor' or 'Eb major'.")
    accidental = {"b": "-", "#": "#", "-": "-"}.get(found.group(2), "")
    return found.group(1).upper() + accidental, found.group(3).lower()


def parse_range(text: str) -> tuple[int, int]:
    """(low, high) MIDI pitches from "C3:C6" (music21 spelling; "Bb2" is read as "B-2")."""
    low_text, sep, high_text = (text or "").partition(":")
    low, high = (name_to_midi(t.strip().replace("b", "-") if len(t.strip()) > 2 else t.strip())
                 for t in (low_text, high_text))
    if not sep or low is None or high is None:
        raise JobError(f"'{text}' is not a pitch range: write LOW:HIGH, e.g. C3:C6.")
    if low > high:
        raise JobError(f"The range {text} is empty: its low end is above its high end.")
    return low, high


def parse_parts(text: str) -> tuple[int, ...]:
    """(1, 3) from "1,3" or "@1 @3": the declared parts that may play."""
    numbers = [w.strip().lstrip("@") for w in (text or "").replace(",", " ").split()]
    if not numbers or not all(n.isdigit() for n in numbers):
        raise JobError(f"'{text}' is not a list of part numbers: write them as declared, e.g. 1,3.")
    return tuple(sorted({int(n) for n in numbers}))


def parse_length(text: str) -> Fraction:
    value = parse_duration(text)
    if value is None:
        raise JobError(f"'{text}' is not a length in quarters (e.g. 0.25 for a sixteenth, 1/3 for a triplet eighth).")
    return value


def parse_part_values(values, parse_value, option: str) -> tuple:
    """((part, value...), ...) from ["2=C3:C5", "1=1"]: one ``PART=VALUE`` per part (the last one wins)."""
    out: dict[int, tuple] = {}
    for text in values or ():
        number, equals, value = text.partition("=")
        if not equals or not number.strip().lstrip("@").isdigit():
            raise JobError(f"{option} takes PART=VALUE with the part's number as declared, e.g. 2=C3:C5, not '{text}'.")
        parsed = parse_value(value.strip())
        out[int(number.strip().lstrip("@"))] = parsed if isinstance(parsed, tuple) else (parsed,)
    return tuple((p, *v) for p, v in sorted(out.items()))


def parse_voices(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise JobError(f"'{text}' is not a number of voices (1 or more).")
    return int(text)
