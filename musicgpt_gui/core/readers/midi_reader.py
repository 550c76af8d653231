"""MIDI file -> :class:`Piece`, read with mido, never with ``music21.converter.parse``.

``converter.parse`` spends 0.5 s on a chorale and up to a minute on a pop file, almost all
of it building streams, measures, ties and rests.  Here mido reads the bytes and we keep
only what the note text needs.  music21 still names everything (pitches, instruments,
keys, tempo marks, time signatures) through small objects, so the strings are music21's.

Two views of one file:

* :attr:`Piece.notes` / :attr:`Piece.marks` -- every note with its onset and length on
  music21's quantisation grid; the merge/first track modes build on it.
* :attr:`Piece.flat` -- the items in the order ``converter.parse(f).flatten()`` yields
  them (the seed's path): per-track chords, notes split at bar lines and the rests that
  ``makeRests`` fills in.  It reproduces music21's ``midiTrackToStream`` step by step
  (chord gathering, ``Stream.quantize`` with divisors (4, 3), measures, ties, rests,
  voices); see ``music21/midi/translate.py`` and ``stream/makeNotation.py``.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Optional, Union

import mido
from mido.midifiles.meta import KeySignatureError

from musicgpt_gui.core.music.notation import strip_music21

DIVISORS = (4, 3)  # music21.defaults.quantizationQuarterLengthDivisors
DRUM_CHANNEL = 9  # MIDI channel 10, 0-based as mido counts
MIDI_SUFFIXES = (".mid", ".midi")

# music21's classSortOrder, which orders elements sharing an offset in flatten().
ORDER_INSTRUMENT, ORDER_TEMPO, ORDER_KEY, ORDER_TIME, ORDER_NOTE = -25, 1, 2, 4, 20

Number = Union[float, Fraction]


class MidiReadError(Exception):
    """A MIDI file that cannot be used; the message is a plain reason for the error list."""


@dataclass(frozen=True)
class TimedNote:
    """One sounding pitch, in quarter lengths on the (4, 3) grid; ``track`` orders chords."""

    onset: Fraction
    duration: Fraction
    pitch: int
    track: int


@dataclass(frozen=True)
class Mark:
    """A non-note element: ``kind`` is instrument|tempo|key|time.

    ``value``: instrument name, tempo in bpm, ``(tonic, mode)`` or ``'3/4'``.
    """

    offset: Fraction
    kind: str
    value: object
    track: int


# Flat items: ("notes", (midi, ...)), ("rest",), ("key", tonic, mode), ("tempo", bpm), ("text", s)
FlatItem = tuple


@dataclass
class Piece:
    title: str
    notes: list[TimedNote] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    flat: Optional[list[FlatItem]] = None
    tracks_with_notes: list[int] = field(default_factory=list)


# ---------------------------------------------------------------- music21 naming (cached)


@lru_cache(maxsize=None)
def tempo_name(bpm: float) -> str:
    """``'tempo.MetronomeMark animato Quarter=120.01'``, as the seed wrote tempo marks."""
    from music21 import tempo

    return strip_music21(str(tempo.MetronomeMark(number=bpm)))


@lru_cache(maxsize=None)
def key_name(tonic: str, mode: str, semitones: int = 0) -> str:
    """``'f# minor'``; transposed by music21 when ``semitones`` is set."""
    from music21 import key

    k = key.Key(tonic, mode)
    return str(k.transpose(semitones) if semitones else k)


@lru_cache(maxsize=None)
def time_name(ratio: str) -> str:
    from music21 import meter

    return strip_music21(str(meter.TimeSignature(ratio)))


@lru_cache(maxsize=4096)
def _instrument_names(events: tuple[tuple[Number, str, object, int], ...]) -> tuple[tuple[Number, str], ...]:
    """Instrument names of one track, exactly as music21 names and de-duplicates them.

    ``events`` holds (offset, kind, raw data, channel); kind is 'track_name',
    'instrument_name' or 'program'.  music21's own ``midiEventToInstrument`` and
    ``instrument.deduplicate`` do the work on tiny objects.
    """
    from music21 import instrument, midi, stream
    from music21.midi.translate import midiEventToInstrument

    part = stream.Part()
    types = {
        "track_name": midi.MetaEvents.SEQUENCE_TRACK_NAME,
        "instrument_name": midi.MetaEvents.INSTRUMENT_NAME,
        "program": midi.ChannelVoiceMessages.PROGRAM_CHANGE,
    }
    for offset, kind, data, channel in events:
        event = midi.MidiEvent(type=types[kind], channel=channel + 1)
        event.data = data
        with warnings.catch_warnings():  # undecodable names become a generic Instrument, quietly
            warnings.simplefilter("ignore")
            part.coreInsert(offset, midiEventToInstrument(event))
    part.coreElementsChanged()
    instrument.deduplicate(part, inPlace=True)
    return tuple((part.elementOffset(i), str(i)) for i in part.getElementsByClass(instrument.Instrument))


# ---------------------------------------------------------------- reading the file


@dataclass
class _Note:
    on: int
    off: int
    pitch: int
    channel: int


@dataclass
class _Track:
    notes: list[_Note]
    metas: list[tuple[int, str, object]]  # (tick, kind, value) for tempo/key/time
    instruments: list[tuple[int, str, object, int]]  # (tick, kind, data, channel)
    has_notes: bool


def load_midi(source: Union[str, Path, bytes]) -> mido.MidiFile:
    """Parse with mido; every failure becomes a :class:`MidiReadError` with a plain reason."""
    data = Path(source).read_bytes() if not isinstance(source, bytes) else source
    if not data:
        raise MidiReadError("empty file (0 bytes)")
    if not data.startswith(b"MThd"):
        raise MidiReadError("not a MIDI file (no MThd header)")
    try:
        midi = mido.MidiFile(file=io.BytesIO(data))
    except EOFError:
        raise MidiReadError("truncated MIDI file (ends in the middle of a track)") from None
    except KeySignatureError as exc:
        raise MidiReadError(f"corrupt MIDI data (key signature: {exc})") from None
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise MidiReadError(f"corrupt MIDI data ({exc})") from None
    if midi.ticks_per_beat <= 0 or midi.ticks_per_beat & 0x8000:
        raise MidiReadError("SMPTE time division is not supported")
    return midi


def _read_track(track: mido.MidiTrack, include_drums: bool) -> _Track:
    """Absolute ticks, music21's note-on/off pairing, and the meta events music21 reads."""
    timed: list[tuple[int, mido.Message]] = []
    now = 0
    for msg in track:
        now += msg.time
        if msg.type in ("note_on", "note_off", "program_change") and not include_drums and msg.channel == DRUM_CHANNEL:
            continue
        timed.append((now, msg))
    metas: list[tuple[int, str, object]] = []
    instruments: list[tuple[int, str, object, int]] = []
    has_notes = False
    for tick, msg in timed:
        kind = msg.type
        if kind == "note_on" and msg.velocity:
            has_notes = True
        elif kind == "set_tempo":
            if msg.tempo <= 0:
                raise MidiReadError(f"a tempo change at tick {tick} says 0 microseconds per beat")
            metas.append((tick, "tempo", round(60_000_000 / msg.tempo, 2)))
        elif kind == "key_signature":
            minor = msg.key.endswith("m")
            tonic = (msg.key[:-1] if minor else msg.key).replace("b", "-")
            metas.append((tick, "key", (tonic, "minor" if minor else "major")))
        elif kind == "time_signature":
            metas.append((tick, "time", f"{msg.numerator}/{msg.denominator}"))
        elif kind in ("track_name", "instrument_name"):
            instruments.append((tick, kind, msg.name.encode("latin-1", "replace"), 0))
        elif kind == "program_change":
            instruments.append((tick, "program", msg.program, msg.channel))
    return _Track(_pair_notes(timed), metas, instruments, has_notes)


