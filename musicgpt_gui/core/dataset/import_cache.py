"""Per-file conversion cache: keyed by the file's path, size, mtime, the options and the code version.

Importing the same files again only reads the cache.  The cache only saves time: a damaged
entry is converted again, and a cache that cannot be written does not stop the import.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Optional

from musicgpt_gui.core.dataset.convert import CODE_VERSION, ConvertedPiece, FileResult
from musicgpt_gui.core.dataset.import_options import ImportOptions
from musicgpt_gui.core.dataset.sources import Task


def cache_path(task: Task, options: ImportOptions) -> Optional[Path]:
    if options.cache_dir is None:
        return None
    try:
        st = os.stat(task.path)
    except OSError:
        return None
    key = json.dumps([task.path, task.kind, st.st_size, st.st_mtime_ns, options.cache_fields(), CODE_VERSION])
    return Path(options.cache_dir) / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"


def cache_load(path: Optional[Path], label: str) -> Optional[FileResult]:
    if path is None or not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        pieces = [ConvertedPiece.from_json(p) for p in data["pieces"]]
        return FileResult(label, pieces, data["error"], cached=True, warning=data.get("warning"))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a damaged entry is simply converted again


def cache_store(path: Optional[Path], result: FileResult) -> None:
    """Temp file + rename, without fsync: a lost entry after a crash is just converted again."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(result.to_json()), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
