"""`musicgpt attention`: GPT-2's real attention over a text, as a BertViz page and/or an .npz file."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from musicgpt_gui.commands.common import progress_bar
from musicgpt_gui.core.model import checkpoints
from musicgpt_gui.core.model.workflows import ATTENTION_POOLS
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.workspace import Workspace

TOP = 5


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("attention", help="show a run's attention over a text (BertViz page, .npz)")
    parser.add_argument("--run", required=True, help="the trained run (checkpoint/<run>)")
    parser.add_argument("--checkpoint", choices=checkpoints.CHECKPOINT_CHOICES, default="latest")
    parser.add_argument("--text", required=True, help="note text (read after <|endoftext|>, as the model was trained)")
    parser.add_argument("--layer", type=int, help="show only this layer on the page")
    parser.add_argument("--pool", choices=ATTENTION_POOLS, default=ATTENTION_POOLS[0],
                        help="notes: one row/column per item")
    parser.add_argument("--html", type=Path, metavar="FILE", help="write the BertViz page (head and model view)")
    parser.add_argument("--npz", type=Path, metavar="FILE", help="write tokens, weights and checkpoint identity")
    parser.add_argument("--max-tokens", type=int, default=128, metavar="N", help="window shown on the page")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, workspace: Workspace) -> int:
    from musicgpt_gui.core.model.attention import AttentionModel, save_npz
    from musicgpt_gui.core.model.workflows import attention_view
    from musicgpt_gui.core.viz.attention_page import write_attention_page

    ref = checkpoints.resolve_checkpoint(checkpoints.run_folder(workspace, args.run), args.checkpoint)
    model = AttentionModel(ref)
    with progress_bar(f"attention {args.run}") as on_progress:
        result = model.compute(args.text, on_progress=on_progress)
    model.close()
    if args.layer is not None and not 0 <= args.layer < result.attention.shape[0]:
        raise JobError(f"The model has layers 0..{result.attention.shape[0] - 1}; there is no layer {args.layer}.")
    view = attention_view(result, args.pool)
    labels, weights, pooled = view.labels, view.weights, view.pooled
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{len(result.tokens)} tokens, {len(labels)} {args.pool} · {ref.run_name} {result.checkpoint['checkpoint']}", file=sys.stderr)

    if args.npz:
        print(f"wrote {save_npz(args.npz, result, pooled)}", file=sys.stderr)
    if args.html:
        page = write_attention_page(
            args.html, labels, weights, title=view.title,
            notes=result.warnings, layers=None if args.layer is None else [args.layer], max_tokens=args.max_tokens,
        )
        for note in page.notes:
            print(f"page: {note}", file=sys.stderr)
        print(f"wrote {page.path}", file=sys.stderr)
    if not args.npz and not args.html:
        _print_summary(labels, weights, args.layer)
    return 0


def _print_summary(labels: list[str], weights: np.ndarray, layer: int | None) -> None:
    """What the last element attends to most, per layer (heads averaged)."""
    layers = range(weights.shape[0]) if layer is None else [layer]
    print(f"attention of the last element {labels[-1]!r}, heads averaged:")
    for i in layers:
        row = weights[i, :, -1, :].mean(axis=0)
        top = np.argsort(-row)[:TOP]
        print(f"layer {i}: " + ", ".join(f"{labels[j]!r} {row[j]:.2f}" for j in top))
