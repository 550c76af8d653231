"""A run's learned controls at training time: the bins fitted once and stored, and the text they make.

``musicgpt train --controls`` (the Finetune tab's "Learn controls") calls :func:`prepare` before the data is
encoded; a resumed run keeps the bins it stored.  Without controls nothing changes.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Optional

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.model.controls.annotate import annotate
from musicgpt_gui.core.model.controls.bins import ControlBins, fit_bins
from musicgpt_gui.core.model.controls.forcer import control_tokens
from musicgpt_gui.core.model.store.run_store import CONTROLS_FILE
from musicgpt_gui.core.model.store.vocab import MusicEncoder, control_words

Annotate = Callable[[str], str]


def prepare(enabled: bool, run_dir: Path, dataset: Path, encoder: MusicEncoder) -> Optional[Annotate]:
    """What turns a plain piece into the run's training text (None: the plain text), the bins stored first.

    A run that already has its bins (a resume) keeps them, and keeps its controls even when not asked again.
    """
    stored = ControlBins.load(run_dir)
    if not enabled and stored is None:
        return None
    control_tokens(encoder)  # a vocabulary without the control tokens is refused, with what to do
    bins = stored or fit_bins(dataset_files.require_split(Path(dataset)))
    if stored is None:
        bins.save(run_dir)
    return lambda text: annotate(text, bins)


def bins_key(run_dir: Path) -> tuple:
    """What a run's annotated text depends on besides the dataset and vocabulary: its stored bins (a cache key)."""
    path = Path(run_dir) / CONTROLS_FILE
    return (hashlib.sha1(path.read_bytes()).hexdigest()[:16],) if path.is_file() else ()


def has_controls(run_dir: Path) -> bool:
    return (Path(run_dir) / CONTROLS_FILE).is_file()


def vocabulary_words(enabled: bool) -> tuple[str, ...]:
    """The words a new model's vocabulary must keep for a ``--controls`` run (none otherwise)."""
    return control_words() if enabled else ()
