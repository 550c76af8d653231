"""Infilling: regenerate a span of note text with the music on both sides as context.

The model sees the text around the span in the order it was trained on (core/model/fim.py,
:data:`fim.INFILL_ORDER`), e.g. SPM:
``<|fim_prefix|> <|fim_suffix|> suffix <|endoftext|> <|fim_middle|> <|endoftext|> prefix``
-- the text is taken as a whole piece, so the prefix starts one and the suffix ends one --
and samples the middle until ``<|fim_end|>`` (or ``<|endoftext|>``, or any other sentinel).
The model reads only as many tokens as it was trained at (``Generator.context``: a new music
model's training window).  The suffix gets at most a quarter of them, cut from the right, and the
prefix most of the rest, cut from the left; once the middle fills the rest, the oldest prefix
tokens make room.  The text around the middle is never changed.

The result keeps the prefix and the suffix byte for byte: the new text is the original text
before the span's first item, the middle's items, then the original text from the separator
after the span's last item.

Stopping rule when the span is chosen in beats (quarter notes from the start of the text):
the gap is the removed items' total step.  A variation stops as soon as its finished items
(those followed by ``,``) reach the gap, and never before: ``<|fim_end|>``, ``<|endoftext|>`` and
the other sentinels are not sampled (a model that stopped early left a rest where music should
be).  Its middle is then fitted to the gap exactly: the item that crosses the gap's end is
shortened to end there, later items are dropped, and a middle cut short by ``length`` is padded
with a rest -- so every note of the suffix keeps its onset.
Chosen in items, the middle runs until the model ends it or ``length`` tokens.  Either way the
middle keeps its finished items only (as in training, each ends with ``,``), except when the span
runs to the end of the text, whose last item has none.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Optional

import numpy as np

from musicgpt_gui.core.dataset.memorization import MemorizationIndex
from musicgpt_gui.core.jobs import CancelToken, JobError, Progress, ProgressFn, no_progress
from musicgpt_gui.core.model import vocab
from musicgpt_gui.core.model.checkpoints import context_reason
from musicgpt_gui.core.model.fim import INFILL_ORDER, arrange, item_onsets, item_step
from musicgpt_gui.core.music.notation import DEFAULT_BAR, bar_length
from musicgpt_gui.core.model.generation import (
    CACHE_ROWS, GenerationResult, GenerationSettings, Generator, TokenEvent, TokenFn, Variation, counted_text,
)
from musicgpt_gui.core.model.sampling import sample_token
from musicgpt_gui.core.music.notation import SEP, format_duration, join_items, parse_text, split_items

MAX_REST = Fraction(16)  # longest rest item used to pad a middle (the grammar allows up to 64)


@dataclass(frozen=True)
class Span:
    """Items ``start`` .. ``end - 1`` (0-based) of a text, where they sit in it and in time."""

    start: int
    end: int
    item_count: int
    char_start: int  # first character of item ``start``
    char_end: int  # just after item ``end - 1``
    onset: Fraction  # quarter notes from the start of the text
    gap: Fraction  # the removed items' total step
    bounded: bool  # chosen in beats: the middle is fitted to ``gap``

    def record(self) -> dict[str, Any]:
        """What provenance keeps of the span."""
        return {"items": [self.start, self.end], "beats": [float(self.onset), float(self.onset + self.gap)],
                "bounded": self.bounded}


def _item_ranges(text: str) -> list[tuple[int, int]]:
    """Character range of each item (the items of :func:`split_items`, stripped)."""
    ranges = []
    for m in re.finditer(r"[^,]+", text):
        part = m.group()
        if part.strip():
            lead = len(part) - len(part.lstrip())
            ranges.append((m.start() + lead, m.start() + len(part.rstrip())))
    return ranges


def locate_items(text: str, start: int, end: int) -> Span:
    """The span of items ``start`` .. ``end - 1`` (like a Python slice)."""
    ranges = _item_ranges(text)
    if not 0 <= start < end <= len(ranges):
        raise JobError(f"The text has {len(ranges)} items; items {start}:{end} is not a span of them "
                       f"(give A:B with 0 <= A < B <= {len(ranges)}).")
    onsets = item_onsets(split_items(text))
    return Span(start, end, len(ranges), ranges[start][0], ranges[end - 1][1], onsets[start],
                onsets[end] - onsets[start], bounded=False)


def locate_beats(text: str, first: float, last: float) -> Span:
    """The items whose onset lies in [first, last) quarter notes; the middle is fitted to their length."""
    items = split_items(text)
    onsets = item_onsets(items)
    a, b = Fraction(first).limit_denominator(48), Fraction(last).limit_denominator(48)
    inside = [k for k in range(len(items)) if a <= onsets[k] < b]
    if not a < b or not inside:
        raise JobError(f"No item starts between beats {first:g} and {last:g}; the text lasts "
                       f"{float(onsets[-1]):g} beats (quarter notes).")
    span = locate_items(text, inside[0], inside[-1] + 1)
    if span.gap == 0:
        raise JobError(f"The items between beats {first:g} and {last:g} take no time; choose a longer span.")
    return replace(span, bounded=True)


@dataclass
class InfillResult(GenerationResult):
    """A :class:`GenerationResult` whose variations are middles: ``prefix`` and ``suffix`` are the text
    around the span, verbatim."""

    suffix: str = ""
    span: Optional[Span] = None

    def middle_text(self, variation: int = 0) -> str:
        return self.variations[variation].parsed.text

    def full_text(self, variation: int = 0) -> str:
        """The text with the span replaced by one variation's middle."""
        middle = self.middle_text(variation)
        if middle:
            return self.prefix + middle + self.suffix
        if self.prefix and self.suffix:  # nothing in between: one separator, not two
            return self.prefix + self.suffix.lstrip().lstrip(",").lstrip()
        return (self.prefix + self.suffix).strip().strip(",").strip()


