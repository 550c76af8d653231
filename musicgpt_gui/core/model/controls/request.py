"""What the user asks of a ``--controls`` run: bins (and a key) that replace the model's own choice.

Each value is a sequence: one value applies to every generated bar; several apply to the generated bars
in turn, the last one to the rest (``--density 0,1,2,3``: sparse to dense).  An empty sequence leaves that
control to the model.  The key is asked per key window (every 4 bars).  In a piece with parts, a part's own
density, polyphony and pitch can be asked too (``--part-density 2=0,1``: part 2 sparse, then denser), against
the run's bins for that part.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.controls.bins import BINNED, ControlBins
from musicgpt_gui.core.model.store.vocab import KEY_NAMES

_KEY_RE = re.compile(r"^\s*([A-Ga-g])([#b-]?)\s*(major|minor|maj|min|m)?\s*$", re.I)
_PITCH_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


@dataclass(frozen=True)
class ControlRequest:
    density: tuple[int, ...] = ()
    poly: tuple[int, ...] = ()
    pitch: tuple[int, ...] = ()
    key: tuple[str, ...] = ()  # KEY_NAMES spellings: "d" (D minor), "E-" (E-flat major)
    parts: "PartBins" = ()

    @property
    def active(self) -> bool:
        return bool(self.density or self.poly or self.pitch or self.key or self.parts)

    def value(self, name: str, nth: int) -> Optional[Any]:
        """The value asked for the ``nth`` generated bar (or key window), None when the model chooses."""
        values = getattr(self, name)
        return values[min(nth, len(values) - 1)] if values else None

    def part_value(self, part: int, name: str, nth: int) -> Optional[int]:
        """The bin asked for part ``part``'s ``name`` in the ``nth`` generated bar (None: the model's choice)."""
        for number, attribute, values in self.parts:
            if number == part and attribute == name and values:
                return values[min(nth, len(values) - 1)]
        return None

    def asked_parts(self) -> list[int]:
        return sorted({number for number, _, values in self.parts if values})

    def tail(self, bars: int, windows: int) -> "ControlRequest":
        """The request as a call that starts ``bars`` bars (and ``windows`` key windows) into the take reads it."""
        def rest(values: tuple, n: int) -> tuple:
            return values[min(n, len(values) - 1):] if values else values

        return ControlRequest(*(rest(getattr(self, name), bars) for name in BINNED), rest(self.key, windows),
                              tuple((p, name, rest(values, bars)) for p, name, values in self.parts))

    def validate(self, bins: Optional[ControlBins]) -> "ControlRequest":
        if not self.active:
            return self
        if bins is None:
            raise JobError("This run was trained without controls; train one with --controls (or the Finetune tab's "
                           "'Learn controls') to ask for density, polyphony, pitch or key.")
        for name in BINNED:
            for value in getattr(self, name):
                if not 0 <= value < bins.count(name):
                    raise JobError(f"This run has {bins.count(name)} {name} bins (0 to {bins.count(name) - 1}); "
                                   f"{value} is not one of them.")
        if self.parts and not bins.has_parts:
            raise JobError("This run learned no controls per part (its training pieces had no parts); ask for the "
                           "whole piece's density, polyphony or pitch instead.")
        for part, name, values in self.parts:
            for value in values:
                if not 0 <= value < bins.count(name, part):
                    raise JobError(f"This run has {bins.count(name, part)} {name} bins for part {part} "
                                   f"(0 to {bins.count(name, part) - 1}); {value} is not one of them.")
        for name in self.key:
            if name not in KEY_NAMES:
                raise JobError(f"'{name}' is not a key this run knows; write it like 'D minor' or 'Eb major'.")
        return self

    def describe(self) -> dict[str, Any]:
        """The values asked for, as plain lists (provenance), keys as words ("D minor")."""
        out: dict[str, Any] = {name: list(getattr(self, name)) for name in BINNED if getattr(self, name)}
        if self.key:
            out["key"] = [key_words(k) for k in self.key]
        for part, name, values in self.parts:
            out.setdefault("parts", {}).setdefault(str(part), {})[name] = list(values)
        return out


def parse_bins(text: Optional[str], option: str) -> tuple[int, ...]:
    """``(2,)`` from "2", ``(0, 1, 2)`` from "0,1,2"; empty for None or ""."""
    if not text:
        return ()
    words = [w.strip() for w in str(text).split(",")]
    if not all(w.isdigit() for w in words):
        raise JobError(f"{option} takes a bin number or a list of them (like 2 or 0,1,2), not '{text}'.")
    return tuple(int(w) for w in words)


def key_name(text: str) -> str:
    """The control's spelling of a key: "D minor" -> "d", "Eb major" -> "E-", "f#m" -> "f#"."""
    found = _KEY_RE.match(text or "")
    if not found:
        raise JobError(f"'{text}' is not a key: write a tonic and a mode, e.g. 'D minor' or 'Eb major'.")
    default = "minor" if found.group(1).islower() else "major"  # music21's spelling: "d" is D minor
    letter, accidental, mode = found.group(1).upper(), found.group(2), (found.group(3) or default).lower()
    pitch_class = (_PITCH_CLASS[letter] + {"#": 1, "b": -1, "-": -1}.get(accidental, 0)) % 12
    minor = mode.startswith("m") and mode not in ("major", "maj")
    return KEY_NAMES[pitch_class + (12 if minor else 0)]


def parse_keys(text: Optional[str]) -> tuple[str, ...]:
    """Keys per key window from "D minor" or "D minor, A major"."""
    return tuple(key_name(part) for part in (text or "").split(",") if part.strip())


def key_words(name: str) -> str:
    """"d" -> "D minor", "E-" -> "Eb major"."""
    tonic = name[0].upper() + name[1:].replace("-", "b")
    return f"{tonic} {'minor' if name[0].islower() else 'major'}"


def request_from(density: Sequence[int] = (), poly: Sequence[int] = (), pitch: Sequence[int] = (),
                 key: Sequence[str] = (), parts: Sequence[tuple[int, str, Sequence[int]]] = ()) -> ControlRequest:
    return ControlRequest(tuple(density), tuple(poly), tuple(pitch), tuple(key),
                          tuple((int(p), name, tuple(values)) for p, name, values in parts))


PartBins = tuple[tuple[int, str, tuple[int, ...]], ...]  # (part number, attribute, bins per bar)


def parse_part_bins(values: Optional[Sequence[str]], name: str, option: str) -> PartBins:
    """``((2, "density", (0, 1)),)`` from ``["2=0,1"]``: one ``PART=BINS`` per part (the last one wins)."""
    out: dict[int, tuple[int, ...]] = {}
    for text in values or ():
        number, equals, bins = text.partition("=")
        if not equals or not number.strip().lstrip("@").isdigit() or int(number.strip().lstrip("@")) < 1:
            raise JobError(f"{option} takes PART=BIN (or PART=BIN,BIN,... for the bars in turn) with the part's "
                           f"number as declared, e.g. 2=1, not '{text}'.")
        if not bins.strip():
            raise JobError(f"{option} '{text}' names no bin; write PART=BIN, e.g. {number.strip()}=1.")
        out[int(number.strip().lstrip("@"))] = parse_bins(bins.strip(), option)
    return tuple((p, name, v) for p, v in sorted(out.items()))
