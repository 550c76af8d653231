"""A :class:`Piece` -> note-text items, in either format (the grammar is in notation.py)."""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from math import lcm
from typing import Optional

import numpy as np

from musicgpt_gui.core.music.music21_names import key_name, tempo_name, time_name
from musicgpt_gui.core.music.notation import (
    DEFAULT_VELOCITY,
    MAX_LENGTH,
    format_control,
    format_duration,
    item_text,
    midi_to_name,
)
from musicgpt_gui.core.music.note_table import NO_VELOCITY, NoteTable
from musicgpt_gui.core.music.parts import Part, assign_parts, declaration, marker
from musicgpt_gui.core.music.piece import MARK_ORDER, FlatItem, Mark, Piece


@lru_cache(maxsize=1)
def pitch_names() -> tuple[str, ...]:
    """music21's name of every MIDI pitch, made once per process (a pool forks after it is made)."""
    return tuple(midi_to_name(m) for m in range(128))


def _names(pitches: list[int], semitones: int) -> Optional[list[str]]:
    """music21's names of the pitches moved by ``semitones``; None when one leaves MIDI's 0..127."""
    if semitones:
        pitches = [p + semitones for p in pitches]
    if min(pitches) < 0 or max(pitches) > 127:
        return None
    table = pitch_names()
    return [table[p] for p in pitches]


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


Chords = tuple[list[int], list[list[int]], list[list[int]], list[list[int]]]


def sounding_chords(table: NoteTable, part_of_track: Optional[np.ndarray] = None) -> Chords:
    """Notes as MIDI players sound them, each track as its own channel: (onsets, pitches, lengths, parts of each).

    Within a track a key sounds once at a time (the README grammar states the rules): same-pitch
    notes starting together are one note, the longest, and a note still sounding when its pitch
    starts again ends there (the new note-on re-strikes the key).  Across tracks every note is
    kept, so a chord can name a pitch twice (a unison doubling).  A chord's pitches keep the
    order their first notes have in the table.  With ``part_of_track`` (a part index per track) the
    pitches are grouped by part and the last list holds each note's part (without it, the list is empty).
    """
    if not len(table):
        return [], [], [], []
    row = np.arange(len(table))
    order = np.lexsort((row, table.pitch, table.track, table.onset))
    onset, track, pitch, length = table.onset[order], table.track[order], table.pitch[order], table.length[order]
    new = (onset[1:] != onset[:-1]) | (track[1:] != track[:-1]) | (pitch[1:] != pitch[:-1])
    starts = np.flatnonzero(np.append(True, new))
    onset, track, pitch, first = onset[starts], track[starts], pitch[starts], row[order][starts]
    length = np.maximum.reduceat(length, starts)
    by_key = np.lexsort((onset, pitch, track))
    next_onset = np.append(onset[by_key][1:], -1)
    same_key = np.append((pitch[by_key][1:] == pitch[by_key][:-1]) & (track[by_key][1:] == track[by_key][:-1]), False)
    cut = same_key & (onset[by_key] + length[by_key] > next_onset)
    length[by_key[cut]] = (next_onset - onset[by_key])[cut]
    if part_of_track is None:
        order = np.lexsort((first, onset))
    else:  # within a chord, parts in order (each part's pitches together)
        track = part_of_track[track]
        order = np.lexsort((first, track, onset))
    onset, pitch, length, track = onset[order], pitch[order], length[order], track[order]
    bounds = np.flatnonzero(np.append(True, onset[1:] != onset[:-1]))
    edges = [*bounds.tolist(), len(onset)]
    pitches, lengths = pitch.tolist(), length.tolist()
    parts = track.tolist() if part_of_track is not None else []
    return (
        onset[bounds].tolist(),
        [pitches[a:b] for a, b in zip(edges, edges[1:])],
        [lengths[a:b] for a, b in zip(edges, edges[1:])],
        [parts[a:b] for a, b in zip(edges, edges[1:])] if parts else [],
    )


