"""The registry of readable file formats: the importer, the file dialogs and the error messages read this list.

Each reader module declares ``NAME`` and ``EXTENSIONS`` (as Picard's ``formats/`` classes do).
The seed CSV has no reader module of its own: its rows are read with the dataset folder's CSV
layout (core/dataset/dataset_files.py), so only its name and suffix are declared here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from musicgpt_gui.core.readers import midi_reader, score_reader


@dataclass(frozen=True)
class Format:
    """``kind`` tells the importer which reader converts the file: midi|score|csv."""

    kind: str
    name: str
    extensions: tuple[str, ...]

    def pattern(self) -> str:
        return " ".join(f"*{e}" for e in self.extensions)


FORMATS = (
    Format("midi", midi_reader.NAME, midi_reader.EXTENSIONS),
    Format("score", score_reader.NAME, score_reader.EXTENSIONS),
    Format("csv", "Seed CSV (one piece per row)", (".csv",)),
)
EXTENSIONS = tuple(e for f in FORMATS for e in f.extensions)


def format_of(path: Union[str, Path]) -> Optional[Format]:
    """The format a file's suffix names, or None when no reader takes it."""
    suffix = Path(path).suffix.lower()
    return next((f for f in FORMATS if suffix in f.extensions), None)


def extension_list() -> str:
    """'.mid, .midi, ... or .csv', for messages."""
    return ", ".join(EXTENSIONS[:-1]) + f" or {EXTENSIONS[-1]}"


def format_names() -> str:
    """'MIDI, Scores (...) or Seed CSV (...)', for messages."""
    names = [f.name for f in FORMATS]
    return ", ".join(names[:-1]) + f" or {names[-1]}"


def dialog_filter() -> str:
    """A Qt file-dialog filter: every readable file first, then one entry per format, then all files."""
    entries = [f"Music ({' '.join(f.pattern() for f in FORMATS)})"]
    entries += [f"{f.name} ({f.pattern()})" for f in FORMATS]
    return ";;".join(entries + ["All files (*)"])
