"""Transpose note text item by item (for sources that are already text, such as a seed CSV).

Pitches are respelled the way the renderer spells them (``midi_to_name``) and keys are renamed by
music21, so a transposed CSV row reads like a transposed MIDI file.
"""
from __future__ import annotations

import re
from typing import Optional

from musicgpt_gui.core.music.music21_names import key_name
from musicgpt_gui.core.music.notation import join_items, midi_to_name, name_to_midi, split_items

_KEY_RE = re.compile(r"^([A-Ga-g][#-]*) (major|minor)$")


def _pitch(token: str, semitones: int) -> Optional[str]:
    name, tilde, hold = token.partition("~")
    midi = name_to_midi(name)
    if midi is None:
        return token
    if not 0 <= midi + semitones <= 127:
        return None
    return midi_to_name(midi + semitones) + tilde + hold


def transpose_item(item: str, semitones: int) -> Optional[str]:
    """One item shifted; None when a pitch would leave MIDI 0..127. Controls and other names stay."""
    key = _KEY_RE.match(item)
    if key:
        return key_name(key.group(1), key.group(2), semitones)
    body, sep, step = item.rpartition(":") if ":" in item else (item, "", "")
    tokens = body.split()
    if not tokens or not all(name_to_midi(t.partition("~")[0]) is not None for t in tokens):
        return item
    shifted = [_pitch(t, semitones) for t in tokens]
    if None in shifted:
        return None
    return " ".join(shifted) + sep + step


def transposition_shifts(semitones: int) -> list[int]:
    """The shifts of the transposed copies ``--transpose N`` adds: -1, +1, ..., -N, +N (never 0)."""
    return [k for n in range(1, semitones + 1) for k in (-n, n)]


def transpose_text(text: str, semitones: int) -> Optional[str]:
    """The whole text shifted by ``semitones``; None when any pitch would leave MIDI 0..127."""
    items = [transpose_item(item, semitones) for item in split_items(text)]
    return None if None in items else join_items(items)
