"""Call and response: the musician plays a phrase, the model answers it in tempo, then listens again.

A phrase ends when no new note has come for ``gap_bars`` bars (one by default; a key still held is
closed there), or at once when the chosen end key or pedal is pressed.  Its notes, from the
bar line where it began, become note text through the import's own conversion (take_text.py) with
the run's dataset's options, and the model continues that text for ``bars`` bars; the answer plays
on the output while it is decoded (answer.py).  Each exchange is kept; :meth:`JamResult.text` joins
them (call, the silent bar, answer, ...) for one MIDI file.  The latency of an exchange runs from the
end of the phrase (its last note-off plus the gap) to the first note of the answer.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Optional

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.dataset.import_options import ImportOptions
from musicgpt_gui.core.jobs import Cancelled, CancelToken, JobError, Progress, ProgressFn, no_progress
from musicgpt_gui.core.live.answer import AnswerStream
from musicgpt_gui.core.live.recorder import Take
from musicgpt_gui.core.live.recording import Recording
from musicgpt_gui.core.live.take_text import take_text
from musicgpt_gui.core.midi.midi_io import export_midi
from musicgpt_gui.core.model.sample.generation import GenerationSettings, Generator, TokenEvent
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.music.grid import DEFAULT_GRID
from musicgpt_gui.core.music.notation import format_duration, join_items, split_items

POLL = 0.002  # seconds between looks at the recorder while listening
AHEAD_AFTER = 0.5  # share of the gap the silence must last (no key held) before the answer is decoded ahead.
# Decoding while the musician plays on takes the CPU from this process's MIDI input client: on a loaded
# machine JACK runs its cycles late and rtmidi stamps the notes late (measured: a chord's release 190 ms
# late, so the call was not what was played).  A held key, or a rest shorter than half the gap, starts none.
AHEAD_LEAD = Fraction(1)  # quarters of the answer decoded ahead; the rest is decoded from its start on
ANSWER_TOKENS = 512  # a ceiling: decoding stops as soon as the answer is ``bars`` long


@dataclass(frozen=True)
class JamSettings:
    tempo: float = 100.0
    meter: tuple[int, int] = (4, 4)
    bars: int = 2  # the answer's length
    gap_bars: float = 1.0  # silence that ends a phrase
    count_in_bars: int = 1
    end_key: Optional[int] = None  # a MIDI note that ends the phrase at once (not recorded)
    end_pedal: Optional[int] = None  # a controller number (pedal) that ends the phrase when pressed
    # Decode the answer during the silent gap (from half of it on), dropped and decoded again if
    # anything is played before the gap has passed: the answer is the one the whole phrase gets.
    decode_ahead: bool = True

    def validate(self) -> "JamSettings":
        if not 20 <= self.tempo <= 400:
            raise JobError(f"The tempo must be between 20 and 400 bpm, not {self.tempo:g}.")
        if not 1 <= self.bars <= 64:
            raise JobError(f"The answer must be 1 to 64 bars long, not {self.bars}.")
        if not 0.25 <= self.gap_bars <= 8:
            raise JobError(f"The gap that ends a phrase must be 0.25 to 8 bars, not {self.gap_bars:g}.")
        return self

    @property
    def bar_quarters(self) -> Fraction:
        return Fraction(4 * self.meter[0], self.meter[1])

    @property
    def bar_seconds(self) -> float:
        return float(self.bar_quarters) * 60.0 / self.tempo


@dataclass
class Exchange:
    call: str  # the phrase as note text
    answer: str  # the model's answer as note text
    phrase_end: float  # clock time: the last note-off plus the gap
    first_note: Optional[float]  # clock time the answer's first note was sent (None: it had none)
    seed: int
    decoding: float = 0.0  # clock time the decoding began (the call converted to text)
    start: Optional[float] = None  # clock time of the answer's quarter 0 (its first note may come later)

    @property
    def latency(self) -> Optional[float]:
        return None if self.first_note is None else self.first_note - self.phrase_end


@dataclass
class JamResult:
    settings: JamSettings
    sampling: GenerationSettings
    checkpoint: dict[str, Any]
    exchanges: list[Exchange] = field(default_factory=list)

    def text(self) -> str:
        """Every exchange in order, a rest for each gap between a call and its answer: one piece."""
        gap = format_duration(self.settings.bar_quarters * Fraction(self.settings.gap_bars).limit_denominator(48))
        items: list[str] = []
        for ex in self.exchanges:
            items += split_items(ex.call) + [f"rest:{gap}"] + split_items(ex.answer)
        return join_items(items)

    def provenance(self) -> dict[str, Any]:
        settings = {k: v for k, v in asdict(self.sampling).items() if k != "seed"}
        return {**self.checkpoint, "jam": asdict(self.settings), "settings": settings,
                "seeds": [ex.seed for ex in self.exchanges], "calls": [ex.call for ex in self.exchanges]}

    def export(self, path: Path) -> Path:
        if not self.exchanges:
            raise JobError("Nothing to export: no exchange has been played yet.")
        return export_midi(self.text(), path, self.provenance())


def phrase_take(take: Take, grid: int, to_bar: bool = True) -> tuple[Take, float]:
    """The phrase from where it began, and that start (seconds from the take's origin).

    With a metronome the phrase starts at the bar line where it began (a note a little before the bar
    line belongs to it); without one the musician had no bar lines to follow, so it starts at its first note.
    """
    if not take.notes:
        return take, 0.0
    first = take.notes[0].onset
    start = math.floor((first + take.beat / grid / 2) / take.bar) * take.bar if to_bar else first
    notes = [replace(n, onset=n.onset - start, end=None if n.end is None else n.end - start) for n in take.notes]
    return replace(take, notes=notes, length=take.length - start), start


def _next_answer(generator, listen: Recording, output, settings: JamSettings, sampling: GenerationSettings,
                 options: ImportOptions, grid: int, origin: float, cancel: CancelToken, on_send, on_progress):
    """Wait for the end of a phrase and answer it: (call, stream, seed, phrase end, decoding start), or None
    when the phrase held nothing the dataset keeps.

    The answer is decoded ahead once nothing has sounded for half the gap (the call is known then): it is
    scheduled to start when the gap has passed, and dropped, to be decoded again from the longer phrase, if
    anything is played before that.  So the decoding is hidden in the silent bar; an end key or pedal ends
    the phrase at once and the decoding starts there, as it does after a key held through the gap.
    """
    recorder, gap = listen.recorder, settings.gap_bars * settings.bar_seconds
    while True:
        cancel.check()
        revision = recorder.revision()  # read first: anything taken after it drops what is decoded from here
        ended = recorder.take_end()
        if ended is not None and recorder.count():
            since, phrase_end = ended, ended
        else:
            # No new note for the gap ends the phrase, even if a key is still held (it is closed there,
            # and a note-off JACK lost on a loaded machine cannot hold the jam for ever).
            since = recorder.last_event() if recorder.count() else None
            wait = gap * AHEAD_AFTER if settings.decode_ahead and recorder.sounding() == 0 else gap
            if since is None or time.monotonic() < since + wait:
                time.sleep(POLL)
                continue
            phrase_end = since + gap
        # A key still held at the phrase's end (a lost note-off) is closed there.
        cut_at = since if recorder.sounding() == 0 else phrase_end
        phrase, start = phrase_take(recorder.peek(at=cut_at), grid, to_bar=listen.clicks)
        try:
            call = take_text(phrase, options)
        except JobError:
            recorder.cut(at=cut_at, forget_held=True)  # only notes the dataset leaves out (drums): keep listening
            return None
        on_progress(Progress(0.0, "answering"))
        decoding = time.monotonic()

        def went_on(ended=ended, revision=revision, phrase_end=phrase_end) -> bool:
            # a note, a pedal before the phrase's end: the call is not this one (later, it plays over the answer)
            return ended is None and time.monotonic() < phrase_end and recorder.revision() != revision

        stream, seed = answer_phrase(generator, call, output, settings, sampling, origin=origin + start, grid=grid,
                                     cancel=cancel, on_send=on_send, start_at=phrase_end, interrupted=went_on)
        while stream is not None and time.monotonic() < phrase_end:
            if went_on() or cancel.cancelled:
                stream.stop()
                stream = None
                break
            time.sleep(POLL)
        if stream is None:
            cancel.check()
            continue  # the phrase went on: listen for its end again
        recorder.cut(at=cut_at, forget_held=True)
        return call, stream, seed, phrase_end, decoding


class _Interrupted(Cancelled):
    """The musician played again while an answer was decoded ahead: it is dropped."""


class _AnswerCancel(CancelToken):
    """Stops the decoding when the jam is cancelled, the answer is long enough, or the phrase went on; holds
    it, once ``AHEAD_LEAD`` of the answer is ready, until ``start_at``: an answer decoded ahead takes the CPU
    for its opening only, and the rest is decoded while it plays (not while the musician may still play)."""

    def __init__(self, outer: CancelToken, stream: AnswerStream, interrupted: Optional[Callable[[], bool]],
                 start_at: Optional[float]) -> None:
        super().__init__()
        self._outer, self._stream, self._interrupted, self._start_at = outer, stream, interrupted, start_at

    def check(self) -> None:
        self._checks()
        while self._start_at is not None and self._stream.decoded >= AHEAD_LEAD and time.monotonic() < self._start_at:
            time.sleep(POLL)
            self._checks()

    def _checks(self) -> None:
        self._outer.check()
        if self._interrupted is not None and self._interrupted():
            raise _Interrupted()
        if self._stream.full:
            raise Cancelled()


def answer_phrase(generator: Generator, call: str, output, settings: JamSettings, sampling: GenerationSettings,
                  *, origin: float, grid: int, cancel: CancelToken, on_send: Optional[Callable] = None,
                  start_at: Optional[float] = None,
                  interrupted: Optional[Callable[[], bool]] = None) -> tuple[Optional[AnswerStream], int]:
    """Continue ``call`` for ``settings.bars`` bars, playing the answer on ``output`` as it is decoded, from
    ``start_at`` (a clock time) at the earliest; (None, seed) when ``interrupted()`` turned true meanwhile."""
    stream = AnswerStream(output, settings.tempo, settings.bars * settings.bar_quarters, clock_origin=origin,
                          grid_seconds=60.0 / settings.tempo / grid, on_send=on_send, start_at=start_at)
    text = ""

    def on_token(event: TokenEvent) -> None:
        nonlocal text
        text += event.text
        stream.feed(text)

    decoding = replace(sampling, length=ANSWER_TOKENS, variations=1)
    seed = decoding.seed if decoding.seed is not None else int(time.time_ns() % 2**32)
    try:
        generator.generate(call, replace(decoding, seed=seed), on_token=on_token,
                           cancel=_AnswerCancel(cancel, stream, interrupted, start_at))
    except _Interrupted:
        stream.stop()
        return None, seed
    except Cancelled:
        if cancel.cancelled:
            stream.stop()
            raise
    stream.finish(text)
    return stream, seed


def jam(
    generator: Generator,
    ref: checkpoints.CheckpointRef,
    listen: Recording,
    output,
    settings: Optional[JamSettings] = None,
    sampling: Optional[GenerationSettings] = None,
    *,
    options: Optional[ImportOptions] = None,
    exchanges: Optional[int] = None,
    on_exchange: Optional[Callable[[Exchange], None]] = None,
    on_send: Optional[Callable] = None,
    on_progress: ProgressFn = no_progress,
    cancel: Optional[CancelToken] = None,
) -> JamResult:
    """Listen on ``listen``, answer on ``output``, until cancelled or after ``exchanges`` exchanges.

    A cancel ends the jam and returns the exchanges so far (as training returns what it saved).
    ``options``: how the run's dataset was converted (default: read from the run's dataset).
    ``on_send(when, msg)``: after each answer message goes out, on the sender thread.
    """
    settings = (settings or JamSettings()).validate()
    sampling = (sampling or GenerationSettings()).validate()
    cancel = cancel or CancelToken()
    generator.load(ref)
    if options is None:
        options = dataset_files.conversion_options(checkpoints.training_dataset(ref.run_dir))
    grid = options.grid if options.format == "timed" else DEFAULT_GRID
    result = JamResult(settings, sampling, ref.identity())
    on_progress(Progress(0.0, "loading the model"))
    generator.prepare()  # the graph and its one-pass prefix reader, before listening: a call is read in one pass
    listen.recorder.end_key, listen.recorder.end_pedal = settings.end_key, settings.end_pedal
    origin = listen.start(settings.count_in_bars)
    on_progress(Progress(0.0, f"listening on {listen.port_name}"))
    try:
        while exchanges is None or len(result.exchanges) < exchanges:
            seeded = sampling  # with a seed: seed, seed + 1, ... (a new answer each time, reproducibly)
            if sampling.seed is not None:
                seeded = replace(sampling, seed=(sampling.seed + len(result.exchanges)) % 2**32)
            found = _next_answer(generator, listen, output, settings, seeded, options, grid, origin, cancel, on_send,
                                 on_progress)
            if found is None:
                continue
            call, stream, seed, phrase_end, decoding = found
            while not stream.wait(0.05):
                if cancel.cancelled:
                    stream.stop()
                    raise Cancelled()
            listen.recorder.cut(forget_held=True)  # what was played over the answer is not the next call
            listen.recorder.take_end()
            exchange = Exchange(call, join_items(stream.items), phrase_end, stream.first_note, seed, decoding,
                                stream.start)
            result.exchanges.append(exchange)
            if on_exchange is not None:
                on_exchange(exchange)
            on_progress(Progress(0.0, f"exchange {len(result.exchanges)}: listening"))
    except Cancelled:
        pass
    finally:
        listen.stop()
    return result
