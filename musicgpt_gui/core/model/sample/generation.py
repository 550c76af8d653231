"""Generation with a warm model: one graph and session per checkpoint, tokens driven from Python.

:class:`Generator` keeps the session open between calls and rebuilds only when the run or its
checkpoint changes; decoding is incremental, with the keys and values cached in the session
(core/cached_decoder).
Because the loop runs in Python, every token streams through ``on_token``, ``cancel`` is
checked before each token, and sampling is reproducible from a seed (numpy, see sampling).

Text conventions follow training (core/training): pieces are separated by the
``<|endoftext|>`` token, so the context starts with it (as gpt-2-simple's ``generate`` does
without a prefix) and a variation ends when it samples it (or writes it out as text).

Repair: each variation's text is parsed with :func:`notation.parse_text`.  When a variation
stops because it reached ``length`` tokens, the text after its last ``,`` is an unfinished
item; it stays in ``raw_text`` but is left out of the repaired text and the statistics.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

import numpy as np

from musicgpt_gui.core.model.store import vocab
from musicgpt_gui.core.model.sample import take_rules
from musicgpt_gui.core.model.sample.cached_decoder import CachedDecoder
from musicgpt_gui.core.model.store.checkpoints import context_reason
from musicgpt_gui.core.jobs import CancelToken, JobError, Progress, ProgressFn, no_progress, sub_progress
from musicgpt_gui.core.model.store import tf_runtime
from musicgpt_gui.core.model.train import recovery, training_data
from musicgpt_gui.core.dataset.memorization import MemorizationIndex, MemorizedRun
from musicgpt_gui.core.music.notation import SEP, Parsed, join_items, parse_text, split_items
from musicgpt_gui.core.model.sample.sampling import SamplingSettings, sample_token
from musicgpt_gui.core.model.steer import session as steer_session
from musicgpt_gui.core.model.steer.constraints import Steering
from musicgpt_gui.core.model.controls import forcer as control_forcer
from musicgpt_gui.core.model.controls.request import ControlRequest
from musicgpt_gui.core.model.store.warm_model import WarmModel

END_MARK = vocab.EOT  # pieces are separated by it in training, so a variation ends there
MAX_VARIATIONS = 16
DEFAULT_PREFIX_ITEMS = 16  # opening items taken from a MIDI file or a dataset piece as a prefix
CACHE_ROWS = 64  # the key/value cache is sized for prefix + length, rounded up to this
EMPTY_TAKE_GRACE = 2  # a take with nothing to play at ``length`` tokens may run to this many times it


@dataclass(frozen=True)
class GenerationSettings:
    length: int = 256  # tokens per variation
    temperature: float = 0.8
    top_k: int = 40
    top_p: float = 0.0
    variations: int = 1
    seed: Optional[int] = None  # None: a fresh seed, reported in the result
    steering: Steering = Steering()  # hard constraints at sampling; all off by default
    controls: ControlRequest = ControlRequest()  # learned controls' values (a --controls run); none by default

    def sampling(self) -> SamplingSettings:
        return SamplingSettings(self.temperature, self.top_k, self.top_p).validate()

    def resolved_seed(self) -> int:
        """The seed asked for, or a fresh one (reported in the result, so the take can be had again)."""
        return self.seed if self.seed is not None else int(np.random.SeedSequence().generate_state(1)[0])

    def validate(self) -> "GenerationSettings":
        if self.length < 1:
            raise JobError(f"Length must be at least 1 token, not {self.length}.")
        if not 1 <= self.variations <= MAX_VARIATIONS:
            raise JobError(f"Variations must be between 1 and {MAX_VARIATIONS}, not {self.variations}.")
        if self.seed is not None and not 0 <= self.seed < 2**32:
            raise JobError(f"The seed must be between 0 and {2**32 - 1}, not {self.seed}.")
        self.sampling()
        self.steering.validate()
        return self


@dataclass(frozen=True)
class TokenEvent:
    """One sampled token; ``text`` is what it adds to the visible output.

    ``text`` may be empty while it could still be the start of ``<|endoftext|>``; text held
    back that way at the very end arrives in a last event with ``token`` -1.
    """

    variation: int
    index: int
    token: int
    text: str


TokenFn = Callable[[TokenEvent], None]


@dataclass
class Variation:
    index: int
    tokens: list[int]
    raw_text: str  # the continuation exactly as sampled, up to the end marker
    stop_reason: str  # "end" (<|endoftext|>) or "length"
    parsed: Parsed
    memorized: list[MemorizedRun] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The repaired continuation: only its valid items."""
        return self.parsed.text

    @property
    def valid_share(self) -> float:
        return self.parsed.valid_share

    @property
    def playable(self) -> bool:
        """Whether the take holds a note: one without is never shown or exported as music."""
        return bool(self.parsed.notes)

    def nothing_to_play(self) -> str:
        return (f"Variation {self.index + 1} has nothing to play: the model wrote no note in {len(self.tokens)} "
                "tokens. Try a lower temperature, 'valid items only', or a longer-trained run.")


