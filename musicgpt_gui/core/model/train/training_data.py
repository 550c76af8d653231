"""A run's data: the dataset splits as token streams, the validation windows and the n-gram yardstick.

The loop, the benches and the FIM tests all read a dataset the same way; this module is that one way,
and the one place that decides where validation (and the yardstick scored beside it) looks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.jobs import Progress, ProgressFn
from musicgpt_gui.core.model.train import ngram
from musicgpt_gui.core.model.store import vocab
from musicgpt_gui.core.model.train.training_types import TrainConfig

MAX_VALID_TOKENS = 16 * 1024  # validation covers this many tokens at most, whatever the window


@dataclass
class TrainingData:
    """A dataset's splits as token streams, with what validation needs to score in bits per element."""

    train: np.ndarray
    valid: np.ndarray
    valid_tokens: int  # <|endoftext|> markers aside
    valid_elements: int
    valid_texts: list[str] = field(default_factory=list)
    train_texts: list[str] = field(default_factory=list)

    @property
    def valid_tokens_per_element(self) -> Optional[float]:
        return self.valid_tokens / self.valid_elements if self.valid_elements else None


def load_data(dataset: Path, encoder: vocab.MusicEncoder, annotate: Optional[Callable[[str], str]] = None
              ) -> TrainingData:
    """The train and validation splits of ``dataset``, encoded with ``encoder``.

    ``annotate`` (learned controls, core/model/controls) rewrites each piece before it is encoded; the texts
    kept and the elements counted stay the plain ones, so bits per element compare with a run without it.
    """
    dataset = Path(dataset)
    train_texts = dataset_files.require_split(dataset)
    valid_path = dataset_files.split_path(dataset, dataset_files.VALID)
    valid_texts = dataset_files.read_rows(valid_path) if valid_path.is_file() else []
    valid = encode_pieces(annotated(valid_texts, annotate), encoder)
    elements = sum(vocab.count_elements(t) for t in valid_texts)
    return TrainingData(encode_pieces(annotated(train_texts, annotate), encoder), valid,
                        len(valid) - len(valid_texts), elements, valid_texts, train_texts)


def annotated(texts: list[str], annotate: Optional[Callable[[str], str]]) -> list[str]:
    return [annotate(t) for t in texts] if annotate is not None else texts


def valid_starts(tokens: int, window: int) -> list[int]:
    """Where the validation windows start (the n-gram is scored on the same positions)."""
    n = min(window, tokens)
    return list(range(0, tokens - n + 1, n))[: max(1, MAX_VALID_TOKENS // n)]


def yardstick(
    cfg: TrainConfig, data: TrainingData, encoder, window: int, on_progress: ProgressFn
) -> Optional[ngram.Yardstick]:
    """The n-gram on the untransposed training split, scored where the model's validation is."""
    if not cfg.yardstick or len(data.valid) < 2 or not len(data.train):
        return None
    on_progress(Progress(0.0, "fitting the n-gram yardstick"))
    scored = ngram.window_positions(len(data.valid), valid_starts(len(data.valid), window), window)
    return ngram.fit_yardstick(data.train, data.valid, encoder.n_vocab, data.valid_tokens_per_element, scored)


def encode_pieces(texts: list[str], encoder: vocab.MusicEncoder) -> np.ndarray:
    """Each piece followed by <|endoftext|>, as one token stream."""
    ids: list[int] = []
    for text in texts:
        ids += encoder.encode(text)
        ids.append(encoder.eot)
    return np.asarray(ids, dtype=np.int32)
