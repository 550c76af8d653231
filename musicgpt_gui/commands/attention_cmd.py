"""`musicgpt attention`: GPT-2's real attention over a text, as a BertViz page, a neuron-view page (queries and
keys), an .npz file, a CSV of the pooled matrix and a figure (piano roll + head grid), with the attention rollout
on request."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from musicgpt_gui.commands.common import progress_bar
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.model.workflows import ATTENTION_POOLS
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.workspace import Workspace

TOP = 5


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("attention", help="show a run's attention over a text (BertViz page, .npz)")
    parser.add_argument("--run", required=True, help="the trained run (checkpoint/<run>)")
    parser.add_argument("--checkpoint", choices=checkpoints.CHECKPOINT_CHOICES, default="latest")
    parser.add_argument("--text", required=True, help="note text (read after <|endoftext|>, as the model was trained)")
    parser.add_argument("--layer", type=int, help="show only this layer on the page; the layer of the CSV and figure")
    parser.add_argument(
        "--pool", choices=ATTENTION_POOLS, default=ATTENTION_POOLS[0], help="notes: one row/column per item"
    )
    parser.add_argument("--html", type=Path, metavar="FILE", help="write the BertViz page (head and model view)")
    parser.add_argument(
        "--neuron-html",
        type=Path,
        metavar="FILE",
        help="write BertViz's neuron view (queries, keys, q×k, scores) for --token, over a window of --max-tokens",
    )
    parser.add_argument(
        "--token", type=int, metavar="P", help="the neuron view's selected token position (default: the last)"
    )
    parser.add_argument(
        "--npz", type=Path, metavar="FILE", help="write tokens, weights, queries, keys and checkpoint identity"
    )
    parser.add_argument(
        "--max-tokens", type=int, metavar="N", help="window shown on the pages (default 128; 48 for the neuron view)"
    )
    parser.add_argument(
        "--rollout",
        action="store_true",
        help="compute the attention rollout: the npz gets 'rollout' [T, T]; the CSV and figure show it",
    )
    parser.add_argument(
        "--head",
        type=head_choice,
        default="mean",
        metavar="H|mean|max",
        help="the head the CSV and figure show (default: the mean over heads)",
    )
    parser.add_argument("--csv", type=Path, metavar="FILE", help="write the pooled matrix (--layer, default the last)")
    parser.add_argument("--figure", type=Path, metavar="FILE.svg|FILE.png", help="write the piano roll and head grid")
    parser.add_argument("--select", type=int, metavar="K", help="the element the figure shows (default: the last note)")
    parser.add_argument("--reverse", action="store_true", help="the figure shows which later elements attend to it")
    parser.set_defaults(func=run)


def head_choice(text: str) -> int | str:
    from musicgpt_gui.core.viz.attention_patterns import HEAD_REDUCTIONS

    if text in HEAD_REDUCTIONS:
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a head number, {' or '.join(HEAD_REDUCTIONS)}, not {text!r}") from None


def run(args: argparse.Namespace, workspace: Workspace) -> int:
    from musicgpt_gui.core.model.inspect.attention import AttentionModel, save_npz
    from musicgpt_gui.core.model.workflows import attention_view
    from musicgpt_gui.core.viz.attention_page import write_attention_page

    if args.figure and args.figure.suffix.lower() not in (".png", ".svg"):
        raise JobError(f"--figure writes a .png or .svg file, not {args.figure.name}.")
    ref = checkpoints.resolve_checkpoint(checkpoints.run_folder(workspace, args.run), args.checkpoint)
    model = AttentionModel(ref)
    with progress_bar(f"attention {args.run}") as on_progress:
        result = model.compute(args.text, queries_keys=bool(args.npz or args.neuron_html), on_progress=on_progress)
    model.close()
    if args.layer is not None and not 0 <= args.layer < result.attention.shape[0]:
        raise JobError(f"The model has layers 0..{result.attention.shape[0] - 1}; there is no layer {args.layer}.")
    view = attention_view(result, args.pool)
    labels, weights, pooled = view.labels, view.weights, view.pooled
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"{len(result.tokens)} tokens, {len(labels)} {args.pool} · {ref.run_name} {result.checkpoint['checkpoint']}",
        file=sys.stderr,
    )

    musical = _musical_view(args, result) if args.csv or args.figure or args.rollout else None
    if args.npz:
        extra = {"rollout": musical.rollout} if args.rollout else {}
        if args.rollout and pooled is not None:
            extra["item_rollout"] = musical.pooled_rollout
        print(f"wrote {save_npz(args.npz, result, pooled, extra)}", file=sys.stderr)
    if args.csv or args.figure:
        _write_musical_outputs(args, musical)
    if args.html:
        page = write_attention_page(
            args.html,
            labels,
            weights,
            title=view.title,
            notes=result.warnings,
            layers=None if args.layer is None else [args.layer],
            max_tokens=args.max_tokens or 128,
        )
        for note in page.notes:
            print(f"page: {note}", file=sys.stderr)
        print(f"wrote {page.path}", file=sys.stderr)
    if args.neuron_html:
        _write_neuron_page(args, result)
    if not (args.npz or args.html or args.csv or args.figure or args.neuron_html):
        _print_summary(labels, weights, args.layer)
    return 0


def _write_neuron_page(args: argparse.Namespace, result) -> None:
    """The neuron view of every layer and head (opening on --layer and --head) around --token."""
    from musicgpt_gui.core.viz import neuron_page

    page = neuron_page.write_neuron_page(
        args.neuron_html,
        result.tokens,
        result.attention,
        result.queries,
        result.keys,
        selected=args.token,
        layer=args.layer or 0,
        head=args.head if isinstance(args.head, int) else 0,
        title="Neuron view (tokens)",
        notes=result.warnings,
        max_tokens=args.max_tokens or neuron_page.MAX_TOKENS,
    )
    for note in page.notes:
        print(f"neuron page: {note}", file=sys.stderr)
    print(f"wrote {page.path}", file=sys.stderr)


def _musical_view(args: argparse.Namespace, result):
    from musicgpt_gui.core.model.inspect.attention import pool_items
    from musicgpt_gui.core.viz.attention_patterns import build_view

    return build_view(result, pool_items(result.tokens, result.attention), with_rollout=args.rollout)


def _write_musical_outputs(args: argparse.Namespace, view) -> None:
    """The CSV and the figure of one layer and head (the last layer by default), or of the rollout."""
    from musicgpt_gui.core.viz.attention_patterns import write_matrix_csv

    layer = None if args.rollout else (view.pooled.attention.shape[0] - 1 if args.layer is None else args.layer)
    matrix = view.matrix(layer, args.head)
    labels = view.layout.labels
    if args.select is not None and not 0 <= args.select < len(labels):
        raise JobError(f"The text has elements 0..{len(labels) - 1}; there is no element {args.select}.")
    if args.csv:
        print(f"wrote {write_matrix_csv(args.csv, labels, matrix)}", file=sys.stderr)
    if args.figure:
        from musicgpt_gui.ui.attention_figure import write_attention_figure

        path = write_attention_figure(args.figure, view, layer, args.head, args.select, args.reverse)
        print(f"wrote {path}", file=sys.stderr)


def _print_summary(labels: list[str], weights: np.ndarray, layer: int | None) -> None:
    """What the last element attends to most, per layer (heads averaged)."""
    layers = range(weights.shape[0]) if layer is None else [layer]
    print(f"attention of the last element {labels[-1]!r}, heads averaged:")
    for i in layers:
        row = weights[i, :, -1, :].mean(axis=0)
        top = np.argsort(-row)[:TOP]
        print(f"layer {i}: " + ", ".join(f"{labels[j]!r} {row[j]:.2f}" for j in top))