@dataclass
class GenerationResult:
    prefix: str  # the prefix the model saw (after any cut), without the <|endoftext|> start
    variations: list[Variation]
    seed: int
    settings: GenerationSettings
    checkpoint: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    metrics: list = field(default_factory=list)  # quality.Metrics of each variation, once measured
    steering_kept: list[str] = field(default_factory=list)  # per variation: each constraint beside what it did
    part_figures: list = field(default_factory=list)  # quality.arrangement.EnsembleFigures per variation (parts)
    part_reference: Any = None  # the validation songs' EnsembleFigures, beside them
    steering_rows: list = field(default_factory=list)  # per variation: steer.measure.ControlRow of each control
    form: Any = None  # steer.form.Form the variations were written in (workflows.form_takes), or None
    sections: list = field(default_factory=list)  # per variation: its steer.form.Section list

    def full_text(self, variation: int = 0) -> str:
        """Prefix items plus the repaired continuation: the piece to play or export."""
        items = parse_text(self.prefix).items + self.variations[variation].parsed.items
        return join_items(items)


def counted_text(raw: str, stop_reason: str) -> str:
    """The part of a variation that repair counts: all of it, or up to its last separator."""
    if stop_reason == "end":
        return raw
    cut = raw.rfind(",")
    return raw[:cut] if cut >= 0 else ""


class _Stream:
    """Accumulates one variation's text and releases it without a half-seen end marker."""

    def __init__(self) -> None:
        self.text = ""
        self.sent = 0
        self.ended = False

    def push(self, piece: str) -> str:
        self.text += piece
        cut = self.text.find(END_MARK)
        if cut >= 0:
            self.text, self.ended = self.text[:cut], True
            return self.flush()
        safe = len(self.text)
        for k in range(min(len(END_MARK) - 1, len(self.text)), 0, -1):
            if END_MARK.startswith(self.text[-k:]):
                safe -= k
                break
        out, self.sent = self.text[self.sent : safe], safe
        return out

    def flush(self) -> str:
        out, self.sent = self.text[self.sent :], len(self.text)
        return out


