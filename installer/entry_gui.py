"""Frozen entry point of the windowed ``musicgpt-gui`` executable."""
import multiprocessing
import sys

from musicgpt_gui.ui.app import main

if __name__ == "__main__":
    # The import's worker processes re-run this executable; let them run as workers, not as the GUI.
    multiprocessing.freeze_support()
    sys.exit(main())