def _pair_notes(timed: list[tuple[int, mido.Message]]) -> list[_Note]:
    """music21's ``getNotesFromEvents``: walk backwards so each note-on meets the next note-off."""
    awaiting: dict[tuple[int, int], int] = {}
    notes: list[_Note] = []
    for tick, msg in reversed(timed):
        if msg.type == "note_off" or (msg.type == "note_on" and msg.velocity == 0):
            awaiting[msg.note, msg.channel] = tick
        elif msg.type == "note_on":
            off = awaiting.get((msg.note, msg.channel))
            if off is not None:
                notes.append(_Note(tick, off, msg.note, msg.channel))
    notes.reverse()
    return notes


def read_piece(source: Union[str, Path, bytes], *, include_drums: bool = False, title: str = "", flat: bool = True) -> Piece:
    """Read one MIDI file into a :class:`Piece` (``flat=False`` skips the music21-order view)."""
    midi = load_midi(source)
    tpq = midi.ticks_per_beat
    tracks = [_read_track(t, include_drums) for t in midi.tracks]
    if not any(t.notes for t in tracks):
        raise MidiReadError("no notes" + ("" if include_drums else " (drum channel 10 is excluded)"))
    piece = Piece(title=title or (Path(source).stem if not isinstance(source, bytes) else ""))
    for index, track in enumerate(tracks):
        if track.notes:
            piece.tracks_with_notes.append(index)
        for n in track.notes:
            onset = _best_match(n.on / tpq)
            length = _best_match((n.off - n.on) / tpq, zero_allowed=False)
            piece.notes.append(TimedNote(_frac(onset), _frac(length), n.pitch, index))
        for tick, kind, value in track.metas:
            piece.marks.append(Mark(_frac(_best_match(_opfrac(tick / tpq))), kind, value, index))
        inst_events = tuple((_opfrac(tick / tpq), kind, data, ch) for tick, kind, data, ch in track.instruments)
        for offset, name in _instrument_names(inst_events):
            piece.marks.append(Mark(_frac(_best_match(float(offset))), "instrument", name, index))
    piece.notes.sort(key=lambda n: (n.onset, n.track))
    piece.marks.sort(key=lambda m: m.offset)
    if flat:
        piece.flat = _FlatBuilder(tpq, tracks).items()
    return piece