def fit_to_gap(items: list[str], gap: Fraction) -> list[str]:
    """Items lasting exactly ``gap`` quarters (see the module's stopping rule)."""
    out, now = [], Fraction(0)
    for item in items:
        step = item_step(item)
        if now + step > gap:
            body = item.rpartition(":")[0]
            if now < gap:
                out.append(f"{body}:{format_duration(gap - now)}")
                now = gap
            break
        out.append(item)
        now += step
    while now < gap:
        rest = min(gap - now, MAX_REST)
        out.append(f"rest:{format_duration(rest)}")
        now += rest
    return out


def reached(raw: str, gap: Fraction) -> bool:
    """Do the finished items of ``raw`` (those followed by ``,``) last ``gap`` quarters or more?"""
    return sum((item_step(i) for i in split_items(counted_text(raw, "length"))), Fraction(0)) >= gap


def infill(
    generator: Generator,
    text: str,
    span: Span,
    settings: Optional[GenerationSettings] = None,
    *,
    on_token: Optional[TokenFn] = None,
    on_progress: ProgressFn = no_progress,
    cancel: Optional[CancelToken] = None,
    memorization: Optional[MemorizationIndex] = None,
) -> InfillResult:
    """Regenerate ``span`` of ``text`` ``settings.variations`` times with the loaded checkpoint."""
    settings = (settings or GenerationSettings()).validate()
    cancel = cancel or CancelToken()
    encoder = generator.encoder
    if not encoder.has_fim:
        raise JobError(f"Run '{generator.checkpoint.run_name}' has no fill-in-the-middle tokens in its vocabulary; "
                       "train a new music model (musicgpt train --new-model ... --fim 0.5) to regenerate passages.")
    items = split_items(text)
    prefix = text[: span.char_start] if span.start else ""
    suffix = text[span.char_end :] if span.end < span.item_count else ""
    sides = _Sides.around(encoder, items[: span.start], items[span.end :], generator.context)
    seed = settings.seed if settings.seed is not None else int(np.random.SeedSequence().generate_state(1)[0])
    with generator.decoding(settings.variations, on_progress) as decoder:
        tokens, raws, stops = _sample(decoder, encoder, sides, settings, seed, span, on_token, on_progress, cancel)
    variations = []
    for v, (ids, raw, stop) in enumerate(zip(tokens, raws, stops, strict=True)):
        ends_text = stop == "end" and span.end == span.item_count  # only the piece's last item has no ","
        middle = parse_text(counted_text(raw, "end" if ends_text else "length"))
        if span.bounded:
            middle = parse_text(join_items(fit_to_gap(middle.items, span.gap)))
        found = memorization.find(middle.items) if memorization is not None else []
        variations.append(Variation(v, ids, raw, stop, middle, found))
    return InfillResult(prefix=prefix, variations=variations, seed=seed, settings=settings,
                        checkpoint=generator.checkpoint.identity(), warnings=sides.warnings(generator.hparams.n_ctx),
                        suffix=suffix, span=span)


