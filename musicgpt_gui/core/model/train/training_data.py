"""A run's data: the dataset splits as token streams, the validation windows and the n-gram yardstick.

The loop, the benches and the FIM tests all read a dataset the same way; this module is that one way,
the one place that decides where validation (and the yardstick scored beside it) looks, and the one
that cuts training windows (:class:`WindowCutter`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from musicgpt_gui.core import processes
from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.jobs import CancelToken, JobError, Progress, ProgressFn
from musicgpt_gui.core.model.train import fim, ngram
from musicgpt_gui.core.model.train.setup_cache import SetupCache
from musicgpt_gui.core.model.store import tf_runtime, vocab
from musicgpt_gui.core.model.train.training_types import MIN_WINDOW, TrainConfig
from musicgpt_gui.core.music import parts
from musicgpt_gui.core.music.notation import SEP, join_items, split_items
from musicgpt_gui.core.quality import report as quality

MAX_VALID_TOKENS = 16 * 1024  # validation covers this many tokens at most, whatever the window
NGRAM_SAMPLES = 8  # n-gram samples whose metrics are the counting reference
_TOKENIZERS_THREADS = "TOKENIZERS_PARALLELISM"


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


def load_data(dataset: Path, encoder: vocab.MusicEncoder, cache: Optional[SetupCache] = None,
              annotate: Optional[Callable[[str], str]] = None, annotation_key: tuple = ()) -> TrainingData:
    """The train and validation splits of ``dataset``, encoded with ``encoder`` (or read from ``cache``).

    ``annotate`` (learned controls, core/model/controls) rewrites each piece before it is encoded; the texts
    kept and the elements counted stay the plain ones, so bits per element compare with a run without it.
    ``annotation_key`` names what the annotation depends on (the run's bins), for the cache.
    """
    dataset = Path(dataset)
    train_texts = dataset_files.require_split(dataset)
    valid_path = dataset_files.split_path(dataset, dataset_files.VALID)
    valid_texts = dataset_files.read_rows(valid_path) if valid_path.is_file() else []
    what, key = ("splits", ()) if annotate is None else ("splits-controls", annotation_key)
    found = cache.arrays(what, key) if cache is not None else None
    if found is None:
        valid = encode_pieces(annotated(valid_texts, annotate), encoder)
        found = dict(train=encode_pieces(annotated(train_texts, annotate), encoder), valid=valid,
                     elements=np.asarray(sum(vocab.count_elements(t) for t in valid_texts)))
        if cache is not None:
            cache.keep_arrays(what, found, key)
    valid = found["valid"]
    return TrainingData(found["train"], valid, len(valid) - len(valid_texts), int(found["elements"]), valid_texts,
                        train_texts)


def annotated(texts: list[str], annotate: Optional[Callable[[str], str]]) -> list[str]:
    return [annotate(t) for t in texts] if annotate is not None else texts


def reference_rows(data: TrainingData, encoder: vocab.MusicEncoder, yardstick: Optional[ngram.Yardstick],
                   sample_length: int, seed: Optional[int], cache: Optional[SetupCache] = None,
                   on_progress: ProgressFn = lambda _p: None) -> dict[str, dict]:
    """Metrics of the validation pieces and of n-gram samples, the references for the samples' metrics
    (from ``cache`` when this dataset, vocabulary, sample length and seed were measured before)."""
    settings = (sample_length, seed, yardstick is not None)
    stored = cache.entry("references", settings) if cache is not None else None
    if stored is not None:
        return stored
    on_progress(Progress(0.0, "measuring the validation pieces and n-gram samples"))
    texts = []
    if yardstick is not None and yardstick.model is not None:
        rng = np.random.default_rng(seed)  # its own stream: the batches do not depend on the cache
        for _ in range(NGRAM_SAMPLES):
            tokens = yardstick.model.sample(rng, sample_length, encoder.eot, [encoder.eot])
            texts.append(encoder.decode(tokens).strip())
    rows = {label: m.as_dict() for label, m in quality.reference_metrics(data.valid_texts, texts).items()}
    if cache is not None and texts:
        cache.keep("references", rows, settings)
    return rows


@dataclass
class SetUp:
    """What a run computes before its first step: the data, the window, the yardstick and the references."""

    data: TrainingData
    window: int
    yardstick: Optional[ngram.Yardstick]
    references: Optional[dict[str, dict]]
    notes: list[str]


def sample_length(cfg: TrainConfig, window: int) -> int:
    """Tokens per sample, within the training window: a new model knows no positions past it."""
    return min(cfg.sample_length or 1, window - 1)


def set_up(cfg: TrainConfig, encoder: vocab.MusicEncoder, n_ctx: int, cache: Optional[SetupCache],
           annotate: Optional[Callable[[str], str]] = None, annotation_key: tuple = (),
           on_progress: ProgressFn = lambda _p: None, cancel: Optional[CancelToken] = None) -> SetUp:
    """Everything before step 1 that reads the dataset, each part from ``cache`` when it holds it (and kept
    there): a new model runs this beside its first weights (:func:`prefill`), and training reads it back."""
    cancel = cancel or CancelToken()
    if annotate is not None:
        on_progress(Progress(0.0, "measuring each bar for the learned controls"))
    data = load_data(cfg.dataset, encoder, cache, annotate, annotation_key)
    window = min(cfg.window, n_ctx, len(data.train) - 1)
    if window < MIN_WINDOW:
        raise JobError(
            f"The dataset is too short to train on: {len(data.train)} tokens, and one example needs at least "
            f"{MIN_WINDOW + 1}. Add more pieces to {cfg.dataset}."
        )
    notes = [f"training windows shortened to {window} tokens (the dataset is small)"] if window < cfg.window else []
    cancel.check()
    stick = yardstick(cfg, data, encoder, window, on_progress, cache)
    cancel.check()
    references = (reference_rows(data, encoder, stick, sample_length(cfg, window), cfg.seed, cache, on_progress)
                  if cfg.sample_every else None)
    return SetUp(data, window, stick, references, notes)


def prefill(cfg: TrainConfig, model_dir: Path) -> None:
    """:func:`set_up` for a new model in ``model_dir`` (its vocabulary and hparams written), into the workspace's
    set-up cache, where the run that trains it finds the work done.  Any failure is left to training, which
    computes it again and reports it."""
    try:
        cache = SetupCache(cfg.workspace.setup_cache, cfg.dataset, model_dir)
        set_up(cfg, vocab.load_encoder(model_dir), tf_runtime.read_hparams(model_dir)["n_ctx"], cache)
    except Exception:  # noqa: BLE001 -- training computes it again and says what is wrong
        return


def prefill_beside(cfg: TrainConfig, model_dir: Path, cancel: Optional[CancelToken] = None) -> Callable[[], None]:
    """Start :func:`prefill` in another process and return what waits for it (and stops it on cancel).

    A process, not a thread: encoding and measuring are pure Python, and a thread would take turns with
    TensorFlow's import instead of running beside it.  Runs with learned controls keep their bins in the run,
    so they are left to training.
    """
    if cfg.controls:
        return lambda: None
    context = processes.worker_context([__name__])
    # forked after HF tokenizers used its thread pool, the child would print a warning about it
    before = os.environ.get(_TOKENIZERS_THREADS)
    os.environ[_TOKENIZERS_THREADS] = "false"
    try:
        worker = context.Process(target=prefill, args=(cfg, Path(model_dir)), name="musicgpt set-up", daemon=True)
        worker.start()
    except (OSError, RuntimeError, ValueError):  # no process to be had: training does the set-up itself
        return lambda: None
    finally:
        if before is None:
            os.environ.pop(_TOKENIZERS_THREADS, None)
        else:
            os.environ[_TOKENIZERS_THREADS] = before

    def wait() -> None:
        while worker.is_alive():
            if cancel is not None and cancel.cancelled:
                worker.terminate()  # the cache's entries are written atomically: nothing half-written stays
            worker.join(0.2)

    return wait


def valid_starts(tokens: int, window: int) -> list[int]:
    """Where the validation windows start (the n-gram is scored on the same positions)."""
    n = min(window, tokens)
    return list(range(0, tokens - n + 1, n))[: max(1, MAX_VALID_TOKENS // n)]


def yardstick(
    cfg: TrainConfig, data: TrainingData, encoder, window: int, on_progress: ProgressFn,
    cache: Optional[SetupCache] = None,
) -> Optional[ngram.Yardstick]:
    """The n-gram on the untransposed training split, scored where the model's validation is; from ``cache``
    when this dataset, vocabulary and window were measured before (without its counts: nothing samples it)."""
    if not cfg.yardstick or len(data.valid) < 2 or not len(data.train):
        return None
    stored = cache.entry("ngram", (window,)) if cache is not None else None
    if stored is not None:
        bits = {int(order): value for order, value in stored["bits_per_token"].items()}
        return ngram.Yardstick(stored["order"], bits, stored["tokens_per_element"])
    on_progress(Progress(0.0, "fitting the n-gram yardstick"))
    scored = ngram.window_positions(len(data.valid), valid_starts(len(data.valid), window), window)
    stick = ngram.fit_yardstick(data.train, data.valid, encoder.n_vocab, data.valid_tokens_per_element, scored)
    if cache is not None:
        cache.keep("ngram", dict(order=stick.order, bits_per_token=stick.bits_per_token,
                                 tokens_per_element=stick.tokens_per_element), (window,))
    return stick


def encode_pieces(texts: list[str], encoder: vocab.MusicEncoder) -> np.ndarray:
    """Each piece followed by <|endoftext|>, as one token stream."""
    ids: list[int] = []
    for text in texts:
        ids += encoder.encode(text)
        ids.append(encoder.eot)
    return np.asarray(ids, dtype=np.int32)


def header_ids(items: list[str], encoder: vocab.MusicEncoder) -> list[int]:
    """What a window or a cut prompt keeps of a piece's start (after ``<|endoftext|>``): the declarations
    the items open with and the separator after them; empty for a one-stream piece."""
    header = parts.leading_declarations(items)
    return encoder.encode(join_items(header) + SEP.rstrip()) if header else []


class WindowCutter:
    """Training windows of the token stream: a plain slice, or (``pinned``) the piece's declarations first.

    A slice from the middle of a song rarely holds the song's start, so a model trained on plain slices
    writes for parts nobody declared.  Pinned, a window that starts after its piece's header opens with
    that header and goes on from the next bar line (the next item boundary when no bar line is near) --
    the layout a prompt has at generation, where the cut prefix keeps its declarations.  One-stream
    pieces have no header, so their windows are plain slices either way.
    """

    def __init__(
        self, data: TrainingData, encoder: vocab.MusicEncoder, window: int, layout: str, flags: Optional[tuple] = None
    ) -> None:
        self.tokens, self.window = tokens, window = data.train, window
        self.headers: list[np.ndarray] = []
        self.piece_starts = np.concatenate([[0], np.flatnonzero(tokens == encoder.eot) + 1])
        if layout == "pinned":
            for text, at in zip(data.train_texts, self.piece_starts):
                ids = np.asarray(header_ids(split_items(text), encoder), dtype=np.int32)
                # a header that does not open the piece's encoding as it stands (BPE joins) is not pinned;
                # a pinned one follows <|endoftext|>, as a cut prompt's does at generation
                opens = len(ids) and np.array_equal(tokens[at : at + len(ids)], ids)
                self.headers.append(np.concatenate([[encoder.eot], ids]).astype(np.int32) if opens else ids[:0])
        if any(len(h) for h in self.headers):
            item_cut, bar_cut = flags or fim.cut_flags(tokens, encoder)
            self.item_starts, self.bar_starts = np.flatnonzero(item_cut), np.flatnonzero(bar_cut)
        else:
            self.headers = []

    @property
    def pinned(self) -> bool:
        return bool(self.headers)

    def cut(self, start: int) -> tuple[np.ndarray, int]:
        """(header, where the stream part begins) for a window drawn at ``start``: the header, then
        ``window - len(header)`` stream tokens from there."""
        n, none = self.window, self.tokens[:0]
        if not self.headers:
            return none, start
        piece = int(np.searchsorted(self.piece_starts, start, side="right")) - 1
        header = self.headers[piece] if piece < len(self.headers) else none
        if len(header) >= n // 2 or start < self.piece_starts[piece] + len(header):
            return none, start
        begin = _next_at_least(self.bar_starts, start)
        if begin is None or begin - start > n // 4:
            begin = _next_at_least(self.item_starts, start) or start
        last = len(self.tokens) - (n - len(header))  # the latest begin that still fills the window
        if begin > last:  # near the stream's end: the last item boundary that fits, else no header
            k = int(np.searchsorted(self.item_starts, last, side="right")) - 1
            if k < 0 or self.item_starts[k] < start:
                return none, start
            begin = int(self.item_starts[k])
        if piece + 1 < len(self.piece_starts) and begin >= self.piece_starts[piece + 1] - 1:
            return none, start  # the snap reached the piece's <|endoftext|> or left it: no header
        return header, begin


def _next_at_least(sorted_positions: np.ndarray, start: int) -> Optional[int]:
    k = int(np.searchsorted(sorted_positions, start))
    return int(sorted_positions[k]) if k < len(sorted_positions) else None