# ---------------------------------------------------------------- music21's quantisation


@lru_cache(maxsize=65536)
def _opfrac(value: Number) -> Number:
    from music21.common.numberTools import opFrac

    return opFrac(value)


@lru_cache(maxsize=65536)
def _frac(value: Number) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(value).limit_denominator(10080)


@lru_cache(maxsize=65536)
def _best_match(target: Number, zero_allowed: bool = True, gap: Number = 0.0) -> float:
    """``Stream.quantize``'s inner ``bestMatch`` with the same float arithmetic and tie-breaks."""
    from music21.common.numberTools import nearestMultiple

    found = []
    for div in DIVISORS:
        tick = 1 / div
        match, error, signed = nearestMultiple(float(target), tick)
        if not zero_allowed and match == 0.0:
            match = tick
            signed = round(float(target) - match, 7)
            error = abs(signed)
        remaining = 0.0 if gap % tick == 0 else max(gap - match, 0.0)
        found.append((remaining, error, tick, match, signed, div))
    return min(found)[3]


# ---------------------------------------------------------------- music21's flatten() order


@dataclass
class _El:
    """An element of a part while we replay music21's stream operations on it."""

    offset: Number
    duration: Number
    order: int  # classSortOrder
    item: FlatItem
    grace: bool = False
    index: int = 0  # insertion index (ties in sort order)

    @property
    def end(self) -> Number:
        return _opfrac(self.offset + self.duration)

    @property
    def is_note(self) -> bool:
        return self.order == ORDER_NOTE and self.item[0] == "notes"


def _sort_key(e: _El):
    return (float(e.offset), e.order, not e.grace, e.index)


