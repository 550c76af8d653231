"""Form: a take written as sections (``AABA``), each new letter generated after everything before it, each
letter that comes back its first section's items again.

Pop repeats itself: POP909's songs repeat about a third of their phrases.  A model trained on 128-token
windows remembers about four bars, so its takes never return to what they wrote
(bench/results/arrangements.txt: 0.00 repeated phrases in every window tried).  A form the user asks for
gives a take its returning chorus; the model still writes every new section, after the sections before it.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Optional

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.steer.piece_state import PieceState
from musicgpt_gui.core.music.notation import format_duration, join_items, split_items

MAX_SECTIONS = 16
MAX_SECTION_BARS = 32
DEFAULT_SECTION_BARS = 4
SECTION_CALLS = 3  # generation calls a new section may take to reach its bars (a take can end early)

# One generation call: the items that continue ``text`` (the prefix and the sections so far); ``call``
# numbers the calls of one take, for their seeds.
WriteFn = Callable[[str, int], list[str]]


@dataclass(frozen=True)
class Form:
    """The sections' letters in order and the bars of each."""

    letters: str
    bars: int = DEFAULT_SECTION_BARS

    @classmethod
    def parse(cls, text: str, bars: int = DEFAULT_SECTION_BARS) -> Optional["Form"]:
        """``"AABA"`` (case and spaces ignored) as a form; empty: none (one take, as without a form)."""
        letters = "".join(text.split()).upper()
        if not letters:
            return None
        return cls(letters, bars).validate()

    def validate(self) -> "Form":
        if not self.letters.isascii() or not self.letters.isalpha():
            raise JobError(f"A form is a string of section letters such as AABA, not '{self.letters}'.")
        if len(self.letters) > MAX_SECTIONS:
            raise JobError(f"A form has at most {MAX_SECTIONS} sections, not {len(self.letters)}.")
        if not 1 <= self.bars <= MAX_SECTION_BARS:
            raise JobError(f"A section has 1 to {MAX_SECTION_BARS} bars, not {self.bars}.")
        return self

    def as_dict(self) -> dict:
        return {"form": self.letters, "section_bars": self.bars}


@dataclass(frozen=True)
class Section:
    letter: str
    start: int  # first item of the take
    end: int  # one past its last item
    repeat: bool  # the items of the letter's first section again


def first_bars(prefix: str, items: list[str], bars: int) -> tuple[list[str], int]:
    """The items of ``items`` (which follow ``prefix``) up to the ``bars``-th bar line they reach, and how many
    bar lines they reach (all of ``items`` when fewer than ``bars``).  An item that holds over that bar line is
    cut at it (its notes still sound their length), so what comes next starts on the bar line: a section
    repeated later falls on the same beats, and a redrawn bar is a whole bar."""
    state = PieceState.from_text(prefix)
    reached = 0
    for i, item in enumerate(items, start=1):
        before, bar = state.onset, state.bar_index()
        state.extend([item])
        if state.onset <= before:
            continue
        crossed = state.bar_index() - bar
        if reached + crossed >= bars:
            line = state.bar_origin + (bar + bars - reached) * state.bar
            kept = list(items[:i])
            if state.onset > line:
                kept[-1] = cut_step(item, line - before)
            return kept, bars
        reached += crossed
    return list(items), reached


def cut_step(item: str, step: Fraction) -> str:
    """``item`` moving time by ``step`` instead, each of its notes held as long as before."""
    body, _, old = item.rpartition(":")
    words = [w if w.startswith("@") or w == "rest" or "~" in w else f"{w}~{old}" for w in body.split()]
    return f"{' '.join(words)}:{format_duration(step)}"


def write_form(form: Form, prefix: str, write: WriteFn) -> tuple[list[str], list[Section]]:
    """The take's items after ``prefix``, written section by section, and where each section is."""
    head = split_items(prefix)
    items: list[str] = []
    firsts: dict[str, list[str]] = {}
    sections: list[Section] = []
    calls = 0
    for letter in form.letters:
        start, repeat = len(items), letter in firsts
        if not repeat:
            section: list[str] = []
            reached = 0
            for _ in range(SECTION_CALLS):
                so_far = join_items([*head, *items, *section])
                more = write(so_far, calls)
                calls += 1
                kept, got = first_bars(so_far, more, form.bars - reached)
                section += kept
                reached += got
                if reached >= form.bars or not more:
                    break
            firsts[letter] = section
        items += firsts[letter]
        sections.append(Section(letter, start, len(items), repeat))
    return items, sections
