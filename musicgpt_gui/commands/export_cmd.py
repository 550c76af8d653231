"""`musicgpt export`: note text (either format) -> a .mid file."""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.midi.midi_io import export_midi
from musicgpt_gui.core.music.notation import DEFAULT_NOTE_LENGTH, parse_duration, parse_text
from musicgpt_gui.core.workspace import Workspace


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def note_length(text: str) -> float:
    """A duration in quarters, within the limits the note-text grammar allows."""
    value = parse_duration(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a note length in quarters (more than 0, at most 64)")
    return float(value)


def add_note_length(parser: argparse.ArgumentParser) -> None:
    """--note-length, shared with `play`: seed-format text has no durations of its own."""
    parser.add_argument(
        "--note-length",
        type=note_length,
        default=DEFAULT_NOTE_LENGTH,
        metavar="Q",
        help=f"length of seed-format notes in quarter notes (default {DEFAULT_NOTE_LENGTH})",
    )


def read_text_file(path: str) -> str:
    """A note-text file; line breaks count as item separators."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise JobError(f"Cannot read note text from {path}: {exc}") from exc
    return ", ".join(line for line in text.splitlines() if line.strip())


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("export", help="write note text as a .mid file")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="note text, seed or timed format")
    source.add_argument("--in", dest="infile", metavar="FILE.txt", help="a file holding note text")
    parser.add_argument("--out", metavar="FILE.mid", help="where to write (default: the workspace's exports/)")
    add_note_length(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, workspace: Workspace) -> int:
    text = args.text if args.text is not None else read_text_file(args.infile)
    parsed = parse_text(text, args.note_length)
    stem = Path(args.infile).stem if args.infile else "text"
    out = Path(args.out) if args.out else workspace.exports / f"{stem}.mid"
    path = export_midi(parsed, out)
    if parsed.skipped:
        print(f"musicgpt: skipped {len(parsed.skipped)} of {parsed.total} items that are not note text", file=sys.stderr)
    print(f"Wrote {path} ({len(parsed.notes)} notes)")
    return 0
