"""Sampling an infilled middle token by token, within the positions the model was trained at.

The model sees the text around the span in the order it was trained on (:data:`fim.INFILL_ORDER`),
e.g. SPM: ``<|fim_prefix|> <|fim_suffix|> suffix <|endoftext|> <|fim_middle|> <|endoftext|> prefix``.
It reads only as many tokens as it was trained at (``Generator.context``: a new music model's
training window).  The suffix gets at most a quarter of them, cut from the right, and the prefix
most of the rest, cut from the left; once the middle fills the rest, the oldest prefix tokens make
room.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Optional

import numpy as np

from musicgpt_gui.core.jobs import CancelToken, Progress, ProgressFn
from musicgpt_gui.core.model.store import vocab
from musicgpt_gui.core.model.sample import take_rules
from musicgpt_gui.core.model.sample.cached_decoder import CachedDecoder
from musicgpt_gui.core.model.store.checkpoints import context_reason
from musicgpt_gui.core.model.train.fim import INFILL_ORDER, arrange, item_step
from musicgpt_gui.core.model.train.training_data import header_ids
from musicgpt_gui.core.model.sample.generation import CACHE_ROWS, GenerationSettings, TokenEvent, TokenFn, counted_text
from musicgpt_gui.core.model.sample.sampling import sample_token
from musicgpt_gui.core.model.steer.masker import Masker
from musicgpt_gui.core.music.notation import SEP, join_items, split_items


def elapsed(raw: str) -> Fraction:
    """How long the finished items of ``raw`` (those followed by ``,``) last, in quarter notes."""
    return sum((item_step(i) for i in split_items(counted_text(raw, "length"))), Fraction(0))


@dataclass
class Sides:
    """The tokens around the span the model sees, within ``size`` (the positions it was trained at).

    ``<|endoftext|>`` marks the start and the end of the piece, unless that side was cut.
    ``before`` is all of the text before the span as plain continuation reads it, from the piece's start.
    """

    prefix: list[int]
    suffix: list[int]
    size: int
    seen: tuple[int, int]  # tokens of the text before and after the span that fit
    total: tuple[int, int]
    before: list[int]
    pinned: list[int] = field(default_factory=list)  # a cut prefix's piece start: <|endoftext|> and declarations

    @classmethod
    def around(cls, encoder: vocab.MusicEncoder, before: list[str], after: list[str], size: int) -> "Sides":
        pre = encoder.encode(join_items(before) + SEP.strip()) if before else []
        suf = encoder.encode(" " + join_items(after)) if after else []
        keep_suf = min(len(suf), size // 4)
        keep_pre = min(len(pre), size - keep_suf - size // 4 - 6)
        pinned: list[int] = []
        if keep_pre < len(pre):  # cut: the parts' declarations stay in view, before the FIM context (as trained)
            header = header_ids(before, encoder)
            pinned = [encoder.eot, *header] if header and len(header) < keep_pre // 2 else []
            keep_pre -= len(pinned)
        prefix = ([encoder.eot] if keep_pre == len(pre) else []) + pre[len(pre) - keep_pre :]
        suffix = suf[:keep_suf] + ([encoder.eot] if keep_suf == len(suf) else [])
        return cls(prefix, suffix, size, (keep_pre, keep_suf), (len(pre), len(suf)), [encoder.eot, *pre], pinned)

    def context(self, sentinels: list[int], middle: list[int]) -> list[int]:
        """The FIM context followed by the middle so far, a quarter of ``size`` short of it: the oldest
        prefix tokens go first, then the oldest of the middle, so the suffix and the latest tokens stay in view."""
        room = self.size - len(self.suffix) - 4 - self.size // 4 - len(self.pinned)
        run = (self.prefix + middle)[-room:]
        cut = max(0, len(run) - len(middle))
        return self.pinned + arrange(INFILL_ORDER, sentinels, run[:cut], self.suffix) + run[cut:]

    def warnings(self, n_ctx: int) -> list[str]:
        if self.seen == self.total:
            return []
        return [f"The text around the span has {sum(self.total)} tokens but the model reads {self.size} at a time "
                f"({context_reason(self.size, n_ctx)}); it saw the {self.seen[0]} tokens before the span and "
                f"the {self.seen[1]} after it."]


class MiddleSampler:
    """All variations of one middle, sampled together in one batch of the cached decoder.

    When context and middle fill the trained positions, the context is rebuilt (:meth:`Sides.context`);
    a finished variation then borrows an unfinished one's tokens to keep the rows the same length.
    """

    def __init__(self, decoder: CachedDecoder, encoder: vocab.MusicEncoder, sides: Sides,
                 bound: Optional[Fraction], maskers: Optional[list[Masker]] = None, parts: int = 0) -> None:
        self.decoder, self.encoder, self.sides, self.bound = decoder, encoder, sides, bound
        self.maskers = maskers  # steering: the allowed next tokens per variation
        self.own_parts = take_rules.no_new_parts(encoder, parts) if parts else None  # the piece's parts only
        self.stop_ids = set(encoder.specials.values())
        self.sentinels = [encoder.specials[t] for t in vocab.FIM_TOKENS]
        # A bounded middle ends where the gap does, not where the model would: a model that stopped early
        # left a rest where music should be.
        self.held_back = np.array(sorted(self.stop_ids)) if bound is not None else np.array([], dtype=int)

    def run(self, settings: GenerationSettings, seed: int, on_token: Optional[TokenFn], on_progress: ProgressFn,
            cancel: CancelToken) -> tuple[list[list[int]], list[str], list[str]]:
        """(tokens, raw middles, stop reasons) of every variation."""
        count, sampling = settings.variations, settings.sampling()
        rngs = [np.random.default_rng([seed, v]) for v in range(count)]
        generated: list[list[int]] = [[] for _ in range(count)]
        raws, stops, done = [""] * count, ["length"] * count, [False] * count
        context = self.sides.context(self.sentinels, [])
        capacity = min(self.sides.size, -(-(len(context) + settings.length) // CACHE_ROWS) * CACHE_ROWS)
        logits = self.decoder.start(np.array([context] * count, dtype=np.int32), capacity)
        for i in range(settings.length):
            cancel.check()
            for v in range(count):
                if not done[v]:
                    self._sample(v, i, logits[v], sampling, rngs[v], generated, raws, stops, done, on_token)
            on_progress(Progress((i + 1) / settings.length, f"token {i + 1}/{settings.length}"))
            if all(done) or i + 1 == settings.length:
                break
            if self.decoder.length >= self.decoder.capacity:
                active = next(v for v in range(count) if not done[v])
                rows = [self.sides.context(self.sentinels, generated[active if done[v] else v]) for v in range(count)]
                logits = self.decoder.start(np.array(rows, dtype=np.int32), self.sides.size)
            else:
                last = [g[-1] if g else context[-1] for g in generated]
                logits = self.decoder.step(np.array(last, dtype=np.int32))
        return generated, raws, stops

    def _sample(self, v, i, row, sampling, rng, generated, raws, stops, done, on_token) -> None:
        allowed = np.ones(row.size, bool) if self.maskers is None else self.maskers[v].allowed()
        if self.own_parts is not None:
            allowed = allowed & ~self.own_parts.banned(raws[v])
        if self.held_back.size:
            kept = allowed.copy()
            kept[self.held_back] = False
            allowed = kept if kept.any() else allowed  # steering's last resort may still end the middle
        if not allowed.all():
            row = np.where(allowed, row, -np.inf)
        token = sample_token(row, sampling, rng)
        if self.maskers is not None:
            self.maskers[v].advance(token, self.encoder.decode([token]))
        piece = ""
        if token in self.stop_ids:
            done[v], stops[v] = True, "end"
        else:
            generated[v].append(token)
            piece = self.encoder.decode([token])
            raws[v] += piece
            if self.bound is not None and "," in piece and elapsed(raws[v]) >= self.bound:
                done[v], stops[v] = True, "beats"
        if on_token is not None:
            on_token(TokenEvent(v, i, token, piece))
