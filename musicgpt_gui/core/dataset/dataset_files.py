"""On-disk layout of a dataset folder, shared by import, training and the GUI.

``<dataset>/dataset.csv``  every piece, one row each, single column (seed-compatible)
``<dataset>/train.csv``    the training split, same format
``<dataset>/valid.csv``    the validation split, same format
``<dataset>/metadata.json`` sources, options, per-file status, statistics; ``format`` is seed|timed
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Iterable, Optional

from musicgpt_gui.core.atomic_file import atomic_write_text
from musicgpt_gui.core.jobs import JobError

ALL, TRAIN, VALID = "dataset", "train", "valid"
METADATA = "metadata.json"
csv.field_size_limit(2**31 - 1)  # a long piece is one large field


def split_path(folder: Path, split: str = ALL) -> Path:
    return Path(folder) / f"{split}.csv"


def write_rows(path: Path, texts: Iterable[str]) -> None:
    """Single-column CSV, one piece per row, no header (the seed's format)."""
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for text in texts:
        writer.writerow([text])
    atomic_write_text(Path(path), buf.getvalue())


def read_rows(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [row[0] for row in csv.reader(fh) if row and row[0].strip()]


def load_split(folder: Path, split: str = ALL) -> list[str]:
    """The pieces of one split of a dataset folder."""
    return read_rows(split_path(folder, split))


def require_split(folder: Path, split: str = TRAIN) -> list[str]:
    """The pieces of a split that training needs, or a JobError saying what is wrong with the folder."""
    path = split_path(folder, split)
    if not path.is_file():
        raise JobError(f"{folder} is not a dataset folder (no {path.name}); import a dataset first.")
    texts = read_rows(path)
    if not texts:
        raise JobError(f"The dataset {Path(folder).name} is empty: {path.name} has no pieces.")
    return texts


def write_metadata(folder: Path, metadata: dict[str, Any]) -> None:
    atomic_write_text(Path(folder) / METADATA, json.dumps(metadata, indent=2, sort_keys=True))


def read_metadata(folder: Path) -> dict[str, Any]:
    return json.loads((Path(folder) / METADATA).read_text(encoding="utf-8"))


def text_format(folder: Optional[Path]) -> str:
    """The note-text format a dataset was imported in (timed unless its metadata says otherwise).

    A prefix read from MIDI must be written the way the model was trained.
    """
    if folder is None or not (Path(folder) / METADATA).is_file():
        return "timed"
    return read_metadata(folder).get("format", "timed")
