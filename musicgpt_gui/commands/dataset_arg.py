"""``--dataset``: a dataset folder path, or a name under ``<workspace>/datasets``."""
from __future__ import annotations

from pathlib import Path

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.workspace import Workspace


def resolve_dataset(workspace: Workspace, value: str) -> Path:
    for folder in (Path(value).expanduser(), workspace.datasets / value):
        if dataset_files.is_dataset_folder(folder):
            return folder.resolve()
    root = workspace.datasets
    known = sorted(p.name for p in root.iterdir() if dataset_files.is_dataset_folder(p)) if root.is_dir() else []
    hint = f" Datasets in the workspace: {', '.join(known)}." if known else " Import one first (musicgpt import)."
    needed = dataset_files.split_path(Path(value)).name
    raise JobError(f"'{value}' is not a dataset folder (no {needed} there or in {workspace.datasets}).{hint}")
