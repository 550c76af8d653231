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
from musicgpt_gui.core.model.controls.annotate import SLOTS, annotate, last_controlled_bar
from musicgpt_gui.core.model.controls.attributes import KEY_WINDOW, BarClock, is_event
from musicgpt_gui.core.model.controls.bins import ControlBins
from musicgpt_gui.core.model.controls.request import ControlRequest
from musicgpt_gui.core.model.store.vocab import KEY_NAMES, MAX_CONTROL_BINS, MusicEncoder
from musicgpt_gui.core.music.notation import is_bar_control, name_to_midi, split_items
from musicgpt_gui.core.music.parts import parse_marker


class ControlTokens:
    """Per vocabulary: each control word's ids (without and with its leading space), the comma, and which
    tokens start a note or rest item (a pitch, ``rest`` or a part marker)."""

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
    """The allowed next tokens of one variation, with the asked-for controls forced at each new bar."""

    def __init__(self, tokens: ControlTokens, bins: ControlBins, request: ControlRequest, prefix: str,
                 inner: Any = None) -> None:
        self.tokens, self.bins, self.request, self.inner = tokens, bins, request, inner
        self.clock, self.done = BarClock(), -1  # bars that have their control item or began without one
        for item in split_items(prefix):
            if is_bar_control(item) or is_event(item):
                self.done = max(self.done, self.clock.index())
            self.clock.feed(item)
        self.first = not prefix.strip()
        self.words = ""  # the item being written, as written
        self.slot: Optional[int] = None  # inside a control item: the next word's place in SLOTS
        self.bars = 0  # control items written so far (the n-th generated bar takes the request's n-th value)
        self.windows = 0  # key windows begun so far
        self.written: list[dict[str, Any]] = []  # per generated bar: the values the item named

    # -- what may come next -------------------------------------------------------------------
    def _asked(self, name: str) -> Optional[Any]:
        nth = self.windows if name == "key" else self.bars
        return self.request.value(name, nth)

    def _slots_here(self) -> list[str]:
        keyed = self.clock.index() % KEY_WINDOW == 0
        return [name for name in SLOTS if name != "key" or keyed]

    def _words_from(self, start: int, spaced: bool) -> tuple[np.ndarray, bool]:
        """(the words allowed next, from slot ``start`` on; whether the item may close here)."""
        mask = np.zeros(self.tokens.size, bool)
        here = self._slots_here()
        for name in SLOTS[start:]:
            if name not in here:
                continue
            values = KEY_NAMES if name == "key" else range(self.bins.count(name))
            asked = self._asked(name)
            for value in values if asked is None else [asked]:
                mask[self.tokens.ids[(name, value)][int(spaced)]] = True
            if asked is not None:
                return mask, False
        return mask, True

    def allowed(self, can_end: bool = True) -> np.ndarray:
        if self.slot is not None:
            mask, closes = self._words_from(self.slot, True)
            mask[self.tokens.comma] = closes
            return mask
        base = self.inner.allowed(can_end) if self.inner is not None else np.ones(self.tokens.size, bool)
        if self.words or self.clock.index() <= self.done:
            return base & ~self.tokens.control  # control items stand only where a bar begins
        mask = base & ~self.tokens.event_start & ~self.tokens.control  # no note yet; the control item's first word:
        mask |= self._words_from(0, not self.first)[0]
        return mask

    # -- what was chosen ----------------------------------------------------------------------
    def advance(self, token: int, text: str) -> None:
        if self.inner is not None:
            self.inner.advance(token, text)
        self.first = False
        name = self.tokens.slot_of.get(token)
        if name is not None and (self.slot is not None or not self.words):
            if self.slot is None:
                self.slot = 0
                self.written.append({})
            self.slot = SLOTS.index(name) + 1
            self.written[-1][name] = text.strip().partition("=")[2]
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
            self.windows += "key" in self._slots_here()
            self.slot = None
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
