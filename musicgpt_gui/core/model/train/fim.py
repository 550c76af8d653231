"""Fill-in-the-middle training examples (Bavarian et al. 2022), cut where the music has seams.

A share of the training windows is rearranged, half in the PSM order
``<|fim_prefix|> prefix <|fim_suffix|> suffix <|fim_middle|> middle <|fim_end|>`` and half in the
SPM order ``<|fim_prefix|> <|fim_suffix|> suffix <|fim_middle|> prefix middle <|fim_end|>`` (the
paper's joint training: in SPM the middle reads on from the prefix, as in plain continuation);
the loss stays plain next-token cross-entropy, so a causal GPT-2 learns infilling from the data
alone.  Infilling uses :data:`INFILL_ORDER`.

Only a leading part of random length of each window is rearranged; the rest follows
``<|fim_end|>`` as plain text.  Were every example the whole window, ``<|fim_end|>`` would always
sit at the last position and the model would learn to stop by position instead of by reading
the suffix (the paper rearranges documents before packing them, with the same effect).

Cuts fall only on element boundaries: between two items (after the ``,`` that ends one) and
at the start or end of a piece.  Where the text carries durations, bar lines are preferred:
bars follow ``meter.TimeSignature`` items (4/4 before any).  The middle never spans two
pieces; the prefix and the suffix may contain ``<|endoftext|>``, as they do at inference
(a prefix that starts a piece and a suffix that ends one).
"""
from __future__ import annotations

import re
from fractions import Fraction
from typing import Optional

import numpy as np

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.store import vocab
from musicgpt_gui.core.music.notation import DEFAULT_BAR, bar_length, parse_duration

RATE = 0.5  # the share the paper and the GUI checkbox use
NEW_MODEL_RATE = 0.5  # new music models train with FIM unless told otherwise (bench/results/infill.txt)
SPM_SHARE = 0.5  # of the rearranged windows, in SPM order; the rest in PSM
INFILL_ORDER = "spm"  # the order infilling uses: the better one in bench/results/infill.txt
ORDERS = ("psm", "spm")
_CONTROL_RE = re.compile(r"^(tempo|velocity|program)=")


def check_rate(rate: float) -> float:
    if not 0.0 <= rate <= 1.0:
        raise JobError(f"The FIM rate is the share of training windows to rearrange: 0 to 1, not {rate}.")
    return rate


def arrange(order: str, sentinels: list[int], prefix: list[int], suffix: list[int],
            middle: Optional[list[int]] = None) -> list[int]:
    """The tokens of one example in ``order`` (psm|spm); without ``middle``, the context a middle follows."""
    pre, suf, mid, end = sentinels
    if order == "psm":
        head = [pre, *prefix, suf, *suffix, mid]
    elif order == "spm":
        head = [pre, suf, *suffix, mid, *prefix]
    else:
        raise JobError(f"Unknown FIM order '{order}'; choose one of: {', '.join(ORDERS)}.")
    return head if middle is None else [*head, *middle, end]


def item_step(item: str) -> Fraction:
    """How far an item moves time: its duration after the last ``:`` (0 for controls and names)."""
    body, colon, duration = item.strip().rpartition(":")
    if not colon or _CONTROL_RE.match(body) or "=" in body:
        return Fraction(0)
    return parse_duration(duration) or Fraction(0)


def item_onsets(items: list[str]) -> list[Fraction]:
    """Onset of each item, plus the end of the last one (``len(items) + 1`` values)."""
    onsets, now = [], Fraction(0)
    for item in items:
        onsets.append(now)
        now += item_step(item)
    return onsets + [now]


def bar_cuts(items: list[str]) -> set[int]:
    """Indices k where a bar line falls just before item k (0 < k < len(items)).

    A cut follows the item whose step reaches the bar line, so controls and time signatures
    at a bar's first onset open the new bar.  Text without durations has no bar lines.
    """
    cuts: set[int] = set()
    meter_start, bar = Fraction(0), DEFAULT_BAR
    now = Fraction(0)
    for k, item in enumerate(items):
        meter = bar_length(item)
        if meter:
            meter_start, bar = now, meter
        step = item_step(item)
        now += step
        if step and k + 1 < len(items) and (now - meter_start) % bar == 0:
            cuts.add(k + 1)
    return cuts


