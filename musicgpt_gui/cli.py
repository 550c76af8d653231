"""``musicgpt``: every step of the app, headless.

Each sub-command lives in ``musicgpt_gui/commands/<name>.py`` and exposes
``register(subparsers)``, which adds its parser and sets ``func(args, workspace) -> int``.
"""
from __future__ import annotations

import argparse
import sys
import traceback
from typing import Optional, Sequence

from musicgpt_gui import __version__
from musicgpt_gui.commands import COMMANDS
from musicgpt_gui.core.jobs import Cancelled
from musicgpt_gui.core.workspace import resolve_workspace


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="musicgpt", description="MIDI -> note text -> GPT-2, headless.")
    parser.add_argument("--workspace", help="workspace folder (default: $MUSICGPT_WORKSPACE or the user data folder)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.set_defaults(run_cli=main)  # for commands that run other commands (self-test)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        workspace = resolve_workspace(args.workspace)
        return int(args.func(args, workspace) or 0)
    except (Cancelled, KeyboardInterrupt):
        print("musicgpt: cancelled", file=sys.stderr)
        return 130
    except Exception as exc:  # the one place that turns failures into a one-line message
        if args.debug:
            traceback.print_exc()
        print(f"musicgpt: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
