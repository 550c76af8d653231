"""Attention in musical terms: per-head pattern scores, head thumbnails, one element's row or column.

Everything works on the pooled matrices ``[layers, heads, N, N]`` (one row and column per
musical element, rows summing to 1).  A head's pattern scores are mean attention weights:

* ``previous`` -- to the element just before,
* ``pitch class`` -- to earlier elements sounding a pitch class of the attending note or chord
  (over the elements that have such an earlier one),
* ``bar start`` -- to the first note, chord or rest of the attending element's bar,
* ``start`` -- to the first element of the window (``<|endoftext|>`` when the text starts there).

The strongest pattern labels the head.  Strength is the score over its chance level (the
score of uniform causal attention on the same text), because a pattern with many targets
(all same-pitch-class notes) scores high even for a head that looks everywhere alike.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np

from musicgpt_gui.core.atomic_file import atomic_file
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.inspect.attention import AttentionResult, PooledAttention
from musicgpt_gui.core.model.inspect.rollout import attention_rollout, pooled_rollout
from musicgpt_gui.core.viz.element_layout import ElementLayout, element_layout

PATTERNS = ("previous", "pitch class", "bar start", "start")
HEAD_REDUCTIONS = ("mean", "max")
THUMBNAIL = 48
Head = Union[int, str]  # a head index, or "mean"/"max" over the heads


@dataclass
class HeadSummary:
    scores: np.ndarray  # [layers, heads, len(PATTERNS)]
    chance: np.ndarray  # [len(PATTERNS)]: the scores of uniform causal attention
    thumbnails: np.ndarray  # [layers, heads, s, s] in 0..1 (see thumbnails())

    def lift(self, layer: int, head: int) -> np.ndarray:
        """Each pattern's score over its chance level (0 where the text offers no target)."""
        return np.divide(self.scores[layer, head], self.chance, out=np.zeros(len(PATTERNS)), where=self.chance > 0)

    def strongest(self, layer: int, head: int) -> int:
        return int(np.argmax(self.lift(layer, head)))

    def label(self, layer: int, head: int) -> str:
        """The strongest pattern, its score and its lift over chance, e.g. ``'previous\n.62 · ×4.1 chance'``."""
        k = self.strongest(layer, head)
        score = f"{self.scores[layer, head, k]:.2f}".lstrip("0")
        return f"{PATTERNS[k]}\n{score} · ×{self.lift(layer, head)[k]:.1f} chance"


@dataclass
class AttentionView:
    """Everything the musical views draw, computed off the GUI thread."""

    pooled: PooledAttention
    layout: ElementLayout
    summary: HeadSummary
    rollout: Optional[np.ndarray] = None  # token-level [T, T]
    pooled_rollout: Optional[np.ndarray] = None  # per element [N, N]

    def matrix(self, layer: Optional[int], head: Head = "mean") -> np.ndarray:
        """The pooled ``[N, N]`` matrix of one layer and head; ``layer=None`` is the rollout."""
        if layer is None:
            if self.pooled_rollout is None:
                raise JobError("The rollout was not computed.")
            return self.pooled_rollout
        return head_matrix(self.pooled.attention, layer, head)


def build_view(result: AttentionResult, pooled: PooledAttention, *, with_rollout: bool = True) -> AttentionView:
    layout = element_layout(pooled.items)
    view = AttentionView(pooled, layout, head_summary(pooled.attention, layout))
    if with_rollout:
        view.rollout = attention_rollout(result.attention)
        view.pooled_rollout = pooled_rollout(result.tokens, view.rollout)
    return view


def head_matrix(attention: np.ndarray, layer: int, head: Head = "mean") -> np.ndarray:
    """``attention[layer, head]``, or the mean or maximum over the layer's heads."""
    if not 0 <= layer < attention.shape[0]:
        raise JobError(f"The model has layers 0..{attention.shape[0] - 1}; there is no layer {layer}.")
    if head == "mean":
        return attention[layer].mean(axis=0)
    if head == "max":
        return attention[layer].max(axis=0)
    if not isinstance(head, (int, np.integer)) or not 0 <= head < attention.shape[1]:
        raise JobError(f"The model has heads 0..{attention.shape[1] - 1} (or mean, max); there is no head {head}.")
    return attention[layer, head]


