"""`musicgpt import` (filled in by the import work)."""
from __future__ import annotations

import argparse

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.workspace import Workspace


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("import", help="(not implemented yet)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, workspace: Workspace) -> int:
    raise JobError("'import' is not implemented yet")
