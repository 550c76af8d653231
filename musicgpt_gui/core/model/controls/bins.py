"""The learned controls' bins: quantiles of the training split's bars, stored in the run.

A run trained with ``--controls`` fits them once on its training split and writes them to
``checkpoint/<run>/controls.json``; generation reads the same file, so a requested ``density=2`` means
what it meant in training.  Bin k of an attribute holds values from its k-th cut point (inclusive) to
the next; ties in the data (onsets per bar are whole numbers) can leave fewer bins than asked for.

A dataset with parts also gets bins per part number, over the bars where that part starts a note (part 1 of
POP909 is its melody in every song, so its own quantiles say what "dense" means for it), and pooled bins over
every part for part numbers with too few bars of their own.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from musicgpt_gui.core.atomic_file import atomic_write_text
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.controls.attributes import bar_values
from musicgpt_gui.core.model.store.run_store import CONTROLS_FILE
from musicgpt_gui.core.model.store.vocab import MAX_CONTROL_BINS

BINNED = ("density", "poly", "pitch")  # the attributes written as bins (the key is written by name)
DEFAULT_BINS = 4  # quartiles
POOLED = "*"  # the parts' bins for a part number without its own
MIN_PART_BARS = 50  # bars a part number needs for bins of its own


@dataclass(frozen=True)
class ControlBins:
    """Per binned attribute, the ascending cut points between its bins."""

    edges: dict[str, tuple[float, ...]]
    bars: int = 0  # training bars the quantiles were taken over
    parts: dict[str, dict[str, tuple[float, ...]]] = field(default_factory=dict)  # part number or POOLED -> edges

    @property
    def has_parts(self) -> bool:
        return bool(self.parts)

    def _edges(self, name: str, part: Optional[int]) -> tuple[float, ...]:
        if part is None:
            return self.edges[name]
        return self.parts.get(str(part), self.parts.get(POOLED, self.edges))[name]

    def count(self, name: str, part: Optional[int] = None) -> int:
        return len(self._edges(name, part)) + 1

    def bin(self, name: str, value: Optional[float], part: Optional[int] = None) -> Optional[int]:
        if value is None:
            return None
        return int(np.searchsorted(np.array(self._edges(name, part)), value, side="right"))

    def describe_bin(self, name: str, k: int, part: Optional[int] = None) -> str:
        """The values bin ``k`` holds, in words (the GUI's tooltips, the CLI's help)."""
        edges = self._edges(name, part)
        low = f"{edges[k - 1]:g}" if k > 0 else ""
        high = f"{edges[k]:g}" if k < len(edges) else ""
        if low and high:
            return f"{low} to under {high}"
        return f"under {high}" if high else f"{low} or more"

    def save(self, run_dir: Path) -> Path:
        path = Path(run_dir) / CONTROLS_FILE
        atomic_write_text(path, json.dumps({"edges": {k: list(v) for k, v in self.edges.items()},
                                            "bars": self.bars,
                                            "parts": {p: {k: list(v) for k, v in e.items()}
                                                      for p, e in self.parts.items()}}, indent=2))
        return path

    @classmethod
    def load(cls, run_dir: Path) -> Optional["ControlBins"]:
        """The run's bins, or None for a run trained without controls."""
        path = Path(run_dir) / CONTROLS_FILE
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            def edges(found: dict) -> dict[str, tuple[float, ...]]:
                return {k: tuple(float(x) for x in found[k]) for k in BINNED}

            return cls(edges(data["edges"]), int(data.get("bars", 0)),
                       {str(p): edges(e) for p, e in data.get("parts", {}).items()})
        except (ValueError, KeyError, TypeError):
            raise JobError(f"{path} is damaged; train the run again with --controls.") from None


def fit_bins(texts: Iterable[str], bins: int = DEFAULT_BINS) -> ControlBins:
    """Quantile bins of every bar of ``texts`` (the training split)."""
    if not 2 <= bins <= MAX_CONTROL_BINS:
        raise JobError(f"Controls need 2 to {MAX_CONTROL_BINS} bins, not {bins}.")
    values: dict[str, list[float]] = {name: [] for name in BINNED}
    by_part: dict[str, dict[str, list[float]]] = defaultdict(lambda: {name: [] for name in BINNED})
    count = 0
    for text in texts:
        for bar in bar_values(text):
            count += 1
            _add(values, bar)
            for number, part in bar.parts.items():
                _add(by_part[str(number)], part)
                _add(by_part[POOLED], part)
    if not count:
        raise JobError("The training split has no bars with notes to learn controls from.")
    parts = {number: _quantiles(found, bins) for number, found in by_part.items()
             if number == POOLED or len(found["density"]) >= MIN_PART_BARS}
    return ControlBins(_quantiles(values, bins), count, parts)


def _add(values: dict[str, list[float]], bar) -> None:
    for name in BINNED:
        if bar.value(name) is not None:
            values[name].append(bar.value(name))


def _quantiles(values: dict[str, list[float]], bins: int) -> dict[str, tuple[float, ...]]:
    edges = {}
    for name, found in values.items():
        cuts = np.quantile(np.array(found), np.arange(1, bins) / bins) if found else []
        edges[name] = tuple(sorted({round(float(c), 3) for c in cuts if float(c) > min(found)}))
    return edges
