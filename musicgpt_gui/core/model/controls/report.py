"""Learned controls beside what the take did: per asked attribute (and part), the bins asked for, the bins the
generated bars measure, and the bars that landed in the asked bin -- the rows the sample tables show for the
hard constraints (steer/measure.py) too, so a user sees whether a ``--controls`` request was met."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Optional

from musicgpt_gui.core.model.controls.attributes import bar_values, clock_after, key_margin_since, next_bar
from musicgpt_gui.core.model.controls.bins import BINNED, ControlBins
from musicgpt_gui.core.model.controls.request import ControlRequest, key_words
from musicgpt_gui.core.music.notation import split_items

WORDS = {"density": "density", "poly": "polyphony", "pitch": "mean pitch"}


@dataclass(frozen=True)
class ControlRow:
    """One active control: what was asked, what the generated bars measure, how many bars kept it."""

    control: str
    asked: str
    measured: str
    kept: str  # "32/32 bars" (keep rhythm: notes and bars)

    def line(self) -> str:
        return f"{self.control} {self.asked}: {self.measured}, {self.kept}".replace(" : ", ": ")


def _asked_words(values: tuple) -> str:
    return f"bin {values[0]}" if len(set(values)) == 1 else "bins " + ",".join(map(str, values)) + " in turn"


def _row(control: str, values: tuple, measured: list[tuple[int, Optional[int]]]) -> ControlRow:
    """``measured``: (the bar's place in the take, its bin or None), as the request counts the bars."""
    hits = sum(got == values[min(nth, len(values) - 1)] for nth, got in measured)
    found = Counter(got for _, got in measured if got is not None)
    most = f"mostly bin {found.most_common(1)[0][0]}" if found else "no notes"
    return ControlRow(control, _asked_words(values), most, f"{hits}/{len(measured)} bars")


def learned_rows(text: str, prefix: str, bins: ControlBins, request: ControlRequest) -> list[ControlRow]:
    """Each asked control (whole piece, then each part's) over the complete bars the take wrote after
    ``prefix``; the key: the estimate of the take's notes beside the key asked for its first window."""
    if not request.active:
        return []
    first = next_bar(split_items(prefix))
    bars = [b for b in bar_values(text, complete_only=True) if b.index >= first]
    rows = []
    for name in BINNED:
        values = getattr(request, name)
        if values:
            rows.append(_row(WORDS[name], values, [(b.index - first, bins.bin(name, b.value(name))) for b in bars]))
    for part, name, values in request.parts:
        measured = [(b.index - first, bins.bin(name, b.parts[part].value(name), part) if part in b.parts else None)
                    for b in bars]
        rows.append(_row(f"{WORDS[name]} @{part}", values, measured))
    if request.key:  # the first window's key, judged over the whole take (as the redraws judge it)
        rows.append(_key_row(text, prefix, request.key[0]))
    return rows


def _key_row(text: str, prefix: str, key: str) -> ControlRow:
    margin = key_margin_since(text, clock_after(split_items(prefix)).onset, key)
    asked = key_words(key)
    if margin is None:
        return ControlRow("key", asked, "no notes", "-")
    return ControlRow("key", asked, "leads" if margin > 0 else "another key leads",
                      f"by {margin:+.2f} in correlation")