def _changes(marks: list[Mark]) -> list[Mark]:
    """The marks that change something, in order: each instrument once, tempo/key/time when they change."""
    current: dict[str, object] = {}
    seen_instruments: set[object] = set()
    kept = []
    for m in marks:
        if m.kind == "instrument":
            if m.value and m.value not in seen_instruments:
                seen_instruments.add(m.value)
                kept.append(m)
        elif current.get(m.kind) != m.value:
            current[m.kind] = m.value
            kept.append(m)
    return kept


def bin_velocity(velocity: int, bins: int) -> int:
    """The centre of ``velocity``'s bin when 1..127 is cut into ``bins`` equal bins."""
    index = min(velocity * bins // 128, bins - 1)
    return max(1, min(127, round((index + 0.5) * 128 / bins)))


def _controls(table: NoteTable, velocity_bins: int, programs: bool) -> dict[int, list[tuple[str, int]]]:
    """Per onset, the controls of its chord: the loudest note's binned velocity, the first track's program."""
    onsets, first = np.unique(table.onset, return_index=True)
    loudest = np.maximum.reduceat(table.velocity, first) if len(first) else first
    controls: dict[int, list[tuple[str, int]]] = {}
    for onset, index, velocity in zip(onsets.tolist(), first.tolist(), loudest.tolist()):
        chosen = controls.setdefault(onset, [])
        if programs:
            chosen.append(("program", int(table.program[index])))
        if velocity_bins and velocity != NO_VELOCITY:
            chosen.append(("velocity", bin_velocity(velocity, velocity_bins)))
    return controls


@lru_cache(maxsize=8192)
def _duration(count: int, unit: int) -> str:
    return format_duration(Fraction(count, unit))


def render_merged(
    piece: Piece,
    fmt: str,
    mode: str = "merge",
    semitones: int = 0,
    *,
    velocity_bins: int = 0,
    programs: bool = False,
    parts: str = "off",
) -> Optional[list[str]]:
    """One time-ordered stream: notes starting together form a chord, silences become rests.

    Timed items carry the step to the next item and ``~length`` where a pitch sounds
    longer or shorter than that step (see notation.py).  Marks (instrument, tempo,
    key, time signature) are written where they change; instruments only for the selected
    tracks.  In the timed format a mark between two onsets ends the step there (a ``rest``
    step continues to the next onset while held notes sound on), so it keeps its position;
    the seed format, which has no steps, writes it before the next event.
    Timed text can also carry ``velocity=`` (binned into ``velocity_bins``; 0 leaves it out) and
    ``program=`` controls, written before a chord when they change (one value per chord).
    ``parts`` (timed only): ``tracks`` or ``programs`` declare the piece's parts first and mark each
    chord's pitches with their part (parts.py); drum parts are not transposed.  Raises
    :class:`~musicgpt_gui.core.music.parts.TooManyParts` when the parts do not fit MIDI's channels.
    """
    timed = fmt == "timed"
    selected = select_tracks(piece, mode)
    tracks = set(selected)
    declared: list[Part] = []
    part_of: dict[int, int] = {}
    if timed and parts != "off":
        declared, part_of = assign_parts(selected, piece.track_parts, parts)
    marks = _changes(
        sorted(
            (m for m in piece.marks if m.kind != "instrument" or (m.track in tracks and not declared)),
            key=lambda m: (m.offset, MARK_ORDER[m.kind]),
        )
    )
    # Whole multiples of 1/unit quarter from here on: integer arithmetic instead of Fractions.
    unit = lcm(piece.table.unit, *{m.offset.denominator for m in marks})
    table = piece.table.select(tracks).rescaled(unit)

    def steps(time: Fraction) -> int:
        return time.numerator * (unit // time.denominator)

    def duration(count: int) -> Optional[str]:
        return _duration(count, unit) if timed else None

    lookup = None
    if declared:
        lookup = np.zeros(max(part_of) + 1, dtype=np.int64)
        lookup[list(part_of)] = list(part_of.values())
    onsets, chord_pitches, chord_lengths, chord_parts = sounding_chords(table, lookup)
    spell = _PartSpelling(declared, semitones) if declared else None
    controls = _controls(table, velocity_bins, programs) if timed and (velocity_bins or programs) else {}
    current: dict[str, int] = {"velocity": DEFAULT_VELOCITY, "program": 0}
    mark_at = [steps(m.offset) for m in marks]
    chords = {onset: i for i, onset in enumerate(onsets)}
    positions = onsets
    if timed and onsets:
        last = onsets[-1]
        positions = sorted(set(onsets).union(at for at in mark_at if at < last))
    out: list[str] = []
    mark_i = 0

    def emit_marks(upto: Optional[int]) -> None:
        nonlocal mark_i
        while mark_i < len(marks) and (upto is None or mark_at[mark_i] <= upto):
            m = marks[mark_i]
            mark_i += 1
            if m.kind == "instrument":
                out.append(str(m.value))
            elif m.kind == "tempo":
                out.append(format_control("tempo", m.value) if timed else tempo_name(m.value))
            elif m.kind == "key":
                out.append(key_name(m.value[0], m.value[1], semitones))
            else:
                out.append(time_name(m.value))

    def rest(length: int) -> None:
        """A silence; in the timed format one ``rest`` per :data:`MAX_LENGTH` quarters at most, as parsed."""
        while timed and length > MAX_LENGTH * unit:
            out.append(item_text((), duration(MAX_LENGTH * unit)))
            length -= MAX_LENGTH * unit
        out.append(item_text((), duration(length)))

    if declared:
        out += [declaration(k + 1, part) for k, part in enumerate(declared)]
    emit_marks(0)
    if positions and positions[0] > 0:
        rest(positions[0])
    sounding = 0
    for i, position in enumerate(positions):
        if mark_i < len(marks) and mark_at[mark_i] <= position:
            emit_marks(position)
        following = positions[i + 1] if i + 1 < len(positions) else None
        chord = chords.get(position)
        if chord is None:  # a mark between onsets: time moves on to the next position
            if following is not None:
                rest(following - position)
            continue
        lengths = chord_lengths[chord]
        if spell is not None:
            names, spelled = spell(chord_pitches[chord], lengths, chord_parts[chord])
        else:
            names = _names(chord_pitches[chord], semitones)
        if names is None:
            return None
        for kind, value in controls.get(position, []):
            if current[kind] != value:
                current[kind] = value
                out.append(format_control(kind, value))
        sounding = max(sounding, position + max(lengths))
        step = (following if following is not None and following <= sounding else sounding) - position
        if spell is not None:
            holds = [None if d is None or d == step else _duration(d, unit) for d in spelled]
        else:
            holds = [None if d == step else _duration(d, unit) for d in lengths] if timed else None
        out.append(item_text(names, duration(step), holds))
        if following is not None and following > sounding:
            rest(following - sounding)
    emit_marks(None)
    return out



class _PartSpelling:
    """A chord's names grouped by part, each group after its ``@N`` marker (none in a one-part piece),
    with None lengths at the markers; drum pitches are never transposed."""

    def __init__(self, parts: list[Part], semitones: int) -> None:
        self.markers = [marker(k + 1) if len(parts) > 1 else None for k in range(len(parts))]
        self.shift = [0 if part.drums else semitones for part in parts]
        self.names = pitch_names()

    def __call__(
        self, pitches: list[int], lengths: list[int], parts: list[int]
    ) -> tuple[Optional[list[str]], list[Optional[int]]]:
        names: list[str] = []
        held: list[Optional[int]] = []
        current = -1
        for pitch, length, part in zip(pitches, lengths, parts):
            if part != current:
                current = part
                if self.markers[part] is not None:
                    names.append(self.markers[part])
                    held.append(None)
            moved = pitch + self.shift[part]
            if not 0 <= moved <= 127:
                return None, held
            names.append(self.names[moved])
            held.append(length)
        return names, held
