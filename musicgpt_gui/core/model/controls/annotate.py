"""Control items at bar lines: what a ``--controls`` run trains on, derived from the dataset's plain text.

Before the first note or rest item of each bar comes one item naming the bar's bins, in a fixed order
(``density=2 poly=1 pitch=3``), and, on a bar that starts a key window, the window's key (``key=f#``);
``pitch`` is left out of a bar where no note starts.  In a piece with parts (and a run whose bins have them),
each part that starts a note in the bar follows, after its marker, with its own bins in the same order
(``@1 density=1 poly=0 pitch=2 @3 density=2``; a drum part has density only).  Other items at the bar line
(tempo, meter, the header) stay before it.  The text is derived when a run trains (datasets need no re-import)
and the items never sound: the parser keeps them as items that play nothing (notation.is_bar_control).
"""
from __future__ import annotations

from typing import Optional

from musicgpt_gui.core.model.controls.attributes import BarClock, BarValues, bar_values, is_event
from musicgpt_gui.core.model.controls.bins import BINNED, ControlBins
from musicgpt_gui.core.music.notation import is_bar_control, join_items, split_items
from musicgpt_gui.core.music.parts import marker, parse_marker

SLOTS = ("density", "poly", "pitch", "key")  # the order of the words in a control item
PART_SLOTS = BINNED  # the order of a part's words, after its marker


def control_item(values: dict[str, object], parts: Optional[dict[int, dict[str, object]]] = None) -> str:
    """``density=2 poly=1 pitch=3 key=f# @1 density=1`` from bins (and a key name); missing values are left out."""
    words = [f"{name}={values[name]}" for name in SLOTS if values.get(name) is not None]
    for number, found in sorted((parts or {}).items()):
        words += [marker(number), *(f"{name}={found[name]}" for name in PART_SLOTS if found.get(name) is not None)]
    return " ".join(words)


def bar_bins(bar: BarValues, bins: ControlBins) -> dict[str, object]:
    out: dict[str, object] = {name: bins.bin(name, bar.value(name)) for name in BINNED}
    out["key"] = bar.key
    return out


def part_bins(bar: BarValues, bins: ControlBins) -> dict[int, dict[str, object]]:
    """Each playing part's bins (none when the run's bins have no parts)."""
    if not bins.has_parts:
        return {}
    return {number: {name: bins.bin(name, part.value(name), number) for name in PART_SLOTS}
            for number, part in bar.parts.items()}


def annotate(text: str, bins: ControlBins) -> str:
    """``text`` with a control item before the first note or rest of each bar (old control items dropped)."""
    bars = {bar.index: bar for bar in bar_values(text)}
    items = strip_items(split_items(text))
    out: list[str] = []
    clock, done = BarClock(), -1
    for item in items:
        if is_event(item) and clock.index() > done:
            done = clock.index()
            if done in bars:
                out.append(control_item(bar_bins(bars[done], bins), part_bins(bars[done], bins)))
        out.append(item)
        clock.feed(item)
    return join_items(out)


def strip_items(items: list[str]) -> list[str]:
    return [item for item in items if not is_bar_control(item)]


def strip(text: str) -> str:
    """``text`` without its control items (what plays and what is measured is the same either way)."""
    return join_items(strip_items(split_items(text)))


def read_item(item: str) -> dict[str, str]:
    """``{"density": "2", "key": "f#", ...}`` of a control item (the whole piece's words)."""
    return read_parts(item).get(0, {})


def read_parts(item: str) -> dict[int, dict[str, str]]:
    """A control item's words per part number (0: the whole piece's), e.g. ``{0: {"density": "2"}, 1: {...}}``."""
    out: dict[int, dict[str, str]] = {0: {}}
    number = 0
    for word in item.split():
        if parse_marker(word) is not None:
            number = parse_marker(word)
            out[number] = {}
        else:
            name, _, value = word.partition("=")
            out[number][name] = value
    return out


def last_controlled_bar(items: list[str]) -> Optional[int]:
    """The number of the last bar a control item of ``items`` stands in (None: none has one)."""
    clock, found = BarClock(), None
    for item in items:
        if is_bar_control(item):
            found = clock.index()
        clock.feed(item)
    return found


def prefix_values(text: str, bins: ControlBins, part: Optional[int] = None) -> dict[str, str]:
    """What a prefix does of each control, as the run's bins: the median bin of its bars, and the key of its
    last key window (the Steer area's "in the prefix" column); of one part's bars for a ``part`` number."""
    bars = bar_values(text)
    out: dict[str, str] = {}
    for name in BINNED:
        if part is None:
            found = sorted(b for bar in bars if (b := bins.bin(name, bar.value(name))) is not None)
        else:
            found = sorted(b for bar in bars if part in bar.parts
                           and (b := bins.bin(name, bar.parts[part].value(name), part)) is not None)
        if found:
            out[name] = str(found[len(found) // 2])
    keys = [bar.key for bar in bars if bar.key]
    if keys and part is None:
        out["key"] = keys[-1]
    return out