def selection_weights(matrix: np.ndarray, element: int, *, reverse: bool = False) -> np.ndarray:
    """What ``element`` attends to (its row, earlier elements), or with ``reverse`` which later
    elements attend to it (its column); zero elsewhere."""
    if reverse:
        out = matrix[:, element].copy()
        out[:element] = 0.0
    else:
        out = matrix[element].copy()
        out[element + 1 :] = 0.0
    return out


def pattern_masks(layout: ElementLayout) -> tuple[np.ndarray, np.ndarray]:
    """``[len(PATTERNS), N, N]`` target masks and, per pattern, which rows count (``[P, N]``)."""
    n = len(layout.labels)
    masks = np.zeros((len(PATTERNS), n, n), dtype=bool)
    rows = np.zeros((len(PATTERNS), n), dtype=bool)
    idx = np.arange(1, n)
    masks[0, idx, idx - 1] = True
    rows[0, 1:] = True
    pcs = np.array(layout.pitch_classes(), dtype=np.int64)
    earlier = np.tril(np.ones((n, n), dtype=bool), k=-1)
    masks[1] = ((pcs[:, None] & pcs[None, :]) != 0) & earlier
    rows[1] = masks[1].any(axis=1)
    firsts = np.array(layout.bar_firsts(), dtype=np.int64)
    has_first = (firsts >= 0) & (firsts < np.arange(n))
    masks[2, np.nonzero(has_first)[0], firsts[has_first]] = True
    rows[2] = has_first
    masks[3, 1:, 0] = True
    rows[3, 1:] = True
    return masks, rows


def pattern_scores(attention: np.ndarray, layout: ElementLayout) -> np.ndarray:
    """Mean attention of every head to each pattern's targets: ``[layers, heads, len(PATTERNS)]``."""
    masks, rows = pattern_masks(layout)
    scores = np.zeros(attention.shape[:2] + (len(PATTERNS),), dtype=np.float64)
    for p in range(len(PATTERNS)):
        if rows[p].any():
            per_row = np.einsum("lhij,ij->lhi", attention, masks[p].astype(attention.dtype))
            scores[..., p] = per_row[..., rows[p]].mean(axis=-1)
    return scores


def uniform_attention(n: int) -> np.ndarray:
    """Causal attention spread evenly: row i gives 1/(i+1) to each element up to itself."""
    return np.tril(np.ones((n, n))) / np.arange(1, n + 1)[:, None]


def thumbnails(attention: np.ndarray, size: int = THUMBNAIL) -> np.ndarray:
    """Each head's matrix shrunk to at most ``size`` × ``size`` (block means), in 0..1.

    Every row is first scaled to its own maximum, so late rows (whose weights are spread over
    many elements) show their pattern as clearly as the first ones."""
    n = attention.shape[-1]
    peaks = attention.max(axis=-1, keepdims=True)
    relative = attention / np.where(peaks > 0, peaks, 1.0)
    edges = np.unique(np.linspace(0, n, min(size, n) + 1).astype(int))[:-1]
    small = np.add.reduceat(np.add.reduceat(relative, edges, axis=-1), edges, axis=-2)
    counts = np.diff(np.append(edges, n))
    small = small / counts[:, None] * counts[None, :]
    peak = small.max(axis=(-2, -1), keepdims=True)
    return (small / np.where(peak > 0, peak, 1.0)).astype(np.float32)


def head_summary(attention: np.ndarray, layout: ElementLayout) -> HeadSummary:
    chance = pattern_scores(uniform_attention(attention.shape[-1])[None, None], layout)[0, 0]
    return HeadSummary(pattern_scores(attention, layout), chance, thumbnails(attention))


def write_matrix_csv(path: Path, labels: list[str], matrix: np.ndarray) -> Path:
    """The pooled matrix with element labels: one row per attending element, one column per attended one."""
    path = Path(path)
    with atomic_file(path) as fh:
        writer = csv.writer(fh)
        writer.writerow(["element"] + labels)
        for label, row in zip(labels, matrix):
            writer.writerow([label] + [f"{w:.6g}" for w in row])
    return path
