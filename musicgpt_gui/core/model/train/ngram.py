"""An interpolated Kneser-Ney n-gram: the yardstick a trained model has to beat.

Fitted on the same token ids and the same train/validation split as the transformer, it
answers in seconds what a counting model reaches, in bits per musical element.  NLTK's
``nltk.lm.KneserNeyInterpolated`` gives the same kind of model but needs minutes to score
a Bach validation set at n = 8 (it recomputes each context's totals on every query), so
this is a short implementation with the totals counted once -- in numpy arrays, not dicts of tuples,
so that fitting all orders on POP909's millions of tokens takes seconds and grows linearly in time
and memory (bench/bench_setup.py): each order keeps its contexts as sorted 64-bit hashes and its
(context, token) counts as one sorted array, looked up with ``searchsorted`` for many positions at once (in
sorted order), and each order's continuation counts come from one plain sort (:func:`_continuation`).

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
_ALL = np.uint64(2**64 - 1)
# Continuation counts pack (context, token, token before) into one 64-bit key when this many context bits are
# left (a few million contexts then collide about once); bigger vocabularies take the slower exact path.
_MIN_CONTEXT_BITS = 40


def _extend(hashes: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """Context hashes one token further back: ``(h + token + 2) * M`` (PAD and ids stay distinct; the
    product mixes every token into the top bits, which are the ones a pair key keeps)."""
    with np.errstate(over="ignore"):
        return (hashes + (tokens.astype(np.int64) + 2).astype(np.uint64)) * _MULT


@dataclass
class _Level:
    """Counts of one order.  A (context, token) pair is one 64-bit key: the context hash's top bits over
    the token's ``shift`` bits, so one sort groups the pairs by context (a context is ``key >> shift``)."""

    contexts: np.ndarray  # sorted unique contexts (hash >> shift)
    totals: np.ndarray
    types: np.ndarray
    pairs: np.ndarray  # sorted pair keys
    counts: np.ndarray
    discount: float
    shift: np.uint64
    mask: np.uint64  # the context bits this level keeps (continuation levels drop the top ones, see _continuation)

    @classmethod
    def of(cls, contexts: np.ndarray, tokens: np.ndarray, shift: np.uint64) -> "_Level":
        """One occurrence per element of ``contexts`` (hashes) / ``tokens``."""
        return cls.of_keys(np.sort(_pack(contexts, tokens, shift)), shift, _ALL)

    @classmethod
    def of_keys(cls, pairs: np.ndarray, shift: np.uint64, mask: np.uint64) -> "_Level":
        """One occurrence per element of ``pairs`` (sorted pair keys of contexts masked by ``mask``)."""
        edge = np.flatnonzero(pairs[1:] != pairs[:-1]) + 1 if len(pairs) else np.zeros(0, np.int64)
        first = np.concatenate([[0], edge]) if len(pairs) else edge
        counts = np.diff(np.append(first, len(pairs)))
        pairs = pairs[first]
        owner = pairs >> shift
        starts = np.flatnonzero(np.concatenate([[True], owner[1:] != owner[:-1]])) if len(pairs) else np.zeros(0, int)
        n1, n2 = int(np.count_nonzero(counts == 1)), int(np.count_nonzero(counts == 2))
        return cls(
            owner[starts],
            np.add.reduceat(counts, starts).astype(np.float64) if len(pairs) else np.zeros(0),
            np.diff(np.append(starts, len(pairs))).astype(np.int32),
            pairs,
            counts.astype(np.int32),
            n1 / (n1 + 2 * n2) if n1 else 0.5,
            shift,
            mask,
        )

    @classmethod
    def empty(cls, shift: np.uint64) -> "_Level":
        none = np.zeros(0, np.uint64)
        return cls(none, np.zeros(0), np.zeros(0, np.int32), none, np.zeros(0, np.int32), 0.5, shift, _ALL)

    def _rank(self, contexts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keys = (contexts & self.mask) >> self.shift
        if not len(self.contexts):
            return np.zeros(len(contexts), np.int64), np.zeros(len(contexts), bool)
        rank = np.minimum(_search(self.contexts, keys), len(self.contexts) - 1)
        return rank, self.contexts[rank] == keys

    def mix(self, contexts: np.ndarray, tokens: np.ndarray, lower: np.ndarray) -> np.ndarray:
        """P(token | context) at this order over ``lower``, for many positions at once; an unseen
        context passes ``lower`` through."""
        rank, known = self._rank(contexts)
        if not known.any():
            return lower
        key = _pack(contexts & self.mask, tokens, self.shift)
        at = np.minimum(_search(self.pairs, key), len(self.pairs) - 1)
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
        base = self.contexts[r] << self.shift
        lo, hi = np.searchsorted(self.pairs, [base, base + (np.uint64(1) << self.shift)])
        out[(self.pairs[lo:hi] - base).astype(np.int64)] += np.maximum(self.counts[lo:hi] - self.discount, 0.0) / total
        return out


def _search(haystack: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """``np.searchsorted`` for many keys, looked up in sorted order (each search then starts where the last
    ended in the cache: several times faster on millions of counts)."""
    if len(keys) < 1024:
        return np.searchsorted(haystack, keys)
    order = np.argsort(keys)
    found = np.empty(len(keys), np.int64)
    found[order] = np.searchsorted(haystack, keys[order])
    return found


def _pack(contexts: np.ndarray, tokens: np.ndarray, shift: np.uint64) -> np.ndarray:
    return ((contexts >> shift) << shift) | tokens.astype(np.uint64)


def _continuation(context: np.ndarray, follow: np.ndarray, before: np.ndarray, shift: np.uint64,
                  vocab_size: int) -> _Level:
    """The continuation counts of one order: for each (context, token), how many distinct tokens came before.

    A (context, token, token before) triple is one key -- the pair key shifted up over the token before -- so
    one plain sort finds the distinct triples, and the pairs come out sorted as their top bits.  The shift
    drops the context's top bits, which the level's ``mask`` drops at lookup too.  With too few context bits
    left (a big vocabulary), the distinct triples are found by the exact, slower argsort.
    """
    before_bits = np.uint64(int(vocab_size).bit_length())  # the token before + 1: PAD is -1
    if 64 - int(shift) - int(before_bits) < _MIN_CONTEXT_BITS:
        longer = _extend(context, before)
        _, first = np.unique(_pack(longer, follow, shift), return_index=True)
        return _Level.of(context[first], follow[first], shift)
    mask = np.uint64((1 << (64 - int(before_bits))) - 1)
    with np.errstate(over="ignore"):
        triples = (_pack(context & mask, follow, shift) << before_bits) | (before + 1).astype(np.uint64)
    triples.sort()
    distinct = triples[np.concatenate([[True], triples[1:] != triples[:-1]])] if len(triples) else triples
    return _Level.of_keys(distinct >> before_bits, shift, mask)


class KneserNey:
    """All orders up to ``max_order`` from one pass over the data; ``order`` picks the one in use."""

    def __init__(self, tokens: Sequence[int], vocab_size: int, max_order: int = MAX_ORDER):
        if max_order < 1:
            raise JobError(f"An n-gram needs an order of at least 1, not {max_order}.")
        self.vocab_size, self.max_order, self.order = vocab_size, max_order, max_order
        shift = np.uint64(max(1, int(vocab_size - 1).bit_length()))  # the token's bits in a pair key
        stream = self._stream(tokens)
        start = max_order - 1
        follow = stream[start:]
        context = np.zeros(len(follow), np.uint64)  # order 1: the empty context
        self.raw = [_Level.empty(shift)]
        # Continuation counts of order k: distinct tokens seen before each k-gram.
        self.cont = [_Level.empty(shift)]
        for k in range(1, max_order + 1):
            self.raw.append(_Level.of(context, follow, shift))
            if k == max_order:
                break
            before = stream[start - k : len(stream) - k]
            self.cont.append(_continuation(context, follow, before, shift, vocab_size))
            context = _extend(context, before)

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

    def bits_by_order(self, tokens: Sequence[int], context: Sequence[int] = (),
                      only: Optional[np.ndarray] = None) -> np.ndarray:
        """-log2 P of each token after the ones before it, as [order, position]; with ``only`` (a mask
        over ``tokens``) just those positions are scored, the rest still being their context."""
        stream = self._stream([*context, *tokens])
        positions = np.arange(len(stream) - len(tokens), len(stream))
        if only is not None:
            positions = positions[np.asarray(only, bool)]
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
    mask = np.ones(len(valid) - 1, bool) if scored is None else np.asarray(scored, bool)[1:]
    bits = model.bits_by_order(valid[1:], valid[:1], only=mask)
    per_order = {k: float(bits[k - 1].mean()) for k in orders}
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