class _FlatBuilder:
    """Replays ``midiTracksToStreams`` + ``flatten()`` on plain lists (no music21 streams)."""

    def __init__(self, tpq: int, tracks: list[_Track]) -> None:
        self.tpq = tpq
        self.tracks = tracks
        self.counter = 0

    def _new(self, offset, duration, order, item, grace=False) -> _El:
        self.counter += 1
        return _El(offset, duration, order, item, grace, self.counter)

    def items(self) -> list[FlatItem]:
        conductor: list[_El] = []
        out: list[tuple] = []
        parts = 0
        for track in self.tracks:
            if not track.has_notes:
                conductor.extend(self._metas(track))
                conductor = self._quantize(sorted(conductor, key=_sort_key))
                continue
            for rank, (offset, order, grace, index, item) in enumerate(self._part(track, conductor)):
                out.append((offset, order, not grace, parts, rank, item))
            parts += 1
        out.sort(key=lambda row: row[:5])
        return [row[5] for row in out]

    def _metas(self, track: _Track) -> list[_El]:
        tpq = self.tpq
        els = []
        for tick, kind, value in track.metas:
            order = {"tempo": ORDER_TEMPO, "key": ORDER_KEY, "time": ORDER_TIME}[kind]
            item = ("tempo", value) if kind == "tempo" else ("key",) + value if kind == "key" else ("text", time_name(value))
            els.append(self._new(_opfrac(tick / tpq), 0.0, order, item))
        inst_events = tuple((_opfrac(tick / tpq), kind, data, ch) for tick, kind, data, ch in track.instruments)
        for offset, name in _instrument_names(inst_events):
            els.append(self._new(offset, 0.0, ORDER_INSTRUMENT, ("text", name)))
        els.sort(key=lambda e: e.index if e.order != ORDER_INSTRUMENT else -1)
        return els

    def _quantize(self, els: list[_El]) -> list[_El]:
        """``Stream.quantize(processOffsets=True, processDurations=True)`` on a sorted list."""
        originals = [e.offset for e in els]
        for i, e in enumerate(els):
            o = _opfrac(_best_match(float(e.offset)))
            e.offset = o
            zero_allowed = not e.is_note or e.grace
            gap = 0.0
            look = None
            for nxt in originals[i + 1 :]:
                m = _best_match(float(nxt))
                if m > o:
                    look = m
                    break
            if look is not None:
                gap = _opfrac(look - o)
                match = _best_match(float(max(e.duration, 0)), zero_allowed, gap)
            else:
                match = _best_match(float(max(e.duration, 0)), zero_allowed)
            e.duration = _opfrac(match)
        return sorted(els, key=_sort_key)

    def _chords(self, notes: list[_Note]) -> tuple[list[_El], bool]:
        """music21's chord gathering: starts closer than a 16th and ends within one -> chord."""
        tpq = self.tpq
        tolerance = tpq / max(DIVISORS)
        gathered = [False] * len(notes)
        voices_required = False
        els = []
        for i, first in enumerate(notes):
            if gathered[i]:
                continue
            group = [first]
            for j in range(i + 1, len(notes)):
                other = notes[j]
                if abs(other.on - first.on) >= tolerance:
                    break
                if abs(other.off - first.off) > tolerance:
                    voices_required = True
                    continue
                group.append(other)
                gathered[j] = True
            last = group[-1]
            ticks = last.off - last.on
            duration = _opfrac(ticks / tpq)
            item = ("notes", tuple(n.pitch for n in group))
            els.append(self._new(_opfrac(first.on / tpq), duration, ORDER_NOTE, item, grace=ticks == 0))
        return els, voices_required

    def _part(self, track: _Track, conductor: list[_El]):
        els = self._metas(track)
        notes, voices_required = self._chords(track.notes)
        els = self._quantize(sorted(els + notes, key=_sort_key))
        if not track.notes:
            return [(e.offset, e.order, e.grace, e.index, e.item) for e in els]
        own_times = [e for e in els if e.order == ORDER_TIME]
        cond_times = [e for e in conductor if e.order == ORDER_TIME]
        copies = [self._new(e.offset, 0.0, e.order, e.item) for e in conductor if e.order in (ORDER_TEMPO, ORDER_KEY)]
        times = [self._new(e.offset, 0.0, e.order, e.item) for e in cond_times] if cond_times else own_times
        # The meter map: the last time signature given at each offset, 4/4 from 0 if none is.
        meters = sorted({float(e.offset): e.item[1] for e in times}.items())
        if not meters or meters[0][0] != 0:
            meters.insert(0, (0.0, time_name("4/4")))
        els = sorted([e for e in els if e.order != ORDER_TIME] + copies, key=_sort_key)
        return _Measures(self, meters, els, voices_required, times).flat()


UNIT = 192  # integer time unit: 1/192 quarter holds the (4, 3) grid and bars down to 1/256 notes


def _bar_units(name: str) -> int:
    num, den = name.split()[-1].split("/")
    return 4 * UNIT * int(num) // int(den)


