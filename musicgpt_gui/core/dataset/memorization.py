"""Flag generated passages copied from the training set (the seed's overfitting concern).

A generated run of at least ``MIN_RUN`` consecutive items that also occurs, item for item,
in one training piece is reported with where it sits in the output and in the training set.
Items are compared after whitespace normalisation, in the form notation writes them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.music.notation import split_items

MIN_RUN = 8


@dataclass(frozen=True)
class MemorizedRun:
    """``length`` generated items from item ``start`` equal piece ``piece`` (train.csv row) from ``piece_start``."""

    start: int
    length: int
    piece: int
    piece_start: int


class MemorizationIndex:
    """Every window of ``n`` consecutive items of the training pieces, with its first location."""

    def __init__(self, pieces: Iterable[str], n: int = MIN_RUN) -> None:
        self.n = n
        self.pieces = [split_items(p) for p in pieces]
        self._windows: dict[tuple[str, ...], tuple[int, int]] = {}
        for row, items in enumerate(self.pieces):
            for i in range(len(items) - n + 1):
                self._windows.setdefault(tuple(items[i : i + n]), (row, i))

    @classmethod
    def from_dataset(cls, folder: Path, n: int = MIN_RUN) -> "MemorizationIndex":
        """Index the training split (``train.csv``) of a dataset folder.

        The GUI asks on every generation; the index is rebuilt only when train.csv changed.
        """
        split = dataset_files.split_path(Path(folder), dataset_files.TRAIN)
        stamp = (split.stat().st_mtime_ns, split.stat().st_size) if split.is_file() else None
        return _indexed(cls, Path(folder).resolve(), stamp, n)

    def find(self, items: Sequence[str]) -> list[MemorizedRun]:
        """Maximal runs of >= n generated items that continue one training passage."""
        items = [" ".join(i.split()) for i in items]
        runs: list[MemorizedRun] = []
        i = 0
        while i + self.n <= len(items):
            hit = self._windows.get(tuple(items[i : i + self.n]))
            if hit is None:
                i += 1
                continue
            row, start = hit
            piece = self.pieces[row]
            length = self.n
            while (
                i + length < len(items) and start + length < len(piece) and items[i + length] == piece[start + length]
            ):
                length += 1
            runs.append(MemorizedRun(i, length, row, start))
            i += length
        return runs


@functools.lru_cache(maxsize=4)
def _indexed(cls: type, folder: Path, stamp: Optional[tuple[int, int]], n: int) -> MemorizationIndex:
    return cls(dataset_files.load_split(folder, dataset_files.TRAIN), n)