class FimSampler:
    """Rearranges training windows of one token stream (pieces separated by ``<|endoftext|>``).

    ``item_cut[p]`` / ``bar_cut[p]`` say that a cut before stream token ``p`` falls between two
    items / on a bar line; both are computed once from the stream.
    """

    def __init__(self, tokens: np.ndarray, encoder: vocab.MusicEncoder, rate: float) -> None:
        if not encoder.has_fim:
            raise JobError(
                "This model's vocabulary has no fill-in-the-middle tokens, so it cannot train with FIM. "
                "Create a new music model (its vocabulary has them) or extend a GPT-2 model first."
            )
        self.rate = check_rate(rate)
        self.tokens, self.eot = tokens, encoder.eot
        self.ids = [encoder.specials[t] for t in vocab.FIM_TOKENS]
        self.item_cut, self.bar_cut = cut_flags(tokens, encoder)

    def transform(self, batch: np.ndarray, starts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Each row rearranged with probability ``rate``: a leading part of random length as an example,
        then the window's next tokens, n in all."""
        out = batch.copy()
        room = batch.shape[1] - len(self.ids)
        for row, start in enumerate(starts):
            if rng.random() < self.rate:
                length = int(rng.integers(max(2, room // 4), room + 1))
                example = self.example(int(start), length, rng)
                if example is not None:
                    out[row] = np.concatenate([example, batch[row, length:room]])
        return out

    def example(self, start: int, length: int, rng: np.random.Generator) -> Optional[np.ndarray]:
        """The PSM or SPM example of stream tokens ``start .. start+length``; None when it has no two cuts."""
        window = self.tokens[start : start + length]
        positions = np.flatnonzero(self.item_cut[start + 1 : start + length]) + 1
        if len(positions) < 2:
            return None
        pieces_before = np.concatenate([[0], np.cumsum(window == self.eot)])[positions]
        group = positions[pieces_before == pieces_before[rng.integers(len(positions))]]
        on_bars = group[self.bar_cut[start + group]]
        pool = on_bars if len(on_bars) >= 2 else group
        if len(pool) < 2:
            return None
        a, b = sorted(int(p) for p in rng.choice(pool, size=2, replace=False))
        order = "spm" if rng.random() < SPM_SHARE else "psm"
        parts = (window[:a].tolist(), window[b:].tolist(), window[a:b].tolist())
        return np.asarray(arrange(order, self.ids, *parts), dtype=window.dtype)


def cut_flags(tokens: np.ndarray, encoder: vocab.MusicEncoder) -> tuple[np.ndarray, np.ndarray]:
    """Per stream position: may a cut fall before this token (item boundary, bar line)?"""
    item_cut = np.zeros(len(tokens) + 1, dtype=bool)
    bar_cut = np.zeros(len(tokens) + 1, dtype=bool)
    decoder = encoder.bpe.decoder
    eots = np.flatnonzero(tokens == encoder.eot)
    start = 0
    for end in [*eots.tolist(), len(tokens)]:
        piece = tokens[start:end]
        item_cut[start] = item_cut[end] = bar_cut[start] = bar_cut[end] = True
        if len(piece):
            ends = np.cumsum([len(decoder[int(t)]) for t in piece])  # bytes of each token (byte-level BPE)
            after = {int(e): k + 1 for k, e in enumerate(ends)}  # byte offset -> tokens ending there
            text = encoder.decode(piece).encode("utf-8")
            commas = [m.start() for m in re.finditer(rb",", text)]
            items = [part.decode("utf-8", "replace") for part in text.split(b",")]
            bars = bar_cuts(items)
            for k, comma in enumerate(commas):
                cut = after.get(comma + 1)
                if cut is not None:
                    item_cut[start + cut] = True
                    bar_cut[start + cut] = (k + 1) in bars
        start = end + 1
    return item_cut[: len(tokens) + 1], bar_cut[: len(tokens) + 1]