class _Measures:
    """makeMeasures, makeVoices, makeTies and makeRests on one part, then its flat rows.

    After quantisation every time is a multiple of 1/12 quarter, so integers in
    :data:`UNIT` replace music21's Fractions here.
    """

    def __init__(self, builder: _FlatBuilder, meters, els: list[_El], voices_required: bool, times: list[_El]) -> None:
        self.b = builder
        self.meters = [(round(float(o) * UNIT), name) for o, name in meters]
        for e in els + times:
            e.offset = round(float(e.offset) * UNIT)
            e.duration = round(float(e.duration) * UNIT)
        self.els = els
        self.times = times
        self.voices_required = voices_required
        self.starts: list[int] = []
        self.lengths: list[int] = []
        self.meter_at: list[int] = []  # index into self.meters of each bar's time signature

    def _ensure(self, upto: int) -> None:
        """Create bars until ``upto`` lies inside one (makeMeasures' bar lines)."""
        while not self.starts or self.starts[-1] + self.lengths[-1] <= upto:
            start = self.starts[-1] + self.lengths[-1] if self.starts else 0
            index = max(i for i, (o, _) in enumerate(self.meters) if o <= start)
            self.starts.append(start)
            self.lengths.append(max(_bar_units(self.meters[index][1]), 1))
            self.meter_at.append(index)

    def _place_times(self) -> None:
        """A bar whose meter changes shows it once; signatures off the bar lines stay as given."""
        highest = max(e.offset + e.duration for e in self.els + self.times)
        self._ensure(max(highest - 1, 0))
        for t in self.times:
            self._ensure(t.offset)
            if t.offset not in self.starts:
                self.els.append(t)

    def _bar_time(self, m: int) -> Optional[_El]:
        if m and self.meter_at[m] == self.meter_at[m - 1]:
            return None
        return self.b._new(0, 0, ORDER_TIME, ("text", self.meters[self.meter_at[m]][1]))

    def flat(self):
        self._place_times()
        content: dict[int, list[_El]] = {}
        m = 0
        for e in sorted(self.els, key=lambda e: e.offset):
            self._ensure(e.offset)
            while self.starts[m] + self.lengths[m] <= e.offset:
                m += 1
            content.setdefault(m, []).append(e)
        rows = []
        m = 0
        while m < len(self.starts):
            start, length = self.starts[m], self.lengths[m]
            inside = content.get(m, [])
            for e in inside:
                e.offset -= start
            bar_time = self._bar_time(m)
            if bar_time is not None:
                inside.append(bar_time)
            voices = self._voices(inside) if self.voices_required else None
            streams = voices if voices else [inside]
            for voice in streams:
                for e in voice:
                    over = e.offset + e.duration - length
                    if e.is_note and over > 0:  # makeTies: the rest of the note opens the next bar
                        e.duration = length - e.offset
                        self._ensure(start + length)
                        content.setdefault(m + 1, []).append(self.b._new(start + length, over, ORDER_NOTE, e.item))
            for voice in streams:
                voice.extend(self._rests(voice, length, first=m == 0 and voice is streams[0]))
            for v, voice in enumerate(streams):
                for e in voice:
                    rows.append((_opfrac((start + e.offset) / UNIT), e.order, e.grace, (m, v, e.index), e.item))
            m += 1
        return rows

    @staticmethod
    def _voices(els: list[_El]) -> Optional[list[list[_El]]]:
        """makeVoices: only where notes overlap; first fit by each voice's end time."""
        notes = sorted((e for e in els if e.is_note), key=_sort_key)
        reach, overlap = -1, False
        for e in notes:
            overlap = overlap or e.offset < reach
            reach = max(reach, e.offset + e.duration)
        if not overlap:
            return None
        voices: list[list[_El]] = []
        ends: list[int] = []
        for e in notes:
            for v, end in enumerate(ends):
                if end <= e.offset:
                    voices[v].append(e)
                    ends[v] = max(end, e.offset + e.duration)
                    break
            else:
                voices.append([e])
                ends.append(e.offset + e.duration)
        voices[0] = [e for e in els if not e.is_note] + voices[0]
        return voices

    def _rests(self, els: list[_El], length: int, first: bool) -> list[_El]:
        """makeRests(fillGaps=True, timeRangeFromBarDuration=True) inside one bar or voice."""
        new = self.b._new
        rests = []
        low = 0 if first or not els else min(e.offset for e in els)
        if low > 0:
            rests.append(new(0, low, ORDER_NOTE, ("rest",)))
        high = max((e.offset + e.duration for e in els), default=0)
        reach = 0
        for e in sorted(els + rests, key=_sort_key):
            if e.offset > reach:
                rests.append(new(reach, e.offset - reach, ORDER_NOTE, ("rest",)))
            reach = max(reach, e.offset + e.duration)
        if length > high:
            rests.append(new(high, length - high, ORDER_NOTE, ("rest",)))
        return rests


