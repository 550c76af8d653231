"""Pieces spread evenly over a collection, up to a size: how set-up work that only needs a fair sample
(BPE merges, reference metrics) stays bounded however large the dataset grows."""
from __future__ import annotations

from typing import Sequence


def spread_pieces(texts: Sequence[str], limit: int) -> list[str]:
    """Pieces spread evenly over ``texts``, at most about ``limit`` characters in all (all of them when they fit)."""
    total = sum(len(t) for t in texts)
    if total <= limit:
        return list(texts)
    keep = max(1, int(len(texts) * limit / total))
    stride = len(texts) / keep
    return [texts[int(i * stride)] for i in range(keep)]
