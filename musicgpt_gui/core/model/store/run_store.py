"""A training run's folder: atomic 'latest' and 'best' checkpoints, the counter, the loss history.

Layout (gpt-2-simple's, so ``gpt_2_simple.load_gpt2``/``generate`` read it)::

    checkpoint/<run>/model-N.index|data-*   the latest weights
    checkpoint/<run>/checkpoint             TF's index naming model-N (switched last)
    checkpoint/<run>/counter                N
    checkpoint/<run>/hparams.json encoder.json vocab.bpe
    checkpoint/<run>/best/                  the best validated weights, same layout
    checkpoint/<run>/history.json           train/validation loss for the loss chart
    checkpoint/<run>/samples/               sample-N.txt (and .mid)

A save writes new files first and switches the index last, so a crash or a full disk
during a save leaves the previous checkpoint as 'latest'.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from musicgpt_gui.core.atomic_file import atomic_write_text
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.store.vocab import ENCODER_FILE, MERGES_FILE
from musicgpt_gui.core.workspace import Workspace

HPARAMS_FILE = "hparams.json"
VOCAB_FILES = (HPARAMS_FILE, ENCODER_FILE, MERGES_FILE)
HISTORY_FILE = "history.json"
SAMPLES_DIR = "samples"
CONTROLS_FILE = "controls.json"  # a --controls run's bins (core/model/controls), fitted on its training split
SAMPLE_STEM = "sample-"
BEST = "best"
_MODEL_FILE_RE = re.compile(r"^model-(\d+)\.(index|meta|data-\d+-of-\d+)$")


@dataclass
class History:
    """Loss history persisted next to the checkpoints (the GUI's chart reads it)."""

    train: list[dict[str, float]] = field(default_factory=list)  # step, loss, avg_loss
    valid: list[dict[str, Optional[float]]] = field(default_factory=list)  # step, loss, bits_per_element
    best: Optional[dict[str, float]] = None  # step, loss
    settings: dict[str, Any] = field(default_factory=dict)
    ngram: Optional[dict[str, Any]] = None  # the n-gram yardstick: order, bits_per_token, bits_per_element
    recoveries: list[dict[str, int]] = field(default_factory=list)  # out-of-memory recoveries (train/recovery.py)

    @classmethod
    def load(cls, run_dir: Path) -> "History":
        path = Path(run_dir) / HISTORY_FILE
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            raise JobError(f"{path} is damaged; move it away to resume without the old loss history.") from None
        return cls(
            data.get("train", []),
            data.get("valid", []),
            data.get("best"),
            data.get("settings", {}),
            data.get("ngram"),
            data.get("recoveries", []),
        )

    def until(self, step: int) -> "History":
        """The history as it was when checkpoint ``step`` was saved."""
        best = self.best if self.best and self.best["step"] <= step else None
        return History(
            [e for e in self.train if e["step"] <= step],
            [e for e in self.valid if e["step"] <= step],
            best,
            self.settings,
            self.ngram,
            self.recoveries,  # events, kept whatever step the run goes back to
        )

    def save(self, run_dir: Path) -> None:
        atomic_write_text(Path(run_dir) / HISTORY_FILE, json.dumps(asdict(self), indent=1))


def is_run(folder: Path) -> bool:
    """A run folder holds the model's hparams (a run being set up already has them)."""
    return (Path(folder) / HPARAMS_FILE).is_file()


def list_runs(workspace: Workspace) -> list[Path]:
    """The workspace's run folders, most recently changed first."""
    root = workspace.checkpoint
    runs = [p for p in root.iterdir() if p.is_dir() and is_run(p)] if root.is_dir() else []
    return sorted(runs, key=lambda p: p.stat().st_mtime, reverse=True)


def sample_path(run_dir: Path, step: int, suffix: str) -> Path:
    """Where training writes its sample at ``step`` (``.txt``, and ``.mid`` when it parses)."""
    return Path(run_dir) / SAMPLES_DIR / f"{SAMPLE_STEM}{step}{suffix}"


def sample_texts(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, text file) of every training sample of the run, by step."""
    found = [
        (int(p.stem[len(SAMPLE_STEM) :]), p)
        for p in (Path(run_dir) / SAMPLES_DIR).glob(f"{SAMPLE_STEM}*.txt")
        if p.stem[len(SAMPLE_STEM) :].isdigit()
    ]
    return sorted(found)


def copy_model_files(source: Path, run_dir: Path) -> None:
    for name in VOCAB_FILES:
        shutil.copyfile(Path(source) / name, Path(run_dir) / name)


def latest_step(run_dir: Path) -> Optional[int]:
    """Step of the checkpoint the index names (the truth on resume; 'counter' mirrors it)."""
    prefix = latest_prefix(run_dir)
    if prefix is None:
        return None
    match = re.search(r"-(\d+)$", prefix)
    if match:
        return int(match.group(1))
    counter = Path(run_dir) / "counter"
    return int(counter.read_text().strip()) if counter.is_file() else 0


def latest_prefix(folder: Path) -> Optional[str]:
    """The checkpoint prefix the folder's 'checkpoint' index names, if its files are there.

    Read without TensorFlow (the GUI asks on its own thread), and by file name, so a run or model
    folder that was moved still finds its checkpoint.
    """
    index = Path(folder) / "checkpoint"
    if not index.is_file():
        return None
    match = re.search(r'^model_checkpoint_path:\s*"([^"]+)"', index.read_text(encoding="utf-8"), re.M)
    if not match:
        return None
    prefix = Path(folder) / Path(match.group(1)).name
    has_data = any(prefix.parent.glob(prefix.name + ".data-*"))
    return str(prefix) if has_data and prefix.with_name(prefix.name + ".index").is_file() else None


def write_index(folder: Path, name: str) -> None:
    """TF's 'checkpoint' index (a text proto) naming ``name``, replaced atomically."""
    atomic_write_text(
        Path(folder) / "checkpoint", f'model_checkpoint_path: "{name}"\nall_model_checkpoint_paths: "{name}"\n'
    )


def clear_run(run_dir: Path) -> None:
    """Remove a run's checkpoints, history and samples (for an explicit overwrite)."""
    run_dir = Path(run_dir)
    for path in run_dir.iterdir() if run_dir.is_dir() else []:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def _remove_model_files(run_dir: Path, keep: Optional[int]) -> None:
    for path in Path(run_dir).iterdir():
        match = _MODEL_FILE_RE.match(path.name)
        if match and path.is_file() and int(match.group(1)) != keep:
            path.unlink(missing_ok=True)


def first_line(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return text.strip().splitlines()[0][:200] if text.strip() else type(exc).__name__

