"""Infilling: regenerate a span of note text with the music on both sides as context.

The model sees the text around the span in the order it was trained on (core/model/train/fim.py), within
the positions it was trained at (core/model/sample/middle_sampler.py) -- the text is taken as a whole
piece, so the prefix starts one and the suffix ends one -- and samples the middle until
``<|fim_end|>`` (or ``<|endoftext|>``, or any other sentinel).

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
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Optional, Sequence

from musicgpt_gui.core.dataset.memorization import MemorizationIndex
from musicgpt_gui.core.jobs import CancelToken, JobError, Progress, ProgressFn, no_progress
from musicgpt_gui.core.model.sample import join_rank
from musicgpt_gui.core.model.train.fim import item_onsets, item_step
from musicgpt_gui.core.model.sample.middle_sampler import MiddleSampler, Sides
from musicgpt_gui.core.model.steer import keep_rhythm
from musicgpt_gui.core.model.steer import session as steer_session
from musicgpt_gui.core.model.controls import forcer as control_forcer
from musicgpt_gui.core.music.notation import DEFAULT_BAR, bar_length
from musicgpt_gui.core.model.sample.generation import (
    GenerationResult, GenerationSettings, Generator, TokenFn, Variation, counted_text,
)
from musicgpt_gui.core.music.notation import SEP, Parsed, format_duration, join_items, parse_text, split_items
from musicgpt_gui.core.music.parts import Part, parse_declaration

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
    sampled: int = 0  # middles sampled, of which the variations are the best joins (core/model/sample/join_rank.py)
    chosen: list[int] = field(default_factory=list)  # which sampled middle each variation is

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
    candidates: int = join_rank.CANDIDATES_PER_VARIATION,
) -> InfillResult:
    """Regenerate ``span`` of ``text`` ``settings.variations`` times with the loaded checkpoint: the best joins
    of ``candidates`` middles sampled per variation when music follows the span (core/model/sample/join_rank.py)."""
    settings = (settings or GenerationSettings()).validate()
    if candidates < 1:
        raise JobError(f"Sample at least 1 middle per variation kept, not {candidates}.")
    cancel = cancel or CancelToken()
    encoder = generator.encoder
    if not encoder.has_fim:
        raise JobError(f"Run '{generator.checkpoint.run_name}' has no fill-in-the-middle tokens in its vocabulary; "
                       "train a new music model (musicgpt train --new-model ... --fim 0.5) to regenerate passages.")
    items = split_items(text)
    rhythm, settings = _keep_rhythm(encoder, items, span, settings)
    prefix = text[: span.char_start] if span.start else ""
    suffix = text[span.char_end :] if span.end < span.item_count else ""
    before, after = control_forcer.around_span(generator.checkpoint.run_dir, items, span.start, span.end)  # controls
    sides = Sides.around(encoder, before, after, generator.context)
    head = join_rank.join_head(encoder, after, before, generator.context)
    count = settings.variations * (candidates if head else 1)
    seed = settings.resolved_seed()
    with generator.decoding(count, on_progress) as decoder:
        maskers = steer_session.maskers(encoder, settings.steering, join_items(items[: span.start]), count,
                                        memorization, end_ids=list(encoder.specials.values()), rhythm=rhythm)
        maskers = control_forcer.wrap(encoder, generator.checkpoint.run_dir, settings.controls,  # learned controls
                                      join_items(before), count, maskers)
        parts = parse_text(prefix).parts  # the middle's markers name the piece's parts (and no new ones)
        sampler = MiddleSampler(decoder, encoder, sides, span.gap if span.bounded else None, maskers, len(parts))
        tokens, raws, stops = sampler.run(replace(settings, variations=count), seed, on_token, on_progress, cancel)
        middles = [_middle(raw, stop, span, parts) for raw, stop in zip(raws, stops, strict=True)]
        chosen = list(range(count))
        if head:
            on_progress(Progress(1.0, f"choosing the {settings.variations} of {count} that lead into what follows"))
            read = [encoder.encode(" " + m.text + SEP.strip()) if m.text else [] for m in middles]
            nats = join_rank.join_nats(decoder, sides.before, read, head, generator.context)
            chosen = join_rank.best_first(nats, settings.variations)
    variations = []
    for i, k in enumerate(chosen):
        found = memorization.find(middles[k].items) if memorization is not None else []
        variations.append(Variation(i, tokens[k], raws[k], stops[k], middles[k], found))
    warnings = sides.warnings(generator.hparams.n_ctx) + _rhythm_warnings(settings.steering)
    return InfillResult(prefix=prefix, variations=variations, seed=seed, settings=settings,
                        checkpoint=generator.checkpoint.identity(), warnings=warnings,
                        suffix=suffix, span=span, sampled=count, chosen=chosen)


def _keep_rhythm(encoder, items: list[str], span: Span, settings: GenerationSettings
                 ) -> tuple[Optional[list], GenerationSettings]:
    """Keep rhythm's template of the selection (None without it); the middle may be as long as the selection."""
    if not settings.steering.keep_rhythm:
        return None, settings
    parts = parse_text(join_items(items[: span.end])).parts
    rhythm = keep_rhythm.template(encoder, items[span.start : span.end], parts, first=span.start == 0)
    return rhythm, replace(settings, length=max(settings.length, keep_rhythm.token_count(rhythm) + 1))


def _rhythm_warnings(steering) -> list[str]:
    if not steering.keep_rhythm or steering.without_rhythm() == steering:
        return []
    return ["Keep rhythm keeps the selection's lengths, voices and parts: the voices, shortest length, triplets, "
            "no-repeat and play-parts controls were not applied to it."]


def _middle(raw: str, stop: str, span: Span, parts: Sequence[Part] = ()) -> Parsed:
    """A sampled middle's finished items, fitted to the gap when the span was chosen in beats."""
    ends_text = stop == "end" and span.end == span.item_count  # only the piece's last item has no ","
    middle = parse_text(counted_text(raw, "end" if ends_text else "length"), parts=parts)
    return parse_text(join_items(fit_to_gap(middle.items, span.gap)), parts=parts) if span.bounded else middle


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
        elif parse_declaration(item) is not None:  # the parts the passage's markers name
            controls[item] = item
    return join_items([*controls.values(), *(items[k] for k in keep)])
