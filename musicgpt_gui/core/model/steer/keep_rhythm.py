"""Keep rhythm: regenerate a selection with new pitches on the same onsets and lengths.

A grammar-aware mask like the others (masker.py): the selection's items are written again token by
token, every token forced to the original's except the pitches, which are free within the other
constraints (key, chromatic notes, range, a part's range; a drum part stays on the drum map).  So
each item keeps its step, each note its hold (``~2.0``) and its part marker, rests stay rests, and
controls and other items (tempo, meter) come back verbatim.

The number of notes per onset is kept too.  That is the stricter reading of "keep onsets and
lengths": a note's length is written on the note (its hold, or the item's step), so a note added or
dropped at an onset would be a length added or dropped; keeping the count also keeps the passage's
texture (density, voices) as the user chose it, and makes adherence an exact check (the multiset of
(onset, length, part) of the selection's notes, bar by bar).  A chord still names each pitch of a
part once.

Lengths, voices, parts and no-repeat are fixed by the selection, so those controls are off under
keep rhythm (:meth:`Steering.without_rhythm`); if the key and the range leave no pitch for a note
(a chord wider than the pitches they allow), the key gives way first, then the range: the rhythm wins.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional, Sequence

import numpy as np

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.steer import token_table as tt
from musicgpt_gui.core.model.steer.masker import Masker
from musicgpt_gui.core.model.store.vocab import MusicEncoder
from musicgpt_gui.core.music.notation import DEFAULT_BAR, bar_length, parse_text, split_items
from musicgpt_gui.core.music.parts import Part

FREE = -1  # a slot for a new pitch


@dataclass(frozen=True)
class TemplateItem:
    """One item of the selection as tokens: fixed ids, or FREE where a pitch goes (``spaced`` per slot)."""

    slots: tuple[int, ...]
    spaced: tuple[bool, ...]
    other: Optional[str]  # a non-note item (control, meter...), written verbatim; None for notes and rests


def template(encoder: MusicEncoder, items: Sequence[str], parts: Sequence[Part] = (), first: bool = False
             ) -> list[TemplateItem]:
    """The selection's ``items`` as forced tokens; ``first``: the selection starts the text (no leading space)."""
    table = tt.token_table(encoder)
    out = []
    for i, item in enumerate(items):
        parsed = parse_text(item, parts=parts)
        event = bool(parsed.notes) or item.strip().startswith("rest")
        written = parsed.items[0] if event else item  # as the model writes it: "C4:1" is "C4:1.0"
        ids = encoder.encode(("" if first and i == 0 else " ") + written + ",")
        kinds = [int(table.kind[t]) for t in ids]
        if event and tt.OTHER in kinds:
            raise JobError(f"Keep rhythm: the item '{item}' is not written in this model's note tokens "
                           "(a length or a pitch its vocabulary lacks); choose another selection.")
        slots = tuple(FREE if event and k == tt.PITCH else t for t, k in zip(ids, kinds))
        out.append(TemplateItem(slots, tuple(bool(table.spaced[t]) for t in ids), None if event else item))
    return out


def token_count(items: Sequence[TemplateItem]) -> int:
    return sum(len(item.slots) for item in items)


class RhythmMasker(Masker):
    """A :class:`Masker` that writes ``items`` again with new pitches, then ends the take."""

    def __init__(self, *args, items: Sequence[TemplateItem], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.items, self.item, self.slot = list(items), 0, 0

    def allowed(self, can_end: bool = True) -> np.ndarray:
        mask = np.zeros(self.table.size, bool)
        if self.item >= len(self.items) or self.mode == "ended":
            mask[self.end_ids] = True
            return mask
        item = self.items[self.item]
        token = item.slots[self.slot]
        if token != FREE:
            mask[token] = True
            return mask
        spacing = self.table.spaced if item.spaced[self.slot] else ~self.table.spaced
        for pitches in self._pitch_choices():
            mask = pitches & spacing
            if mask.any():
                return mask
        raise JobError("Keep rhythm: this vocabulary has no pitch token left for a note of the selection.")

    def _pitch_choices(self):
        """The constrained pitches, then (a chord wider than they allow) the range alone, then any pitch."""
        yield self._pitches_now()
        mine = [p for p, q in zip(self.pitches, self.note_parts) if q == self.part]
        used = np.isin(self.table.pitch, mine)
        if self.state.is_drums(self.part):
            yield self._static["drum_pitch"] & ~used
        yield self._pitch_mask(self.part, False) & ~used
        yield self._static["any_pitch"] & ~used

    def advance(self, token: int, text: str) -> None:
        if self.item >= len(self.items) or token in self.end_ids:
            super().advance(token, text)
            return
        item = self.items[self.item]
        if item.other is None:
            super().advance(token, text)
        else:  # a control or another non-note item, written verbatim (its tokens may look like pitches)
            self.first = False
        self.slot += 1
        if self.slot == len(item.slots):
            if item.other is not None:
                self.state.add_other(item.other)
                self.words, self.mode = "", "start"
            self.item, self.slot = self.item + 1, 0


@dataclass
class RhythmKept:
    """Of the selection's notes and bars: how many kept their onset, length and part.  ``notes`` counts the
    original's notes and any the new text added (a note moved counts twice: one lost, one added)."""

    notes: int = 0
    kept_notes: int = 0
    bars: int = 0
    kept_bars: int = 0
    repitched: int = 0  # kept notes whose pitch changed

    def add(self, other: "RhythmKept") -> None:
        for name in ("notes", "kept_notes", "bars", "kept_bars", "repitched"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def share(self) -> Optional[float]:
        return self.kept_notes / self.notes if self.notes else None


def rhythm_kept(original: str, new: str, start: Fraction, end: Fraction) -> RhythmKept:
    """Compare the notes with onsets in [start, end) of two texts, from the parsed notes (not the masks)."""
    def spanned(text: str) -> list:
        return [n for n in parse_text(text).notes if start <= n.onset < end]

    before, after = spanned(original), spanned(new)
    bar = next((b for b in map(bar_length, reversed(split_items(original))) if b), DEFAULT_BAR)
    per_bar: dict[int, list[Counter]] = defaultdict(lambda: [Counter(), Counter()])
    for side, notes in enumerate((before, after)):
        for n in notes:
            per_bar[int(n.onset // bar)][side][(n.onset, n.duration, n.part)] += 1
    old = Counter((n.onset, n.duration, n.part) for n in before)
    new_notes = Counter((n.onset, n.duration, n.part) for n in after)
    old_pitches = Counter((n.onset, n.duration, n.part, n.pitch) for n in before)
    new_pitches = Counter((n.onset, n.duration, n.part, n.pitch) for n in after)
    kept = sum((old & new_notes).values())
    return RhythmKept(
        notes=len(before) + len(after) - kept,
        kept_notes=kept,
        bars=len(per_bar),
        kept_bars=sum(a == b for a, b in per_bar.values()),
        repitched=kept - sum((old_pitches & new_pitches).values()),
    )
