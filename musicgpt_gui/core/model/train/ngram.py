"""An interpolated Kneser-Ney n-gram: the yardstick a trained model has to beat.

Fitted on the same token ids and the same train/validation split as the transformer, it
answers in seconds what a counting model reaches, in bits per musical element.  NLTK's
``nltk.lm.KneserNeyInterpolated`` gives the same kind of model but needs minutes to score
a Bach validation set at n = 8 (it recomputes each context's totals on every query), so
this is a short implementation with the totals counted once.

The model (Chen & Goodman's interpolated Kneser-Ney, one discount per order)::

    P_n(w | h) = max(c(h w) - D, 0) / c(h) + D * N1+(h .) / c(h) * P_{n-1}(w | h')

where the highest order counts occurrences and every lower order counts distinct left
extensions (continuation counts); a context never seen passes the lower order through.
Order 0 is uniform over the vocabulary, so an unseen token keeps a small probability.
``D = n1 / (n1 + 2 n2)`` per order, from the number of n-grams counted once and twice.
The stream starts with ``order - 1`` padding symbols that are never predicted.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

import numpy as np

from musicgpt_gui.core.jobs import JobError

PAD = -1  # left padding before the first token; never a token id
MIN_ORDER, MAX_ORDER = 2, 8

_Table = dict[tuple[int, ...], dict[int, int]]


@dataclass
class _Level:
    """Counts of one order: context -> {token: count}, with each context's total and types."""

    followers: _Table
    discount: float
    totals: dict[tuple[int, ...], tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, followers: _Table) -> "_Level":
        histogram = defaultdict(int)
        totals = {}
        for ctx, counts in followers.items():
            totals[ctx] = (sum(counts.values()), len(counts))
            for c in counts.values():
                if c <= 2:
                    histogram[c] += 1
        n1, n2 = histogram[1], histogram[2]
        discount = n1 / (n1 + 2 * n2) if n1 else 0.5
        return cls(followers, discount, totals)

    def mix(self, ctx: tuple[int, ...], token: int, lower: float) -> float:
        total = self.totals.get(ctx)
        if total is None:
            return lower
        count = self.followers[ctx].get(token, 0)
        return (max(count - self.discount, 0.0) + self.discount * total[1] * lower) / total[0]

    def mix_all(self, ctx: tuple[int, ...], lower: np.ndarray) -> np.ndarray:
        total = self.totals.get(ctx)
        if total is None:
            return lower
        out = lower * (self.discount * total[1] / total[0])
        counts = self.followers[ctx]
        ids = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        values = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        out[ids] += np.maximum(values - self.discount, 0.0) / total[0]
        return out


