"""Hard constraints as a mask over the next token, following the note grammar.

Per variation, a :class:`Masker` knows where the item being written stands (start, after pitches,
after a rest, after a control) and which tokens may come next there: only pitch tokens are masked
for a key or a range, only length tokens for a rhythm, and so on.  A step token (``:1.0,``) ends an
item, so every take is a list of whole, valid items.  Tokens the grammar has no place for (BPE
pieces, FIM sentinels) are never allowed while steering.

No dead end: at an item's start a rest is always allowed, and if a rule ever left nothing (every
length of an item repeating an earlier run), the take ends there instead.
"""
from __future__ import annotations

from collections import defaultdict
from fractions import Fraction
from typing import Iterable, Optional, Sequence

import numpy as np

from musicgpt_gui.core.model.steer import token_table as tt
from musicgpt_gui.core.model.steer.constraints import Steering
from musicgpt_gui.core.model.steer.piece_state import PieceState
from musicgpt_gui.core.music.notation import format_duration
from musicgpt_gui.core.music.parts import DRUM_HIGH, DRUM_LOW


MAX_CHORD = 16  # pitches in one item while steering (a chord names each pitch once)


class RepeatIndex:
    """Runs of ``n`` notes/rests: for each run of n-1, the items that have followed it."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.next_items: dict[tuple[str, ...], set[str]] = defaultdict(set)

    def add_events(self, events: Sequence[str]) -> None:
        for i in range(len(events) - self.n + 1):
            self.next_items[tuple(events[i : i + self.n - 1])].add(events[i + self.n - 1])

    def add_pieces(self, pieces: Iterable[Sequence[str]]) -> "RepeatIndex":
        """Index pieces given as item lists (the memorization index holds the training split so)."""
        for items in pieces:
            self.add_events([item for item in items if _is_event(item)])
        return self

    def followers(self, events: Sequence[str]) -> set[str]:
        if len(events) < self.n - 1:
            return set()
        return self.next_items.get(tuple(events[len(events) - self.n + 1 :]), set())


def _is_event(item: str) -> bool:
    return ":" in item and not item.startswith(("tempo=", "velocity=", "program="))


class Masker:
    """The allowed next tokens of one variation; call :meth:`allowed`, then :meth:`advance`."""

    def __init__(
        self,
        table: tt.TokenTable,
        steering: Steering,
        prefix: str,
        in_scale: Optional[frozenset[int]] = None,
        training: Optional[RepeatIndex] = None,
        end_ids: Sequence[int] = (),
    ) -> None:
        self.table, self.steering, self.in_scale = table, steering, in_scale
        self.end_ids = np.array(sorted({table.end, *end_ids}), dtype=int)  # what ends a take (a middle: <|fim_end|>)
        self.state = PieceState.from_text(prefix, in_scale)
        self.prefix_playable = self.state.playable  # a take ends only after a playable item of its own
        self.repeats = RepeatIndex(steering.no_repeat) if steering.no_repeat else None
        if self.repeats is not None:
            self.repeats.add_events(self.state.events)
        self.training = training
        self.first = not prefix.strip()  # the very first item has no leading space
        self.pitches: list[int] = []
        self.holds: list[Optional[Fraction]] = []
        self.note_parts: list[int] = []  # the 0-based part of each pitch of the item
        self.part = 0  # the part the next pitch of the item belongs to
        self.multi = len(self.state.parts) > 1  # every note names its part (a marker before its pitches)
        self.words = ""  # the item so far, as written
        self.mode = "start"  # start | marker | notes | rest | control | ended
        self._static = self._static_masks()
        self._part_masks: dict[tuple[int, bool], np.ndarray] = {}

    # -- what may come next -------------------------------------------------------------------
    def _static_masks(self) -> dict[str, np.ndarray]:
        t, s = self.table, self.steering
        length_ok = np.array([k < 0 or s.length_allowed(t.lengths[k]) for k in t.length_index])
        drums = (t.kind == tt.PITCH) & (t.pitch >= DRUM_LOW) & (t.pitch <= DRUM_HIGH)
        declared = np.zeros(t.size, bool)
        if self.multi:
            declared = (t.kind == tt.MARKER) & (t.pitch >= 1) & (t.pitch <= len(self.state.parts))
            if s.parts:  # only the parts asked for may play
                declared &= np.isin(t.pitch, list(s.parts))
        return {
            "any_pitch": t.kind == tt.PITCH,
            "drum_pitch": drums,  # a drum part: the GM drum map, whatever the key or range asks
            "marker": declared,
            "step": (t.kind == tt.STEP) & t.closes & length_ok,
            "hold": (t.kind == tt.HOLD) & length_ok,
            "rest": t.kind == tt.REST,
            "control": (t.kind == tt.CONTROL) & ~(t.program & bool(self.state.parts)),
            "comma": t.kind == tt.COMMA,
        }

    def _pitch_mask(self, part: int, in_key: bool) -> np.ndarray:
        """The pitches ``part``'s range allows (and the key's scale, if ``in_key``), built once per part."""
        found = self._part_masks.get((part, in_key))
        if found is None:
            t = self.table
            low, high = self.steering.range_of(part)
            found = (t.kind == tt.PITCH) & (t.pitch >= low) & (t.pitch <= high)
            if in_key:
                found &= np.isin(t.pitch % 12, sorted(self.in_scale))
            self._part_masks[(part, in_key)] = found
        return found

    def _pitches_now(self, part: Optional[int] = None) -> np.ndarray:
        """The pitches the item may add to ``part`` (default: the current one)."""
        s, st = self.steering, self.state
        part = self.part if part is None else part
        mine = [p for p, q in zip(self.pitches, self.note_parts) if q == part]
        full = len(self.pitches) >= MAX_CHORD
        voices = s.voices_of(part)
        if full or voices and st.sounding(part) + len(mine) >= voices:
            return np.zeros(self.table.size, bool)
        if st.is_drums(part):
            mask = self._static["drum_pitch"]
        else:
            in_key = self.in_scale is not None and st.chromatic[st.bar_index()] >= s.chromatic_per_bar
            mask = self._pitch_mask(part, in_key)
        if mine:
            mask = mask & ~np.isin(self.table.pitch, mine)
        return mask

    def _markers_now(self) -> np.ndarray:
        """Markers of the parts not yet in this item that still have room for a pitch."""
        mask = self._static["marker"].copy()
        for token in np.flatnonzero(mask):
            part = int(self.table.pitch[token]) - 1
            if part in self.note_parts or part == self.part and self.mode == "marker" or \
                    not self._pitches_now(part).any():
                mask[token] = False
        return mask

    def allowed(self, can_end: bool = True) -> np.ndarray:
        """A boolean mask over the vocabulary; never all False while the take goes on."""
        m, t = self._static, self.table
        if self.mode == "control":
            mask = m["comma"].copy()
        elif self.mode == "start":
            spaced = t.spaced if not self.first else ~t.spaced
            notes = self._markers_now() if self.multi else self._pitches_now()
            mask = (notes | m["rest"] | m["control"]) & spaced
            mask[self.end_ids] = can_end and self.state.playable > self.prefix_playable
        elif self.mode == "rest":
            mask = self._steps()
        elif self.mode == "marker":  # a marker names the part of the pitches after it: one must follow
            mask = self._pitches_now() & t.spaced
        else:  # notes
            mask = self._steps() | ((self._pitches_now() | self._markers_now()) & t.spaced)
            if self.holds and self.holds[-1] is None:
                mask |= m["hold"]
        if not mask.any():  # every length would repeat an earlier run: end the take here
            mask[self.end_ids] = True
        return mask

    def _steps(self) -> np.ndarray:
        mask = self._static["step"].copy()
        if self.repeats is None:
            return mask
        taken = self.repeats.followers(self.state.events)
        if self.training is not None:
            taken = taken | self.training.followers(self.state.events)
        if taken:
            ids = np.flatnonzero(mask)
            body = self.words.strip()
            for i in ids:
                if f"{body}:{format_duration(self.table.lengths[self.table.length_index[i]])}" in taken:
                    mask[i] = False
        return mask

    # -- what was chosen ----------------------------------------------------------------------
    def advance(self, token: int, text: str) -> None:
        kind, t = self.table.kind[token], self.table
        self.first = False
        if token in self.end_ids:
            self.mode = "ended"
        elif kind == tt.MARKER:
            self.mode, self.part = "marker", int(t.pitch[token]) - 1
        elif kind == tt.PITCH:
            self.mode = "notes"
            pitch = int(t.pitch[token])
            if self.in_scale is not None and pitch % 12 not in self.in_scale and not self.state.is_drums(self.part):
                self.state.chromatic[self.state.bar_index()] += 1
            self.pitches.append(pitch)
            self.holds.append(None)
            self.note_parts.append(self.part)
        elif kind == tt.HOLD:
            self.holds[-1] = t.lengths[t.length_index[token]]
        elif kind == tt.REST:
            self.mode = "rest"
        elif kind == tt.CONTROL:
            self.mode = "control"
        elif kind == tt.STEP:
            body = (self.words + text).strip().rstrip(",")
            self.state.finish_event(body, self.pitches, self.holds, t.lengths[t.length_index[token]], self.note_parts)
            if self.repeats is not None:
                self.repeats.add_events(self.state.events[-self.repeats.n :])
            self.pitches, self.holds, self.note_parts, self.words, self.mode = [], [], [], "", "start"
            self.part = 0
            return
        elif kind == tt.COMMA:
            self.words, self.mode = "", "start"
            return
        self.words += text

