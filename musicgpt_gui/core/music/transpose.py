"""Transpose note text item by item (for sources that are already text, such as a seed CSV).

Pitches are respelled the way the renderer spells them (``midi_to_name``) and keys are renamed by
music21, so a transposed CSV row reads like a transposed MIDI file.
"""
from __future__ import annotations

import re
from typing import Optional

from musicgpt_gui.core.music.music21_names import key_name
from musicgpt_gui.core.music.notation import join_items, midi_to_name, name_to_midi, split_items
from musicgpt_gui.core.music.parts import parse_declaration, parse_marker

_KEY_RE = re.compile(r"^([A-Ga-g][#-]*) (major|minor)$")


def _pitch(token: str, semitones: int) -> Optional[str]:
    name, tilde, hold = token.partition("~")
    midi = name_to_midi(name)
    if midi is None:
        return token
    if not 0 <= midi + semitones <= 127:
        return None
    return midi_to_name(midi + semitones) + tilde + hold


def transpose_item(item: str, semitones: int, drums: frozenset[int] = frozenset(), part: int = 1) -> Optional[str]:
    """One item shifted; None when a pitch would leave MIDI 0..127. Controls and other names stay.

    Part markers stay, and so do the pitches of the parts numbered in ``drums`` (``part``: the one named last).
    """
    return _transpose_item(item, semitones, drums, part)[0]


def _transpose_item(item: str, semitones: int, drums: frozenset[int], part: int) -> tuple[Optional[str], int]:
    key = _KEY_RE.match(item)
    if key:
        return key_name(key.group(1), key.group(2), semitones), part
    body, sep, step = item.rpartition(":") if ":" in item else (item, "", "")
    tokens = body.split()
    pitched = [t for t in tokens if parse_marker(t) is None]
    if not pitched or not all(name_to_midi(t.partition("~")[0]) is not None for t in pitched):
        return item, part
    shifted: list[Optional[str]] = []
    for token in tokens:
        number = parse_marker(token)
        if number is not None:
            part = number
            shifted.append(token)
        else:
            shifted.append(token if part in drums else _pitch(token, semitones))
    if None in shifted:
        return None, part
    return " ".join(shifted) + sep + step, part  # type: ignore[arg-type]


def transposition_shifts(semitones: int) -> list[int]:
    """The shifts of the transposed copies ``--transpose N`` adds: -1, +1, ..., -N, +N (never 0)."""
    return [k for n in range(1, semitones + 1) for k in (-n, n)]


def transpose_text(text: str, semitones: int) -> Optional[str]:
    """The whole text shifted by ``semitones``; None when any pitch would leave MIDI 0..127."""
    drums: set[int] = set()
    part, items = 1, []
    for item in split_items(text):
        declared = parse_declaration(item)
        if declared is not None:
            if declared[1].drums:
                drums.add(declared[0])
            items.append(item)
            continue
        shifted, part = _transpose_item(item, semitones, frozenset(drums), part)
        items.append(shifted)
    return None if None in items else join_items(items)
