"""Sources -> one task per file: files, folders (recursive), corpus names and seed CSVs.

Which reader takes a file comes from the format registry (core/readers/formats.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Union

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.readers import formats

CORPORA = ("bach", "folk")


@dataclass
class Task:
    """One file to convert: kind is midi|score|csv; ``label`` is what the error list shows."""

    kind: str
    path: str
    label: str


def resolve_sources(sources: Iterable[Union[str, Path]]) -> tuple[list[Task], list[str]]:
    """Expand sources into per-file tasks; returns (tasks, error lines for unusable sources)."""
    tasks: list[Task] = []
    errors: list[str] = []
    for source in sources:
        text = str(source)
        if text.startswith("corpus:"):
            tasks.extend(corpus_tasks(text.split(":", 1)[1]))
            continue
        path = Path(text).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and formats.format_of(p))
            tasks.extend(_task_for(p) for p in found if not dataset_files.is_split_file(p))
        elif path.is_file():
            if formats.format_of(path):
                tasks.append(_task_for(path))
            else:
                suffix = path.suffix or "(none)"
                errors.append(f"{path}: unsupported file type '{suffix}' (use {formats.extension_list()})")
        else:
            errors.append(f"{path}: no such file or folder")
    return tasks, errors


def _task_for(path: Path) -> Task:
    return Task(formats.format_of(path).kind, str(path.resolve()), str(path))


def corpus_tasks(name: str) -> list[Task]:
    """The built-in music21 corpora: 'bach' (371 chorales) and 'folk' (Essen folk songs, ABC)."""
    from music21 import corpus

    if name == "bach":
        # music21's own path list, read once: corpus.getWork scans all of it per chorale (1.6 s of pure Python
        # for 371, which also starves the GUI thread of the GIL).  Its choice is kept: the first path holding
        # the work's name, variants such as 'bwv112.5-sc' included
        first: dict[str, str] = {}
        for path in corpus.getCorePaths():
            first.setdefault(f"{path.parent.name}/{path.stem.split('-')[0]}".lower(), str(path))
        tasks = []
        for work in corpus.chorales.Iterator(returnType="filename"):
            found = first.get(work.lower()) or corpus.getWork(work)
            found = found[0] if isinstance(found, list) else found
            tasks.append(Task("score", str(found), f"corpus:{work}"))
        return tasks
    if name == "folk":
        paths = sorted(p for p in corpus.getCorePaths() if "essenFolksong" in str(p))
        return [Task("score", str(p), f"corpus:essenFolksong/{Path(p).name}") for p in paths]
    raise JobError(f"unknown corpus '{name}' (choose {' or '.join(CORPORA)})")
