"""`musicgpt models`: list, download GPT-2, import a folder, create a new music model, vocab report."""

from __future__ import annotations

import argparse
from pathlib import Path

from musicgpt_gui.commands.common import resolve_dataset
from musicgpt_gui.commands.common import print_vocab_report, progress_bar
from musicgpt_gui.core.model.store import models
from musicgpt_gui.core.model.store import vocab
from musicgpt_gui.core.model import workflows
from musicgpt_gui.core.workspace import Workspace


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list, download, import or create base models")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="the models in <workspace>/models").set_defaults(func=run_list)

    download = actions.add_parser("download", help="fetch GPT-2 with gpt-2-simple's downloader")
    download.add_argument("size", choices=models.GPT2_SIZES)
    download.set_defaults(func=run_download)

    imp = actions.add_parser("import", help="validate a gpt-2-simple model folder and copy it into the store")
    imp.add_argument("folder", type=Path)
    imp.add_argument("--name", help="name in the store (default: the folder's name)")
    imp.set_defaults(func=run_import)

    new = actions.add_parser("new", help="create a small music model from a dataset, offline")
    add_new_model_arguments(new)
    new.add_argument("--name", help="model name (default: <dataset>-<size>-<vocab>, then -2, -3...)")
    new.set_defaults(func=run_new)

    extend = actions.add_parser("extend", help="copy a BPE model (e.g. 124M) with atomic note tokens added")
    extend.add_argument("base")
    extend.add_argument("--name", help="new model name (default: <base>-atomic)")
    extend.set_defaults(func=run_extend)

    report = actions.add_parser("vocab-report", help="tokens per musical element for each vocabulary")
    report.add_argument("--dataset", required=True, help="dataset folder or name")
    report.add_argument("--model", action="append", default=[], help="also measure this model's vocabulary")
    report.set_defaults(func=run_vocab_report)


def add_new_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, help="dataset folder or name under <workspace>/datasets")
    parser.add_argument(
        "--size", choices=tuple(models.PRESETS), default=workflows.NEW_MODEL_SIZE, help="default: %(default)s"
    )
    parser.add_argument("--vocab", choices=vocab.KINDS, default=vocab.DEFAULT_KIND, help="default: %(default)s")


def run_list(args: argparse.Namespace, workspace: Workspace) -> int:
    found = models.list_models(workspace)
    if not found:
        print(f"no models in {workspace.models}; create one with: musicgpt models new --dataset DIR")
    for info in found:
        print(f"{info.name}\t{info.summary}")
    return 0


def run_download(args: argparse.Namespace, workspace: Workspace) -> int:
    with progress_bar(f"GPT-2 {args.size}") as on_progress:
        info = models.download_model(workspace, args.size, on_progress=on_progress)
    print(f"{info.name}\t{info.summary}")
    return 0


def run_import(args: argparse.Namespace, workspace: Workspace) -> int:
    info = models.import_model(workspace, args.folder, args.name)
    print(f"imported {info.name}\t{info.summary}")
    return 0


def run_new(args: argparse.Namespace, workspace: Workspace) -> int:
    dataset = resolve_dataset(workspace, args.dataset)
    with progress_bar("new model") as on_progress:
        info = models.create_music_model(
            workspace, dataset, size=args.size, vocab_kind=args.vocab, name=args.name, on_progress=on_progress
        )
    print(f"created {info.name}\t{info.summary}")
    return 0


def run_extend(args: argparse.Namespace, workspace: Workspace) -> int:
    info = models.extend_with_atomic_tokens(workspace, args.base, args.name)
    print(f"created {info.name}\t{info.summary}")
    return 0


def run_vocab_report(args: argparse.Namespace, workspace: Workspace) -> int:
    dataset = resolve_dataset(workspace, args.dataset)
    print_vocab_report(dataset, [models.get_model(workspace, name) for name in args.model])
    return 0
