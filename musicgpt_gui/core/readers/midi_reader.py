"""MIDI file -> :class:`Piece`, read with symusic or mido, never with ``music21.converter.parse``.

``converter.parse`` spends 0.5 s on a chorale and up to a minute on a pop file, almost all
of it building streams, measures, ties and rests.  Here symusic (midi_symusic.py, timed format)
or mido (midi_file.py, the seed format's event-exact path and the tolerant fallback) reads the
bytes and we keep only what the note text needs: notes and marks on a grid (grid.py),
and, for the seed's flat mode, the items in music21's flatten() order (flatten_replay.py).
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Optional, Union

import numpy as np

from musicgpt_gui.core.music.grid import DEFAULT_GRID, SEED_UNIT, grid_steps, opfrac, snap, snap_quarters, snap_ticks
from musicgpt_gui.core.music.piece import Mark, NoteTable, Piece
from musicgpt_gui.core.music.tempo_map import DEFAULT_TEMPO, TempoMap
from musicgpt_gui.core.readers.flatten_replay import FlatBuilder
from musicgpt_gui.core.readers.midi_file import (
    MidiReadError,
    RawTrack,
    checked_bytes,
    instrument_names,
    load_midi,
    note_columns,
    read_track,
    track_part,
)
from musicgpt_gui.core.readers.midi_symusic import SymusicRejected, read_tracks

NAME = "MIDI"
EXTENSIONS = (".mid", ".midi")

__all__ = ["EXTENSIONS", "NAME", "MidiReadError", "read_piece"]


def read_piece(
    source: Union[str, Path, bytes],
    *,
    include_drums: bool = False,
    title: str = "",
    flat: bool = True,
    grid: Optional[int] = DEFAULT_GRID,
) -> Piece:
    """Read one MIDI file into a :class:`Piece` (``flat=False`` skips the music21-order view).

    ``grid``: notes and marks on the uniform 1/grid quarter grid (the timed format), read with
    symusic; None puts them on music21's grid, as the seed format does, read with mido event by
    event as music21 reads them.  A file the reader rejects is retried with mido's tolerant
    reader, and :attr:`Piece.warnings` says so.
    """
    data = checked_bytes(source)
    tpq, tracks, warnings = _raw_tracks(data, include_drums, fast=bool(grid) and not flat)
    per_track = [note_columns(t) for t in tracks]
    if not any(len(cols[0]) for cols in per_track):
        drums = sum(t.drum_notes for t in tracks)
        if drums:
            raise MidiReadError(f"only drums: {drums} notes on channel 10, which is left out unless drums are included")
        raise MidiReadError("no notes at all")
    piece = Piece(title=title or (Path(source).stem if not isinstance(source, bytes) else ""), warnings=warnings)
    columns = []
    for index, track in enumerate(tracks):
        if len(per_track[index][0]):
            piece.tracks_with_notes.append(index)
            piece.track_parts[index] = track_part(track)
            columns.append((index, per_track[index]))
        for tick, kind, value in track.metas:
            if grid and kind == "tempo":
                continue  # placed below, all tracks together, so the moved marks do not drift
            offset = snap_ticks(tick, tpq, grid) if grid else snap(opfrac(tick / tpq))
            piece.marks.append(Mark(offset, kind, value, index))
        inst_events = tuple((opfrac(tick / tpq), kind, data, ch) for tick, kind, data, ch in track.instruments)
        for offset, name in instrument_names(inst_events):
            at = snap_quarters(offset, grid) if grid else snap(float(offset))
            piece.marks.append(Mark(at, "instrument", name, index))
    piece.table = _note_table(columns, tpq, grid)
    if grid:
        piece.marks += _grid_tempo_marks(tracks, tpq, grid)
    piece.marks.sort(key=lambda m: m.offset)
    if flat:
        piece.flat = FlatBuilder(tpq, tracks).items()
    return piece


def _note_table(columns: list[tuple[int, tuple[np.ndarray, ...]]], tpq: int, grid: Optional[int]) -> NoteTable:
    """Every track's notes on the uniform grid (both ends snapped, at least one step), or on music21's."""
    if not columns:
        return NoteTable.empty()
    on, off, pitch, velocity, program = (np.concatenate([c[k] for _, c in columns]) for k in range(5))
    track = np.concatenate([np.full(len(c[0]), index, dtype=np.int64) for index, c in columns])
    if grid:
        start = grid_steps(on, tpq, grid)
        length = np.maximum(grid_steps(off, tpq, grid) - start, 1)
        return NoteTable.build(grid, start, length, pitch, track, velocity, program)
    unit = SEED_UNIT
    start = [int(snap(t / tpq) * unit) for t in on.tolist()]
    length = [int(snap(d / tpq, zero_allowed=False) * unit) for d in (off - on).tolist()]
    return NoteTable.build(unit, start, length, pitch, track, velocity, program)


def _grid_tempo_marks(tracks: list[RawTrack], tpq: int, grid: int) -> list[Mark]:
    """Every track's tempo changes on the grid, re-derived by :meth:`TempoMap.on_grid` so timing never drifts."""
    written = [(tick, bpm) for t in tracks for tick, kind, bpm in t.metas if kind == "tempo"]
    written.sort(key=lambda m: m[0])
    if not written:
        return []
    tempo_map = TempoMap.from_marks((Fraction(tick, tpq), bpm) for tick, bpm in written).on_grid(
        lambda q: snap_quarters(q, grid)
    )
    marks = [Mark(onset, "tempo", bpm, 0) for onset, bpm in tempo_map.marks]
    if written[0][0] > 0 and marks[0].value == DEFAULT_TEMPO:
        marks.pop(0)  # the file set no tempo at the start; 120 bpm is everybody's default
    return marks


def _raw_tracks(data: bytes, include_drums: bool, fast: bool) -> tuple[int, list[RawTrack], list[str]]:
    """(ticks per beat, tracks, warnings): symusic when ``fast``, else mido; mido ``clip=True`` as the fallback."""
    if fast:
        try:
            return (*read_tracks(data, include_drums), [])
        except SymusicRejected as exc:
            warning = f"symusic rejected the file ({exc}); read with mido's tolerant reader, bad data bytes clipped"
            midi = load_midi(data, clip=True)
    else:
        try:
            midi, warning = load_midi(data), None
        except MidiReadError as strict:
            try:
                midi = load_midi(data, clip=True)
            except MidiReadError:
                raise strict from None
            warning = f"{strict}; read with mido's tolerant reader, data bytes above 127 clipped"
    tracks = [read_track(t, include_drums) for t in midi.tracks]
    return midi.ticks_per_beat, tracks, [warning] if warning else []
