"""Attention rollout (Abnar & Zuidema, 2020): how much each token draws on each earlier token
through all layers, counting the residual connection as half of every layer's mixing.

For each layer l, ``Ã_l = 0.5 · mean_heads(A_l) + 0.5 · I`` with rows renormalised to sum to 1;
the rollout is ``Ã_L · … · Ã_1``.  Rows stay distributions and the result stays causal.
"""
from __future__ import annotations

import numpy as np

from musicgpt_gui.core.model.inspect.attention import pool_items


def layer_mixing(layer_attention: np.ndarray) -> np.ndarray:
    """``Ã`` of one layer from its weights ``[heads, T, T]``, in float64."""
    t = layer_attention.shape[-1]
    mixed = 0.5 * layer_attention.mean(axis=0, dtype=np.float64) + 0.5 * np.eye(t)
    return mixed / mixed.sum(axis=-1, keepdims=True)


def attention_rollout(attention: np.ndarray) -> np.ndarray:
    """Token-level rollout ``[T, T]`` of weights ``[layers, heads, T, T]``."""
    t = attention.shape[-1]
    rolled = np.eye(t)
    for layer_attention in attention:
        rolled = layer_mixing(layer_attention) @ rolled
    return rolled.astype(np.float32)


def pooled_rollout(tokens: list[str], rolled: np.ndarray) -> np.ndarray:
    """The rollout per musical element ``[N, N]``, pooled like the attention (columns summed, rows averaged)."""
    return pool_items(tokens, rolled[None, None]).attention[0, 0]
