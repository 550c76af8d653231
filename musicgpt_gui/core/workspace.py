"""The workspace folder: datasets/, models/, checkpoint/ (gpt-2-simple layout), samples/, exports/.

Chosen, in order, by an explicit path (``--workspace``), ``$MUSICGPT_WORKSPACE``, or a folder
in the user's data directory.  The CLI and the GUI share these rules.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import platformdirs

ENV_VAR = "MUSICGPT_WORKSPACE"
SUBFOLDERS = ("datasets", "models", "checkpoint", "samples", "exports")


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def datasets(self) -> Path:
        return self.root / "datasets"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoint"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def import_cache(self) -> Path:
        """Converted files by content and options (core/dataset): a re-import reads them from here."""
        return self.root / "cache" / "import"

    @property
    def setup_cache(self) -> Path:
        """What training computes before step 1, by dataset and vocabulary (core/model/train/setup_cache.py)."""
        return self.root / "cache" / "setup"

    def ensure(self) -> "Workspace":
        """Create the folder tree; returns self so callers can chain."""
        for name in SUBFOLDERS:
            (self.root / name).mkdir(parents=True, exist_ok=True)
        return self


def default_root() -> Path:
    return Path(platformdirs.user_data_dir("musicgpt-gui", appauthor=False)) / "workspace"


def resolve_workspace(explicit: Optional[str | Path] = None) -> Workspace:
    """Pick the workspace by the shared precedence rules and create its folders."""
    if explicit:
        root = Path(explicit)
    elif os.environ.get(ENV_VAR):
        root = Path(os.environ[ENV_VAR])
    else:
        root = default_root()
    return Workspace(root.expanduser().resolve()).ensure()
