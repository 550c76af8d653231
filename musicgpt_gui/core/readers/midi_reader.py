"""MIDI file -> :class:`Piece`, read with mido, never with ``music21.converter.parse``.

``converter.parse`` spends 0.5 s on a chorale and up to a minute on a pop file, almost all
of it building streams, measures, ties and rests.  Here mido reads the bytes (midi_file.py)
and we keep only what the note text needs: notes and marks on a grid (grid.py),
and, for the seed's flat mode, the items in music21's flatten() order (flatten_replay.py).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

from musicgpt_gui.core.music.grid import DEFAULT_GRID, opfrac, snap, snap_quarters, snap_ticks, snapped_span
from musicgpt_gui.core.music.piece import Mark, Piece, TimedNote
from musicgpt_gui.core.readers.flatten_replay import FlatBuilder
from musicgpt_gui.core.readers.midi_file import MidiReadError, instrument_names, load_midi, read_track

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

    ``grid``: notes and marks on the uniform 1/grid quarter grid (the timed format); None puts
    them on music21's grid, as the seed format does.
    """
    midi = load_midi(source)
    tpq = midi.ticks_per_beat
    tracks = [read_track(t, include_drums) for t in midi.tracks]
    if not any(t.notes for t in tracks):
        raise MidiReadError("no notes" + ("" if include_drums else " (drum channel 10 is excluded)"))
    piece = Piece(title=title or (Path(source).stem if not isinstance(source, bytes) else ""))
    for index, track in enumerate(tracks):
        if track.notes:
            piece.tracks_with_notes.append(index)
        for n in track.notes:
            if grid:
                onset = snap_ticks(n.on, tpq, grid)
                length = snapped_span(onset, snap_ticks(n.off, tpq, grid), grid)
            else:
                onset, length = snap(n.on / tpq), snap((n.off - n.on) / tpq, zero_allowed=False)
            piece.notes.append(TimedNote(onset, length, n.pitch, index))
        for tick, kind, value in track.metas:
            offset = snap_ticks(tick, tpq, grid) if grid else snap(opfrac(tick / tpq))
            piece.marks.append(Mark(offset, kind, value, index))
        inst_events = tuple((opfrac(tick / tpq), kind, data, ch) for tick, kind, data, ch in track.instruments)
        for offset, name in instrument_names(inst_events):
            at = snap_quarters(offset, grid) if grid else snap(float(offset))
            piece.marks.append(Mark(at, "instrument", name, index))
    piece.notes.sort(key=lambda n: (n.onset, n.track))
    piece.marks.sort(key=lambda m: m.offset)
    if flat:
        piece.flat = FlatBuilder(tpq, tracks).items()
    return piece
