"""Raw MIDI tracks -> the items in the order ``converter.parse(f).flatten()`` yields them (the seed's path).

Per-track chords, notes split at bar lines and the rests that ``makeRests`` fills in: this
replays music21's ``midiTrackToStream`` step by step (chord gathering, ``Stream.quantize`` with
divisors (4, 3), measures, ties, rests, voices) on plain lists instead of streams; see
``music21/midi/translate.py`` and ``stream/makeNotation.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from musicgpt_gui.core.music.grid import DIVISORS, Number, best_match, opfrac
from musicgpt_gui.core.music.music21_names import time_name
from musicgpt_gui.core.music.piece import ORDER_INSTRUMENT, ORDER_KEY, ORDER_NOTE, ORDER_TEMPO, ORDER_TIME, FlatItem
from musicgpt_gui.core.readers.midi_file import RawNote, RawTrack, instrument_names


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
        return opfrac(self.offset + self.duration)

    @property
    def is_note(self) -> bool:
        return self.order == ORDER_NOTE and self.item[0] == "notes"


def _sort_key(e: _El):
    return (float(e.offset), e.order, not e.grace, e.index)


class FlatBuilder:
    """Replays ``midiTracksToStreams`` + ``flatten()`` on plain lists (no music21 streams)."""

    def __init__(self, tpq: int, tracks: list[RawTrack]) -> None:
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
            for rank, (offset, order, grace, _index, item) in enumerate(self._part(track, conductor)):
                out.append((offset, order, not grace, parts, rank, item))
            parts += 1
        out.sort(key=lambda row: row[:5])
        return [row[5] for row in out]

    def _metas(self, track: RawTrack) -> list[_El]:
        tpq = self.tpq
        els = []
        for tick, kind, value in track.metas:
            order = {"tempo": ORDER_TEMPO, "key": ORDER_KEY, "time": ORDER_TIME}[kind]
            if kind == "tempo":
                item = ("tempo", value)
            else:
                item = ("key", *value) if kind == "key" else ("text", time_name(value))
            els.append(self._new(opfrac(tick / tpq), 0.0, order, item))
        inst_events = tuple((opfrac(tick / tpq), kind, data, ch) for tick, kind, data, ch in track.instruments)
        for offset, name in instrument_names(inst_events):
            els.append(self._new(offset, 0.0, ORDER_INSTRUMENT, ("text", name)))
        els.sort(key=lambda e: e.index if e.order != ORDER_INSTRUMENT else -1)
        return els

    def _quantize(self, els: list[_El]) -> list[_El]:
        """``Stream.quantize(processOffsets=True, processDurations=True)`` on a sorted list."""
        originals = [e.offset for e in els]
        for i, e in enumerate(els):
            o = opfrac(best_match(float(e.offset)))
            e.offset = o
            zero_allowed = not e.is_note or e.grace
            gap = 0.0
            look = None
            for nxt in originals[i + 1 :]:
                m = best_match(float(nxt))
                if m > o:
                    look = m
                    break
            if look is not None:
                gap = opfrac(look - o)
                match = best_match(float(max(e.duration, 0)), zero_allowed, gap)
            else:
                match = best_match(float(max(e.duration, 0)), zero_allowed)
            e.duration = opfrac(match)
        return sorted(els, key=_sort_key)

    def _chords(self, notes: list[RawNote]) -> tuple[list[_El], bool]:
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
            duration = opfrac(ticks / tpq)
            item = ("notes", tuple(n.pitch for n in group))
            els.append(self._new(opfrac(first.on / tpq), duration, ORDER_NOTE, item, grace=ticks == 0))
        return els, voices_required

    def _part(self, track: RawTrack, conductor: list[_El]):
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

    def __init__(self, builder: FlatBuilder, meters, els: list[_El], voices_required: bool, times: list[_El]) -> None:
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
                    rows.append((opfrac((start + e.offset) / UNIT), e.order, e.grace, (m, v, e.index), e.item))
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
