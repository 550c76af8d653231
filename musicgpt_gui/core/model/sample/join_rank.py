"""Keeping the sampled middles that lead into what follows.

At the 10-minute budget a new model reads the suffix it is given for what the prefix tells already
(the key, the texture), not for where the middle must lead (bench/results/infill-join-ahead.txt), so
its middles meet the music after them no better than chance.  Bayes' rule supplies what it cannot:
p(middle | prefix, suffix) is proportional to p(middle | prefix) x p(suffix | prefix, middle).  So
infilling samples :data:`CANDIDATES_PER_VARIATION` middles per variation asked for and keeps those
after which plain continuation finds the suffix's first bar least surprising (the join's nats),
best first.  Measured: bench/results/infill-join-rank.txt.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from musicgpt_gui.core.model.store import vocab
from musicgpt_gui.core.model.sample.cached_decoder import CachedDecoder
from musicgpt_gui.core.model.train.fim import item_step
from musicgpt_gui.core.model.sample.generation import CACHE_ROWS
from musicgpt_gui.core.music.notation import DEFAULT_BAR, SEP, bar_length, join_items

CANDIDATES_PER_VARIATION = 3


def join_head(encoder: vocab.MusicEncoder, after: list[str], before: list[str], size: int) -> list[int]:
    """Tokens of the suffix's first bar (the meter in force before it, else 4/4), at most a quarter of ``size``."""
    bar = next((b for b in map(bar_length, reversed(before)) if b), DEFAULT_BAR)
    items, now = [], Fraction(0)
    for item in after:
        bar = bar_length(item) or bar
        items.append(item)
        now += item_step(item)
        if now >= bar:
            break
    return encoder.encode(" " + join_items(items) + SEP.strip())[: size // 4] if items else []


def join_nats(decoder: CachedDecoder, prefix: list[int], middles: list[list[int]], head: list[int],
              size: int) -> np.ndarray:
    """Nats of ``head`` after ``prefix`` (the whole text before the span) and each middle, read left to
    right within ``size`` positions.

    The decoder reads rows of one length, so each row takes as much of the prefix as fills it;
    ``decoder.batch`` must be ``len(middles)``.
    """
    runs = [prefix + middle for middle in middles]
    keep = max(1, min(min(len(r) for r in runs), size - len(head)))
    rows = np.array([r[-keep:] for r in runs], dtype=np.int32)
    capacity = min(size, -(-(keep + len(head)) // CACHE_ROWS) * CACHE_ROWS)
    logits = decoder.start(rows, capacity)
    nats = np.zeros(len(middles))
    for k, token in enumerate(head):
        logits = logits - logits.max(axis=1, keepdims=True)
        nats += np.log(np.exp(logits).sum(axis=1)) - logits[:, token]
        if k + 1 < len(head):
            logits = decoder.step(np.full(len(middles), token, dtype=np.int32))
    return nats


def best_first(nats: np.ndarray, count: int) -> list[int]:
    """Indices of the ``count`` middles with the least surprising join (ties: sampled first)."""
    return [int(k) for k in np.argsort(nats, kind="stable")[:count]]