class KneserNey:
    """All orders up to ``max_order`` from one pass over the data; ``order`` picks the one in use."""

    def __init__(self, tokens: Sequence[int], vocab_size: int, max_order: int = MAX_ORDER):
        if max_order < 1:
            raise JobError(f"An n-gram needs an order of at least 1, not {max_order}.")
        self.vocab_size, self.max_order, self.order = vocab_size, max_order, max_order
        stream = [PAD] * (max_order - 1) + [int(t) for t in tokens]
        start = max_order - 1
        raw: list[_Table] = [defaultdict(lambda: defaultdict(int)) for _ in range(max_order + 1)]
        for i in range(start, len(stream)):
            token = stream[i]
            for k in range(1, max_order + 1):
                raw[k][tuple(stream[i - k + 1 : i])][token] += 1
        self.raw = [_Level.of({})] + [_Level.of(table) for table in raw[1:]]
        # Continuation counts of order k: distinct tokens seen before each k-gram.
        self.cont = [_Level.of({})]
        for k in range(1, max_order):
            table: _Table = defaultdict(lambda: defaultdict(int))
            for ctx, counts in raw[k + 1].items():
                for token in counts:
                    table[ctx[1:]][token] += 1
            self.cont.append(_Level.of(table))

    def _context(self, history: Sequence[int], k: int) -> tuple[int, ...]:
        if k <= 1:
            return ()
        ctx = tuple(history[-(k - 1) :])
        return (PAD,) * (k - 1 - len(ctx)) + ctx

    def prob(self, token: int, history: Sequence[int], order: Optional[int] = None) -> float:
        """P(token | the last order-1 tokens of history)."""
        return self.probs_by_order(token, history)[(order or self.order) - 1]

    def probs_by_order(self, token: int, history: Sequence[int]) -> list[float]:
        """P(token | history) under the model of each order 1..max_order, sharing the lower levels."""
        lower = 1.0 / self.vocab_size
        out = []
        for k in range(1, self.max_order + 1):
            ctx = self._context(history, k)
            out.append(self.raw[k].mix(ctx, token, lower))
            if k < self.max_order:
                lower = self.cont[k].mix(ctx, token, lower)
        return out

    def distribution(self, history: Sequence[int], order: Optional[int] = None) -> np.ndarray:
        """The next-token distribution of the model of ``order`` (default: the chosen one)."""
        order = order or self.order
        p = np.full(self.vocab_size, 1.0 / self.vocab_size)
        for k in range(1, order):
            p = self.cont[k].mix_all(self._context(history, k), p)
        return self.raw[order].mix_all(self._context(history, order), p)

    def bits_by_order(self, tokens: Sequence[int], context: Sequence[int] = ()) -> np.ndarray:
        """-log2 P of each token after the ones before it, as [order, position]."""
        history = list(context)
        out = np.empty((self.max_order, len(tokens)))
        for i, token in enumerate(tokens):
            out[:, i] = [-math.log2(p) for p in self.probs_by_order(int(token), history[-self.max_order :])]
            history.append(int(token))
        return out

    def sample(self, rng: np.random.Generator, length: int, stop: Optional[int] = None,
               history: Iterable[int] = ()) -> list[int]:
        """``length`` tokens drawn from the chosen order, ending early after ``stop``."""
        history = list(history)
        out: list[int] = []
        for _ in range(length):
            p = self.distribution(history[-self.max_order :])
            token = int(rng.choice(self.vocab_size, p=p / p.sum()))
            if token == stop:
                break
            out.append(token)
            history.append(token)
        return out


@dataclass
class Yardstick:
    """The best order on validation and what each order reached (bits per token and per element)."""

    order: int
    bits_per_token: dict[int, float]
    tokens_per_element: Optional[float]
    model: Optional[KneserNey] = None

    @property
    def bits_per_element(self) -> Optional[float]:
        return self.element_bits(self.order)

    def element_bits(self, order: int) -> Optional[float]:
        ratio = self.tokens_per_element
        return self.bits_per_token[order] * ratio if ratio else None

    def as_dict(self) -> dict:
        """What history.json keeps: the chosen order, its bits, and every order's bits per element."""
        return {
            "order": self.order,
            "bits_per_token": self.bits_per_token[self.order],
            "bits_per_element": self.bits_per_element,
            "by_order": {str(k): self.element_bits(k) or self.bits_per_token[k] for k in self.bits_per_token},
        }


def fit_yardstick(train: Sequence[int], valid: Sequence[int], vocab_size: int, tokens_per_element: Optional[float],
                  scored: Optional[np.ndarray] = None, orders: range = range(MIN_ORDER, MAX_ORDER + 1)) -> Yardstick:
    """Fit every order on ``train`` and keep the one with the fewest bits on ``valid``.

    ``scored`` marks the validation positions to average over (the ones the transformer's
    validation predicts); by default every token after the first.
    """
    if len(valid) < 2:
        raise JobError("The n-gram yardstick needs at least two validation tokens.")
    model = KneserNey(train, vocab_size, max(orders))
    bits = model.bits_by_order(valid[1:], valid[:1])
    mask = np.ones(len(valid) - 1, bool) if scored is None else np.asarray(scored, bool)[1:]
    per_order = {k: float(bits[k - 1][mask].mean()) for k in orders}
    best = min(per_order, key=per_order.__getitem__)
    model.order = best
    return Yardstick(best, per_order, tokens_per_element, model)


def window_positions(tokens: int, starts: Sequence[int], window: int) -> np.ndarray:
    """The positions a windowed evaluation predicts: all but the first token of each window."""
    scored = np.zeros(tokens, bool)
    n = min(window, tokens)
    for s in starts:
        scored[s + 1 : s + n] = True
    return scored
