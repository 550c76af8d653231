"""What makes a take something to play: it is not empty, a take for an ensemble has more than one of its
parts in it and declares no parts of its own, and when the token budget (not the model) ends it, it ends at a
bar line.

A model that samples ``<|endoftext|>`` first, or a length limit that falls mid-phrase, used to hand the
user an empty take or one that stops mid-bar; a take for a three-part arrangement that holds only the
piano is not the arrangement asked for.  These are the rules that prevent it.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

import numpy as np

from musicgpt_gui.core.model.steer.piece_state import PieceState
from musicgpt_gui.core.music.notation import Parsed, join_items, parse_text
from musicgpt_gui.core.music.parts import Part


ENSEMBLE_PARTS = 2  # parts a take for an ensemble writes before it may end (fewer when fewer may play)


def parts_wanted(parts: Sequence[Part], allowed: Sequence[int] = ()) -> int:
    """How many different parts a take must write before it may end: two for a prompt declaring two or more
    (of those steering lets play, ``allowed``, 1-based), else one."""
    may = len([p for p in set(allowed) if 1 <= p <= len(parts)]) if allowed else len(parts)
    return max(1, min(ENSEMBLE_PARTS, may))


class PartsSeen:
    """The parts a growing take's finished items have played, read item by item (not the whole text again)."""

    def __init__(self, parts: Sequence[Part] = ()) -> None:
        self.parts, self.seen, self._read = tuple(parts), set(), 0

    def read(self, text: str) -> int:
        """Read what ``text`` finished since the last call; returns the number of parts played so far."""
        cut = text.rfind(",")
        if cut >= self._read:
            self.seen.update(n.part for n in parse_text(text[self._read : cut], parts=self.parts).notes)
            self._read = cut + 1
        return len(self.seen)


_MARKER_LAST = re.compile(r"(?:^|\s)@\d*$")  # the text so far ends with a marker (or its "@")
_DECLARES = re.compile(r"@\d+\s*=")
_NUMBERS = re.compile(r"@(\d+)")
_LEADING_NUMBER = re.compile(r"\d+")


class NoNewParts:
    """The tokens that would declare a part (``@6=Piano program=0``), or name a part not declared, in a take
    whose prompt declares ``count`` parts: the take writes for the ensemble asked for.  Multitrack songs each
    declare other instruments, and a model trained on them added one to four parts to a 5-part ensemble
    mid-take (OpenMSX, bench/results/heldout.txt); a marker of an undeclared part is an item lost."""

    def __init__(self, token_texts: Sequence[str], count: int) -> None:
        def undeclared(text: str) -> bool:
            return any(int(n) > count for n in _NUMBERS.findall(text))

        self.count = count
        self.anywhere = np.array([bool(_DECLARES.search(t)) or undeclared(t) for t in token_texts])
        self._equals = self.anywhere | np.array([t.lstrip().startswith("=") for t in token_texts])
        leads = [(i, m.group()) for i, t in enumerate(token_texts) if (m := _LEADING_NUMBER.match(t))]
        self._digits = leads  # tokens that glue digits onto a marker ("@1" + "2" is part 12)
        self._after: dict[str, np.ndarray] = {}

    def banned(self, text: str) -> np.ndarray:
        """The ids banned next after the take's ``text`` so far."""
        found = _MARKER_LAST.search(text[text.rfind(",") + 1:])
        if not found:
            return self.anywhere
        number = found.group().strip()[1:]  # the marker's digits so far ("" after a bare "@")
        if number not in self._after:  # after a marker: no "=" (a declaration), no digits naming another part
            out = self._equals.copy()
            out[[i for i, lead in self._digits if not 0 < int(number + lead) <= self.count]] = True
            self._after[number] = out
        return self._after[number]


@lru_cache(maxsize=8)
def no_new_parts(encoder, count: int) -> NoNewParts:
    return NoNewParts(encoder.token_strings(range(encoder.n_vocab)), count)


def cut_at_bar_line(prefix: str, items: list[str]) -> list[str]:
    """``items`` up to the last bar line they reach after ``prefix`` (all of them if they reach none, or
    if the cut would leave no note)."""
    state = PieceState.from_text(prefix)
    before = state.playable
    keep = 0
    for i, item in enumerate(items, start=1):
        state.extend([item])
        if (state.onset - state.bar_origin) % state.bar == 0 and state.playable > before:
            keep = i
    return items[:keep] if keep else items


def ended_at_bar_line(prefix: str, parsed: Parsed, wanted: int = 1) -> Parsed:
    """``parsed`` cut at its last bar line; the items cut off leave its repair count too (they were valid).
    Not cut where the cut would leave fewer than ``wanted`` parts playing than the take has (an ensemble's
    second part entering after the last bar line is what made it the ensemble's take)."""
    kept = cut_at_bar_line(prefix, parsed.items)
    if len(kept) == len(parsed.items):
        return parsed
    cut = parse_text(join_items(kept), parts=parsed.parts)
    if wanted > 1 and _parts_playing(cut) < min(wanted, _parts_playing(parsed)):
        return parsed
    cut.total = parsed.total - (len(parsed.items) - len(kept))
    cut.skipped = parsed.skipped
    return cut


def _parts_playing(parsed: Parsed) -> int:
    return len({note.part for note in parsed.notes})
