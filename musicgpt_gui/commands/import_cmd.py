"""`musicgpt import`: MIDI files, scores, corpora or a seed CSV -> a dataset folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from musicgpt_gui.commands.common import progress_bar
from musicgpt_gui.core.dataset.import_options import TRACK_MODES, ImportOptions
from musicgpt_gui.core.dataset.importer import import_dataset
from musicgpt_gui.core.dataset.sources import CORPORA
from musicgpt_gui.core.music.grid import DEFAULT_GRID, GRIDS
from musicgpt_gui.core.music.notation import DEFAULT_FORMAT, FORMATS
from musicgpt_gui.core.music.parts import PART_MODES
from musicgpt_gui.core.readers import formats
from musicgpt_gui.core.workspace import Workspace


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "import",
        help="turn MIDI files, scores or a music21 corpus into a note-text dataset",
        description="Convert sources into <workspace>/datasets/<name> (dataset.csv, train.csv, valid.csv, "
        "metadata.json). With no SRC and no --corpus the Bach chorales are imported.",
    )
    parser.add_argument("src", nargs="*", metavar="SRC", help=f"files ({formats.extension_list()}) or folders")
    parser.add_argument(
        "--corpus",
        choices=CORPORA,
        action="append",
        help="add a built-in music21 corpus (bach: 371 chorales; folk: Essen folk songs)",
    )
    parser.add_argument("--limit", type=int, help="import at most N files/pieces")
    parser.add_argument(
        "--format", choices=FORMATS, default=DEFAULT_FORMAT, help="note-text format (default: %(default)s)"
    )
    parser.add_argument(
        "--transpose", type=int, default=0, metavar="N", help="add copies transposed by ±1..N semitones"
    )
    parser.add_argument(
        "--tracks",
        choices=TRACK_MODES,
        help="merge: all tracks in one stream (default for timed); first: the first track with notes; "
        "flat: music21's per-track order, the seed's text (default for seed)",
    )
    parser.add_argument(
        "--grid",
        type=int,
        choices=GRIDS,
        default=DEFAULT_GRID,
        help="timed format: steps per quarter note (default: %(default)s; 24 or 48 for performances)",
    )
    parser.add_argument(
        "--velocity-bins",
        type=int,
        default=0,
        metavar="N",
        help="timed format: keep velocities as velocity= controls, binned into N levels",
    )
    parser.add_argument("--programs", action="store_true", help="timed format: keep MIDI programs as program= controls")
    parser.add_argument(
        "--include-drums", action="store_true", help="keep MIDI channel 10 (drums are left out by default)"
    )
    parser.add_argument(
        "--parts",
        choices=PART_MODES,
        default="off",
        help="timed format: tracks: each track (and channel) is a part, with its name and program; programs: one "
        "part per program and per drum kit; every note names its part (default: %(default)s, one stream)",
    )
    parser.add_argument("--workers", type=int, help="parallel processes (default: all cores)")
    parser.add_argument("--out", help="output folder (default: <workspace>/datasets/<name>)")
    parser.add_argument("--name", help="dataset name under <workspace>/datasets (default: from the first source)")
    parser.set_defaults(func=run)


def _sources(args: argparse.Namespace) -> list[str]:
    sources = list(args.src) + [f"corpus:{name}" for name in args.corpus or []]
    return sources or ["corpus:bach"]


def _default_name(sources: list[str]) -> str:
    first = sources[0]
    if first.startswith("corpus:"):
        return first.split(":", 1)[1]
    return Path(first).stem or "dataset"


def run(args: argparse.Namespace, workspace: Workspace) -> int:
    sources = _sources(args)
    out = Path(args.out) if args.out else workspace.datasets / (args.name or _default_name(sources))
    options = ImportOptions(
        format=args.format,
        tracks=args.tracks,
        limit=args.limit,
        transpose=args.transpose,
        include_drums=args.include_drums,
        grid=args.grid,
        velocity_bins=args.velocity_bins,
        programs=args.programs,
        parts=args.parts,
        cache_dir=workspace.import_cache,
        workers=args.workers,
    )
    with progress_bar("import") as on_progress:
        result = import_dataset(sources, options, out, on_progress=on_progress)
    counts = result.metadata.stats
    print(
        f"Imported {result.pieces} pieces ({result.rows} rows, {result.items} items; "
        f"{counts.train_rows} train / {counts.valid_rows} valid rows) into {result.out_dir}"
    )
    print(
        f"Format {options.format}, tracks {options.track_mode}; notes {counts.notes}, chords {counts.chords}, "
        f"rests {counts.rests}, distinct pitches {counts.distinct_pitches}; "
        f"files read from cache: {result.cache_hits}/{len(result.files)}"
    )
    if result.errors:
        print(f"{len(result.errors)} file(s) skipped:")
        for line in result.errors:
            print(f"  {line}")
    sys.stdout.flush()
    return 0
