"""`musicgpt generate`: continue a prefix with a trained run and print (or export) the music."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from musicgpt_gui.commands.common import add_sampling_arguments, sampling_settings, progress_bar
from musicgpt_gui.commands.common import resolve_dataset
from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.model.sample.generation import DEFAULT_PREFIX_ITEMS
from musicgpt_gui.core.model.steer.form import DEFAULT_SECTION_BARS, Form
from musicgpt_gui.core.workspace import Workspace


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("generate", help="continue a prefix with a trained run")
    parser.add_argument("--run", required=True, help="the trained run (checkpoint/<run>)")
    parser.add_argument("--checkpoint", choices=checkpoints.CHECKPOINT_CHOICES, default="latest")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--prefix", default="", help="note text to continue (default: start a new piece)")
    source.add_argument("--prefix-midi", type=Path, metavar="FILE", help="start from the opening items of a MIDI file")
    source.add_argument("--prefix-piece", metavar="DATASET:ROW", help="start from the opening items of a dataset piece")
    parser.add_argument(
        "--prefix-items",
        type=int,
        default=DEFAULT_PREFIX_ITEMS,
        metavar="N",
        help="items taken from --prefix-midi/--prefix-piece",
    )
    parser.add_argument(
        "--ensemble",
        default="auto",
        metavar="PARTS",
        help="the parts a piece is written for when the prefix declares none: 'auto' (the training dataset's "
        "most common ensemble; nothing for one-stream data), 'none' (the model writes its own), or "
        "'MELODY=0; Bass=33; Drums=drums' (name=General MIDI program, or drums)",
    )
    parser.add_argument("--form", default="", metavar="LETTERS",
                        help="write each variation as sections, like AABA: each new letter generated after the "
                        "sections before it, each letter that comes back the first one again (default: one take)")
    parser.add_argument("--section-bars", type=int, default=DEFAULT_SECTION_BARS, metavar="N",
                        help=f"bars in each section of --form (default {DEFAULT_SECTION_BARS})")
    add_sampling_arguments(parser, "tokens per variation (per section with --form)")
    parser.add_argument("--redraw-bars", type=int, default=0, metavar="N",
                        help="with learned controls asked for: write the take bar by bar and draw a bar again, up to "
                        "N times, when it misses the asked-for bins or the asked-for key stops leading the take's key "
                        "estimate (default 0: never)")
    parser.add_argument("--out", type=Path, metavar="FILE.mid", help="also export each variation as MIDI")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, workspace: Workspace) -> int:
    from musicgpt_gui.core.model.sample.generation import Generator
    from musicgpt_gui.core.model.sample.prefixes import dataset_prefix, midi_prefix
    from musicgpt_gui.core.model.workflows import ensemble_prefix, generate_for_run

    run_dir = checkpoints.run_folder(workspace, args.run)
    ref = checkpoints.resolve_checkpoint(run_dir, args.checkpoint)
    settings = sampling_settings(args)
    form = Form.parse(args.form, args.section_bars)
    checked = resolve_dataset(workspace, args.dataset) if args.dataset else None
    trained_on = checked or checkpoints.training_dataset(run_dir)
    if args.prefix_midi:
        prefix = midi_prefix(args.prefix_midi, args.prefix_items, dataset_files.conversion_options(trained_on))
    elif args.prefix_piece:
        name, _, row = args.prefix_piece.rpartition(":")
        if not name or not row.isdigit():
            raise JobError(f"--prefix-piece takes DATASET:ROW (like bach:0), not '{args.prefix_piece}'.")
        prefix = dataset_prefix(resolve_dataset(workspace, name), int(row), args.prefix_items)
    else:
        prefix = args.prefix
    prefix = ensemble_prefix(prefix, args.ensemble, trained_on)
    generator = Generator()
    with progress_bar(f"generate {args.run}") as on_progress:
        result = generate_for_run(generator, ref, prefix, settings, dataset=checked, form=form,
                                  redraws=args.redraw_bars, on_progress=on_progress)
    generator.close()

    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if trained_on is None:
        print(
            "note: the run's training data is unknown; pass --dataset to check for memorized passages", file=sys.stderr
        )
    print(f"seed {result.seed} · {ref.run_name} {result.checkpoint['checkpoint']}", file=sys.stderr)
    for v in result.variations:
        if not v.playable:
            print(f"variation {v.index + 1}: {v.nothing_to_play().partition(': ')[2]}", file=sys.stderr)
            continue
        stop = "<|endoftext|>" if v.stop_reason == "end" else f"{settings.length} tokens"
        print(
            f"variation {v.index + 1}: {v.parsed.valid}/{v.parsed.total} items valid ({v.valid_share:.0%}), "
            f"stopped at {stop}",
            file=sys.stderr,
        )
        if result.steering_kept:
            print(f"  steering kept: {result.steering_kept[v.index]}", file=sys.stderr)
        for m in v.memorized:
            print(
                f"  memorized: items {m.start}-{m.start + m.length - 1} copy training piece {m.piece} "
                f"from item {m.piece_start} ({m.length} items)",
                file=sys.stderr,
            )
        print(result.full_text(v.index))
        if args.out:
            _export(result, v.index, args.out, len(result.variations) > 1)
    _print_metrics(run_dir, result)
    return 0


def _print_metrics(run_dir: Path, result) -> None:
    """Each variation's musical metrics beside the run's references (on stderr: stdout is the music)."""
    from musicgpt_gui.core.quality import report as quality

    rows = quality.references(run_dir) + [(f"variation {i + 1}", m) for i, m in enumerate(result.metrics)]
    print(quality.table(rows), file=sys.stderr)
    if result.part_figures:
        from musicgpt_gui.core.quality.arrangement import part_table

        reference = [(quality.VALIDATION, result.part_reference)] if result.part_reference else []
        takes = [(f"variation {i + 1}", f) for i, f in enumerate(result.part_figures)]
        print(part_table(reference + takes), file=sys.stderr)


def _export(result, variation: int, out: Path, numbered: bool) -> None:
    from musicgpt_gui.core.model.workflows import export_variation

    path = out.with_name(f"{out.stem}-{variation + 1}{out.suffix or '.mid'}") if numbered else out
    try:
        export_variation(result, variation, path)
    except JobError as exc:
        print(f"variation {variation + 1}: not exported ({exc})", file=sys.stderr)
        return
    print(f"wrote {path}", file=sys.stderr)
