"""Next-token sampling in numpy: temperature, top-k and top-p (nucleus).

Sampling happens in Python rather than inside the TensorFlow graph so that each token can be
streamed, cancelled between tokens, and reproduced from a seed with numpy's generator
(independent of TensorFlow's op-level seeds).  The filters follow gpt-2-simple's
``sample.top_k_logits`` / ``top_p_logits``: top-p wins when both are set.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musicgpt_gui.core.jobs import JobError


@dataclass(frozen=True)
class SamplingSettings:
    """``temperature`` 0 means greedy; ``top_k`` 0 and ``top_p`` 0 mean no truncation."""

    temperature: float = 0.8
    top_k: int = 0
    top_p: float = 0.0

    def validate(self) -> "SamplingSettings":
        if not self.temperature >= 0:
            raise JobError(f"Temperature must be 0 or more, not {self.temperature}.")
        if self.top_k < 0:
            raise JobError(f"Top-k must be 0 (off) or a positive number of tokens, not {self.top_k}.")
        if not 0.0 <= self.top_p <= 1.0:
            raise JobError(f"Top-p must be between 0 (off) and 1, not {self.top_p}.")
        return self


def filter_logits(logits: np.ndarray, top_k: int = 0, top_p: float = 0.0) -> np.ndarray:
    """Set every logit outside the top-k / nucleus to -inf (a copy; 1-D input)."""
    out = np.asarray(logits, dtype=np.float64).copy()
    if top_p > 0.0:
        order = np.argsort(-out, kind="stable")
        probs = _softmax(out[order])
        before = np.cumsum(probs) - probs  # mass of the tokens ranked above each one
        keep = order[before < top_p]
        mask = np.ones_like(out, dtype=bool)
        mask[keep] = False
        out[mask] = -np.inf
    elif 0 < top_k < out.size:
        kth = np.partition(out, -top_k)[-top_k]
        out[out < kth] = -np.inf
    return out


def sample_token(logits: np.ndarray, settings: SamplingSettings, rng: np.random.Generator) -> int:
    """Draw one token id from 1-D ``logits`` under ``settings``."""
    if settings.temperature == 0:
        return int(np.argmax(logits))
    scaled = np.asarray(logits, dtype=np.float64) / settings.temperature
    cdf = np.cumsum(_softmax(filter_logits(scaled, settings.top_k, settings.top_p)))
    cdf /= cdf[-1]
    # The draw rng.choice(size, p=probs) makes, without its checks of p (a third of the time per token).
    return int(np.searchsorted(cdf, rng.random(), side="right"))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - np.max(x))
    return e / e.sum()
