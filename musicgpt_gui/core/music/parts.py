"""Parts of a piece: the bass, the drums, the melody -- each on its own instrument.

A piece with more than one part declares them at the start of its timed text, one item each,
and every event item names the part of the pitches that follow a marker (grammar in README.md):

    @1=MELODY program=0, @2=Bass program=33, @3=Drums drums=0, @1 C5 @2 C3 @3 C2:1.0

``@N`` (1-based, in declaration order) costs one token in the atomic vocabulary and applies to
the pitches after it up to the next marker; pitches before any marker in an item keep the part
named last (the first part at the start), so model output without markers still plays.
A text without declarations is one part, read exactly as before parts existed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

MAX_PARTS = 16  # MIDI's channels
DRUM_LOW, DRUM_HIGH = 35, 81  # the General MIDI drum map (Acoustic Bass Drum .. Open Triangle)
MARKER_PREFIX = "@"
_DECLARATION_RE = re.compile(r"^@(\d+)=(\S.*?) (program|drums)=(\d+)$")
_MARKER_RE = re.compile(r"^@(\d+)$")
_NAME_BAD = re.compile(r"[,:=@\s]+")


@dataclass(frozen=True)
class Part:
    """One instrument line: its name (a track's name), its General MIDI program, and whether it is a drum kit
    (channel 10, where ``program`` picks the kit and pitches are the GM drum map)."""

    name: str
    program: int = 0
    drums: bool = False


def clean_name(name: str, number: int) -> str:
    """A part name fit for the text: no item separators, markers or ``=``; ``Part N`` when nothing is left."""
    cleaned = " ".join(_NAME_BAD.sub(" ", name).split())[:40].strip()
    return cleaned or f"Part {number}"


def declaration(number: int, part: Part) -> str:
    """``@1=MELODY program=0`` or ``@3=Drums drums=0`` (``number`` is 1-based)."""
    kind = "drums" if part.drums else "program"
    return f"{MARKER_PREFIX}{number}={clean_name(part.name, number)} {kind}={part.program}"


def marker(number: int) -> str:
    """The token that puts the following pitches of an item in part ``number`` (1-based)."""
    return f"{MARKER_PREFIX}{number}"


def parse_declaration(item: str) -> Optional[tuple[int, Part]]:
    """(1-based number, part) of a declaration item; None for any other item or a program outside 0..127."""
    found = _DECLARATION_RE.match(item)
    if not found or not item.startswith(MARKER_PREFIX):
        return None
    program = int(found.group(4))
    if program > 127:
        return None
    return int(found.group(1)), Part(found.group(2), program, found.group(3) == "drums")


def leading_declarations(items: list[str]) -> list[str]:
    """The declarations a piece opens with: its ensemble (empty for a one-stream piece)."""
    out = []
    for item in items:
        if parse_declaration(item) is None:
            break
        out.append(item)
    return out


def ensemble_spec(parts: list[Part]) -> str:
    """An ensemble as the user edits it: ``MELODY=0; Bass=33; Drums=drums`` (name=program, or drums[=kit])."""
    def entry(part: Part) -> str:
        if part.drums:
            return f"{part.name}=drums" + (f":{part.program}" if part.program else "")
        return f"{part.name}={part.program}"

    return "; ".join(map(entry, parts))


def parse_ensemble(spec: str) -> list[Part]:
    """The parts of an ensemble spec (see :func:`ensemble_spec`); ValueError says what is wrong, and where."""
    out: list[Part] = []
    for number, entry in enumerate((e.strip() for e in spec.split(";") if e.strip()), start=1):
        name, equals, kind = (s.strip() for s in entry.rpartition("="))
        kit = kind.removeprefix("drums").removeprefix(":") if kind.startswith("drums") else None
        value = kit if kit is not None else kind
        if not equals or not name or not (value == "" and kit is not None or value.isdigit()):
            raise ValueError(f"part {number} ('{entry}') is not NAME=PROGRAM or NAME=drums, like 'Bass=33'")
        program = int(value or 0)
        if program > 127:
            raise ValueError(f"part {number} ('{entry}'): a program is 0 to 127, not {program}")
        out.append(Part(clean_name(name, number), program, kit is not None))
    if not out:
        raise ValueError("the ensemble names no parts")
    if len(out) > MAX_PARTS:
        raise ValueError(f"the ensemble has {len(out)} parts; MIDI has room for {MAX_PARTS}")
    return out


def parse_marker(token: str) -> Optional[int]:
    """The 1-based part number of an ``@N`` token, or None when the token is not a marker."""
    found = _MARKER_RE.match(token)
    return int(found.group(1)) if found else None


def is_drum_note(pitch: int) -> bool:
    return DRUM_LOW <= pitch <= DRUM_HIGH


@lru_cache(maxsize=128)
def program_name(program: int) -> str:
    """music21's name of a General MIDI program (``33 -> 'Electric Bass'``), for parts made from programs."""
    from music21 import instrument

    try:
        name = instrument.instrumentFromMidiProgram(program).instrumentName
    except Exception:  # music21 has no class for a few programs
        name = None
    return name or f"Program {program}"


PART_MODES = ("off", "tracks", "programs")


class TooManyParts(ValueError):
    """A piece whose parts do not fit MIDI's 16 channels; the message is a plain reason."""


def assign_parts(tracks: list[int], track_parts: dict[int, Part], mode: str) -> tuple[list[Part], dict[int, int]]:
    """The parts of the selected ``tracks`` and each track's part index.

    ``tracks``: one part per track, named after it.  ``programs``: one part per General MIDI
    program (named by music21) and one per drum kit.  Past :data:`MAX_PARTS`, tracks that share
    a program share a part (named by the program when it holds several).  Raises :class:`TooManyParts` when more than
    15 melodic programs remain (channel 10 is the drums').
    """
    info = {t: track_parts.get(t, Part("")) for t in tracks}
    keys: dict[int, tuple] = {t: ((p.drums, p.program) if mode == "programs" else (t,)) for t, p in info.items()}
    if len(set(keys.values())) > MAX_PARTS:
        keys = {t: (p.drums, p.program) for t, p in info.items()}
    first_of: dict[tuple, int] = {}
    for t in tracks:
        first_of.setdefault(keys[t], t)
    parts: list[Part] = []
    index_of: dict[tuple, int] = {}
    for key, t in first_of.items():
        part = info[t]
        if mode == "programs" or len(keys[t]) == 2 and sum(k == key for k in keys.values()) > 1:
            part = Part("Drums" if part.drums else program_name(part.program), part.program, part.drums)
        index_of[key] = len(parts)
        parts.append(Part(clean_name(part.name, len(parts) + 1), part.program, part.drums))
    melodic = {p.program for p in parts if not p.drums}
    if len(parts) > MAX_PARTS or len(melodic) > MAX_PARTS - 1:
        raise TooManyParts(
            f"{len(melodic)} melodic programs and {len(parts) - len([p for p in parts if not p.drums])} drum parts "
            f"do not fit MIDI's {MAX_PARTS} channels"
        )
    return parts, {t: index_of[keys[t]] for t in tracks}
