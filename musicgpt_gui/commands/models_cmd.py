"""`musicgpt models` (not implemented yet; its issue fills this in)."""
from __future__ import annotations

import argparse

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.workspace import Workspace


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="(not implemented yet)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, workspace: Workspace) -> int:
    raise JobError("'models' is not implemented yet")
