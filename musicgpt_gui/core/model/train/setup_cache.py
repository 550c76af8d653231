"""What training computes before step 1, kept per dataset and vocabulary so the next run skips it.

Every run on a dataset used to encode both splits, fit the n-gram yardstick and measure the references
again, though nothing they read had changed.  Entries are keyed by the bytes they come from (both splits,
the run's vocabulary files) and the settings that change them (window, sample length, seed), so an edited
dataset or another vocabulary never meets a stale entry.  A damaged or missing entry is computed again.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Optional

import numpy as np

from musicgpt_gui.core.atomic_file import atomic_file, atomic_write_text
from musicgpt_gui.core.dataset import dataset_files

VERSION = 1  # bump when the encoding, the n-gram or the reference metrics change what they compute
_VOCAB_FILES = ("encoder.json", "vocab.bpe")


class SetupCache:
    """One run's view of the cache: a key for its dataset and vocabulary, arrays and JSON entries under it."""

    def __init__(self, folder: Path, dataset: Path, run_dir: Path) -> None:
        self.folder = Path(folder)
        digest = hashlib.sha1(f"setup v{VERSION}".encode())
        for split in (dataset_files.TRAIN, dataset_files.VALID):
            path = dataset_files.split_path(Path(dataset), split)
            digest.update(path.read_bytes() if path.is_file() else b"-")
        for name in _VOCAB_FILES:
            path = Path(run_dir) / name
            digest.update(path.read_bytes() if path.is_file() else b"-")
        self.key = digest.hexdigest()[:24]

    def _path(self, what: str, settings: tuple, suffix: str) -> Path:
        tail = hashlib.sha1(repr(settings).encode()).hexdigest()[:8] if settings else "all"
        return self.folder / f"{self.key}-{what}-{tail}{suffix}"

    def arrays(self, what: str, settings: tuple = ()) -> Optional[dict[str, np.ndarray]]:
        path = self._path(what, settings, ".npz")
        try:
            with np.load(path) as found:
                return {name: found[name] for name in found.files}
        except (OSError, ValueError, KeyError):
            return None

    def keep_arrays(self, what: str, values: dict[str, np.ndarray], settings: tuple = ()) -> None:
        with atomic_file(self._path(what, settings, ".npz"), "wb") as fh:
            np.savez(fh, **values)

    def entry(self, what: str, settings: tuple = ()) -> Optional[Any]:
        path = self._path(what, settings, ".json")
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def keep(self, what: str, value: Any, settings: tuple = ()) -> None:
        atomic_write_text(self._path(what, settings, ".json"), json.dumps(value))
