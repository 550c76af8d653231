"""`musicgpt export`: note text (either format) -> a .mid file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from musicgpt_gui.commands.common import add_note_length, read_text_file
from musicgpt_gui.core.midi.midi_io import export_midi
from musicgpt_gui.core.music.notation import parse_text
from musicgpt_gui.core.workspace import Workspace

MAX_PROBLEMS = 5


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
        print(
            f"musicgpt: skipped {len(parsed.skipped)} of {parsed.total} items that are not note text", file=sys.stderr
        )
    for problem in parsed.problems[:MAX_PROBLEMS]:  # parts: the specific reasons
        print(f"musicgpt: {problem}", file=sys.stderr)
    if len(parsed.problems) > MAX_PROBLEMS:
        print(f"musicgpt: ... and {len(parsed.problems) - MAX_PROBLEMS} more", file=sys.stderr)
    print(f"Wrote {path} ({len(parsed.notes)} notes)")
    return 0
