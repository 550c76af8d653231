"""Takes written a piece at a time, each piece one generation call after everything written before it.

- :func:`form_takes`: a form's sections (steer/form.py): each new letter generated once, each returning letter
  its first section again.
- :func:`checked_takes`: bar by bar under learned controls, each bar measured as it closes, and a bar that misses
  the asked-for bins, or after which the asked-for key no longer leads the take's key estimate, drawn again (up
  to ``redraws`` times; the bar that met the most is kept).  A model trained for 10 CPU minutes puts about 6
  bars in 10 in the asked-for bin by itself (bench/results/controls.txt); a user who asks for a density wants
  that density, so the check makes up what the learning has not yet.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from musicgpt_gui.core.dataset.memorization import MemorizationIndex
from musicgpt_gui.core.jobs import CancelToken, JobError, ProgressFn, no_progress, sub_progress
from musicgpt_gui.core.model.controls.attributes import (
    KEY_WINDOW,
    bar_values,
    clock_after,
    key_margin_since,
    next_bar,
)
from musicgpt_gui.core.model.controls.bins import BINNED, ControlBins
from musicgpt_gui.core.model.controls.request import ControlRequest
from musicgpt_gui.core.model.sample.generation import (
    GenerationResult,
    GenerationSettings,
    Generator,
    TokenEvent,
    TokenFn,
    Variation,
)
from musicgpt_gui.core.model.steer.form import Form, first_bars, write_form
from musicgpt_gui.core.music.notation import join_items, parse_text, split_items

MAX_REDRAWS = 8
BAR_BUDGET = 64  # tokens of the first call for a bar; later calls take 1.5 times the last bar's, within these
MIN_BAR_BUDGET, MAX_BAR_BUDGET = 24, 160
KEY_LEAD = 0.1  # the asked key's lead in correlation that ends the redraws: a bare lead is lost to the next bar


@dataclass
class _Writer:
    """One variation's generation calls: each with its own seed drawn from the take's, streamed as the variation."""

    generator: Generator
    settings: GenerationSettings
    seed: int
    variation: int
    memorization: Optional[MemorizationIndex]
    on_token: Optional[TokenFn]
    on_progress: ProgressFn
    cancel: Optional[CancelToken]
    calls: list[GenerationResult] = field(default_factory=list)

    def write(self, text: str, call: int, **changes) -> GenerationResult:
        stream = int(np.random.SeedSequence([self.seed, self.variation, call]).generate_state(1)[0])
        one = self.generator.generate(
            text, replace(self.settings, variations=1, seed=stream, **changes), memorization=self.memorization,
            on_token=_as_variation(self.on_token, self.variation), on_progress=self.on_progress, cancel=self.cancel)
        self.calls.append(one)
        return one

    def take(self, items: list[str]) -> Variation:
        """The variation of ``items`` (after the prefix), with the tokens and memorized runs of every call."""
        parsed = parse_text(join_items(items), parts=parse_text(self.calls[0].prefix).parts)
        tokens = [t for one in self.calls for t in one.variations[0].tokens]
        stop = self.calls[-1].variations[0].stop_reason
        return Variation(self.variation, tokens, join_items(items), stop, parsed,
                         [run for one in self.calls for run in one.variations[0].memorized])


def _as_variation(on_token: Optional[TokenFn], variation: int) -> Optional[TokenFn]:
    """``on_token`` for one call's only variation, told as ``variation``."""
    if on_token is None:
        return None
    return lambda event: on_token(TokenEvent(variation, event.index, event.token, event.text))


def _takes(generator, settings, write_one, memorization, on_token, on_progress, cancel, **extra):
    """Each variation by ``write_one(writer) -> (items, per-variation detail)`` (at least one call each), as one
    result."""
    seed, count = settings.resolved_seed(), settings.variations
    writers, variations, details = [], [], []
    for v in range(count):
        writer = _Writer(generator, settings, seed, v, memorization, on_token,
                         sub_progress(on_progress, v / count, (v + 1) / count), cancel)
        items, detail = write_one(writer)
        writers.append(writer)
        variations.append(writer.take(items))
        details.append(detail)
    warnings: list[str] = []
    for one in (one for w in writers for one in w.calls):
        warnings += [w for w in one.warnings if w not in warnings]
    first = writers[0].calls[0]
    return GenerationResult(first.prefix, variations, seed, settings, first.checkpoint, warnings, **extra), details


def form_takes(generator: Generator, prefix: str, settings: GenerationSettings, form: Form, *,
               memorization: Optional[MemorizationIndex] = None, on_token: Optional[TokenFn] = None,
               on_progress: ProgressFn = no_progress, cancel: Optional[CancelToken] = None) -> GenerationResult:
    """Each variation written as ``form``'s sections, each call under ``settings``."""
    result, sections = _takes(
        generator, settings,
        lambda writer: write_form(form, prefix, lambda text, call: writer.write(text, call).variations[0].parsed.items),
        memorization, on_token, on_progress, cancel, form=form)
    result.sections = sections
    return result


