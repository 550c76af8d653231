"""One source file -> converted pieces (note text of the original and its transposed copies).

Runs in a worker process; a bad file becomes an error line, never an exception.
Augmentation: ``transpose=N`` adds, for each piece (CSV rows too), copies shifted by every k in
-N..-1 and 1..N semitones (copies that would leave MIDI range 0..127 are dropped).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.dataset.import_options import ImportOptions
from musicgpt_gui.core.dataset.sources import Task
from musicgpt_gui.core.dataset.statistics import PieceStats, piece_stats, text_stats
from musicgpt_gui.core.music.notation import join_items, parse_text
from musicgpt_gui.core.music.parts import DRUM_HIGH, DRUM_LOW, TooManyParts
from musicgpt_gui.core.music.piece import Piece
from musicgpt_gui.core.music.render import render_flat, render_merged
from musicgpt_gui.core.music.transpose import transpose_text, transposition_shifts
from musicgpt_gui.core.readers.midi_reader import MidiReadError, read_piece
from musicgpt_gui.core.readers.score_reader import ScoreReadError, read_scores

CODE_VERSION = "import-4"  # bump when the conversion changes, so old cache entries are ignored


@dataclass
class ConvertedPiece:
    title: str
    texts: list[str]  # the original first, then its transposed copies
    stats: PieceStats

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ConvertedPiece":
        return cls(data["title"], list(data["texts"]), PieceStats(**data["stats"]))


@dataclass
class FileResult:
    label: str
    pieces: list[ConvertedPiece] = field(default_factory=list)
    error: Optional[str] = None
    cached: bool = False
    warning: Optional[str] = None  # the file was read tolerantly; what was skipped or clipped

    def to_json(self) -> dict[str, Any]:
        return {"pieces": [asdict(p) for p in self.pieces], "error": self.error, "warning": self.warning}


def convert_task(task: Task, options: ImportOptions) -> FileResult:
    """Convert one file; failures become ``error``, never raise."""
    result = FileResult(task.label)
    try:
        if task.kind == "csv":
            result.pieces = _csv_pieces(task, options)
        else:
            if task.kind == "midi":
                flat = options.track_mode == "flat"
                grid = options.reader_grid
                pieces = [read_piece(task.path, include_drums=options.include_drums, flat=flat, grid=grid)]
            else:
                pieces = read_scores(task.path, options.reader_grid)
            if options.parts != "off":
                pieces = [_drum_map_only(piece) for piece in pieces]
            result.warning = "; ".join(w for piece in pieces for w in piece.warnings) or None
            for piece in pieces:
                rendered = render_piece(piece, options)
                if rendered:
                    result.pieces.append(rendered)
            if not result.pieces:
                result.error = "no notes in the selected tracks"
    except (MidiReadError, ScoreReadError) as exc:
        result.error = str(exc)
    except TooManyParts as exc:
        other = "with --parts programs or without parts" if options.parts == "tracks" else "without parts"
        result.error = f"{exc}; import it {other}"

    except Exception as exc:  # one bad file must not stop the import
        result.error = f"cannot convert ({type(exc).__name__}: {exc})"
    return result


def _shifts(transpose: int) -> list[int]:
    """The original (0) first, then the transposed copies."""
    return [0, *transposition_shifts(transpose)]


def render_piece(piece: Piece, options: ImportOptions) -> Optional[ConvertedPiece]:
    """One piece as the import writes it (the original, then its transposed copies); None without notes."""
    texts = []
    for k in _shifts(options.transpose):
        if options.track_mode == "flat":
            items = render_flat(piece.flat or [], k)
        else:
            items = render_merged(
                piece,
                options.format,
                options.track_mode,
                k,
                velocity_bins=options.velocity_bins,
                programs=options.programs,
                parts=options.parts,
            )
        if items is None:
            if k == 0:
                return None
            continue
        texts.append(join_items(items))
    stats = piece_stats(texts[0], piece) if texts else None
    if not stats or not stats.notes + stats.chords:
        return None
    return ConvertedPiece(piece.title, texts, stats)


def _drum_map_only(piece: Piece) -> Piece:
    """The piece without drum notes outside the General MIDI drum map (35-81), with a warning counting them."""
    drum_tracks = [t for t, part in piece.track_parts.items() if part.drums]
    if not drum_tracks:
        return piece
    table = piece.table
    off_map = np.isin(table.track, drum_tracks) & ((table.pitch < DRUM_LOW) | (table.pitch > DRUM_HIGH))
    if off_map.any():
        piece.table = table.keep(~off_map)
        piece.warnings.append(f"{int(off_map.sum())} drum notes outside the General MIDI drum map (35-81) left out")
        piece.tracks_with_notes = [t for t in piece.tracks_with_notes if (table.track[~off_map] == t).any()]
    return piece


def _csv_pieces(task: Task, options: ImportOptions) -> list[ConvertedPiece]:
    """Rows of an existing seed CSV, cleaned by the tolerant parser (junk items dropped)."""
    try:
        rows = dataset_files.read_rows(Path(task.path))
    except (JobError, IndexError) as exc:
        raise ScoreReadError(f"not a readable single-column CSV ({exc})") from None
    pieces = []
    for number, row in enumerate(rows, 1):
        parsed = parse_text(row)
        if not parsed.notes:
            continue
        timed = any(":" in item for item in parsed.items)
        if timed != (options.format == "timed"):
            kind = "timed" if timed else "seed"
            raise ScoreReadError(f"holds {kind}-format text; import it with --format {kind}")
        text = parsed.text
        copies = [transpose_text(text, k) for k in _shifts(options.transpose)[1:]]
        texts = [text] + [c for c in copies if c is not None]
        pieces.append(ConvertedPiece(f"{Path(task.path).stem} row {number}", texts, text_stats(text, parsed)))
    if not pieces:
        raise ScoreReadError("no rows with notes")
    return pieces
