"""On-disk layout of a dataset folder, shared by import, training and the GUI.

``<dataset>/dataset.csv``  every piece, one row each, single column (seed-compatible)
``<dataset>/train.csv``    the training split, same format
``<dataset>/valid.csv``    the validation split, same format
``<dataset>/metadata.json`` sources, options, per-file status, statistics (see metadata.py)
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterable, Optional

from musicgpt_gui.core.atomic_file import atomic_write_text
from musicgpt_gui.core.dataset.import_options import ImportOptions
from musicgpt_gui.core.dataset.metadata import load_metadata
from musicgpt_gui.core.jobs import JobError

ALL, TRAIN, VALID = "dataset", "train", "valid"
SPLITS = (ALL, TRAIN, VALID)
csv.field_size_limit(2**31 - 1)  # a long piece is one large field


def split_path(folder: Path, split: str = ALL) -> Path:
    return Path(folder) / f"{split}.csv"


def is_dataset_folder(folder: Path) -> bool:
    """The one rule: a dataset folder holds dataset.csv (every piece); metadata.json is optional."""
    return split_path(folder, ALL).is_file()


def is_split_file(path: Path) -> bool:
    """dataset.csv, train.csv or valid.csv of a dataset folder: a folder scan must not import these again
    (validation rows would leak into training)."""
    return is_dataset_folder(path.parent) and path.name in {split_path(path.parent, s).name for s in SPLITS}


def write_rows(path: Path, texts: Iterable[str]) -> None:
    """Single-column CSV, one piece per row, no header (the seed's format)."""
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for text in texts:
        writer.writerow([text])
    atomic_write_text(Path(path), buf.getvalue())


def read_rows(path: Path) -> list[str]:
    """The non-empty rows of a single-column CSV; a JobError naming the file when it cannot be read."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return [row[0] for row in csv.reader(fh) if row and row[0].strip()]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise JobError(f"Cannot read the pieces in {path}: {exc}") from None


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


def conversion_options(folder: Optional[Path]) -> ImportOptions:
    """How a dataset's MIDI was converted (format, grid, tracks, controls): the defaults without a dataset.

    A prefix read from MIDI must be written the way the model's training text was.
    """
    if folder is None:
        return ImportOptions()
    try:
        meta = load_metadata(Path(folder))
        options = ImportOptions.of_dataset({**meta.options, "format": meta.format})
        options.check()
    except (OSError, ValueError, TypeError, JobError) as exc:
        raise JobError(f"{Path(folder) / 'metadata.json'} is damaged ({exc}).") from None
    return options