@dataclass
class _Sides:
    """The tokens around the span the model sees, within the positions it was trained at (``size``).

    The suffix keeps at most a quarter of them and the prefix most of the rest, leaving a quarter for
    the middle; ``<|endoftext|>`` marks the start and the end of the piece, unless that side was cut.
    """

    prefix: list[int]
    suffix: list[int]
    size: int
    seen: tuple[int, int]  # tokens of the text before and after the span, and how many of them fit
    total: tuple[int, int]

    @classmethod
    def around(cls, encoder: vocab.MusicEncoder, before: list[str], after: list[str], size: int) -> "_Sides":
        pre = encoder.encode(join_items(before) + SEP.strip()) if before else []
        suf = encoder.encode(" " + join_items(after)) if after else []
        keep_suf = min(len(suf), size // 4)
        keep_pre = min(len(pre), size - keep_suf - size // 4 - 6)
        prefix = ([encoder.eot] if keep_pre == len(pre) else []) + pre[len(pre) - keep_pre :]
        suffix = suf[:keep_suf] + ([encoder.eot] if keep_suf == len(suf) else [])
        return cls(prefix, suffix, size, (keep_pre, keep_suf), (len(pre), len(suf)))

    def context(self, sentinels: list[int], middle: list[int]) -> list[int]:
        """The FIM context followed by the middle so far, a quarter of ``size`` short of it: the oldest
        prefix tokens go first, then the oldest of the middle, so the suffix and the latest tokens stay in view."""
        room = self.size - len(self.suffix) - 4 - self.size // 4
        run = (self.prefix + middle)[-room:] if len(self.prefix) + len(middle) > room else self.prefix + middle
        cut = max(0, len(run) - len(middle))
        return arrange(INFILL_ORDER, sentinels, run[:cut], self.suffix) + run[cut:]

    def warnings(self, n_ctx: int) -> list[str]:
        if self.seen == self.total:
            return []
        return [f"The text around the span has {sum(self.total)} tokens but the model reads {self.size} at a time "
                f"({context_reason(self.size, n_ctx)}); it saw the {self.seen[0]} tokens before the span and "
                f"the {self.seen[1]} after it."]


def _sample(decoder, encoder, sides: _Sides, settings, seed, span, on_token, on_progress, cancel):
    """Token by token for every variation: (tokens, raw middles, stop reasons).

    When context and middle fill the trained positions, the context is rebuilt with a quarter of them free
    (:meth:`_Sides.context`); a finished variation then borrows an unfinished one's tokens to keep the rows
    the same length.
    """
    count, sampling = settings.variations, settings.sampling()
    stop_ids = set(encoder.specials.values())
    held_back = np.array(sorted(stop_ids)) if span.bounded else np.array([], dtype=int)
    sentinels = [encoder.specials[t] for t in vocab.FIM_TOKENS]
    rngs = [np.random.default_rng([seed, v]) for v in range(count)]
    generated: list[list[int]] = [[] for _ in range(count)]
    raws, stops = [""] * count, ["length"] * count
    done = [False] * count
    context = sides.context(sentinels, [])
    capacity = min(sides.size, -(-(len(context) + settings.length) // CACHE_ROWS) * CACHE_ROWS)
    logits = decoder.start(np.array([context] * count, dtype=np.int32), capacity)
    for i in range(settings.length):
        cancel.check()
        for v in range(count):
            if done[v]:
                continue
            row = logits[v]
            if held_back.size:  # the gap decides where a bounded middle ends, not the model
                row = row.copy()
                row[held_back] = -np.inf
            token = sample_token(row, sampling, rngs[v])
            piece = ""
            if token in stop_ids:
                done[v], stops[v] = True, "end"
            else:
                generated[v].append(token)
                piece = encoder.decode([token])
                raws[v] += piece
                if span.bounded and "," in piece and reached(raws[v], span.gap):
                    done[v], stops[v] = True, "beats"
            if on_token is not None:
                on_token(TokenEvent(v, i, token, piece))
        on_progress(Progress((i + 1) / settings.length, f"token {i + 1}/{settings.length}"))
        if all(done) or i + 1 == settings.length:
            break
        if decoder.length >= sides.size:
            active = next(v for v in range(count) if not done[v])
            rows = [sides.context(sentinels, generated[active if done[v] else v]) for v in range(count)]
            logits = decoder.start(np.array(rows, dtype=np.int32), sides.size)
        else:
            logits = decoder.step(np.array([g[-1] if g else context[-1] for g in generated], dtype=np.int32))
    return generated, raws, stops


def in_context(result: InfillResult, variation: int, bars: int = 1) -> str:
    """One variation's middle with ``bars`` bars before and after it: what "play in context" plays.

    The tempo, velocity and program in force where that passage starts come first, so it sounds as in the piece.
    """
    items = split_items(result.full_text(variation))
    onsets = item_onsets(items)
    first = result.span.start
    last = first + len(result.variations[variation].parsed.items)
    bar = next((b for b in map(bar_length, reversed(items[:first])) if b), DEFAULT_BAR)
    low, high = onsets[first] - bars * bar, onsets[last] + bars * bar
    keep = [k for k in range(len(items)) if low <= onsets[k] < high] or list(range(first, last))
    controls: dict[str, str] = {}
    for item in items[: keep[0]] if keep else []:
        kind, equals, _ = item.partition("=")
        if equals and kind in ("tempo", "velocity", "program"):
            controls[kind] = item
    return join_items([*controls.values(), *(items[k] for k in keep)])
