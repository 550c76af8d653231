"""Frozen entry point of the console ``musicgpt`` executable."""
import multiprocessing
import sys

from musicgpt_gui.cli import main

if __name__ == "__main__":
    # The import's worker processes re-run this executable; let them run as workers, not as the CLI.
    multiprocessing.freeze_support()
    sys.exit(main())
