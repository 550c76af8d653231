"""What makes a take something to play: it is not empty, and when the token budget (not the model)
ends it, it ends at a bar line.

A model that samples ``<|endoftext|>`` first, or a length limit that falls mid-phrase, used to hand the
user an empty take or one that stops mid-bar; these are the two rules that prevent it.
"""
from __future__ import annotations

from typing import Sequence

from musicgpt_gui.core.model.steer.piece_state import PieceState
from musicgpt_gui.core.music.notation import Parsed, join_items, parse_text
from musicgpt_gui.core.music.parts import Part


def has_playable(text: str, parts: Sequence[Part] = ()) -> bool:
    """Whether the finished items of ``text`` (those followed by a comma) hold a note; ``parts``: the ones
    the prompt declared, which the text's markers name."""
    cut = text.rfind(",")
    return cut >= 0 and bool(parse_text(text[:cut], parts=parts).notes)


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


def ended_at_bar_line(prefix: str, parsed: Parsed) -> Parsed:
    """``parsed`` cut at its last bar line; the items cut off leave its repair count too (they were valid)."""
    kept = cut_at_bar_line(prefix, parsed.items)
    if len(kept) == len(parsed.items):
        return parsed
    cut = parse_text(join_items(kept), parts=parsed.parts)
    cut.total = parsed.total - (len(parsed.items) - len(kept))
    cut.skipped = parsed.skipped
    return cut
