"""metadata.json of a dataset folder as typed data: what was imported, how, per-file status, statistics.

The importer writes it; the GUI, the CLI and generation read it through :func:`load_metadata`,
which also reads folders from older versions and hand-made folders (missing keys get defaults).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Optional

from musicgpt_gui.core.atomic_file import atomic_write_text
from musicgpt_gui.core.music.notation import DEFAULT_FORMAT, SEP

METADATA = "metadata.json"


@dataclass
class FileEntry:
    """One source file: ``index`` is the dataset.csv row of its first piece (None for errors)."""

    source: str
    status: str = "ok"  # ok|error
    error: Optional[str] = None
    pieces: int = 0
    cached: bool = False
    index: Optional[int] = None
    items: Optional[int] = None
    duration: Optional[float] = None  # seconds of its first piece
    warning: Optional[str] = None  # read tolerantly: what was skipped or clipped


@dataclass
class DatasetStats:
    """Counts over the original pieces (not their transposed copies)."""

    pieces: int = 0
    rows: int = 0
    train_rows: int = 0
    valid_rows: int = 0
    items: int = 0
    notes: int = 0
    chords: int = 0
    rests: int = 0
    distinct_pitches: int = 0
    quarters: float = 0.0
    seconds: float = 0.0


@dataclass
class PieceEntry:
    title: str
    source: str
    copies: int = 1


@dataclass
class DatasetMetadata:
    format: str = DEFAULT_FORMAT
    format_version: int = 1  # see notation.FORMAT_VERSIONS; files without one are version 1
    grid: Optional[int] = None  # timed format: steps per quarter note (None: music21's 1/4 + 1/3 grid)
    separator: str = SEP
    code_version: str = ""
    sources: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    cancelled: bool = False
    files_total: int = 0
    files: list[FileEntry] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # files read tolerantly
    stats: Optional[DatasetStats] = None  # None for a folder made by hand
    pitches: list[str] = field(default_factory=list)
    pieces: list[PieceEntry] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "DatasetMetadata":
        """Tolerant of older files: unknown keys are ignored, missing ones get their defaults."""
        known = _known(cls, data)
        if isinstance(known.get("stats"), dict):
            known["stats"] = DatasetStats(**_known(DatasetStats, known["stats"]))
        known["files"] = [FileEntry(**_known(FileEntry, f)) for f in known.get("files") or [] if "source" in f]
        known["pieces"] = [PieceEntry(**_known(PieceEntry, p)) for p in known.get("pieces") or [] if "title" in p]
        return cls(**known)


def _known(cls, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def has_metadata(folder: Path) -> bool:
    return (Path(folder) / METADATA).is_file()


def write_metadata(folder: Path, metadata: DatasetMetadata) -> None:
    atomic_write_text(Path(folder) / METADATA, json.dumps(asdict(metadata), indent=2, sort_keys=True))


def load_metadata(folder: Path) -> DatasetMetadata:
    """The folder's metadata; defaults (timed format, no statistics) when it has no metadata.json.

    Raises OSError or ValueError for an unreadable or damaged file.
    """
    if not has_metadata(folder):
        return DatasetMetadata()
    data = json.loads((Path(folder) / METADATA).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{METADATA} does not hold an object")
    return DatasetMetadata.from_json(data)
