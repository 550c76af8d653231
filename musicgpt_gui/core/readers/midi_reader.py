"""MIDI file -> :class:`Piece`, read with mido, never with ``music21.converter.parse``.

``converter.parse`` spends 0.5 s on a chorale and up to a minute on a pop file, almost all
of it building streams, measures, ties and rests.  Here mido reads the bytes (midi_file.py)
and we keep only what the note text needs: notes and marks on music21's quantisation grid,
and, for the seed's flat mode, the items in music21's flatten() order (flatten_replay.py).
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

from musicgpt_gui.core.music.grid import opfrac, snap
from musicgpt_gui.core.music.piece import Mark, Piece, TimedNote
from musicgpt_gui.core.readers.flatten_replay import FlatBuilder
from musicgpt_gui.core.readers.midi_file import MidiReadError, instrument_names, load_midi, read_track

NAME = "MIDI"
EXTENSIONS = (".mid", ".midi")

__all__ = ["EXTENSIONS", "NAME", "MidiReadError", "read_piece"]


def read_piece(
    source: Union[str, Path, bytes], *, include_drums: bool = False, title: str = "", flat: bool = True
) -> Piece:
    """Read one MIDI file into a :class:`Piece` (``flat=False`` skips the music21-order view)."""
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
            length = snap((n.off - n.on) / tpq, zero_allowed=False)
            piece.notes.append(TimedNote(snap(n.on / tpq), length, n.pitch, index))
        for tick, kind, value in track.metas:
            piece.marks.append(Mark(snap(opfrac(tick / tpq)), kind, value, index))
        inst_events = tuple((opfrac(tick / tpq), kind, data, ch) for tick, kind, data, ch in track.instruments)
        for offset, name in instrument_names(inst_events):
            piece.marks.append(Mark(snap(float(offset)), "instrument", name, index))
    piece.notes.sort(key=lambda n: (n.onset, n.track))
    piece.marks.sort(key=lambda m: m.offset)
    if flat:
        piece.flat = FlatBuilder(tpq, tracks).items()
    return piece
