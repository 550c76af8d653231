"""Non-MIDI scores (MusicXML, ABC, kern, the music21 corpus) -> :class:`Piece`, via music21.

music21 is the right tool here: these formats carry spelling, ties and voices that only a
full parser understands, and the files are small.  The result has the same shape as a
MIDI file's, so both go through the same renderer (core/music/render.py).
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Callable, Optional, Union

from musicgpt_gui.core.music.grid import DEFAULT_GRID, snap, snap_quarters, snapped_span
from musicgpt_gui.core.music.notation import seed_name
from musicgpt_gui.core.music.parts import Part
from musicgpt_gui.core.music.piece import NoteTable, FlatItem, Mark, Piece, TimedNote

NAME = "Scores (MusicXML, ABC, kern)"
EXTENSIONS = (".xml", ".musicxml", ".mxl", ".abc", ".krn")


class ScoreReadError(Exception):
    """A score music21 cannot read or that holds no notes; the message is a plain reason."""


def read_scores(path: Union[str, Path], grid: Optional[int] = DEFAULT_GRID) -> list[Piece]:
    """Every piece in one file (an ABC or kern file may hold a whole collection).

    ``grid`` as in :func:`~musicgpt_gui.core.readers.midi_reader.read_piece`.
    """
    from music21 import converter, stream

    try:
        parsed = converter.parse(str(path))
    except Exception as exc:  # music21 raises many unrelated types for bad input
        raise ScoreReadError(f"music21 cannot read it ({type(exc).__name__}: {exc})") from None
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    stem = Path(path).stem
    pieces = []
    for number, score in enumerate(scores, 1):
        title = (score.metadata.title if score.metadata and score.metadata.title else "") or (
            f"{stem} #{number}" if len(scores) > 1 else stem
        )
        piece = piece_from_score(score, title, grid)
        if len(piece.table):
            pieces.append(piece)
    if not pieces:
        raise ScoreReadError("no notes")
    return pieces


def _snapper(grid: Optional[int]) -> Callable[[float], Fraction]:
    return (lambda t: snap_quarters(Fraction(t), grid)) if grid else snap


def piece_from_score(score, title: str, grid: Optional[int] = DEFAULT_GRID) -> Piece:
    """Notes (ties joined) and marks per part, plus the seed's flatten() items."""
    from music21 import chord, note

    piece = Piece(title=title, flat=_flat_items(score))
    parts = list(score.parts) or [score]
    at = _snapper(grid)
    notes: list[TimedNote] = []
    for index, part in enumerate(parts):
        program = part.getInstrument(returnDefault=True).midiProgram or 0
        flat = part.stripTies(inPlace=False).flatten()
        found = False
        for el in flat.notes:
            if el.duration.isGrace or not isinstance(el, (note.Note, chord.Chord)):
                continue
            if grid:
                onset = at(el.offset)
                length = snapped_span(onset, at(el.offset + el.duration.quarterLength), grid)
            else:
                onset, length = snap(float(el.offset)), snap(float(el.duration.quarterLength), zero_allowed=False)
            for p in el.pitches:
                if 0 <= p.midi <= 127:
                    notes.append(TimedNote(onset, length, p.midi, index, program=program))
                    found = True
        if found:
            piece.tracks_with_notes.append(index)
            name = (part.partName or part.getInstrument(returnDefault=True).instrumentName or "").strip()
            piece.track_parts[index] = Part(name, program)
        piece.marks.extend(_marks(flat, index, at))
    piece.table = NoteTable.from_notes(notes)
    piece.marks.sort(key=lambda m: m.offset)
    return piece


def _marks(flat, index: int, at: Callable[[float], Fraction]) -> list[Mark]:
    from music21 import instrument, key, meter, tempo

    marks = []
    classes = (instrument.Instrument, tempo.MetronomeMark, key.KeySignature, meter.TimeSignature)
    for el in flat.getElementsByClass(classes):
        offset = at(el.offset)
        if isinstance(el, instrument.Instrument):
            name = _instrument_label(el)
            if name:
                marks.append(Mark(offset, "instrument", name, index))
        elif isinstance(el, tempo.MetronomeMark):
            bpm = el.getQuarterBPM()
            if bpm:
                marks.append(Mark(offset, "tempo", round(float(bpm), 2), index))
        elif isinstance(el, key.KeySignature):
            k = el if isinstance(el, key.Key) else el.asKey("major")
            marks.append(Mark(offset, "key", (k.tonic.name, k.mode), index))
        else:
            marks.append(Mark(offset, "time", el.ratioString, index))
    return marks


def _flat_items(score) -> list[FlatItem]:
    """The seed's items for a parsed score: ``flatten()`` order, :func:`seed_name` rules."""
    from music21 import chord, instrument, key, note

    items: list[FlatItem] = []
    for el in score.flatten():
        if isinstance(el, note.Note):
            items.append(("notes", (el.pitch.midi,)))
        elif isinstance(el, chord.Chord):
            items.append(("notes", tuple(p.midi for p in el.pitches)))
        elif isinstance(el, note.Rest):
            items.append(("rest",))
        elif isinstance(el, key.Key):
            items.append(("key", el.tonic.name, el.mode))
        elif isinstance(el, instrument.Instrument):
            if _instrument_label(el):
                items.append(("text", _instrument_label(el)))
        else:
            name = seed_name(el)
            if name:
                items.append(("text", name))
    return items


def _instrument_label(el) -> str:
    """A score's part name ('Soprano'), not str(instrument) ('P1: Soprano: '), which
    carries MusicXML part ids that mean nothing to the model."""
    return (el.partName or el.instrumentName or "").strip()
