"""The user's control values at generation: forced tokens where a bar begins.

A :class:`ControlMasker` has the steering masker's interface (``allowed()`` then ``advance()``), wraps it
when hard constraints are on too, and is handed to the same sampling loops.  When the next item would be
the first note or rest of a new bar, a note or rest may not start: the item must be a control item (other
items, a tempo, the end, may still come first).  Inside it, the words come in :data:`annotate.SLOTS` order;
a value the user asked for is the only token allowed for its word, any other word is the model's choice
(or left out), and the comma closes the item once no asked-for word is missing.  Control words are not allowed
anywhere else.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.controls.annotate import PART_SLOTS, SLOTS, annotate, last_controlled_bar
from musicgpt_gui.core.model.controls.attributes import KEY_WINDOW, BarClock, is_event
from musicgpt_gui.core.model.controls.bins import ControlBins
from musicgpt_gui.core.model.controls.request import ControlRequest
from musicgpt_gui.core.model.store.vocab import KEY_NAMES, MAX_CONTROL_BINS, MusicEncoder
from musicgpt_gui.core.music.notation import is_bar_control, name_to_midi, parse_text, split_items
from musicgpt_gui.core.music.parts import MAX_PARTS, marker, parse_marker


class ControlTokens:
    """Per vocabulary: each control word's ids (without and with its leading space), the comma, the part markers'
    ids (spaced: inside a control item they follow a word), and which tokens start a note or rest item (a pitch,
    ``rest`` or a part marker)."""

    def __init__(self, encoder: MusicEncoder) -> None:
        self.size = encoder.n_vocab
        self.ids: dict[tuple[str, Any], tuple[int, int]] = {}
        for name in SLOTS:
            for value in (KEY_NAMES if name == "key" else range(MAX_CONTROL_BINS)):
                word = f"{name}={value}"
                bare, spaced = encoder.encode(word), encoder.encode(" " + word)
                if len(bare) != 1 or len(spaced) != 1:
                    raise JobError("This model's vocabulary has no control tokens; train a new model with --controls "
                                   "(musicgpt train --new-model small --controls).")
                self.ids[(name, value)] = (bare[0], spaced[0])
        self.comma = encoder.encode(",")[0]
        self.markers: dict[int, int] = {}
        for number in range(1, MAX_PARTS + 1):
            found = encoder.encode(" " + marker(number))
            if len(found) == 1:
                self.markers[number] = found[0]
        self.marker_of = {i: number for number, i in self.markers.items()}
        self.event_start = np.zeros(self.size, bool)
        for i, text in enumerate(encoder.token_strings(range(self.size))):
            word = text.strip()
            if text in (word, " " + word) and word and (
                    word == "rest" or name_to_midi(word) is not None or parse_marker(word) is not None):
                self.event_start[i] = True
        self.slot_of = {ids[k]: key[0] for key, ids in self.ids.items() for k in (0, 1)}
        self.control = np.zeros(self.size, bool)
        self.control[list(self.slot_of)] = True


@lru_cache(maxsize=8)
def control_tokens(encoder: MusicEncoder) -> ControlTokens:
    return ControlTokens(encoder)


class ControlMasker:
    """The allowed next tokens of one variation, with the asked-for controls forced at each new bar.

    Inside a control item the words come in sections: the whole piece's (:data:`SLOTS`), then, in a piece with
    parts and a run whose bins have them, any parts' in rising order, each a marker and its words
    (:data:`PART_SLOTS`).  A part asked for is written (its marker forced before the item may close)."""

    def __init__(self, tokens: ControlTokens, bins: ControlBins, request: ControlRequest, prefix: str,
                 inner: Any = None) -> None:
        self.tokens, self.bins, self.request, self.inner = tokens, bins, request, inner
        self.clock, self.done = BarClock(), -1  # bars that have their control item or began without one
        for item in split_items(prefix):
            if is_bar_control(item) or is_event(item):
                self.done = max(self.done, self.clock.index())
            self.clock.feed(item)
        self.parts = len(parse_text(prefix).parts) if bins.has_parts else 0  # part sections possible
        self.first = not prefix.strip()
        self.words = ""  # the item being written, as written
        self.slot: Optional[int] = None  # inside a control item: the next word's place in its section's slots
        self.section = 0  # inside a control item: 0 for the whole piece's words, else the part's number
        self.bars = 0  # control items written so far (the n-th generated bar takes the request's n-th value)
        self.windows = 0  # key windows begun so far
        self.written: list[dict[int, dict[str, str]]] = []  # per generated bar: the values named, per section

    # -- what may come next -------------------------------------------------------------------
    def _asked(self, name: str, section: int = 0) -> Optional[Any]:
        if section:
            return self.request.part_value(section, name, self.bars)
        return self.request.value(name, self.windows if name == "key" else self.bars)

    def _slots(self, section: int) -> tuple[str, ...]:
        if section:
            return PART_SLOTS
        keyed = self.clock.index() % KEY_WINDOW == 0
        return tuple(name for name in SLOTS if name != "key" or keyed)

    def _words_from(self, section: int, start: int, spaced: bool) -> tuple[np.ndarray, bool]:
        """(the words allowed next in ``section``, from its slot ``start`` on; whether the section may end here)."""
        mask = np.zeros(self.tokens.size, bool)
        slots = SLOTS if section == 0 else PART_SLOTS
        for name in slots[start:]:
            if name not in self._slots(section):
                continue
            values = KEY_NAMES if name == "key" else range(self.bins.count(name, section or None))
            asked = self._asked(name, section)
            for value in values if asked is None else [asked]:
                mask[self.tokens.ids[(name, value)][int(spaced)]] = True
            if asked is not None:
                return mask, False
        return mask, True

    def _next_asked_part(self) -> Optional[int]:
        asked = [p for p in self.request.asked_parts() if self.section < p <= self.parts]
        return min(asked) if asked else None

    def _inside(self) -> np.ndarray:
        mask, ends = self._words_from(self.section, self.slot, True)
        if self.slot == 0 and self.section:
            return mask  # a marker is followed by its part's words
        if ends:
            pending = self._next_asked_part()
            for number in range(self.section + 1, (pending or self.parts) + 1):
                if number in self.tokens.markers:
                    mask[self.tokens.markers[number]] = True
            mask[self.tokens.comma] = pending is None
        return mask

    def allowed(self, can_end: bool = True) -> np.ndarray:
        if self.slot is not None:
            return self._inside()
        base = self.inner.allowed(can_end) if self.inner is not None else np.ones(self.tokens.size, bool)
        if self.words or self.clock.index() <= self.done:
            return base & ~self.tokens.control  # control items stand only where a bar begins
        mask = base & ~self.tokens.event_start & ~self.tokens.control  # no note yet; the control item's first word:
        mask |= self._words_from(0, 0, not self.first)[0]
        return mask

    # -- what was chosen ----------------------------------------------------------------------
    def advance(self, token: int, text: str) -> None:
        if self.inner is not None:
            self.inner.advance(token, text)
        self.first = False
        name = self.tokens.slot_of.get(token)
        if name is not None and (self.slot is not None or not self.words):
            if self.slot is None:
                self.section = 0
                self.written.append({0: {}})
            slots = SLOTS if self.section == 0 else PART_SLOTS
            self.slot = slots.index(name) + 1
            self.written[-1][self.section][name] = text.strip().partition("=")[2]
            self.words += text
            return
        if self.slot is not None and token in self.tokens.marker_of:
            self.section, self.slot = self.tokens.marker_of[token], 0
            self.written[-1][self.section] = {}
            self.words += text
            return
        if "," not in text:
            self.words += text
            return
        head, _, rest = text.partition(",")
        item = (self.words + head).strip()
        if self.slot is not None:
            self.done = self.clock.index()
            self.bars += 1
            self.windows += "key" in self._slots(0)
            self.slot, self.section = None, 0
        elif is_event(item) and self.clock.index() > self.done:
            self.done = self.clock.index()  # the bar began without a control item (a token outside the grammar)
        self.clock.feed(item)
        self.words = rest


def wrap(encoder: MusicEncoder, run_dir: Path, request: ControlRequest, prefix: str, count: int,
         inner: Optional[Sequence[Any]] = None) -> Optional[list[Any]]:
    """Control maskers around the steering's (or None), one per variation; ``inner`` unchanged when the run has
    no controls, or nothing is asked and nothing else is steered (the model then writes its own controls)."""
    bins = ControlBins.load(run_dir)
    request.validate(bins)
    highest = max(request.asked_parts(), default=0)
    declared = len(parse_text(prefix).parts) if highest else 0
    if highest > declared:
        raise JobError(f"Controls were asked for part {highest}, but the piece declares "
                       f"{declared} part{'s' if declared != 1 else ''}; pick an ensemble with it (--ensemble).")
    if bins is None or not (request.active or inner is not None):
        return list(inner) if inner is not None else None
    tokens = control_tokens(encoder)
    return [ControlMasker(tokens, bins, request, prefix, inner[v] if inner is not None else None)
            for v in range(count)]


def with_controls(run_dir: Path, prefix: str) -> str:
    """``prefix`` with its bars' control items, for a run trained with them (the model read them in training);
    unchanged for other runs and for a prefix that has them already."""
    bins = ControlBins.load(run_dir)
    items = split_items(prefix)
    if bins is None or not items or last_controlled_bar(items) is not None:
        return prefix
    return annotate(prefix, bins) + ("," if prefix.rstrip().endswith(",") else "")


def around_span(run_dir: Path, items: list[str], start: int, end: int) -> tuple[list[str], list[str]]:
    """The items before ``items[start:end]`` and after it as a ``--controls`` run reads them: with their bars'
    control items (the suffix starts with its bar's, when it starts a bar); unchanged for other runs."""
    before, after = items[:start], items[end:]
    bins = ControlBins.load(run_dir)
    if bins is None or last_controlled_bar(items) is not None:
        return before, after
    marked = split_items(annotate(", ".join(items), bins))
    seen, cut_start, cut_end = 0, None, len(marked)
    for k, item in enumerate(marked):
        if is_bar_control(item):
            continue
        if seen == start and cut_start is None:
            cut_start = k
        if seen == end:
            cut_end = k - 1 if k and is_bar_control(marked[k - 1]) else k
            break
        seen += 1
    cut_start = len(marked) if cut_start is None else cut_start
    head = marked[:cut_start]
    while head and is_bar_control(head[-1]):  # a control item for the middle's first bar is the middle's to write
        head.pop()
    return head, marked[cut_end:] if end < len(items) else []