class Generator(WarmModel):
    """Generation from one warm checkpoint (see :class:`WarmModel` for its lifetime).

    Each batch size (number of variations) gets its own :class:`CachedDecoder`; they share the
    model's variables, and the one for a single variation is built with the model.
    """

    session_options = {"caller_thread": True, "grappler": False}  # a step is a chain of tiny ops (see tf_runtime)

    def _build_graph(self) -> CachedDecoder:
        return CachedDecoder(self.hparams, batch=1)

    def _bind(self, decoder: CachedDecoder) -> dict[int, CachedDecoder]:
        return {1: decoder.bind(self._session)}

    def _decoder(self, batch: int, on_progress: ProgressFn) -> CachedDecoder:
        decoders = self._ready(on_progress)
        if batch not in decoders:
            with self._session.graph.as_default():
                decoder = CachedDecoder(self.hparams, batch)
            decoders[batch] = decoder.bind(self._session)
        return decoders[batch]

    def generate(
        self,
        prefix: str,
        settings: GenerationSettings = GenerationSettings(),
        *,
        on_token: Optional[TokenFn] = None,
        on_progress: ProgressFn = no_progress,
        cancel: Optional[CancelToken] = None,
        memorization: Optional[MemorizationIndex] = None,
    ) -> GenerationResult:
        """Continue ``prefix`` (note text, may be empty) ``settings.variations`` times.

        When the device runs out of memory before the first token, the variations are generated in
        smaller groups (the same variations: each has its own random stream), and a warning says so.
        """
        settings.validate()
        cancel = cancel or CancelToken()
        seed = settings.resolved_seed()
        group, count = settings.variations, settings.variations
        with self._lock:
            while True:
                try:
                    result = self._in_groups(group, prefix, settings, seed, on_token, on_progress, cancel, memorization)
                except _NoRoom:
                    if group == 1:
                        raise JobError(
                            "Out of memory generating even one variation: use a shorter prefix or fewer tokens."
                        ) from None
                    group = (group + 1) // 2
                    continue
                if group < count:
                    result.warnings.append(
                        f"Out of memory generating {count} variations at once: generated {group} at a time."
                    )
                return result

    def _in_groups(self, group, prefix, settings, seed, on_token, on_progress, cancel, memorization):
        """All variations, ``group`` at a time, as one result."""
        count, results = settings.variations, []
        for first in range(0, count, group):
            rows = min(group, count - first)
            report = sub_progress(on_progress, first / count, (first + rows) / count)
            try:
                recovery.maybe_inject_rows(tf_runtime.tf(), rows)
                decoder = self._decoder(rows, report)
            except tf_runtime.tf().errors.ResourceExhaustedError:
                raise _NoRoom() from None
            results.append(
                self._generate(decoder, prefix, settings, seed, first, rows, on_token, report, cancel, memorization)
            )
        merged = results[0]
        for more in results[1:]:
            merged.variations += more.variations
            merged.warnings += [w for w in more.warnings if w not in merged.warnings]
        return merged

    def prepare(self, on_progress: ProgressFn = no_progress) -> None:
        """Load the checkpoint and build the one-pass prefix reader now (a few seconds), so that the first
        token after a new prefix comes without reading the prefix token by token: for live answers."""
        with self._lock:
            self._decoder(1, on_progress).prepare()

    @contextmanager
    def decoding(self, batch: int, on_progress: ProgressFn = no_progress) -> Iterator[CachedDecoder]:
        """The loaded checkpoint's decoder for ``batch`` rows, held alone: for other decoding loops (infill)."""
        with self._lock:
            yield self._decoder(batch, on_progress)

    def _context(self, prefix: str) -> tuple[str, list[int], list[str]]:
        """(prefix as the model sees it, its tokens after <|endoftext|>, warnings); cut from the left to fit."""
        n_ctx, warnings = self.context, []
        prefix = normalise_prefix(prefix)
        body = self.encoder.encode(prefix)
        keep = n_ctx - 2  # room for <|endoftext|> before it and one sampled token after it
        if len(body) > keep:
            # The parts' declarations stay in view (pinned before the kept end): the notes' markers name them.
            pinned = training_data.header_ids(split_items(prefix), self.encoder)
            if len(pinned) > keep // 2:
                pinned = []
            warnings.append(
                f"The prefix has {len(body)} tokens but the model reads {n_ctx} at a time "
                f"({context_reason(self.context, self.hparams.n_ctx)}); its first "
                f"{len(body) - keep + len(pinned)} tokens were cut"
                + (", keeping its parts' declarations." if pinned else ".")
            )
            body = pinned + body[len(body) - keep + len(pinned) :]
            prefix = self.encoder.decode(body)
        return prefix, [self.encoder.eot] + body, warnings

    def _generate(
        self, decoder, prefix, settings, seed, first, count, on_token, on_progress, cancel, memorization
    ) -> GenerationResult:
        """Variations ``first`` .. ``first + count - 1`` (each from its own random stream ``[seed, index]``)."""
        n_ctx = self.context
        prefix = control_forcer.with_controls(self._ref.run_dir, prefix)  # a --controls run reads its bars' controls
        whole = normalise_prefix(prefix)  # what the steering and the take rules read: all of it, in time
        prefix, context, warnings = self._context(prefix)
        sampling = settings.sampling()
        rngs = [np.random.default_rng([seed, first + v]) for v in range(count)]
        streams = [_Stream() for _ in range(count)]
        generated: list[list[int]] = [[] for _ in range(count)]
        stops = ["length"] * count
        maskers = steer_session.maskers(self.encoder, settings.steering, whole, count, memorization)
        maskers = control_forcer.wrap(self.encoder, self._ref.run_dir, settings.controls, whole, count, maskers)
        prompt_parts = parse_text(whole).parts
        wanted = take_rules.parts_wanted(prompt_parts, settings.steering.parts)
        seen = [take_rules.PartsSeen(prompt_parts) for _ in range(count)]
        own_parts = take_rules.no_new_parts(self.encoder, len(prompt_parts)) if prompt_parts else None
        ready = [False] * count  # something to play, from two parts for an ensemble: the take may end
        header = training_data.header_ids(split_items(whole), self.encoder)
        pinned = [self.encoder.eot, *header] if header and len(header) < n_ctx // 4 else []

        capacity = min(n_ctx, -(-(len(context) + settings.length) // CACHE_ROWS) * CACHE_ROWS)
        try:
            logits = decoder.start(np.array([context] * count, dtype=np.int32), capacity)
        except tf_runtime.tf().errors.ResourceExhaustedError:
            raise _NoRoom() from None  # before any token: the caller can try fewer variations at once
        budget_met: set[int] = set()  # reached ``length`` tokens with something to play
        for i in range(settings.length * EMPTY_TAKE_GRACE):
            cancel.check()
            for v in range(count):
                if streams[v].ended or v in budget_met:
                    continue
                row = logits[v] if maskers is None else np.where(maskers[v].allowed(), logits[v], -np.inf)
                if own_parts is not None:
                    row = np.where(own_parts.banned(streams[v].text), -np.inf, row)
                if not ready[v]:  # no end before the take's first playable item (two parts'): no empty takes
                    held = row.copy()
                    held[self.encoder.eot] = -np.inf
                    row = held if np.isfinite(held).any() else row  # unless the steering leaves only the end
                if not np.isfinite(row).any():  # nothing may follow under the steering: the take ends
                    row = np.full_like(row, -np.inf)
                    row[self.encoder.eot] = 0.0
                token = sample_token(row, sampling, rngs[v])
                if maskers is not None:
                    maskers[v].advance(token, self.encoder.decode([token]))
                if token == self.encoder.eot:
                    streams[v].ended, piece = True, streams[v].flush()
                else:
                    generated[v].append(token)
                    piece = streams[v].push(self.encoder.decode([token]))
                    if not ready[v] and "," in piece:
                        ready[v] = seen[v].read(streams[v].text) >= wanted
                if streams[v].ended:
                    stops[v] = "end"
                if on_token is not None:
                    on_token(TokenEvent(first + v, i, token, piece))
            on_progress(Progress(min(1.0, (i + 1) / settings.length), f"token {i + 1}/{settings.length}"))
            if i + 1 >= settings.length:  # the budget is spent; a take not ready yet goes on a while
                budget_met.update(v for v in range(count) if ready[v])
            if all(s.ended or v in budget_met for v, s in enumerate(streams)):
                break
            last = np.array([g[-1] if g else context[-1] for g in generated], dtype=np.int32)
            # rows that stopped sampling borrow a sampling row's tokens, to keep the rows the same length
            live = [v for v in range(count) if not streams[v].ended and v not in budget_met]
            if decoder.length >= decoder.capacity and decoder.capacity < n_ctx:  # a take given grace: more room
                rows = [context + generated[v if v in live else live[0]] for v in range(count)]
                logits = decoder.start(np.array(rows, dtype=np.int32), min(n_ctx, decoder.capacity + CACHE_ROWS))
            elif decoder.length >= n_ctx:
                if not any("sliding window" in w for w in warnings) and n_ctx == self.hparams.n_ctx:
                    warnings.append(
                        f"The text outgrew the model's {n_ctx}-token context; generation went on with a sliding window."
                    )
                window = slide_rows(context, generated, live, pinned, n_ctx)
                logits = decoder.start(np.array(window, dtype=np.int32), n_ctx)
            else:
                logits = decoder.step(last)

        for v in range(count):
            if not streams[v].ended and on_token is not None:
                tail = streams[v].flush()
                if tail:
                    on_token(TokenEvent(first + v, settings.length, -1, tail))
        variations = [
            self._variation(first + v, generated[v], streams[v].text, stops[v], memorization, whole, prompt_parts,
                            wanted)
            for v in range(count)
        ]
        return GenerationResult(prefix, variations, seed, settings, self._ref.identity(), warnings)

    def _variation(self, index, tokens, raw, stop, memorization, prefix: str = "", parts=(), wanted=1) -> Variation:
        parsed = parse_text(counted_text(raw, stop), parts=parts)
        if stop == "length":  # the budget, not the model, ended it: end at the last bar line reached
            parsed = take_rules.ended_at_bar_line(prefix, parsed, wanted)
        found = memorization.find(parsed.items) if memorization is not None else []
        return Variation(index, tokens, raw, stop, parsed, found)


def slide_rows(context: list[int], generated: list[list[int]], live: list[int], pinned: list[int],
               n_ctx: int) -> list[list[int]]:
    """The rows decoding starts again from when the context is full: the newest half of each, after ``pinned``
    (<|endoftext|> and the parts' declarations, which stay in view as in a cut prefix).  Rows that stopped
    sampling borrow a live row's tokens, so all have one length."""
    keep = n_ctx // 2 - len(pinned)
    return [pinned + (context + generated[v if v in live else live[0]])[-keep:] for v in range(len(generated))]


class _NoRoom(Exception):
    """The device ran out of memory before the first token of a group of variations."""


def normalise_prefix(prefix: str) -> str:
    """Strip the prefix and end it with the item separator, so the model starts a new item.

    The separator is ``,`` without its space: BPE vocabularies glue the space to the next
    item (`` D4``), which is how the training text was tokenised.
    """
    prefix = prefix.strip()
    while prefix.startswith(END_MARK):
        prefix = prefix[len(END_MARK) :].lstrip()
    if prefix and not prefix.endswith(SEP.strip()):
        prefix += SEP.strip()
    return prefix
