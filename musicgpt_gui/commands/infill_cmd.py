"""`musicgpt infill`: regenerate a span of note text with both sides as context, print (or export) the results."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from musicgpt_gui.commands.common import add_sampling_arguments, sampling_settings, progress_bar, read_text_file
from musicgpt_gui.commands.common import resolve_dataset
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.workspace import Workspace


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "infill",
        help="regenerate a span of a piece with the music before and after it as context",
        description="Needs a run trained with fill-in-the-middle examples (musicgpt train ... --fim RATE). "
        "The text before and after the span is kept byte for byte.",
    )
    parser.add_argument("--run", required=True, help="the trained run (checkpoint/<run>)")
    parser.add_argument("--checkpoint", choices=checkpoints.CHECKPOINT_CHOICES, default="latest")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="the note text of the piece")
    source.add_argument("--in", dest="infile", metavar="FILE", help="a note-text file (line breaks separate items)")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--items", metavar="A:B", help="regenerate items A..B-1 (0-based, like a Python slice)")
    where.add_argument(
        "--beats",
        metavar="A:B",
        help="regenerate the items starting in [A, B) quarter notes; the middle is fitted to their length",
    )
    add_sampling_arguments(parser, "tokens per middle at most")
    parser.add_argument("--keep-rhythm", action="store_true",
                        help="re-pitch the span: each item keeps its onset, its notes' count, lengths and parts; "
                        "the pitch controls (--key, --range, --part-range) still apply")
    parser.add_argument("--out", type=Path, metavar="FILE.mid", help="also export each result (whole piece) as MIDI")
    parser.set_defaults(func=run)


def parse_pair(text: str, option: str, kind: type) -> tuple:
    first, colon, last = text.partition(":")
    try:
        pair = kind(first), kind(last)
        if not colon or not all(math.isfinite(v) for v in pair):
            raise ValueError
        return pair
    except ValueError:
        raise JobError(f"{option} takes A:B (like {'4:12' if kind is int else '8:16'}), not '{text}'.") from None


def run(args: argparse.Namespace, workspace: Workspace) -> int:
    from musicgpt_gui.core.model.sample.generation import Generator
    from musicgpt_gui.core.model.sample.infill import locate_beats, locate_items
    from musicgpt_gui.core.model.workflows import export_variation, infill_for_run

    text = args.text if args.text is not None else read_text_file(args.infile)
    run_dir = checkpoints.run_folder(workspace, args.run)
    ref = checkpoints.resolve_checkpoint(run_dir, args.checkpoint)
    settings = sampling_settings(args)
    span = (
        locate_items(text, *parse_pair(args.items, "--items", int))
        if args.items
        else locate_beats(text, *parse_pair(args.beats, "--beats", float))
    )
    checked = resolve_dataset(workspace, args.dataset) if args.dataset else None
    generator = Generator()
    with progress_bar(f"infill {args.run}") as on_progress:
        result = infill_for_run(generator, ref, text, span, settings, dataset=checked, on_progress=on_progress)
    generator.close()

    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    record = span.record()
    print(
        f"seed {result.seed} · {ref.run_name} {result.checkpoint['checkpoint']} · items {span.start}:{span.end} "
        f"(beats {record['beats'][0]:g}-{record['beats'][1]:g})",
        file=sys.stderr,
    )
    for v in result.variations:
        stop = {"end": "the end of the middle", "beats": "the span's length"}.get(
            v.stop_reason, f"{settings.length} tokens"
        )
        print(f"variation {v.index + 1}: {v.parsed.valid} items, stopped at {stop}: {v.parsed.text}", file=sys.stderr)
        if result.steering_kept:
            print(f"  steering kept: {result.steering_kept[v.index]}", file=sys.stderr)
        print(result.full_text(v.index))
        if args.out:
            numbered = len(result.variations) > 1
            suffix = args.out.suffix or ".mid"
            path = args.out.with_name(f"{args.out.stem}-{v.index + 1}{suffix}") if numbered else args.out
            try:
                export_variation(result, v.index, path)
                print(f"wrote {path}", file=sys.stderr)
            except JobError as exc:
                print(f"variation {v.index + 1}: not exported ({exc})", file=sys.stderr)
    return 0