# ---------------------------------------------------------------- items -> note text

MARK_ORDER = {"instrument": ORDER_INSTRUMENT, "tempo": ORDER_TEMPO, "key": ORDER_KEY, "time": ORDER_TIME}


def _names(pitches, semitones: int) -> Optional[list[str]]:
    from musicgpt_gui.core.music.notation import midi_to_name

    shifted = [p + semitones for p in pitches]
    if any(not 0 <= p <= 127 for p in shifted):
        return None
    return [midi_to_name(p) for p in shifted]


def render_flat(items: list[FlatItem], semitones: int = 0) -> Optional[list[str]]:
    """Seed-format items in music21's flatten() order; None when a transposed pitch leaves 0..127."""
    out = []
    for item in items:
        kind = item[0]
        if kind == "notes":
            names = _names(item[1], semitones)
            if names is None:
                return None
            out.append(" ".join(names))
        elif kind == "rest":
            out.append("rest")
        elif kind == "key":
            out.append(key_name(item[1], item[2], semitones))
        elif kind == "tempo":
            out.append(tempo_name(item[1]))
        elif item[1]:
            out.append(item[1])
    return out


def select_tracks(piece: Piece, mode: str) -> list[int]:
    """merge: every track with notes; first: the first one (drums were dropped on reading)."""
    return piece.tracks_with_notes[:1] if mode == "first" else list(piece.tracks_with_notes)


def render_merged(piece: Piece, fmt: str, mode: str = "merge", semitones: int = 0) -> Optional[list[str]]:
    """One time-ordered stream: notes starting together form a chord, silences become rests.

    Timed items carry the step to the next item and ``~length`` where a pitch sounds
    longer or shorter than that step (see core/notation.py).  Marks (instrument, tempo,
    key, time signature) are written before the first event at or after their offset,
    each only when it changes; instruments only for the selected tracks.
    """
    from musicgpt_gui.core.music.notation import format_control, format_item

    timed = fmt == "timed"
    tracks = set(select_tracks(piece, mode))
    groups: dict[Fraction, dict[int, Fraction]] = {}
    for n in piece.notes:
        if n.track in tracks:
            chord = groups.setdefault(n.onset, {})
            chord[n.pitch] = max(chord.get(n.pitch, Fraction(0)), n.duration)
    onsets = sorted(groups)
    marks = sorted(
        (m for m in piece.marks if m.kind != "instrument" or m.track in tracks),
        key=lambda m: (m.offset, MARK_ORDER[m.kind]),
    )
    out: list[str] = []
    current: dict[str, object] = {}
    seen_instruments: set[str] = set()
    mark_i = 0

    def emit_marks(upto: Optional[Fraction]) -> None:
        nonlocal mark_i
        while mark_i < len(marks) and (upto is None or marks[mark_i].offset <= upto):
            m = marks[mark_i]
            mark_i += 1
            if m.kind == "instrument":
                if m.value and m.value not in seen_instruments:
                    seen_instruments.add(m.value)
                    out.append(m.value)
                continue
            if current.get(m.kind) == m.value:
                continue
            current[m.kind] = m.value
            if m.kind == "tempo":
                out.append(format_control("tempo", m.value) if timed else tempo_name(m.value))
            elif m.kind == "key":
                out.append(key_name(m.value[0], m.value[1], semitones))
            else:
                out.append(time_name(m.value))

    def rest(length: Fraction) -> None:
        out.append(format_item(None, length if timed else None))

    emit_marks(Fraction(0))
    if onsets and onsets[0] > 0:
        rest(onsets[0])
    sounding = Fraction(0)
    for i, onset in enumerate(onsets):
        emit_marks(onset)
        chord = groups[onset]
        names = _names(chord, semitones)
        if names is None:
            return None
        sounding = max(sounding, max(onset + d for d in chord.values()))
        following = onsets[i + 1] if i + 1 < len(onsets) else None
        step = (following if following is not None and following <= sounding else sounding) - onset
        holds = {name: d for name, d in zip(names, chord.values()) if d != step}
        out.append(format_item(names, step if timed else None, holds))
        if following is not None and following > sounding:
            rest(following - sounding)
    emit_marks(None)
    return out