def bar_hits(bins: ControlBins, request: ControlRequest, start: int, text: str) -> tuple[int, int]:
    """(asked-for bins the last complete bar of ``text`` lands in, bins asked for it); the take's bars are
    numbered from ``start`` (the first bar it writes a control item for), as the request counts them."""
    bars = bar_values(text, complete_only=True)
    if not bars or bars[-1].index < start:
        return 0, 0
    last, hits, asked = bars[-1], 0, 0
    for name in BINNED:
        want = request.value(name, last.index - start)
        if want is not None:
            asked += 1
            hits += bins.bin(name, last.value(name)) == want
    for part in request.asked_parts():
        mine = last.parts.get(part)
        for name in BINNED:
            want = request.part_value(part, name, last.index - start)
            if want is not None:
                asked += 1
                hits += mine is not None and bins.bin(name, mine.value(name), part) == want
    return hits, asked


def key_judge(request: ControlRequest, start: int, text: str, bar_no: int) -> Optional[float]:
    """How far the key asked for the bar that ``text`` just closed leads the key estimate of the take's notes
    since that key was first asked (the whole take when one key is asked); None when no key is asked or no
    pitched note sounds yet.  The goal is the take's own key (issue 26), so a bar is judged by what it does to
    the whole, not by itself: one bar of a cadence rarely names its key."""
    bar = start + bar_no
    windows = sum(1 for b in range(start, bar + 1) if b % KEY_WINDOW == 0)
    key = request.value("key", max(0, windows - 1))
    if key is None:
        return None
    since = start if len(set(request.key)) == 1 else max(start, bar - bar % KEY_WINDOW)
    return key_margin_since(text, clock_after(split_items(text)).span(since)[0], key)


def check_redraws(redraws: int) -> None:
    if not 0 <= redraws <= MAX_REDRAWS:
        raise JobError(f"Redraw a bar 0 to {MAX_REDRAWS} times, not {redraws}.")


def checked_takes(generator: Generator, prefix: str, settings: GenerationSettings, bins: ControlBins,
                  redraws: int, *, memorization: Optional[MemorizationIndex] = None,
                  on_token: Optional[TokenFn] = None, on_progress: ProgressFn = no_progress,
                  cancel: Optional[CancelToken] = None) -> GenerationResult:
    """Each variation written bar by bar, ``settings.length`` tokens in all: a bar that misses the asked-for bins
    (density, polyphony, pitch), or after which the asked-for key no longer leads the take's key estimate, is
    drawn again up to ``redraws`` times, and the one that met the most is kept (ties: the key's lead)."""
    check_redraws(redraws)
    request = settings.controls

    def write_one(writer: _Writer) -> tuple[list[str], list[int]]:
        head, items, draws = split_items(prefix), [], []
        bar, closed, ended = [], True, False
        start = next_bar(head)
        used, budget, call = 0, BAR_BUDGET, 0
        while used < settings.length:
            so_far = join_items([*head, *items])
            bar_no = next_bar([*head, *items]) - start
            windows = sum(1 for b in range(start, start + bar_no) if b % KEY_WINDOW == 0)
            asked = request.tail(bar_no, windows)
            best: Optional[tuple[tuple[int, float], list[str], int, bool, bool]] = None
            tries = 0
            while tries <= redraws:
                tries += 1
                one = writer.write(so_far, call, length=min(budget, settings.length - used), controls=asked)
                call += 1
                more, tokens = one.variations[0].parsed.items, len(one.variations[0].tokens)
                ended = one.variations[0].stop_reason == "end"
                bar, closed = first_bars(so_far, more, 1)
                text = join_items([*head, *items, *bar])
                hits, wanted = bar_hits(bins, request, start, text) if closed else (0, 0)
                margin = key_judge(request, start, text, bar_no) if closed else None
                key_met = margin is None or margin > KEY_LEAD
                score = (hits + key_met, margin or 0.0) if closed else (-1, 0.0)  # an open bar met nothing yet
                if best is None or score > best[0]:  # tokens spent on the bar kept, in proportion to its items
                    best = (score, bar, max(1, tokens * len(bar) // max(1, len(more))), bool(closed), ended)
                if (closed and hits == wanted and key_met) or (not closed and not ended):
                    break  # met; or out of budget before the bar line (the next call gets more)
            assert best is not None
            _, bar, spent, closed, ended = best
            items += bar
            used += spent
            draws.append(tries)
            if not bar or (not closed and ended):
                break  # the model ended the piece in every draw
            budget = max(MIN_BAR_BUDGET, min(MAX_BAR_BUDGET, 3 * spent // 2 + 8 if closed else 2 * budget))
        if items and not closed and not ended and len(bar) < len(items):
            del items[-len(bar):]  # the length ran out inside a bar: the take ends at its last bar line
        return items, draws

    result, draws = _takes(generator, settings, write_one, memorization, on_token, on_progress, cancel)
    result.warnings.append(f"bars drawn again to meet the controls: {sum(sum(d) - len(d) for d in draws)} "
                           f"redraws over {sum(len(d) for d in draws)} bars")
    return result
