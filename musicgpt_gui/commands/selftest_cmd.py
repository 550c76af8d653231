"""`musicgpt self-test`: the whole app end to end in a throwaway workspace, one line per step.

The steps live in musicgpt_gui/selftest.  Exits non-zero if any step fails, including a part of
the app that has not landed yet.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from musicgpt_gui.core.workspace import Workspace, resolve_workspace
from musicgpt_gui.selftest import checks
from musicgpt_gui.selftest.steps import SelfTest


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("self-test", help="check the installation end to end (a few minutes)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspace and print its path")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, workspace: Workspace) -> int:
    """Ignores the user's workspace: everything happens in a temporary one.

    ``args.run_cli`` is the CLI entry (set by musicgpt_gui/cli.py), which every step runs.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    root = Path(tempfile.mkdtemp(prefix="musicgpt-selftest-"))
    try:
        steps = SelfTest(resolve_workspace(root), args.run_cli, debug=args.debug).steps()
        results = checks.run_steps(steps, sys.stdout, debug=args.debug)
    finally:
        if args.keep:
            print(f"workspace kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    failed = [r.name for r in results if not r.ok]
    if failed:
        print(f"self-test FAILED: {len(failed)} of {len(results)} steps ({', '.join(failed)})")
        return 1
    print(f"self-test passed: {len(results)} steps")
    return 0
