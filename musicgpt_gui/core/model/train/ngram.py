"""An interpolated Kneser-Ney n-gram: the yardstick a trained model has to beat.

Fitted on the same token ids and the same train/validation split as the transformer, it
answers in seconds what a counting model reaches, in bits per musical element.  NLTK's
``nltk.lm.KneserNeyInterpolated`` gives the same kind of model but needs minutes to score
a Bach validation set at n = 8 (it recomputes each context's totals on every query), so
this is a short implementation with the totals counted once -- in numpy arrays, not dicts of tuples,
so that fitting all orders on POP909's millions of tokens takes seconds and grows linearly in time
and memory (bench/bench_setup.py): each order keeps its contexts as sorted 64-bit hashes and its
(context, token) counts as one sorted array, looked up with ``searchsorted`` for many positions at once.

The model (Chen & Goodman's interpolated Kneser-Ney, one discount per order)::

    P_n(w | h) = max(c(h w) - D, 0) / c(h) + D * N1+(h .) / c(h) * P_{n-1}(w | h')

where the highest order counts occurrences and every lower order counts distinct left
extensions (continuation counts); a context never seen passes the lower order through.
Order 0 is uniform over the vocabulary, so an unseen token keeps a small probability.
``D = n1 / (n1 + 2 n2)`` per order, from the number of n-grams counted once and twice.
The stream starts with ``order - 1`` padding symbols that are never predicted.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import numpy as np

from musicgpt_gui.core.jobs import JobError

PAD = -1  # left padding before the first token; never a token id
MIN_ORDER, MAX_ORDER = 2, 8
_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd: contexts hash as a polynomial in it (mod 2**64)


def _extend(hashes: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """Context hashes one token further back: ``h * M + (token + 2)`` (PAD and ids stay distinct)."""
    with np.errstate(over="ignore"):
        return hashes * _MULT + (tokens.astype(np.int64) + 2).astype(np.uint64)


@dataclass
class _Level:
    """Counts of one order: each context's total and number of token types, and each (context, token)
    pair's count, found by the context's rank in ``contexts`` times the vocabulary plus the token."""

    contexts: np.ndarray  # sorted unique context hashes
    totals: np.ndarray
    types: np.ndarray
    pairs: np.ndarray  # sorted: rank * vocab + token
    counts: np.ndarray
    discount: float
    vocab: int

    @classmethod
    def of(cls, contexts: np.ndarray, tokens: np.ndarray, vocab: int) -> "_Level":
        """One occurrence per element of ``contexts`` / ``tokens``."""
        keys, rank = np.unique(contexts, return_inverse=True)
        pairs, counts = np.unique(rank.astype(np.int64) * vocab + tokens, return_counts=True)
        owner = pairs // vocab
        n1, n2 = int(np.count_nonzero(counts == 1)), int(np.count_nonzero(counts == 2))
        return cls(
            keys,
            np.bincount(owner, weights=counts, minlength=len(keys)),
            np.bincount(owner, minlength=len(keys)).astype(np.int32),
            pairs,
            counts.astype(np.int32),
            n1 / (n1 + 2 * n2) if n1 else 0.5,
            vocab,
        )

    @classmethod
    def empty(cls, vocab: int) -> "_Level":
        none = np.zeros(0, np.uint64)
        return cls(none, np.zeros(0), np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, np.int32), 0.5, vocab)

    def _rank(self, contexts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not len(self.contexts):
            return np.zeros(len(contexts), np.int64), np.zeros(len(contexts), bool)
        rank = np.minimum(np.searchsorted(self.contexts, contexts), len(self.contexts) - 1)
        return rank, self.contexts[rank] == contexts

    def mix(self, contexts: np.ndarray, tokens: np.ndarray, lower: np.ndarray) -> np.ndarray:
        """P(token | context) at this order over ``lower``, for many positions at once; an unseen
        context passes ``lower`` through."""
        rank, known = self._rank(contexts)
        if not known.any():
            return lower
        key = rank * self.vocab + tokens
        at = np.minimum(np.searchsorted(self.pairs, key), len(self.pairs) - 1)
        count = np.where(self.pairs[at] == key, self.counts[at], 0)
        total = np.where(known, self.totals[rank], 1.0)
        mixed = (np.maximum(count - self.discount, 0.0) + self.discount * self.types[rank] * lower) / total
        return np.where(known, mixed, lower)

    def mix_all(self, context: np.uint64, lower: np.ndarray) -> np.ndarray:
        """The whole next-token distribution of one context over ``lower``."""
        rank, known = self._rank(np.array([context], np.uint64))
        if not known[0]:
            return lower
        r = int(rank[0])
        total = self.totals[r]
        out = lower * (self.discount * self.types[r] / total)
        lo, hi = np.searchsorted(self.pairs, [r * self.vocab, (r + 1) * self.vocab])
        out[self.pairs[lo:hi] - r * self.vocab] += np.maximum(self.counts[lo:hi] - self.discount, 0.0) / total
        return out


class KneserNey:
    """All orders up to ``max_order`` from one pass over the data; ``order`` picks the one in use."""

    def __init__(self, tokens: Sequence[int], vocab_size: int, max_order: int = MAX_ORDER):
        if max_order < 1:
            raise JobError(f"An n-gram needs an order of at least 1, not {max_order}.")
        self.vocab_size, self.max_order, self.order = vocab_size, max_order, max_order
        stream = self._stream(tokens)
        start = max_order - 1
        follow = stream[start:]
        context = np.zeros(len(follow), np.uint64)  # order 1: the empty context
        self.raw = [_Level.empty(vocab_size)]
        # Continuation counts of order k: distinct tokens seen before each k-gram.
        self.cont = [_Level.empty(vocab_size)]
        for k in range(1, max_order + 1):
            self.raw.append(_Level.of(context, follow, vocab_size))
            if k == max_order:
                break
            longer = _extend(context, stream[start - k : len(stream) - k])
            _, rank = np.unique(longer, return_inverse=True)
            _, first = np.unique(rank.astype(np.int64) * vocab_size + follow, return_index=True)
            self.cont.append(_Level.of(context[first], follow[first], vocab_size))
            context = longer

    def _stream(self, tokens: Iterable[int]) -> np.ndarray:
        return np.concatenate([np.full(self.max_order - 1, PAD, np.int64), np.asarray(list(tokens), np.int64)])

    def _probs(self, stream: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """P(stream[p] | what precedes it) under each order, as [order, position]."""
        follow = stream[positions]
        lower = np.full(len(positions), 1.0 / self.vocab_size)
        context = np.zeros(len(positions), np.uint64)
        out = np.empty((self.max_order, len(positions)))
        for k in range(1, self.max_order + 1):
            out[k - 1] = self.raw[k].mix(context, follow, lower)
            if k < self.max_order:
                lower = self.cont[k].mix(context, follow, lower)
                context = _extend(context, stream[positions - k])
        return out

    def _contexts(self, history: Sequence[int]) -> list[np.uint64]:
        """The hash of the context of each order 1..max_order after ``history`` (PAD before it)."""
        padded = [PAD] * self.max_order + [int(t) for t in history][-self.max_order :]
        context, out = np.zeros(1, np.uint64), []
        for k in range(1, self.max_order + 1):
            out.append(context[0])
            context = _extend(context, np.array([padded[-k]]))
        return out

    def prob(self, token: int, history: Sequence[int], order: Optional[int] = None) -> float:
        """P(token | the last order-1 tokens of history)."""
        return self.probs_by_order(token, history)[(order or self.order) - 1]

    def probs_by_order(self, token: int, history: Sequence[int]) -> list[float]:
        """P(token | history) under the model of each order 1..max_order, sharing the lower levels."""
        stream = self._stream([*list(history)[-self.max_order :], token])
        return self._probs(stream, np.array([len(stream) - 1]))[:, 0].tolist()

    def distribution(self, history: Sequence[int], order: Optional[int] = None) -> np.ndarray:
        """The next-token distribution of the model of ``order`` (default: the chosen one)."""
        order = order or self.order
        contexts = self._contexts(history)
        p = np.full(self.vocab_size, 1.0 / self.vocab_size)
        for k in range(1, order):
            p = self.cont[k].mix_all(contexts[k - 1], p)
        return self.raw[order].mix_all(contexts[order - 1], p)

    def bits_by_order(self, tokens: Sequence[int], context: Sequence[int] = ()) -> np.ndarray:
        """-log2 P of each token after the ones before it, as [order, position]."""
        stream = self._stream([*context, *tokens])
        positions = np.arange(len(stream) - len(tokens), len(stream))
        return -np.log2(self._probs(stream, positions))

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

    def keep_orders(self, highest: int) -> None:
        """Free the counts above ``highest`` (after the yardstick chose its order)."""
        del self.raw[highest + 1 :]
        del self.cont[highest:]
        self.max_order = highest


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
    model.keep_orders(best)  # the higher orders' counts are the biggest, and nothing reads them again
    return Yardstick(best, per_order, tokens_per_element, model)


def window_positions(tokens: int, starts: Sequence[int], window: int) -> np.ndarray:
    """The positions a windowed evaluation predicts: all but the first token of each window."""
    scored = np.zeros(tokens, bool)
    n = min(window, tokens)
    for s in starts:
        scored[s + 1 : s + n] = True
    return scored
